"""Buttons and LEDs with one API on a Raspberry Pi, on CircuitPython and in simulation.

Devices (:class:`KButton`, :class:`KLed`, :class:`KDualLed`) never touch
hardware themselves: they ask a *back end* for pins, as gpiozero's devices ask
a pin factory. Back ends:

* ``"simulation"``: no hardware; pin levels live in :data:`SIM_BUTTONS` and
  LED states in :data:`SIM_LEDS`, and :meth:`KButton.simulate_press` presses a
  button. A first-class back end, not a test hack.
* ``"gpiozero"``: a Raspberry Pi through gpiozero, with any gpiozero pin
  factory (``pin_factory=MockFactory()`` in tests).
* ``"circuitpython"``: ``board`` and ``digitalio`` on a microcontroller.

The default is CircuitPython on a board, gpiozero on a Raspberry Pi (or when
a gpiozero pin factory was configured) and the simulation elsewhere;
``$KCORE_GPIO_BACKEND`` or :func:`init` override it.

Timing (debounce, "must stay pressed for", long presses, blinking) runs in
``check()``. On CPython a background thread calls it for you
(``background=True``, the default); on a board call :func:`check` from the
main loop, as often as you can.

This file runs unchanged on CircuitPython/MicroPython and CPython 3.9+.
"""

__version__ = "0.1.0"

import sys

from kcore.common.platform import (
    CIRCUITPYTHON,
    CPYTHON,
    KcoreError,
    error_class,
    getenv,
    monotonic_ms,
    new_lock,
)
from kcore.timequeue import Event, TimeQueue

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only; boards have no typing
    from typing import Any


class GpioError(KcoreError):
    """Root of the errors kcore.gpio raises."""


def _error(name, builtin, doc):
    """An error class that is a GpioError and, where the platform allows, ``builtin``."""
    return error_class(name, builtin, GpioError, doc, module=__name__)


BackendUnavailable = _error(
    "BackendUnavailable",
    ImportError,
    "The library a back end needs is missing; the message names what to install.",
)
BackendError = _error(
    "BackendError", RuntimeError, "The back end cannot run here (e.g. not a Pi)."
)
PinInUse = _error("PinInUse", ValueError, "Another device holds that pin.")
BadPin = _error("BadPin", ValueError, "No such pin on this back end.")
DeviceClosed = _error("DeviceClosed", RuntimeError, "The device was closed.")
NotSimulated = _error("NotSimulated", RuntimeError, "A simulation-only call on real hardware.")

# The original's module globals, kept for programs that read them. SIMULATION
# is None until the default back end is chosen (first device, or init()).
SIMULATION = None
SIM_BUTTONS = {}  # type: dict  # pin -> level (bool) of the default simulation back end
SIM_LEDS = {}  # type: dict  # pin -> state (bool) of the default simulation back end

BACKENDS = ("simulation", "gpiozero", "circuitpython")
_ALIASES = {"sim": "simulation", "mock": "simulation", "rpi": "gpiozero", "pi": "gpiozero"}

_default_backend = None
_DEVICES = []  # type: list  # open devices, for check() and close_all()
_notice_done = [False]


def simout(msg: str) -> None:
    """A simulation notice, on stderr."""
    sys.stderr.write("%s\n" % msg)


def _report_callback_error(device, e):
    simout("kcore.gpio: callback of %r raised %s: %s" % (device, type(e).__name__, e))
    if CPYTHON:
        import traceback

        traceback.print_exc()
    else:
        pe = getattr(sys, "print_exception", None)
        if pe is not None:
            pe(e)


def _is_raspberry_pi():
    try:
        with open("/proc/device-tree/model", "rb") as f:
            return b"Raspberry Pi" in f.read()
    except OSError:
        return False


# -------------------------------------------------------------- simulation


class _SimPin:
    def __init__(self, backend, pin, output):
        self.backend = backend
        self.pin = pin
        self.output = output
        self.on_change = None  # set by the device: called with no arguments on an edge

    def value(self):
        if self.output:
            return self.backend.leds.get(self.pin, False)
        return self.backend.levels.get(self.pin, True)

    def set(self, state):
        self.backend.leds[self.pin] = bool(state)

    def get(self):
        return self.backend.leds.get(self.pin, False)

    def close(self):
        self.backend._release(self.pin, self)


