"""A fake CircuitPython ``digitalio``: pins remember their direction, pull and value.

Tests drive an input with :func:`drive` (None lets the pull resistor decide)
and read an output from ``DigitalInOut.value`` or :data:`OUTPUTS`.
"""

IN_USE = {}  # pin -> DigitalInOut
DRIVEN = {}  # pin -> level forced from outside, for inputs
OUTPUTS = {}  # pin -> last value written


class Direction:
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"


class Pull:
    UP = "UP"
    DOWN = "DOWN"


def drive(pin, level):
    if level is None:
        DRIVEN.pop(pin, None)
    else:
        DRIVEN[pin] = bool(level)


def reset():
    IN_USE.clear()
    DRIVEN.clear()
    OUTPUTS.clear()


class DigitalInOut:
    def __init__(self, pin):
        if pin in IN_USE:
            raise ValueError("%s in use" % (pin,))
        IN_USE[pin] = self
        self.pin = pin
        self.direction = Direction.INPUT
        self.pull = None
        self._value = False
        self.deinited = False

    @property
    def value(self):
        if self.deinited:
            raise ValueError("Object has been deinitialized and can no longer be used.")
        if self.direction == Direction.OUTPUT:
            return self._value
        if self.pin in DRIVEN:
            return DRIVEN[self.pin]
        return self.pull == Pull.UP

    @value.setter
    def value(self, v):
        if self.deinited:
            raise ValueError("Object has been deinitialized and can no longer be used.")
        if self.direction != Direction.OUTPUT:
            raise AttributeError("Cannot set value when direction is input.")
        self._value = bool(v)
        OUTPUTS[self.pin] = self._value

    def deinit(self):
        self.deinited = True
        if IN_USE.get(self.pin) is self:
            del IN_USE[self.pin]
