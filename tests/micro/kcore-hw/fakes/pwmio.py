"""A fake CircuitPython ``pwmio``: PWMOut remembers its frequency and duty cycle."""

from digitalio import IN_USE  # one pin can be a DigitalInOut or a PWMOut, not both

NO_PWM = set()  # pins that refuse PWM, as some board pins do


class PWMOut:
    def __init__(self, pin, *, duty_cycle=0, frequency=500, variable_frequency=False):
        if pin in IN_USE:
            raise ValueError("%s in use" % (pin,))
        if pin in NO_PWM:
            raise ValueError("Invalid pin")
        IN_USE[pin] = self
        self.pin = pin
        self.frequency = frequency
        self.deinited = False
        self._duty = 0
        self.duty_cycle = duty_cycle

    @property
    def duty_cycle(self):
        return self._duty

    @duty_cycle.setter
    def duty_cycle(self, v):
        if self.deinited:
            raise ValueError("Object has been deinitialized and can no longer be used.")
        if not isinstance(v, int) or not 0 <= v <= 65535:
            raise ValueError("duty_cycle must be 0-65535, got %r" % (v,))
        self._duty = v

    def deinit(self):
        self.deinited = True
        if IN_USE.get(self.pin) is self:
            del IN_USE[self.pin]