class SimulationBackend:
    """Pins that are entries in two dicts: ``levels`` (inputs) and ``leds`` (outputs).

    :meth:`set_level` changes an input level and tells the device at once, as
    an edge interrupt would; changing ``levels`` directly is noticed by the
    next ``check()``.
    """

    name = "simulation"
    simulated = True

    def __init__(self, levels=None, leds=None):
        self.levels = {} if levels is None else levels
        self.leds = {} if leds is None else leds
        self._pins = {}

    def _reserve(self, pin, output):
        if pin in self._pins:
            raise PinInUse("pin %r is already used by another device" % (pin,))
        p = _SimPin(self, pin, output)
        self._pins[pin] = p
        return p

    def _release(self, pin, p):
        if self._pins.get(pin) is p:
            del self._pins[pin]

    def input_pin(self, pin, pull_up):
        p = self._reserve(pin, False)
        if pin not in self.levels:
            self.levels[pin] = bool(pull_up)
        return p

    def output_pin(self, pin):
        p = self._reserve(pin, True)
        self.leds[pin] = False
        return p

    def set_level(self, pin, level):
        """Drive simulated input ``pin`` to ``level`` (True = high)."""
        self.levels[pin] = bool(level)
        p = self._pins.get(pin)
        if p is not None and p.on_change is not None:
            p.on_change()

    def read(self, pin):
        return self.levels.get(pin, True)

    def close(self):
        pass


# ------------------------------------------------------- choosing a back end


def make_backend(spec: object = None, pin_factory: object = None) -> "Any":
    """A back end from a name in :data:`BACKENDS`, ``None`` (the default), or
    a back-end object (returned as is). ``pin_factory`` means gpiozero with it."""
    if pin_factory is not None:
        from kcore.gpio._gpiozero import GpiozeroBackend

        return GpiozeroBackend(pin_factory)
    if spec is None:
        return default_backend()
    if not isinstance(spec, str):
        return spec
    name = _ALIASES.get(spec.lower(), spec.lower())
    if name == "simulation":
        return SimulationBackend()
    if name == "gpiozero":
        if not CPYTHON:
            raise BackendUnavailable("kcore.gpio's gpiozero back end runs only on CPython")
        from kcore.gpio._gpiozero import GpiozeroBackend

        return GpiozeroBackend()
    if name == "circuitpython":
        from kcore.gpio._circuitpython import CircuitPythonBackend

        return CircuitPythonBackend()
    raise ValueError("unknown GPIO back end %r (choose one of %s)" % (spec, ", ".join(BACKENDS)))


def _auto_backend_name():
    env = getenv("KCORE_GPIO_BACKEND")
    if env:
        return env
    if CIRCUITPYTHON:
        return "circuitpython"
    if not CPYTHON:
        try:
            import digitalio  # noqa: F401
        except ImportError:
            return "simulation"
        return "circuitpython"
    gz = sys.modules.get("gpiozero")
    if gz is not None and getattr(gz.Device, "pin_factory", None) is not None:
        return "gpiozero"
    if getenv("GPIOZERO_PIN_FACTORY") or _is_raspberry_pi():
        return "gpiozero"
    if not _notice_done[0]:
        _notice_done[0] = True
        simout("kcore.gpio: no Raspberry Pi or board found; using the simulation back end")
    return "simulation"


def default_backend() -> "Any":
    """The back end devices use when given none (chosen on first use)."""
    global _default_backend
    if _default_backend is None:
        set_default_backend(_auto_backend_name())
    return _default_backend


def set_default_backend(backend: object) -> None:
    """Use ``backend`` (a name or object; None to choose again) for new devices."""
    global _default_backend, SIMULATION
    if isinstance(backend, str):
        name = _ALIASES.get(backend.lower(), backend.lower())
        backend = (
            SimulationBackend(SIM_BUTTONS, SIM_LEDS)
            if name == "simulation"
            else make_backend(name)
        )
    _default_backend = backend
    SIMULATION = None if backend is None else bool(getattr(backend, "simulated", False))


