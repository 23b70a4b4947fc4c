"""What every kcore.gpio device shares: the errors, the list of open devices,
pin take-over, timers and ``close()``.

This file runs unchanged on CircuitPython/MicroPython and CPython 3.9+.
"""

import sys

from kcore._hw import HwError
from kcore.common.platform import CPYTHON, error_class, monotonic_ms, new_lock
from kcore.timequeue import Event, TimeQueue

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only; boards have no typing
    from typing import Any, Callable, Optional


class GpioError(HwError):
    """Root of the errors kcore.gpio raises (``BackendUnavailable`` is shared with kcore.neo)."""


BackendError = error_class(
    "BackendError",
    RuntimeError,
    GpioError,
    "The back end cannot run here (e.g. not a Pi), or a pin cannot do what was asked.",
    module="kcore.gpio",
)
HardwareNotFound = error_class(
    "HardwareNotFound",
    RuntimeError,
    BackendError,
    "No GPIO hardware here: gpiozero found no pin library (this is not a Raspberry Pi).",
    module="kcore.gpio",
)
PinInUse = error_class(
    "PinInUse", ValueError, GpioError, "Another device holds that pin.", module="kcore.gpio"
)
BadPin = error_class("BadPin", ValueError, GpioError, "No such pin.", module="kcore.gpio")
DeviceClosed = error_class(
    "DeviceClosed", RuntimeError, GpioError, "The device was closed.", module="kcore.gpio"
)
NotSimulated = error_class(
    "NotSimulated",
    RuntimeError,
    GpioError,
    "A simulation-only call on real hardware.",
    module="kcore.gpio",
)

_DEVICES = []  # type: list  # open devices, for check(), close_all() and pin take-over
_STRICT_PINS = [False]  # the default of every device's strict_pins (init(strict_pins=...))


def simout(msg: str) -> None:
    """A simulation notice, on stderr."""
    sys.stderr.write("%s\n" % msg)


def _report_callback_error(device: object, e: Exception) -> None:
    simout("kcore.gpio: callback of %r raised %s: %s" % (device, type(e).__name__, e))
    if CPYTHON:
        import traceback

        traceback.print_exc()
    else:
        pe = getattr(sys, "print_exception", None)
        if pe is not None:
            pe(e)


def check_ms(label: str, value: object, minimum: int = 0) -> int:
    """``value`` if it is an int >= ``minimum``; a ValueError naming ``label`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError("%s must be an int >= %d, got %r" % (label, minimum, value))
    return value


def _shares_pins(a: object, b: object) -> bool:
    """True when back ends ``a`` and ``b`` hand out the same physical pins."""
    if a is b:
        return True
    shares = getattr(a, "shares_pins_with", None)
    return bool(shares is not None and shares(b))


def _holder_of(backend: object, pin: object) -> "Optional[_Device]":
    for d in _DEVICES:
        if not d.closed and pin in d._pin_numbers() and _shares_pins(backend, d.backend):
            return d
    return None


class _Device:
    """What buttons and LEDs share: a back end, a lock, a clock, timers, close().

    Timers (long presses, blinking) are events in ``_timers``, a
    :class:`kcore.timequeue.TimeQueue` on the device's clock; :meth:`check`
    samples the pin, then fires them. On CPython, ``background=True`` lets one
    shared thread call :meth:`check`; on a board call :func:`kcore.gpio.check`.
    """

    def __init__(
        self,
        backend: object,
        pin_factory: object,
        background: object,
        clock: "Optional[Callable[[], int]]",
        strict_pins: "Optional[bool]",
    ) -> None:
        from kcore.gpio import make_backend

        self.backend = make_backend(backend, pin_factory)
        self._clock: Callable[[], int] = clock or monotonic_ms
        self._lock = new_lock(reentrant=True)
        self._closed = False
        self._background = bool(background) and CPYTHON
        self._ticker: Any = None
        self._timers = TimeQueue(clock=self._clock, max_len=8)
        self.strict_pins = _STRICT_PINS[0] if strict_pins is None else bool(strict_pins)
        self.stats = {"callbacks": 0, "callback_errors": 0}  # type: dict

    def _open_pin(self, pin: object, opener: "Callable[[], Any]") -> "Any":
        """``opener()`` makes the back end's pin. If another kcore device on the
        same back end holds ``pin``, that device is closed and the pin taken
        (``strict_pins=True`` raises :class:`PinInUse` instead)."""
        try:
            return opener()
        except PinInUse:
            holder = None if self.strict_pins else _holder_of(self.backend, pin)
            if holder is None:
                raise
        holder.close()
        return opener()

    def _pin_numbers(self) -> tuple:
        return ()

    def _register(self) -> None:
        _DEVICES.append(self)
        if self._background:
            from kcore.gpio._ticker import TICKER

            self._ticker = TICKER
            TICKER.add(self)

    def _wake(self) -> None:
        if self._ticker is not None:
            self._ticker.wake()

    def _at(self, queue: "Any", start: int, delay: int, fn: "Callable", *args: "Any") -> "Any":
        """Run ``fn(*args)`` ``delay`` ms after clock time ``start``, from ``queue``."""
        return queue.add_event(Event(delay, fn, args, now_ms=start))

    def _check_open(self) -> None:
        if self._closed:
            raise DeviceClosed("%r is closed" % (self,))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the pin(s); further use raises DeviceClosed. Safe to repeat."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self in _DEVICES:
            _DEVICES.remove(self)
        if self._ticker is not None:
            self._ticker.remove(self)
        self._timers.clear()
        self._close_pins()

    def __enter__(self) -> "Any":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sample(self, now: int, calls: list) -> None:
        pass

    def _close_pins(self) -> None:
        pass

    def _queues(self) -> tuple:
        return (self._timers,)

    def check(self, now_ms: "Optional[int]" = None) -> int:
        """Sample the pin and fire due timers; returns how many callbacks ran."""
        if self._closed:
            return 0
        before = self.stats["callbacks"]
        now = self._clock() if now_ms is None else now_ms
        calls = []  # type: list
        with self._lock:
            self._sample(now, calls)
        self._run(calls)
        for q in self._queues():
            q.check(use_ms_time=now)
        return int(self.stats["callbacks"] - before)

    def next_due_ms(self, now_ms: "Optional[int]" = None) -> "Optional[int]":
        """Milliseconds until :meth:`check` has timer work (0 if overdue), None if none."""
        due = None
        for q in self._queues():
            d = q.next_due_ms(use_ms_time=now_ms)
            if d is not None and (due is None or d < due):
                due = d
        return due

    def _run(self, calls: list) -> None:
        for fn, args in calls:
            try:
                fn(*args)
                self.stats["callbacks"] += 1
            except Exception as e:  # a bad callback must not stop the others
                self.stats["callback_errors"] += 1
                _report_callback_error(self, e)

    @property
    def device(self) -> "Any":
        """The back end's own object for the pin (a gpiozero device, a
        ``digitalio.DigitalInOut``...); None in the simulation."""
        pin = getattr(self, "_pin", None)
        return None if pin is None else pin.device
