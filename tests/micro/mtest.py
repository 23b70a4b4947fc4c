"""Tiny helpers shared by the portable tests (CPython pytest and MicroPython)."""


def raises(exc_class, fn, *args, **kwargs):
    """Call fn and return the exception of exc_class it raised; fail if none."""
    try:
        fn(*args, **kwargs)
    except exc_class as e:
        return e
    raise AssertionError("%r did not raise %s" % (fn, exc_class.__name__))


def tmpfile(name):
    """A fresh path for a scratch file (in /tmp where there is one)."""
    import os

    from kcore.common import fileio

    try:
        os.stat("/tmp")
        base = "/tmp/"
    except OSError:
        base = ""
    return base + "kcore_mtest_" + fileio._token() + "_" + name


def rm(path):
    """Remove a scratch file if it is there."""
    import os

    try:
        os.remove(path)
    except OSError:
        pass
