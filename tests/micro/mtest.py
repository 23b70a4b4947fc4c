"""Tiny helpers shared by the portable tests (CPython pytest and MicroPython)."""


def raises(exc_class, fn, *args, **kwargs):
    """Call fn and return the exception of exc_class it raised; fail if none."""
    try:
        fn(*args, **kwargs)
    except exc_class as e:
        return e
    raise AssertionError("%r did not raise %s" % (fn, exc_class.__name__))