def init(simulation: object = None, backend: object = None) -> "Any":
    """Choose the default back end: ``simulation=True`` forces the simulation,
    ``False`` forces real hardware (making a device then fails if there is
    none), ``None`` decides automatically. Returns the back end."""
    if backend is not None:
        set_default_backend(backend)
    elif simulation:
        set_default_backend("simulation")
    elif simulation is not None:
        set_default_backend("circuitpython" if not CPYTHON else "gpiozero")
    else:
        set_default_backend(None)
        default_backend()
    return _default_backend


# ----------------------------------------------------------------- devices


def check(now_ms: "int | None" = None) -> int:
    """Run the timers of every open device; returns how many callbacks ran.
    Call it from a board's main loop (CPython's background thread does it)."""
    fired = 0
    for d in list(_DEVICES):
        fired += d.check(now_ms)
    return fired


def close_all() -> None:
    """Close every open device (what the original did at exit and on SIGTERM)."""
    for d in list(_DEVICES):
        d.close()


def rpi_atexit(signum=None, frame=None):
    """The original's exit hook: releases every pin."""
    close_all()


def input(bcm_pin: object) -> bool:  # noqa: A001 - the original's name
    """The level (True = high) of input ``bcm_pin``, read once."""
    for d in _DEVICES:
        if isinstance(d, KButton) and d.bcm_pin == bcm_pin:
            return d.value()
    backend = default_backend()
    if getattr(backend, "simulated", False):
        return backend.read(bcm_pin)
    p = backend.input_pin(bcm_pin, True)
    try:
        return bool(p.value())
    finally:
        p.close()


class _Device:
    """What buttons and LEDs share: a back end, a lock, a clock, timers, close().

    Timers (confirming a press, long presses, blinking, releasing a simulated
    press) are events in ``_event_queue``, a :class:`kcore.timequeue.TimeQueue`
    on the device's clock; :meth:`check` samples the pin, then fires them.
    """

    def __init__(self, backend, pin_factory, background, clock):
        self.backend = make_backend(backend, pin_factory)
        self._clock = clock or monotonic_ms
        self._lock = new_lock(reentrant=True)
        self._closed = False
        self._background = bool(background) and CPYTHON
        self._ticker = None
        self._event_queue = TimeQueue(clock=self._clock, max_len=8)
        self.stats = {"callbacks": 0, "callback_errors": 0}  # type: dict

    def _register(self):
        _DEVICES.append(self)
        if self._background:
            from kcore.gpio._ticker import TICKER

            self._ticker = TICKER
            TICKER.add(self)

    def _wake(self):
        if self._ticker is not None:
            self._ticker.wake()

    def _at(self, start, delay, fn, *args):
        """Run ``fn(*args)`` ``delay`` ms after clock time ``start``."""
        return self._event_queue.add_event(Event(delay, fn, args, now_ms=start))

    def _cancel(self, event):
        if event is not None:
            self._event_queue.cancel(event)

    def _check_open(self):
        if self._closed:
            raise DeviceClosed("%r is closed" % (self,))

    @property
    def closed(self):
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
        self._event_queue.clear()
        self._close_pins()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _sample(self, now, calls):
        pass

    def _close_pins(self):
        pass

    def check(self, now_ms: "int | None" = None) -> int:
        """Sample the pin and fire due timers; returns how many callbacks ran."""
        if self._closed:
            return 0
        before = self.stats["callbacks"]
        now = self._clock() if now_ms is None else now_ms
        calls = []  # type: list
        with self._lock:
            self._sample(now, calls)
        self._run(calls)
        self._event_queue.check(use_ms_time=now)
        return self.stats["callbacks"] - before

    def next_due_ms(self, now_ms: "int | None" = None) -> "int | None":
        """Milliseconds until :meth:`check` has timer work (0 if overdue), None if none."""
        return self._event_queue.next_due_ms(use_ms_time=now_ms)

    def _run(self, calls):
        for fn, args in calls:
            try:
                fn(*args)
                self.stats["callbacks"] += 1
            except Exception as e:  # a bad callback must not stop the others
                self.stats["callback_errors"] += 1
                _report_callback_error(self, e)


