"""kcore.gpio on a Raspberry Pi through gpiozero, with any gpiozero pin factory.

CPython only; gpiozero is imported when this back end is first made. Edges
come from gpiozero's callbacks (its own thread on real pins, the caller's
thread with ``MockFactory``'s ``drive_low()``/``drive_high()``).
"""

from typing import Any, Callable, Optional

from kcore.gpio import BackendError, BackendUnavailable, PinInUse


def _import_gpiozero() -> Any:
    try:
        import gpiozero
    except ImportError:
        raise BackendUnavailable(
            "kcore.gpio's Raspberry Pi back end needs gpiozero: "
            "pip install 'kcore-hw' (or 'kcore[hw]')"
        ) from None
    return gpiozero


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

    def get(self) -> bool:
        return bool(self.device.value)

    def set(self, state: bool) -> None:
        self.device.value = bool(state)

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

    def _make(self, cls: Any, pin: Any, **kwargs: Any) -> Any:
        gz = self.gpiozero
        try:
            return cls(pin, pin_factory=self.pin_factory, **kwargs)
        except gz.GPIOPinInUse as e:
            raise PinInUse("pin %r is already in use: %s" % (pin, e)) from None
        except gz.BadPinFactory as e:
            raise BackendError(
                "gpiozero found no pin library it can use (is this a Raspberry Pi?): %s; "
                "use kcore.gpio.init(simulation=True) elsewhere" % (e,)
            ) from None

    def input_pin(self, pin: Any, pull_up: bool) -> _GzPin:
        return _GzPin(
            self._make(self.gpiozero.DigitalInputDevice, pin, pull_up=pull_up, bounce_time=None)
        )

    def output_pin(self, pin: Any) -> _GzPin:
        return _GzPin(self._make(self.gpiozero.DigitalOutputDevice, pin, initial_value=False))

    def close(self) -> None:
        pass
