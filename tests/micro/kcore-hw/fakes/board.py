"""A fake CircuitPython ``board`` module: named pin objects, nothing more."""


class Pin:
    def __init__(self, name):
        self.id = name

    def __repr__(self):
        return "board.%s" % self.id


for _i in range(30):
    globals()["D%d" % _i] = Pin("D%d" % _i)
    globals()["GP%d" % _i] = Pin("GP%d" % _i)
LED = Pin("LED")
NEOPIXEL = Pin("NEOPIXEL")
