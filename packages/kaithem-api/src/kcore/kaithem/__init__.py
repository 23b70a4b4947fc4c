"""The Kaithem scripting API as a library: ``from kcore.kaithem import kaithem``.

Everything belongs to a :class:`Kaithem` instance that owns its scheduler,
worker pool, message bus and registries and has ``start()``/``close()``, so
tests and programs can run several in isolation.
The module-level ``kaithem`` object is one such instance, created on first
use: importing this package starts nothing.

Each namespace (``kaithem.units``, ``kaithem.message``, ...) is also a module
(``kcore.kaithem.units``, ...). A namespace module defines ``Namespace``, the
API bound to one instance; ``Kaithem.<name>`` creates it on first access. The
module's own public functions act on the default instance.
"""

from __future__ import annotations

import _thread
import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs milliseconds to import; annotations are strings here
    from typing import Any

__version__ = "0.1.0"
__version_info__ = (0, 1, 0, "final", 0)

# attribute on the Kaithem object -> module under kcore.kaithem
NAMESPACES = {
    "units": "units",
    "globals": "globals",
    "misc": "misc",
    "tags": "tags",
    "states": "states",
    "alerts": "alerts",
    "message": "message",
    "events": "events",
    "persist": "persist",
    "time": "time",
    "string": "string",
    "sys": "sys",
    "plugin": "plugin",
    "resource": "resource",
    "devices": "devices",
    "users": "users",
    "gpio": "gpio",
    "sound": "sound",
    "midi": "midi",
    "web": "web",
    "widget": "widget",
}
# other attribute names of the same namespace (the help page uses both)
ALIASES = {"widgets": "widget"}


class Kaithem:
    """One Kaithem runtime: scheduler, workers, bus, registries and namespaces.

    ``vardir`` is where persistent state lives (default: a per-user data
    directory, created only when something is saved); ``config`` overrides
    defaults (see each namespace); ``location`` is ``(lat, lon)`` for sun
    times; ``clock`` is where the scheduler, the bus, timers and alert beeps
    read the time (default the system clock; ``kcore.kaithem.ManualClock()``
    lets tests and simulations move time by hand). Threads start on
    :meth:`start` or on first use, never in here.
    """

    def __init__(
        self,
        vardir: str | None = None,
        config: dict | None = None,
        location: tuple[float, float] | None = None,
        clock: Any = None,
    ) -> None:
        self.vardir = vardir
        self.config = dict(config or {})
        self.location = location
        if clock is None:
            from kcore.kaithem._clock import SYSTEM_CLOCK

            clock = SYSTEM_CLOCK
        self.clock = clock
        self.created_at = clock.monotonic()
        self._lock = _thread.RLock()
        self._closed = False
        self._runtime: Any = None

    # -- runtime (scheduler, workers, bus) ---------------------------------

    @property
    def runtime(self) -> Any:
        """The scheduler, worker pool and message bus of this instance
        (``kcore.kaithem._runtime.Runtime``), created on first use."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this Kaithem instance is closed")
            if self._runtime is None:
                from kcore.kaithem._runtime import Runtime

                self._runtime = Runtime(self)
            return self._runtime

    def start(self) -> Kaithem:
        """Start the scheduler and worker threads (also done on first use)."""
        self.runtime.start()
        return self

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every due job and queued task (asynchronous bus
        deliveries included) has run; True if that took under ``timeout``
        seconds. With a ``ManualClock``, call it after ``advance()``."""
        return self.runtime.settle(timeout)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop threads, run pending saves, release everything. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            runtime, self._runtime = self._runtime, None
        for name in NAMESPACES:
            ns = self.__dict__.get(name)
            # Looked up on the class: `kaithem.globals.close = 5` is user data.
            closer = getattr(type(ns), "close", None)
            if closer is not None:
                closer(ns)
        if runtime is not None:
            runtime.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Kaithem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- namespaces ------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name in ALIASES:
            return getattr(self, ALIASES[name])
        module = NAMESPACES.get(name)
        if module is None:
            raise AttributeError("'Kaithem' object has no attribute %r" % name)
        with self._lock:
            ns = self.__dict__.get(name)
            if ns is None:
                mod = importlib.import_module("kcore.kaithem." + module)
                ns = mod.Namespace(self)
                self.__dict__[name] = ns
        return ns

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return "<Kaithem vardir=%r %s>" % (self.vardir, state)


_default: Kaithem | None = None
_default_lock = _thread.allocate_lock()


def default() -> Kaithem:
    """The process-wide instance behind ``kaithem`` (created on first use)."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Kaithem()
        return _default


def set_default(instance: Kaithem | None) -> Kaithem | None:
    """Replace the default instance (tests); returns the previous one."""
    global _default
    with _default_lock:
        previous, _default = _default, instance
        return previous


def __getattr__(name: str) -> Any:
    if name == "kaithem":
        return default()
    if name in ("Clock", "ManualClock"):
        from kcore.kaithem import _clock

        return getattr(_clock, name)
    raise AttributeError("module 'kcore.kaithem' has no attribute %r" % name)
