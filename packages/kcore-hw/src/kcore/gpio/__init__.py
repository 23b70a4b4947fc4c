"""Buttons, LEDs and PWM outputs with one API on a Raspberry Pi, on CircuitPython and in
simulation.

Devices (:class:`KButton`, :class:`KLed`, :class:`KPwmLed`, :class:`KDualLed`)
never touch hardware themselves: they ask a *back end* for pins, as
gpiozero's devices ask a pin factory. Back ends:

* ``"simulation"``: no hardware; input levels live in :data:`SIM_BUTTONS`
  and output states in :data:`SIM_LEDS`, and :meth:`KButton.simulate_press`
  presses a button. A first-class back end, not a test hack.
* ``"gpiozero"``: a Raspberry Pi through gpiozero, with any gpiozero pin
  factory (``pin_factory=MockFactory()`` in tests; :func:`mock_factory`).
* ``"circuitpython"``: ``board``, ``digitalio`` and ``pwmio`` on a microcontroller.

The default is CircuitPython on a board, gpiozero on a Raspberry Pi (or when
a gpiozero pin factory was configured) and the simulation elsewhere;
``$KCORE_GPIO_BACKEND`` or :func:`init` override it.

A back end is any object with ``input_pin(pin, pull_up, idle_high=True,
bounce_ms=None)``, ``output_pin(pin, active_high=True, initial=False)``,
``pwm_pin(pin, frequency=100, active_high=True, initial=0.0)`` and
``close()``; each pin it returns has ``value()``, ``get()``, ``set(v)``,
``close()``, ``device`` and an ``on_change`` slot the device fills.

A new device takes its pin from an older, unclosed device (which is closed),
as re-running a script expects; ``strict_pins=True`` (per device, or
:func:`init` for all) raises :class:`PinInUse` instead.

Timing (debounce, "must stay pressed for", long presses, blinking) runs in
``check()``. On CPython a background thread calls it for you
(``background=True``, the default); on a board call :func:`check` from the
main loop, as often as you can.

This file runs unchanged on CircuitPython/MicroPython and CPython 3.9+.
"""

__version__ = "0.1.0"

import sys

from kcore._hw import BackendUnavailable, is_raspberry_pi
from kcore.common.platform import CIRCUITPYTHON, CPYTHON, getenv
from kcore.gpio._base import (
    _DEVICES,
    _STRICT_PINS,
    BackendError,
    BadPin,
    DeviceClosed,
    GpioError,
    HardwareNotFound,
    NotSimulated,
    PinInUse,
    simout,
)
from kcore.gpio._button import KButton
from kcore.gpio._outputs import KDualLed, KLed, KPwmLed
from kcore.gpio._simulation import SimulationBackend

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only; boards have no typing
    from typing import Any, Optional

__all__ = [
    "BACKENDS",
    "SIMULATION",
    "SIM_BUTTONS",
    "SIM_LEDS",
    "BackendError",
    "BackendUnavailable",
    "BadPin",
    "DeviceClosed",
    "GpioError",
    "HardwareNotFound",
    "KButton",
    "KDualLed",
    "KLed",
    "KPwmLed",
    "NotSimulated",
    "PinInUse",
    "SimulationBackend",
    "check",
    "close_all",
    "default_backend",
    "init",
    "input",
    "make_backend",
    "mock_factory",
    "rpi_atexit",
    "set_default_backend",
    "simout",
]

# The original's module globals, kept for programs that read them. SIMULATION
# is None until the default back end is chosen (first device, or init()).
SIMULATION = None  # type: Optional[bool]
SIM_BUTTONS = {}  # type: dict  # pin -> level (bool) of the default simulation back end
SIM_LEDS = {}  # type: dict  # pin -> state (bool, or 0.0..1.0 for PWM) of that back end

BACKENDS = ("simulation", "gpiozero", "circuitpython")
_ALIASES = {"sim": "simulation", "mock": "simulation", "rpi": "gpiozero", "pi": "gpiozero"}

_default_backend = None  # type: Any
_shared_simulation = []  # type: list  # the one SimulationBackend over SIM_BUTTONS/SIM_LEDS
_notice_done = [False]