def _default_press(bcm_pin):
    print("Button pressed: %s" % (bcm_pin,))


class KButton(_Device):
    """A push button on ``bcm_pin``.

    A press counts when the level leaves its idle state (high for
    ``normally_high`` buttons), stays there ``require_pressed_ms`` and comes
    at least ``debounce_ms`` after the previous accepted press. Then
    ``func(bcm_pin)`` runs and a ``("press", pin, t_ms)`` event is queued;
    held for ``long_press_ms`` (if given) ``long_func(bcm_pin)`` runs and a
    ``"long_press"`` event is queued; letting go queues ``"release"``.
    The event queue keeps the newest ``queue_len`` events.
    """

    def __init__(
        self,
        bcm_pin,
        func=_default_press,
        name="?",
        log=False,
        background=True,
        normally_high=True,
        pull_float_high=True,
        debounce_ms=1000,
        require_pressed_ms=100,
        long_press_ms=None,
        long_func=None,
        queue_len=16,
        backend=None,
        pin_factory=None,
        clock=None,
    ):
        for label, v in (("debounce_ms", debounce_ms), ("require_pressed_ms", require_pressed_ms)):
            if not isinstance(v, int) or v < 0:
                raise ValueError("%s must be an int >= 0, got %r" % (label, v))
        if long_press_ms is not None and (
            not isinstance(long_press_ms, int) or long_press_ms <= 0
        ):
            raise ValueError(
                "long_press_ms must be a positive int or None, got %r" % (long_press_ms,)
            )
        if not isinstance(queue_len, int) or queue_len < 1:
            raise ValueError("queue_len must be an int >= 1, got %r" % (queue_len,))
        super().__init__(backend, pin_factory, background, clock)
        self.bcm_pin = bcm_pin
        self.name = name
        self.log = log
        self.func = func
        self.long_func = long_func
        self.normally_high = bool(normally_high)
        self.debounce_ms = debounce_ms
        self.require_pressed_ms = require_pressed_ms
        self.long_press_ms = long_press_ms
        self.queue_len = queue_len
        self.enabled = True
        self.stats.update(
            {
                "edges": 0,
                "presses": 0,
                "long_presses": 0,
                "debounced": 0,
                "unsustained": 0,
                "events_dropped": 0,
            }
        )
        self._events = []
        self._press_start = None
        self._confirmed = False
        self._last_press = None
        self._confirm_ev = None
        self._long_ev = None
        self._sim_ev = None
        self._pin = self.backend.input_pin(bcm_pin, bool(pull_float_high))
        self._pressed = self._is_pressed_level(self._pin.value())
        self._pin.on_change = self._on_edge
        self._register()

    # ------------------------------------------------------------- reading
    def __repr__(self):
        state = "closed" if self._closed else ("pressed" if self._pressed else "released")
        return "<KButton %s(%s) %s>" % (self.bcm_pin, self.name, state)

    @property
    def display_name(self):
        return "%s(%s)" % (self.bcm_pin, self.name)

    def _is_pressed_level(self, level):
        return bool(level) != self.normally_high

    def value(self) -> bool:
        """The raw pin level (True = high)."""
        self._check_open()
        return bool(self._pin.value())

    @property
    def is_pressed(self) -> bool:
        """True while the button is held (raw level, before any debouncing)."""
        return self._is_pressed_level(self.value())

    # --------------------------------------------------------- event queue
    def _queue(self, kind, t):
        if len(self._events) >= self.queue_len:
            self._events.pop(0)
            self.stats["events_dropped"] += 1
        self._events.append((kind, self.bcm_pin, t))

    def get_event(self) -> "tuple | None":
        """The oldest queued ``(kind, pin, t_ms)`` event, removed; None if none."""
        with self._lock:
            return self._events.pop(0) if self._events else None

    def events(self) -> list:
        """Every queued event, oldest first; the queue is emptied."""
        with self._lock:
            out, self._events = self._events, []
        return out

    # ---------------------------------------------------------- the logic
    def _on_edge(self):
        """Called by the back end when the level changes (any thread)."""
        if self._closed:
            return
        calls = []  # type: list
        with self._lock:
            self._sample(self._clock(), calls)
        self._run(calls)
        self._wake()

    def _sample(self, now, calls):
        if self._closed:
            return
        pressed = self._is_pressed_level(self._pin.value())
        if pressed == self._pressed:
            return
        self._pressed = pressed
        self.stats["edges"] += 1
        if pressed:
            if not self.enabled:
                return
            if self._last_press is not None and now - self._last_press < self.debounce_ms:
                self.stats["debounced"] += 1
                return
            self._press_start = now
            self._confirmed = False
            if self.require_pressed_ms == 0:
                self._accept(now, calls)
            else:
                self._confirm_ev = self._at(now, self.require_pressed_ms, self._confirm_due, now)
            return
        self._cancel(self._confirm_ev)
        self._cancel(self._long_ev)
        self._confirm_ev = self._long_ev = None
        if self._press_start is not None:
            if self._confirmed:
                self._queue("release", now)
            else:
                self.stats["unsustained"] += 1
                if self.log:
                    simout(
                        "button %s: press shorter than %d ms dropped"
                        % (self.display_name, self.require_pressed_ms)
                    )
        self._press_start = None

    def _still_held(self, start):
        return self._pressed and self._press_start == start and not self._closed

    def _accept(self, now, calls):
        self._confirmed = True
        self._last_press = self._press_start
        self.stats["presses"] += 1
        self._queue("press", now)
        if self.log:
            simout("button %s pressed" % self.display_name)
        if self.func is not None:
            calls.append((self.func, (self.bcm_pin,)))
        if self.long_press_ms is not None:
            self._long_ev = self._at(
                self._press_start, self.long_press_ms, self._long_due, self._press_start
            )

    def _confirm_due(self, start):
        calls = []  # type: list
        with self._lock:
            self._confirm_ev = None
            if self._still_held(start) and not self._confirmed:
                self._accept(start + self.require_pressed_ms, calls)
        self._run(calls)

    def _long_due(self, start):
        calls = []  # type: list
        with self._lock:
            self._long_ev = None
            if self._still_held(start) and self._confirmed:
                self.stats["long_presses"] += 1
                self._queue("long_press", start + self.long_press_ms)
                if self.long_func is not None:
                    calls.append((self.long_func, (self.bcm_pin,)))
        self._run(calls)

    # ---------------------------------------------------------- control
    def disable(self) -> None:
        """Ignore the button until :meth:`enable`."""
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def _require_sim(self, what):
        self._check_open()
        if not getattr(self.backend, "simulated", False):
            raise NotSimulated(
                "%s needs the simulation back end, not %s"
                % (what, getattr(self.backend, "name", self.backend))
            )

    def simulate_press(self, duration_ms: int = 200) -> None:
        """Simulation only: hold the button down for ``duration_ms``."""
        self._require_sim("simulate_press")
        if not isinstance(duration_ms, int) or duration_ms < 0:
            raise ValueError("duration_ms must be an int >= 0, got %r" % (duration_ms,))
        if self.log:
            simout(
                "button on bcm_pin %s set %s for %d ms."
                % (self.bcm_pin, not self.normally_high, duration_ms)
            )
        with self._lock:
            self._cancel(self._sim_ev)
            self._sim_ev = self._at(self._clock(), duration_ms, self._sim_release)
        self.backend.set_level(self.bcm_pin, not self.normally_high)
        self._wake()

    def _sim_release(self):
        with self._lock:
            self._sim_ev = None
        if not self._closed:
            self.backend.set_level(self.bcm_pin, self.normally_high)

    def simulate_unpress(self) -> None:
        """Simulation only: let go of the button now."""
        self._require_sim("simulate_unpress")
        with self._lock:
            self._cancel(self._sim_ev)
            self._sim_ev = None
        self.backend.set_level(self.bcm_pin, self.normally_high)

    def _close_pins(self):
        self._pin.on_change = None
        self._pin.close()


