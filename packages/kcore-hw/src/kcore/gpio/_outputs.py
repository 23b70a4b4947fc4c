"""kcore.gpio's outputs: an LED (on, off, toggle, blink), a PWM output
(0.0..1.0) and a red/green LED pair.

This file runs unchanged on CircuitPython/MicroPython and CPython 3.9+.
"""

from kcore.gpio._base import _Device, check_ms

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only; boards have no typing
    from typing import Any, Callable, Optional


class KLed(_Device):
    """An LED on ``bcm_pin``: on, off, toggle, blink. Starts at
    ``initial_value`` (off); ``active_high=False`` for an LED lit by a low pin."""

    def __init__(
        self,
        bcm_pin: object,
        backend: object = None,
        pin_factory: object = None,
        background: bool = True,
        clock: "Optional[Callable[[], int]]" = None,
        active_high: bool = True,
        initial_value: bool = False,
        strict_pins: "Optional[bool]" = None,
    ) -> None:
        super().__init__(backend, pin_factory, background, clock, strict_pins)
        self.bcm_pin = bcm_pin
        self.active_high = bool(active_high)
        self.stats["toggles"] = 0
        self._blink: Optional[list] = None  # [on_ms, off_ms, toggles left or None]
        self._blink_ev: Any = None
        self._pin = self._open_pin(
            bcm_pin,
            lambda: self.backend.output_pin(
                bcm_pin, active_high=self.active_high, initial=bool(initial_value)
            ),
        )
        self._register()

    def __repr__(self) -> str:
        if self._closed:
            return "<KLed %s closed>" % (self.bcm_pin,)
        return "<KLed %s %s>" % (self.bcm_pin, "on" if self._pin.get() else "off")

    def _pin_numbers(self) -> tuple:
        return (self.bcm_pin,)

    def get(self) -> bool:
        """True if the LED is on."""
        self._check_open()
        return bool(self._pin.get())

    @property
    def is_lit(self) -> bool:
        return self.get()

    def _write(self, state: object) -> None:
        self._pin.set(bool(state))

    def _stop_blink(self) -> None:
        self._blink = None
        if self._blink_ev is not None:
            self._timers.cancel(self._blink_ev)
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

    def blink(self, on_ms: int = 500, off_ms: int = 500, n: "Optional[int]" = None) -> None:
        """Blink ``n`` times (forever if None), ``on_ms`` on then ``off_ms`` off."""
        check_ms("on_ms", on_ms, 1)
        check_ms("off_ms", off_ms, 1)
        if n is not None:
            check_ms("n", n)
        self._check_open()
        with self._lock:
            self._stop_blink()
            if n == 0:
                self._write(False)
                return
            self._write(True)
            self._blink = [on_ms, off_ms, None if n is None else 2 * n - 1]
            now = self._clock()
            self._blink_ev = self._at(self._timers, now, on_ms, self._blink_step, now + on_ms)
        self._wake()

    def _blink_step(self, t: int) -> None:
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
            self._blink_ev = self._at(self._timers, t, delay, self._blink_step, t + delay)

    @property
    def blinking(self) -> bool:
        return self._blink is not None

    def _close_pins(self) -> None:
        self._stop_blink()
        try:
            self._write(False)
        finally:
            self._pin.close()


def _duty(value: object) -> float:
    """``value`` as a duty cycle 0.0..1.0; a ValueError naming it otherwise."""
    if isinstance(value, (int, float)):
        v = float(value)
        if 0.0 <= v <= 1.0:  # False for NaN
            return v
    raise ValueError("a PWM value must be a number from 0.0 to 1.0, got %r" % (value,))


class KPwmLed(_Device):
    """A PWM output on ``bcm_pin`` (a dimmable LED, a motor driver...):
    ``value`` is the duty cycle, 0.0 (off) to 1.0 (fully on), at
    ``frequency`` Hz. ``active_high=False`` inverts the pin.

    Back ends: gpiozero's ``PWMLED`` (on a Pi; with ``MockFactory`` pass
    ``pin_class=MockPWMPin``), CircuitPython's ``pwmio.PWMOut`` (duty cycle
    scaled to 0..65535), and the simulation (``SIM_LEDS[pin]`` holds the value).
    """

    def __init__(
        self,
        bcm_pin: object,
        frequency: int = 100,
        active_high: bool = True,
        initial_value: float = 0.0,
        backend: object = None,
        pin_factory: object = None,
        strict_pins: "Optional[bool]" = None,
    ) -> None:
        check_ms("frequency", frequency, 1)
        initial = _duty(initial_value)
        super().__init__(backend, pin_factory, False, None, strict_pins)
        self.bcm_pin = bcm_pin
        self.frequency = frequency
        self.active_high = bool(active_high)
        self._pin = self._open_pin(
            bcm_pin,
            lambda: self.backend.pwm_pin(
                bcm_pin, frequency=frequency, active_high=self.active_high, initial=initial
            ),
        )
        self._register()

    def __repr__(self) -> str:
        if self._closed:
            return "<KPwmLed %s closed>" % (self.bcm_pin,)
        return "<KPwmLed %s value=%.3f>" % (self.bcm_pin, self._pin.get())

    def _pin_numbers(self) -> tuple:
        return (self.bcm_pin,)

    @property
    def value(self) -> float:
        """The duty cycle, 0.0..1.0."""
        self._check_open()
        return float(self._pin.get())

    @value.setter
    def value(self, v: float) -> None:
        self.set(v)

    def get(self) -> float:
        return self.value

    def set(self, value: object) -> None:
        """Set the duty cycle (0.0..1.0; True/False are 1.0/0.0)."""
        v = _duty(value)
        self._check_open()
        with self._lock:
            self._pin.set(v)

    def on(self) -> None:
        self.set(1.0)

    def off(self) -> None:
        self.set(0.0)

    def toggle(self) -> None:
        """Off if lit at all, else fully on."""
        self.set(0.0 if self.value > 0 else 1.0)

    @property
    def is_lit(self) -> bool:
        return self.value > 0

    def _close_pins(self) -> None:
        try:
            self._pin.set(0.0)
        finally:
            self._pin.close()


class KDualLed:
    """A red/green LED pair (yellow is both)."""

    def __init__(
        self,
        red_bcm_pin: object,
        green_bcm_pin: object,
        backend: object = None,
        pin_factory: object = None,
        strict_pins: "Optional[bool]" = None,
    ) -> None:
        from kcore.gpio import make_backend

        be = make_backend(backend, pin_factory)
        self._red = KLed(red_bcm_pin, backend=be, strict_pins=strict_pins)
        try:
            self._green = KLed(green_bcm_pin, backend=be, strict_pins=strict_pins)
        except Exception:
            self._red.close()
            raise

    def __repr__(self) -> str:
        return "<KDualLed red=%r green=%r>" % (self._red, self._green)

    def set(self, r: object, g: object) -> None:
        self._red.set(r)
        self._green.set(g)

    def get(self) -> tuple:
        """(red on, green on)."""
        return (self._red.get(), self._green.get())

    def off(self) -> None:
        self.set(False, False)

    def red(self) -> None:
        self.set(True, False)

    def green(self) -> None:
        self.set(False, True)

    def yellow(self) -> None:
        self.set(True, True)

    @property
    def closed(self) -> bool:
        return self._red.closed and self._green.closed

    def close(self) -> None:
        self._red.close()
        self._green.close()

    def __enter__(self) -> "KDualLed":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