def _simulation() -> SimulationBackend:
    """The default simulation: one back end over SIM_BUTTONS and SIM_LEDS, so
    every device on it shares pins (and takes them from each other)."""
    if not _shared_simulation:
        _shared_simulation.append(SimulationBackend(SIM_BUTTONS, SIM_LEDS))
    sim = _shared_simulation[0]  # type: SimulationBackend
    return sim


# ------------------------------------------------------- choosing a back end


def _backend_name(spec: str) -> str:
    return _ALIASES.get(spec.lower(), spec.lower())


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
    name = _backend_name(spec)
    if name == "simulation":
        return _simulation()
    if name == "gpiozero":
        if not CPYTHON:
            raise BackendUnavailable("kcore.gpio's gpiozero back end runs only on CPython")
        from kcore.gpio._gpiozero import GpiozeroBackend

        return GpiozeroBackend()
    if name == "circuitpython":
        from kcore.gpio._circuitpython import CircuitPythonBackend

        return CircuitPythonBackend()
    raise ValueError("unknown GPIO back end %r (choose one of %s)" % (spec, ", ".join(BACKENDS)))


def _auto_backend_name() -> str:
    env = getenv("KCORE_GPIO_BACKEND")
    if env:
        return str(env)
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
    if getenv("GPIOZERO_PIN_FACTORY") or is_raspberry_pi():
        return "gpiozero"
    if not _notice_done[0]:
        _notice_done[0] = True
        simout("kcore.gpio: no Raspberry Pi or board found; using the simulation back end")
    return "simulation"


def default_backend() -> "Any":
    """The back end devices use when given none (chosen on first use)."""
    if _default_backend is None:
        set_default_backend(_auto_backend_name())
    return _default_backend


def set_default_backend(backend: object) -> None:
    """Use ``backend`` (a name or object; None to choose again) for new devices."""
    global _default_backend, SIMULATION
    if isinstance(backend, str):
        backend = make_backend(backend)
    _default_backend = backend
    SIMULATION = None if backend is None else bool(getattr(backend, "simulated", False))


def init(
    simulation: object = None, backend: object = None, strict_pins: "Optional[bool]" = None
) -> "Any":
    """Choose the default back end: ``simulation=True`` forces the simulation,
    ``False`` forces real hardware (making a device then fails if there is
    none); with neither, the back end already chosen stays, and if none was,
    one is chosen now. ``strict_pins=True`` makes every new device refuse a
    pin another device holds (:class:`PinInUse`) instead of taking it.
    Returns the back end."""
    if strict_pins is not None:
        _STRICT_PINS[0] = bool(strict_pins)
    if backend is not None:
        set_default_backend(backend)
    elif simulation:
        set_default_backend("simulation")
    elif simulation is not None:
        set_default_backend("circuitpython" if not CPYTHON else "gpiozero")
    return default_backend()


def mock_factory() -> "Any":
    """A new gpiozero ``MockFactory`` whose pins can also do PWM
    (``pin_class=MockPWMPin``): gpiozero's own mock back end, for tests and
    for running Pi programs elsewhere. CPython only."""
    from kcore.gpio._gpiozero import new_mock_factory

    return new_mock_factory()


# ----------------------------------------------------------------- devices


def check(now_ms: "Optional[int]" = None) -> int:
    """Run the timers of every open device; returns how many callbacks ran.
    Call it from a board's main loop (CPython's background thread does it)."""
    fired = 0
    for d in list(_DEVICES):
        fired += d.check(now_ms)
    return fired


def close_all() -> None:
    """Close every open device. Call it at exit or from your own SIGTERM handler:
    a library does not replace the program's signal handlers."""
    for d in list(_DEVICES):
        d.close()


def rpi_atexit(signum: object = None, frame: object = None) -> None:
    """The original's exit hook: releases every pin."""
    close_all()


def input(bcm_pin: object) -> bool:  # the original's name
    """The level (True = high) of input ``bcm_pin``, read once."""
    for d in _DEVICES:
        if isinstance(d, KButton) and d.bcm_pin == bcm_pin:
            return d.value()
    backend = default_backend()
    if getattr(backend, "simulated", False):
        return bool(backend.read(bcm_pin))
    p = backend.input_pin(bcm_pin, True)
    try:
        return bool(p.value())
    finally:
        p.close()