class KLed(_Device):
    """An LED on ``bcm_pin``: on, off, toggle, blink. Starts off."""

    def __init__(self, bcm_pin, backend=None, pin_factory=None, background=True, clock=None):
        super().__init__(backend, pin_factory, background, clock)
        self.bcm_pin = bcm_pin
        self.stats["toggles"] = 0
        self._blink = None  # [on_ms, off_ms, toggles left or None]
        self._blink_ev = None
        self._pin = self.backend.output_pin(bcm_pin)
        self._pin.set(False)
        self._register()

    def __repr__(self):
        if self._closed:
            return "<KLed %s closed>" % (self.bcm_pin,)
        return "<KLed %s %s>" % (self.bcm_pin, "on" if self._pin.get() else "off")

    def get(self) -> bool:
        """True if the LED is on."""
        self._check_open()
        return bool(self._pin.get())

    @property
    def is_lit(self) -> bool:
        return self.get()

    def _write(self, state):
        self._pin.set(bool(state))

    def _stop_blink(self):
        self._blink = None
        self._cancel(self._blink_ev)
        self._blink_ev = None

    def set(self, state: object) -> None:
        """On for a true ``state``, off otherwise; stops blinking."""
        self._check_open()
        with self._lock:
            self._stop_blink()
            self._write(state)

    def on(self) -> None:
        self.set(True)

    def off(self) -> None:
        self.set(False)

    hi = on
    low = off

    def toggle(self) -> None:
        self._check_open()
        with self._lock:
            self._stop_blink()
            self._write(not self._pin.get())

    def blink(self, on_ms: int = 500, off_ms: int = 500, n: "int | None" = None) -> None:
        """Blink ``n`` times (forever if None), ``on_ms`` on then ``off_ms`` off."""
        for v in (on_ms, off_ms):
            if not isinstance(v, int) or v <= 0:
                raise ValueError("on_ms and off_ms must be positive ints, got %r" % (v,))
        if n is not None and (not isinstance(n, int) or n < 0):
            raise ValueError("n must be an int >= 0 or None, got %r" % (n,))
        self._check_open()
        with self._lock:
            self._stop_blink()
            if n == 0:
                self._write(False)
                return
            self._write(True)
            self._blink = [on_ms, off_ms, None if n is None else 2 * n - 1]
            now = self._clock()
            self._blink_ev = self._at(now, on_ms, self._blink_step, now + on_ms)
        self._wake()

    def _blink_step(self, t):
        with self._lock:
            b = self._blink
            if b is None or self._closed:
                return
            lit = not self._pin.get()
            self._write(lit)
            self.stats["toggles"] += 1
            if b[2] is not None:
                b[2] -= 1
                if b[2] <= 0:
                    self._blink = self._blink_ev = None
                    return
            delay = b[0] if lit else b[1]
            self._blink_ev = self._at(t, delay, self._blink_step, t + delay)

    @property
    def blinking(self) -> bool:
        return self._blink is not None

    def _close_pins(self):
        self._stop_blink()
        try:
            self._write(False)
        finally:
            self._pin.close()


class KDualLed:
    """A red/green LED pair (yellow is both)."""

    def __init__(self, red_bcm_pin, green_bcm_pin, backend=None, pin_factory=None):
        backend = make_backend(backend, pin_factory)
        self._red = KLed(red_bcm_pin, backend=backend)
        try:
            self._green = KLed(green_bcm_pin, backend=backend)
        except Exception:
            self._red.close()
            raise

    def __repr__(self):
        return "<KDualLed red=%r green=%r>" % (self._red, self._green)

    def set(self, r: object, g: object) -> None:
        self._red.set(r)
        self._green.set(g)

    def get(self):
        """(red on, green on)."""
        return (self._red.get(), self._green.get())

    def off(self):
        self.set(False, False)

    def red(self):
        self.set(True, False)

    def green(self):
        self.set(False, True)

    def yellow(self):
        self.set(True, True)

    @property
    def closed(self):
        return self._red.closed and self._green.closed

    def close(self):
        self._red.close()
        self._green.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
