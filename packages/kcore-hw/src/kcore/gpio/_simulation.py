"""kcore.gpio's simulation back end: pins that are entries in two dicts.

This file runs unchanged on CircuitPython/MicroPython and CPython 3.9+.
"""

from kcore.gpio._base import PinInUse

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only; boards have no typing
    from typing import Any, Callable, Optional

_INPUT, _OUTPUT, _PWM = "input", "output", "pwm"


class _SimPin:
    device = None  # no hardware object behind a simulated pin

    def __init__(self, backend: "SimulationBackend", pin: object, kind: str) -> None:
        self.backend = backend
        self.pin = pin
        self.kind = kind
        self.on_change: Optional[Callable[[], None]] = None  # set by the device

    def value(self) -> bool:
        if self.kind == _INPUT:
            return bool(self.backend.levels.get(self.pin, True))
        return bool(self.get())

    def set(self, state: "Any") -> None:
        self.backend.leds[self.pin] = float(state) if self.kind == _PWM else bool(state)

    def get(self) -> "Any":
        return self.backend.leds.get(self.pin, 0.0 if self.kind == _PWM else False)

    def close(self) -> None:
        self.backend._release(self.pin, self)


class SimulationBackend:
    """Pins that are entries in two dicts: ``levels`` (input levels, True =
    high) and ``leds`` (output states: bools, or 0.0..1.0 for PWM outputs).

    A button's level starts at its idle level (``normally_high``).
    :meth:`set_level` changes an input level and tells the device at once, as
    an edge interrupt would; changing ``levels`` directly is noticed by the
    next ``check()``. ``gpio.SIM_BUTTONS`` and ``gpio.SIM_LEDS`` are the dicts
    of the default simulation (``init(simulation=True)``, ``backend="simulation"``).
    """

    name = "simulation"
    simulated = True

    def __init__(self, levels: "Optional[dict]" = None, leds: "Optional[dict]" = None) -> None:
        self.levels = {} if levels is None else levels  # type: dict
        self.leds = {} if leds is None else leds  # type: dict
        self._pins = {}  # type: dict

    def shares_pins_with(self, other: object) -> bool:
        return other is self or (
            isinstance(other, SimulationBackend)
            and other.levels is self.levels
            and other.leds is self.leds
        )

    def _reserve(self, pin: object, kind: str) -> _SimPin:
        if pin in self._pins:
            raise PinInUse("pin %r is already used by another device" % (pin,))
        p = _SimPin(self, pin, kind)
        self._pins[pin] = p
        return p

    def _release(self, pin: object, p: _SimPin) -> None:
        if self._pins.get(pin) is p:
            del self._pins[pin]

    def input_pin(
        self,
        pin: object,
        pull_up: "Optional[bool]" = True,
        idle_high: bool = True,
        bounce_ms: "Optional[int]" = None,
    ) -> _SimPin:
        """An input resting at ``idle_high``. Simulated contacts do not bounce,
        so ``bounce_ms`` changes nothing here."""
        p = self._reserve(pin, _INPUT)
        self.levels[pin] = bool(idle_high)
        return p

    def output_pin(self, pin: object, active_high: bool = True, initial: bool = False) -> _SimPin:
        """An output; ``leds`` holds whether it is on (whatever ``active_high``)."""
        p = self._reserve(pin, _OUTPUT)
        self.leds[pin] = bool(initial)
        return p

    def pwm_pin(
        self, pin: object, frequency: int = 100, active_high: bool = True, initial: float = 0.0
    ) -> _SimPin:
        """A PWM output; ``leds`` holds its duty cycle, 0.0..1.0."""
        p = self._reserve(pin, _PWM)
        self.leds[pin] = float(initial)
        return p

    def set_level(self, pin: object, level: object, notify: bool = True) -> None:
        """Drive simulated input ``pin`` to ``level`` (True = high); with
        ``notify`` the device holding it sees the edge at once."""
        self.levels[pin] = bool(level)
        p = self._pins.get(pin)
        if notify and p is not None and p.on_change is not None:
            p.on_change()

    def read(self, pin: object) -> bool:
        return bool(self.levels.get(pin, True))

    def close(self) -> None:
        pass
