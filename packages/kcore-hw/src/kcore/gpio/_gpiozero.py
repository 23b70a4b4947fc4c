"""kcore.gpio on a Raspberry Pi through gpiozero, with any gpiozero pin factory.

CPython only; gpiozero is imported when this back end is first made. Edges
come from gpiozero's callbacks (its own thread on real pins, the caller's
thread with ``MockFactory``'s ``drive_low()``/``drive_high()``). Each pin is a
gpiozero device (``Button``, ``LED``, ``PWMLED``), reachable as the kcore
device's ``device``.
"""

from typing import Any, Callable, Optional

from kcore._hw import BackendUnavailable
from kcore.gpio._base import BackendError, HardwareNotFound, PinInUse


def _import_gpiozero() -> Any:
    try:
        import gpiozero
    except ImportError:
        raise BackendUnavailable(
            "kcore.gpio's Raspberry Pi back end needs gpiozero: "
            "pip install 'kcore-hw' (or 'kcore[hw]')"
        ) from None
    return gpiozero


def new_mock_factory() -> Any:
    """A gpiozero ``MockFactory`` whose pins can do PWM too."""
    _import_gpiozero()
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    return MockFactory(pin_class=MockPWMPin)


class _GzPin:
    def __init__(self, device: Any) -> None:
        self.device = device
        self._on_change: Optional[Callable[[], None]] = None

    @property
    def on_change(self) -> Optional[Callable[[], None]]:
        return self._on_change

    @on_change.setter
    def on_change(self, fn: Optional[Callable[[], None]]) -> None:
        self._on_change = fn
        if hasattr(self.device, "when_activated"):
            handler = (lambda: fn()) if fn is not None else None
            self.device.when_activated = handler
            self.device.when_deactivated = handler

    def value(self) -> bool:
        return bool(self.device.pin.state)

    def get(self) -> Any:
        return self.device.value

    def set(self, state: Any) -> None:
        self.device.value = state

    def close(self) -> None:
        self.device.close()


class GpiozeroBackend:
    """``pin_factory`` None means gpiozero's default (``Device.pin_factory``,
    ``$GPIOZERO_PIN_FACTORY``, or the first pin library that loads)."""

    name = "gpiozero"
    simulated = False

    def __init__(self, pin_factory: Any = None) -> None:
        self.gpiozero = _import_gpiozero()
        self.pin_factory = pin_factory

    def _factory(self) -> Any:
        return (
            self.pin_factory if self.pin_factory is not None else self.gpiozero.Device.pin_factory
        )

    def shares_pins_with(self, other: object) -> bool:
        if not isinstance(other, GpiozeroBackend):
            return False
        mine = self._factory()
        return mine is not None and mine is other._factory()

    def _make(self, cls: Any, pin: Any, **kwargs: Any) -> Any:
        gz = self.gpiozero
        try:
            return cls(pin, pin_factory=self.pin_factory, **kwargs)
        except gz.GPIOPinInUse as e:
            raise PinInUse("pin %r is already in use: %s" % (pin, e)) from None
        except gz.PinPWMUnsupported as e:
            raise BackendError(
                "pin %r cannot do PWM with this pin factory (%s); gpiozero's MockFactory "
                "needs pin_class=MockPWMPin (kcore.gpio.mock_factory() has it)" % (pin, e)
            ) from None
        except gz.BadPinFactory as e:
            raise HardwareNotFound(
                "gpiozero found no pin library it can use (is this a Raspberry Pi?): %s; "
                "use kcore.gpio.init(simulation=True) elsewhere" % (e,)
            ) from None

    def input_pin(
        self,
        pin: Any,
        pull_up: Optional[bool] = True,
        idle_high: bool = True,
        bounce_ms: Optional[int] = None,
    ) -> _GzPin:
        # gpiozero derives the active level from the pull unless the pin floats;
        # kcore reads the raw level and applies normally_high itself.
        return _GzPin(
            self._make(
                self.gpiozero.Button,
                pin,
                pull_up=pull_up,
                active_state=(not idle_high) if pull_up is None else None,
                bounce_time=None if not bounce_ms else bounce_ms / 1000.0,
            )
        )

    def output_pin(self, pin: Any, active_high: bool = True, initial: bool = False) -> _GzPin:
        return _GzPin(
            self._make(self.gpiozero.LED, pin, active_high=active_high, initial_value=initial)
        )

    def pwm_pin(
        self, pin: Any, frequency: int = 100, active_high: bool = True, initial: float = 0.0
    ) -> _GzPin:
        return _GzPin(
            self._make(
                self.gpiozero.PWMLED,
                pin,
                active_high=active_high,
                initial_value=initial,
                frequency=frequency,
            )
        )

    def close(self) -> None:
        pass
