"""Which Python we run on, decided once, and the shims that hide the gaps.

Everything platform-dependent in kcore asks this module instead of probing
for itself: the original probed ``/boot_out.txt`` in five places, so a stray
file could flip a Linux box into "CircuitPython mode".

The clock shim: delays need a monotonic clock, and the three platforms spell
it differently (CPython ``time.monotonic_ns``; CircuitPython
``time.monotonic_ns`` or ``supervisor.ticks_ms``; MicroPython ``time.ticks_ms``
with wrap-around). ``monotonic_ms()`` hides that and never goes backwards,
also across a ``ticks_ms`` wrap.
"""

import sys
import time

IMPLEMENTATION = sys.implementation.name
CPYTHON = IMPLEMENTATION == "cpython"
CIRCUITPYTHON = IMPLEMENTATION == "circuitpython"
MICROPYTHON = IMPLEMENTATION == "micropython"
PY_VER = sys.version_info[0]


class KcoreError(Exception):
    """Root of every error kcore raises on purpose.

    Where a kcore error also has a natural builtin meaning, its class also
    subclasses that builtin on CPython (``except OSError`` keeps working);
    MicroPython cannot mix native bases, so there it subclasses the builtin
    only. :func:`error_class` builds such classes.
    """


def error_class(name, builtin, base=KcoreError, doc="", module=None):
    """Make an error class that is both ``base`` and ``builtin`` where the
    platform allows it, and ``builtin`` alone where it does not. ``module``
    (the caller's ``__name__``) makes tracebacks name the right module."""
    try:
        cls = type(name, (base, builtin), {"__doc__": doc})
    except TypeError:  # MicroPython: "multiple bases have instance lay-out conflict"
        cls = type(name, (builtin,), {"__doc__": doc})
    if module is not None:
        try:
            cls.__module__ = module
        except (AttributeError, TypeError):  # MicroPython types are read-only
            pass
    return cls


def getenv(name, default=None):
    """``os.getenv`` where it exists (CircuitPython reads settings.toml),
    else ``default``: MicroPython has no ``os.environ``."""
    try:
        import os

        getter = getattr(os, "getenv", None)
    except ImportError:  # pragma: no cover - every port has os
        getter = None
    if getter is None:
        return default
    value = getter(name)
    return default if value is None else value


# ----------------------------------------------------------------- locks


class NoLock:
    """Stands in for a lock where there are no threads (CircuitPython)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def acquire(self, *args):
        return True

    def release(self):
        pass


def new_lock(reentrant=False):
    """A lock from the builtin ``_thread`` module (importing it starts
    nothing), re-entrant where asked and available (CPython); a NoLock on
    boards that have no threads."""
    try:
        import _thread
    except ImportError:
        return NoLock()
    if reentrant:
        rlock = getattr(_thread, "RLock", None)
        if rlock is not None:
            return rlock()
    return _thread.allocate_lock()


# ---------------------------------------------------------------- clock shim

_TICKS_PERIOD = 1 << 29  # MicroPython/CircuitPython ticks_ms wrap (TICKS_MAX + 1)


def _pick_clock(time_module=time, supervisor_module=None):
    """Return (name, function returning monotonic milliseconds as int).

    Arguments are injectable so CPython tests can force each board branch.
    """
    ns = getattr(time_module, "monotonic_ns", None)
    if ns is not None:
        return "monotonic_ns", lambda: ns() // 1000000
    if supervisor_module is None:
        try:
            import supervisor  # type: ignore[import-not-found]

            supervisor_module = supervisor
        except ImportError:
            supervisor_module = None
    ticks = getattr(supervisor_module, "ticks_ms", None) if supervisor_module else None
    if ticks is None:
        ticks = getattr(time_module, "ticks_ms", None)
    if ticks is not None:
        return "ticks_ms", _unwrapper(ticks)
    mono = getattr(time_module, "monotonic", None)
    if mono is not None:
        return "monotonic", lambda: int(mono() * 1000)
    wall = time_module.time
    return "time", lambda: int(wall() * 1000)


def _unwrapper(ticks, period=_TICKS_PERIOD):
    """Turn a wrapping ``ticks_ms`` into an ever-increasing count.

    Works as long as it is called at least once per wrap period (~6 days).
    """
    state = [ticks(), 0]  # last raw reading, accumulated offset

    def read():
        raw = ticks()
        if raw < state[0]:
            state[1] += period
        state[0] = raw
        return raw + state[1]

    return read


CLOCK_NAME, _clock = _pick_clock()


def monotonic_ms():
    """Milliseconds on a clock that never goes backwards (arbitrary epoch)."""
    return _clock()


def monotonic():
    """Seconds, as a float, on the same monotonic clock as monotonic_ms()."""
    return _clock() / 1000.0


def wall_time():
    """Seconds since the Unix epoch on the wall clock (only meaningful once a
    board's RTC has been set)."""
    return time.time()


def localtime(secs=None):
    """(year, month, mday, hour, minute, second, weekday, yearday) in local
    time; a thin shim because MicroPython's localtime takes no None."""
    if secs is None:
        secs = time.time()
    t = time.localtime(int(secs))
    return tuple(t[:8])
