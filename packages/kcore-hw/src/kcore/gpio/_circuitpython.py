"""kcore.gpio on CircuitPython: ``board`` pins through ``digitalio`` and ``pwmio``.

Nothing interrupts on a board, so devices see edges when :func:`kcore.gpio.check`
samples them; call it often from the main loop. Runs on CPython too, with
``board``/``digitalio``/``pwmio`` modules passed in (that is how it is tested).
"""

from kcore._hw import BackendUnavailable
from kcore.gpio._base import BackendError, BadPin, PinInUse

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only; boards have no typing
    from typing import Any, Callable, Optional

DUTY_MAX = 65535  # pwmio's duty_cycle range is 0..65535


class _CpPin:
    def __init__(self, io: "Any", active_high: bool = True) -> None:
        self.io = io
        self.device = io
        self.active_high = active_high
        self.on_change: Optional[Callable[[], None]] = None  # boards are polled

    def value(self) -> bool:
        return bool(self.io.value)

    def get(self) -> bool:
        return bool(self.io.value) == self.active_high

    def set(self, state: object) -> None:
        self.io.value = bool(state) == self.active_high

    def close(self) -> None:
        self.io.deinit()


class _PwmPin:
    def __init__(self, pwm: "Any", active_high: bool, initial: float) -> None:
        self.pwm = pwm
        self.device = pwm
        self.active_high = active_high
        self.on_change: Optional[Callable[[], None]] = None
        self._value = 0.0
        self.set(initial)

    def value(self) -> bool:
        return self._value > 0

    def get(self) -> float:
        return self._value

    def set(self, duty: "Any") -> None:
        duty = float(duty)
        self.pwm.duty_cycle = round((duty if self.active_high else 1.0 - duty) * DUTY_MAX)
        self._value = duty

    def close(self) -> None:
        self.pwm.deinit()


class CircuitPythonBackend:
    name = "circuitpython"
    simulated = False

    def __init__(
        self,
        board_module: "Any" = None,
        digitalio_module: "Any" = None,
        pwmio_module: "Any" = None,
    ) -> None:
        if board_module is None or digitalio_module is None:
            try:
                import board
                import digitalio
            except ImportError:
                raise BackendUnavailable(
                    "kcore.gpio's circuitpython back end needs CircuitPython's "
                    "board and digitalio modules (run it on a board)"
                )
            board_module = board_module or board
            digitalio_module = digitalio_module or digitalio
        self.board = board_module
        self.digitalio = digitalio_module
        self.pwmio = pwmio_module

    def shares_pins_with(self, other: object) -> bool:
        return isinstance(other, CircuitPythonBackend) and other.board is self.board

    def board_pin(self, pin: object) -> "Any":
        """``5`` -> board.D5; ``"GP5"`` -> board.GP5; a pin object as is."""
        if isinstance(pin, int):
            name = "D%d" % pin
        elif isinstance(pin, str):
            name = pin
        else:
            return pin
        p = getattr(self.board, name, None)
        if p is None:
            raise BadPin("this board has no pin %s" % name)
        return p

    def _open(self, pin: object, make: "Callable[[Any], Any]") -> "Any":
        try:
            return make(self.board_pin(pin))
        except ValueError as e:
            if "in use" in str(e):
                raise PinInUse("pin %r is already in use" % (pin,))
            raise

    def input_pin(
        self,
        pin: object,
        pull_up: "Optional[bool]" = True,
        idle_high: bool = True,
        bounce_ms: "Optional[int]" = None,
    ) -> _CpPin:
        dio = self.digitalio
        io = self._open(pin, dio.DigitalInOut)
        io.direction = dio.Direction.INPUT
        if pull_up is not None:
            io.pull = dio.Pull.UP if pull_up else dio.Pull.DOWN
        return _CpPin(io)

    def output_pin(self, pin: object, active_high: bool = True, initial: bool = False) -> _CpPin:
        io = self._open(pin, self.digitalio.DigitalInOut)
        io.direction = self.digitalio.Direction.OUTPUT
        p = _CpPin(io, bool(active_high))
        p.set(initial)
        return p

    def pwm_pin(
        self, pin: object, frequency: int = 100, active_high: bool = True, initial: float = 0.0
    ) -> _PwmPin:
        if self.pwmio is None:
            try:
                import pwmio
            except ImportError:
                raise BackendUnavailable(
                    "kcore.gpio's circuitpython back end needs CircuitPython's pwmio "
                    "module for PWM outputs (run it on a board)"
                )
            self.pwmio = pwmio
        pwm_module = self.pwmio

        def make(board_pin: "Any") -> "Any":
            try:
                return pwm_module.PWMOut(board_pin, frequency=frequency, duty_cycle=0)
            except ValueError as e:
                if "in use" in str(e):
                    raise
                raise BackendError("pin %r cannot do PWM here: %s" % (pin, e))

        return _PwmPin(self._open(pin, make), bool(active_high), initial)

    def close(self) -> None:
        pass
