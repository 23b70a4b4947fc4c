"""A tiny test runner that works under MicroPython (and CPython).

micropython-lib's unittest needs ``mip install`` (network); the portable tests
are plain ``test_*`` functions with bare ``assert``, so this is all it takes:

    MICROPYPATH=<lib>:tests/micro/kcore-common:tests/micro \\
        micropython -X heapsize=256K tools/mpy_test_runner.py test_log test_urls

Imports each module, calls its ``test_*`` functions in sorted order, prints
each failure with its traceback, and ends with exactly ``N passed, N failed``
(exit status 1 if anything failed or a module did not import).
"""

import sys

try:
    import gc
except ImportError:  # pragma: no cover - every port has gc
    gc = None  # type: ignore[assignment]


def print_exception(e):
    """The traceback, by whatever means this Python has."""
    pe = getattr(sys, "print_exception", None)
    if pe is not None:  # MicroPython
        pe(e)
        return
    try:
        import traceback
    except ImportError:
        print("    " + repr(e))
        return
    traceback.print_exception(type(e), e, e.__traceback__, file=sys.stdout)


def module_name(arg):
    """'tests/micro/x/test_a.py' or 'test_a.py' or 'test_a' -> 'test_a'."""
    name = arg.replace("\\", "/").split("/")[-1]
    if name.endswith(".py"):
        name = name[:-3]
    return name


def load(name):
    module = __import__(name)
    for part in name.split(".")[1:]:  # dotted names: __import__ returns the top package
        module = getattr(module, part)
    return module


def run_module(name, counts):
    try:
        module = load(name)
    except Exception as e:  # a broken test module is one failure
        counts[1] += 1
        print("ERROR %s: import failed" % name)
        print_exception(e)
        return
    tests = sorted(n for n in dir(module) if n.startswith("test_"))
    for test in tests:
        fn = getattr(module, test)
        if not callable(fn):
            continue
        try:
            fn()
        except Exception as e:
            counts[1] += 1
            print("FAIL %s.%s" % (name, test))
            print_exception(e)
        else:
            counts[0] += 1
            print("ok   %s.%s" % (name, test))
        if gc is not None:
            gc.collect()


def unload(name):
    """Forget a test module once run, so a 256 KB heap holds one module at a time."""
    modules = getattr(sys, "modules", None)
    if modules is not None and name in modules:
        del modules[name]
    if gc is not None:
        gc.collect()


def main(argv):
    names = [module_name(a) for a in argv if a]
    if not names:
        print("usage: mpy_test_runner.py test_module [test_module ...]")
        print("0 passed, 0 failed")
        return 2
    counts = [0, 0]
    for name in names:
        run_module(name, counts)
        unload(name)
    print("%d passed, %d failed" % (counts[0], counts[1]))
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
