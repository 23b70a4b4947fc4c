"""Which Python we run on, decided once, and the shims that hide the gaps.

Everything platform-dependent in kcore asks this module instead of probing
for itself: probing files such as ``/boot_out.txt`` here and there would let a
stray file flip a Linux box into "CircuitPython mode".

The clock shim: delays need a monotonic clock, and the three platforms spell
it differently (CPython ``time.monotonic_ns``; CircuitPython
``time.monotonic_ns`` or ``supervisor.ticks_ms``; MicroPython ``time.ticks_ms``
with wrap-around). ``monotonic_ms()`` hides that and never goes backwards,
also across a ``ticks_ms`` wrap.
"""

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable

IMPLEMENTATION = sys.implementation.name
CPYTHON = IMPLEMENTATION == "cpython"
CIRCUITPYTHON = IMPLEMENTATION == "circuitpython"
MICROPYTHON = IMPLEMENTATION == "micropython"
PY_VER = sys.version_info[0]


class KcoreError(Exception):
    """Root of every error kcore raises on purpose.

    Where a kcore error also has a natural builtin meaning, its class also
    subclasses that builtin on CPython (``except OSError`` keeps working);
    MicroPython cannot give a class two exception bases, so there it keeps
    one of them. :func:`error_class` builds such classes, the same way
    everywhere in kcore.
    """


def _builtin_named(name: str) -> "type | None":
    try:
        import builtins
    except ImportError:  # pragma: no cover - a port without the builtins module
        return None
    return getattr(builtins, name, None)


def error_class(
    name: str,
    builtin: "type | str | None",
    base: type = KcoreError,
    doc: str = "",
    module: "str | None" = None,
    keep_base: bool = False,
) -> "type[Exception]":
    """Make an error class that is both ``base`` and ``builtin``.

    ``builtin``: a builtin exception class, or its name (a name this Python
    lacks, such as ``TimeoutError`` on MicroPython, is skipped), or None.
    Where the platform cannot have both bases (MicroPython: "multiple bases
    have instance lay-out conflict") the class keeps one: the builtin
    (``except ValueError`` still works), or with ``keep_base=True`` the base
    (for a tree whose root is already a builtin there, such as WebError, an
    OSError: ``except WebError`` then still catches every web error).
    ``module`` (the caller's ``__name__``) makes tracebacks name the right
    module.
    """
    extra = _builtin_named(builtin) if isinstance(builtin, str) else builtin
    attrs = {"__doc__": doc}  # type: dict
    if module is not None:
        attrs["__module__"] = module
    if extra is None or issubclass(base, extra):
        return type(name, (base,), attrs)
    try:
        return type(name, (base, extra), attrs)
    except TypeError:  # MicroPython: one exception base per class
        return type(name, (base if keep_base else extra,), attrs)


def alias_module(name: str, target: object) -> "Callable[[str], Any]":
    """Make the module ``name`` (an alias module's ``__name__``) another name of
    the module ``target``; returns the ``__getattr__`` the alias module sets.

    On CPython ``sys.modules[name]`` becomes ``target`` itself, so reading or
    writing a module setting through either name has one effect. MicroPython
    cannot swap modules that way, so there the returned ``__getattr__`` looks
    every attribute up on ``target`` when it is read (never a stale copy).
    """
    if CPYTHON:
        sys.modules[name] = target  # type: ignore[assignment]

    def __getattr__(attr: str) -> "Any":  # a module __getattr__
        return getattr(target, attr)

    return __getattr__


def getenv(name: str, default: "str | None" = None) -> "str | None":
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

    def __enter__(self) -> "NoLock":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def acquire(self, *args: object) -> bool:
        return True

    def release(self) -> None:
        pass


def new_lock(reentrant: bool = False) -> "Any":
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


def _pick_clock(
    time_module: "Any" = time, supervisor_module: "Any" = None
) -> "tuple[str, Callable[[], int]]":
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


def _unwrapper(ticks: "Callable[[], int]", period: int = _TICKS_PERIOD) -> "Callable[[], int]":
    """Turn a wrapping ``ticks_ms`` into an ever-increasing count.

    Works as long as it is called at least once per wrap period (~6 days).
    """
    state = [ticks(), 0]  # last raw reading, accumulated offset

    def read() -> int:
        raw = ticks()
        if raw < state[0]:
            state[1] += period
        state[0] = raw
        return raw + state[1]

    return read


CLOCK_NAME, _clock = _pick_clock()


def monotonic_ms() -> int:
    """Milliseconds on a clock that never goes backwards (arbitrary epoch)."""
    return _clock()


def monotonic() -> float:
    """Seconds, as a float, on the same monotonic clock as monotonic_ms()."""
    return _clock() / 1000.0


def wall_time() -> float:
    """Seconds since the Unix epoch on the wall clock (only meaningful once a
    board's RTC has been set)."""
    return time.time()


def localtime(secs: "float | None" = None) -> "tuple[int, ...]":
    """(year, month, mday, hour, minute, second, weekday, yearday) in local
    time; a thin shim because MicroPython's localtime takes no None."""
    if secs is None:
        secs = time.time()
    t = time.localtime(int(secs))
    return tuple(t[:8])
