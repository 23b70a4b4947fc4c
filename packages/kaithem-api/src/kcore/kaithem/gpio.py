"""``kaithem.gpio``: GPIO pins as tag points and message-bus events, over gpiozero.

Built on kcore.gpio's gpiozero back end: a :class:`DigitalInput` is a
:class:`kcore.gpio.KButton`, a :class:`DigitalOutput` a :class:`kcore.gpio.KLed`
and a :class:`PWMOutput` a :class:`kcore.gpio.KPwmLed`, each on a gpiozero pin
factory; ``.gpio`` is the gpiozero ``Button``, ``LED`` or ``PWMLED``. gpiozero
is imported when the first pin is made, never by importing this module.

Every pin has the numeric tag ``/system/gpio/<pin>`` (0..1).

* An input holds a claim named ``gpio`` at priority 60 with its state (1 =
  active) and posts ``/system/gpio/change/<pin>`` (True or False),
  ``/system/gpio/active/<pin>`` (True), ``/system/gpio/inactive/<pin>``
  (False) and, held for ``hold_time`` seconds, ``/system/gpio/hold/<pin>``
  (True; again every ``hold_time`` with ``hold_repeat``).
* An output follows its tag: ``on()``, ``off()`` and ``value = v`` write the
  tag's default claim, so a higher claim wins. A PWM output's tag is its duty
  cycle, 0..1; a digital output is on above 0.5.

Mock pins: where gpiozero finds no pin library (not a Raspberry Pi), pins use
the instance's gpiozero ``MockFactory`` and a warning is posted once on
``/system/notifications/warnings``; ``mock=True`` asks for it;
:meth:`DigitalInput.set_raw_mock_value` switches an input to it and drives
its raw level; ``release_mocking()`` returns to the real pin.

A new object on a pin closes the older one (per Kaithem instance).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, Callable

from kcore import gpio as _kgpio
from kcore.common import logger as _logger
from kcore.common.platform import KcoreError

TAG_PREFIX = "/system/gpio/"
CHANGE_TOPIC = "/system/gpio/change/"
ACTIVE_TOPIC = "/system/gpio/active/"
INACTIVE_TOPIC = "/system/gpio/inactive/"
HOLD_TOPIC = "/system/gpio/hold/"
WARNING_TOPIC = "/system/notifications/warnings"
CLAIM_NAME = "gpio"
CLAIM_PRIORITY = 60

_UNSET: Any = object()


class NoRealGPIOError(KcoreError, RuntimeError):
    """There is no real GPIO here: gpiozero found no pin library."""


def _seconds(value: Any, what: str, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError("%s must be a number of seconds >= 0, got %r" % (what, value))
    return float(value)


class _GpioPin:
    """What inputs and outputs share: the pin, its tag, the kcore device and
    the switch between real and mock pins."""

    def __init__(self, pin: Any, comment: str, mock: Any, pin_factory: Any, kaithem: Any) -> None:
        if kaithem is None:
            from kcore.kaithem import default

            kaithem = default()
        if isinstance(pin, bool) or not isinstance(pin, (int, str)) or pin == "":
            raise TypeError("pin must be a GPIO number or a gpiozero pin name, got %r" % (pin,))
        self._kaithem = kaithem
        self._ns: Namespace = kaithem.gpio
        self.pin = pin
        self.comment = comment
        self._real_factory = pin_factory  # None: gpiozero's default (the Pi's pins)
        self._lock = threading.RLock()
        self._device: Any = None
        self._mocked = False
        self._closed = False
        self.tag = kaithem.tags.NumericTag(TAG_PREFIX + str(pin), min=0, max=1)
        self._ns._register(self)

    # -- the kcore device ----------------------------------------------------

    def _make(self, pin_factory: Any) -> Any:
        raise NotImplementedError

    def _after_open(self) -> None:
        pass

    def _open(self, mock: Any) -> None:
        """Open the pin on the real factory or, asked for or without real GPIO,
        on the instance's mock factory."""
        ns = self._ns
        if mock or (self._real_factory is None and ns.no_real_gpio):
            self._swap(self._make(ns.mock_factory()), mocked=True)
            return
        try:
            device = self._make(self._real_factory)
        except _kgpio.HardwareNotFound as e:
            ns._no_real(e)
            device = self._make(ns.mock_factory())
            self._swap(device, mocked=True)
            return
        self._swap(device, mocked=False)

    def _swap(self, device: Any, mocked: bool) -> None:
        with self._lock:
            old, self._device = self._device, device
            self._mocked = mocked
        if old is not None:
            old.close()
        self._after_open()

    def _to_real(self) -> None:
        try:
            device = self._make(self._real_factory)
        except _kgpio.HardwareNotFound as e:
            raise NoRealGPIOError(
                "GPIO %s stays mocked: there is no real GPIO here (%s)" % (self.pin, e)
            ) from None
        self._swap(device, mocked=False)

    def release_mocking(self) -> None:
        """Go back to the real pin; :class:`NoRealGPIOError` if there is none."""
        self._check_open()
        if self._mocked:
            self._to_real()

    releaseMocking = release_mocking  # the original's name

    @property
    def mocked(self) -> bool:
        """True while the pin is a gpiozero mock pin."""
        return self._mocked

    @property
    def gpio(self) -> Any:
        """The gpiozero device (``Button``, ``LED`` or ``PWMLED``). Do not replace
        its ``when_*`` callbacks: the tag and the bus depend on them."""
        return None if self._device is None else self._device.device

    # -- lifetime ------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise _kgpio.DeviceClosed("%r is closed" % (self,))

    @property
    def closed(self) -> bool:
        return self._closed

    def _release_tag(self) -> None:
        pass

    def close(self) -> None:
        """Release the pin (and this object's hold on the tag). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            device, self._device = self._device, None
        try:
            if device is not None:
                device.close()
        finally:
            self._release_tag()
            self._ns._unregister(self)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("mock" if self._mocked else "real")
        note = " %r" % self.comment if self.comment else ""
        return "<%s %s%s %s>" % (type(self).__name__, self.pin, note, state)


class DigitalInput(_GpioPin):
    """A digital input (a button, a switch, a sensor's output) on ``pin``.

    ``pull``: True pulls up (the default), False down, None leaves the pin
    floating (then ``active_state`` is required). The pin is active when low
    if pulled up, high if pulled down, unless ``active_state`` says (True:
    active when high). ``bounce_time`` (seconds) is gpiozero's contact
    debounce; ``hold_time`` (seconds, None for no holds) and ``hold_repeat``
    drive the hold events. ``pin_factory``: a gpiozero pin factory (default:
    the Pi's own pins); ``mock=True`` uses the instance's mock pins.
    """

    def __init__(
        self,
        pin: Any,
        *,
        comment: str = "",
        mock: Any = None,
        pull: bool | None = True,
        active_state: bool | None = None,
        bounce_time: float | None = None,
        hold_time: float | None = 1,
        hold_repeat: bool = False,
        pin_factory: Any = None,
        pull_up: Any = _UNSET,
        kaithem: Any = None,
    ) -> None:
        if pull_up is not _UNSET:
            warnings.warn(
                "DigitalInput(pull_up=...) is deprecated; use pull=", DeprecationWarning, 2
            )
            pull = pull_up
        if pull not in (True, False, None):
            raise ValueError("pull must be True (up), False (down) or None, got %r" % (pull,))
        if active_state is None:
            if pull is None:
                raise ValueError(
                    "a floating input (pull=None) needs active_state=True (active high) "
                    "or False (active low)"
                )
            active_state = not pull
        self.active_state = bool(active_state)
        self.pull = pull
        bounce = _seconds(bounce_time, "bounce_time")
        hold = _seconds(hold_time, "hold_time")
        self._bounce_ms = None if bounce is None else round(bounce * 1000)
        self._hold_ms = None if hold is None else max(1, round(hold * 1000))
        self.hold_time = hold_time
        self.hold_repeat = bool(hold_repeat)
        self._claim: Any = None
        super().__init__(pin, comment, mock, pin_factory, kaithem)
        try:
            self._claim = self.tag.claim(0, CLAIM_NAME, priority=CLAIM_PRIORITY)
            self._open(mock)
        except BaseException:
            self.close()
            raise

    def _make(self, pin_factory: Any) -> Any:
        return _kgpio.KButton(
            self.pin,
            func=self._activated,
            release_func=self._deactivated,
            long_func=self._held,
            long_press_ms=self._hold_ms,
            long_press_repeat=self.hold_repeat,
            name=self.comment or "?",
            normally_high=not self.active_state,
            pull_float_high=self.pull,
            debounce_ms=0,
            require_pressed_ms=0,
            bounce_ms=self._bounce_ms,
            backend="gpiozero",
            pin_factory=pin_factory,
        )

    def _after_open(self) -> None:
        device, claim = self._device, self._claim
        if device is not None and claim is not None:
            claim.set(1 if device.is_pressed else 0)

    # -- events (called by the kcore button, in gpiozero's or the timer thread) --

    def _post(self, topic: str, value: bool) -> None:
        self._kaithem.runtime.bus.post(topic + str(self.pin), value)

    def _activated(self, _pin: Any) -> None:
        self._claim.set(1)
        self._post(CHANGE_TOPIC, True)
        self._post(ACTIVE_TOPIC, True)

    def _deactivated(self, _pin: Any) -> None:
        self._claim.set(0)
        self._post(CHANGE_TOPIC, False)
        self._post(INACTIVE_TOPIC, False)

    def _held(self, _pin: Any) -> None:
        self._post(HOLD_TOPIC, True)

    # -- public ------------------------------------------------------------------

    @property
    def value(self) -> bool:
        """True while the input is active."""
        self._check_open()
        return bool(self._device.is_pressed)

    is_active = value

    def _subscribe(self, topic: str, f: Callable[..., Any]) -> Any:
        return self._kaithem.message.subscribe(topic + str(self.pin), f)

    def on_change(self, f: Callable[..., Any]) -> Any:
        """Call ``f(topic, value)`` on every change (value True when active).
        Returns the bus subscription (``unsubscribe()`` ends it)."""
        return self._subscribe(CHANGE_TOPIC, f)

    def on_active(self, f: Callable[..., Any]) -> Any:
        return self._subscribe(ACTIVE_TOPIC, f)

    def on_inactive(self, f: Callable[..., Any]) -> Any:
        return self._subscribe(INACTIVE_TOPIC, f)

    def on_hold(self, f: Callable[..., Any]) -> Any:
        """Call ``f(topic, True)`` when the input has been active ``hold_time`` seconds."""
        return self._subscribe(HOLD_TOPIC, f)

    def set_raw_mock_value(self, v: Any) -> None:
        """Switch to the mock pin (if not already) and drive its raw level: a
        true ``v`` is high. Everything then behaves as with real input."""
        self._check_open()
        with self._lock:
            if not self._mocked:
                self._swap(self._make(self._ns.mock_factory()), mocked=True)
            pin = self._device.device.pin
        if v:
            pin.drive_high()
        else:
            pin.drive_low()

    setRawMockValue = set_raw_mock_value  # the name the help page uses

    def _release_tag(self) -> None:
        if self._claim is not None:
            self._claim.release()


class DigitalOutput(_GpioPin):
    """A digital output on ``pin`` that follows the tag ``/system/gpio/<pin>``
    (on above 0.5). ``initial_value`` is written to the tag's default claim.
    ``frequency`` is accepted for symmetry with :class:`PWMOutput` and unused."""

    def __init__(
        self,
        pin: Any,
        *,
        comment: str = "",
        mock: Any = None,
        active_high: bool = True,
        initial_value: float = 0,
        frequency: float = 100,
        pin_factory: Any = None,
        kaithem: Any = None,
    ) -> None:
        self.active_high = bool(active_high)
        self.initial_value = self._check_value(initial_value)
        self.frequency = frequency
        self._forced: float | None = None
        super().__init__(pin, comment, mock, pin_factory, kaithem)
        try:
            self._open(mock)
            self.tag.set_handler(self._on_tag)
            self.tag.value = self.initial_value
            self._drive(self.tag.value)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _check_value(v: Any) -> float:
        if isinstance(v, bool):
            return float(v)
        if not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ValueError("a GPIO output value must be a number from 0 to 1, got %r" % (v,))
        return float(v)

    def _make(self, pin_factory: Any) -> Any:
        return _kgpio.KLed(
            self.pin,
            active_high=self.active_high,
            initial_value=self.initial_value > 0.5,
            background=False,
            backend="gpiozero",
            pin_factory=pin_factory,
        )

    def _after_open(self) -> None:
        if self._device is not None and self.tag.timestamp:
            self._drive(self._forced if self._forced is not None else self.tag.value)

    def _drive(self, value: float) -> None:
        device = self._device
        if device is not None:
            device.set(value > 0.5)

    def _on_tag(self, value: float, timestamp: float, annotation: Any) -> None:
        if self._forced is None:
            self._drive(value)

    # -- public ------------------------------------------------------------------

    @property
    def value(self) -> float:
        """The tag's value; writing it writes the tag's default claim."""
        return float(self.tag.value)

    @value.setter
    def value(self, v: float) -> None:
        self.tag.value = self._check_value(v)

    def on(self) -> None:
        """Set the tag's default claim to 1 (a higher claim still wins)."""
        self.value = 1

    def off(self) -> None:
        self.value = 0

    def set_state(self, state: Any) -> None:
        self.value = 1 if state else 0

    setState = set_state  # the original's name

    def force(self, value: float) -> None:
        """Drive the pin to ``value`` regardless of the tag, until :meth:`unforce`."""
        self._check_open()
        self._forced = self._check_value(value)
        self._drive(self._forced)

    def unforce(self) -> None:
        """Follow the tag again."""
        self._forced = None
        if not self._closed:
            self._drive(self.tag.value)

    @property
    def forced(self) -> bool:
        return self._forced is not None

    def _release_tag(self) -> None:
        self.tag.set_handler(None)


class PWMOutput(DigitalOutput):
    """A PWM output on ``pin`` whose duty cycle follows the tag (0..1), at
    ``frequency`` Hz. With gpiozero's ``MockFactory`` it needs
    ``pin_class=MockPWMPin`` (the instance's mock factory has it)."""

    def _make(self, pin_factory: Any) -> Any:
        return _kgpio.KPwmLed(
            self.pin,
            frequency=int(self.frequency),
            active_high=self.active_high,
            initial_value=self.initial_value,
            backend="gpiozero",
            pin_factory=pin_factory,
        )

    def _drive(self, value: float) -> None:
        device = self._device
        if device is not None:
            device.value = min(1.0, max(0.0, float(value)))


_DigitalInput = DigitalInput
_DigitalOutput = DigitalOutput
_PWMOutput = PWMOutput


def _bound(cls: Any, kaithem: Any) -> Any:
    """``cls`` with ``kaithem=`` defaulting to one instance (what ``kaithem.gpio.X`` is)."""

    class Bound(cls):
        __doc__ = cls.__doc__

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("kaithem", kaithem)
            super().__init__(*args, **kwargs)

    Bound.__name__ = Bound.__qualname__ = cls.__name__
    return Bound


class Namespace:
    """``kaithem.gpio`` bound to one Kaithem instance: its pins and its mock pins."""

    NoRealGPIOError = NoRealGPIOError

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        self._lock = threading.RLock()
        self._pins: dict[str, _GpioPin] = {}
        self._mock_factory: Any = None
        self.no_real_gpio = False  # True once gpiozero found no pin library
        self.DigitalInput = _bound(_DigitalInput, kaithem)
        self.DigitalOutput = _bound(_DigitalOutput, kaithem)
        self.PWMOutput = _bound(_PWMOutput, kaithem)

    def mock_factory(self) -> Any:
        """This instance's gpiozero ``MockFactory`` (PWM-capable pins), made on first use."""
        with self._lock:
            if self._mock_factory is None:
                self._mock_factory = _kgpio.mock_factory()
            return self._mock_factory

    def _register(self, pin: _GpioPin) -> None:
        key = str(pin.pin)
        with self._lock:
            old = self._pins.get(key)
            self._pins[key] = pin
        if old is not None:
            old.close()

    def _unregister(self, pin: _GpioPin) -> None:
        key = str(pin.pin)
        with self._lock:
            if self._pins.get(key) is pin:
                del self._pins[key]

    def _no_real(self, error: BaseException) -> None:
        with self._lock:
            first = not self.no_real_gpio
            self.no_real_gpio = True
        if first:
            msg = "No real GPIO here (%s); GPIO pins use gpiozero's mock pins" % (error,)
            _logger.log_warning(msg)
            self._kaithem.runtime.bus.post(WARNING_TOPIC, msg)

    @property
    def inputs(self) -> dict[str, _DigitalInput]:
        """Open inputs by pin name."""
        return {k: v for k, v in self._pins.items() if isinstance(v, _DigitalInput)}

    @property
    def outputs(self) -> dict[str, _DigitalOutput]:
        """Open outputs (digital and PWM) by pin name."""
        return {k: v for k, v in self._pins.items() if isinstance(v, _DigitalOutput)}

    def close(self) -> None:
        """Close every pin and the mock pins (``kaithem.close()`` calls this)."""
        with self._lock:
            pins = list(self._pins.values())
        for p in pins:
            p.close()
        with self._lock:
            factory, self._mock_factory = self._mock_factory, None
        if factory is not None:
            factory.close()
