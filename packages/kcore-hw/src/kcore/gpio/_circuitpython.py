"""kcore.gpio on CircuitPython: ``board`` pins through ``digitalio``.

Nothing interrupts on a board, so devices see edges when :func:`kcore.gpio.check`
samples them; call it often from the main loop. Runs on CPython too, with
``board``/``digitalio`` modules passed in (that is how it is tested).
"""

from kcore.gpio import BackendUnavailable, BadPin, PinInUse


class _CpPin:
    def __init__(self, io):
        self.io = io
        self.on_change = None  # never called: boards are polled

    def value(self):
        return bool(self.io.value)

    def get(self):
        return bool(self.io.value)

    def set(self, state):
        self.io.value = bool(state)

    def close(self):
        self.io.deinit()


class CircuitPythonBackend:
    name = "circuitpython"
    simulated = False

    def __init__(self, board_module=None, digitalio_module=None):
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

    def board_pin(self, pin):
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

    def _open(self, pin):
        try:
            return self.digitalio.DigitalInOut(self.board_pin(pin))
        except ValueError as e:
            if "in use" in str(e):
                raise PinInUse("pin %r is already in use" % (pin,))
            raise

    def input_pin(self, pin, pull_up):
        dio = self.digitalio
        io = self._open(pin)
        io.direction = dio.Direction.INPUT
        io.pull = dio.Pull.UP if pull_up else dio.Pull.DOWN
        return _CpPin(io)

    def output_pin(self, pin):
        io = self._open(pin)
        io.direction = self.digitalio.Direction.OUTPUT
        io.value = False
        return _CpPin(io)

    def close(self):
        pass
