"""Loads the fake ``board``, ``digitalio``, ``pwmio`` and ``neopixel`` modules from ./fakes.

``install()`` also puts them in sys.modules under their real names (what the
back ends import when given no modules); ``uninstall()`` takes them out again
so nothing leaks into other tests.
"""

import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
_NAMES = ("board", "digitalio", "pwmio", "neopixel")


def _load():
    saved = {}
    for name in _NAMES:
        if name in sys.modules:
            saved[name] = sys.modules.pop(name)
    sys.path.insert(0, _HERE + "/fakes")
    try:
        import board
        import digitalio
        import neopixel
        import pwmio
    finally:
        sys.path.pop(0)
        for name in _NAMES:
            sys.modules.pop(name, None)
        for name in saved:
            sys.modules[name] = saved[name]
    return board, digitalio, pwmio, neopixel


board, digitalio, pwmio, neopixel = _load()


def install():
    sys.modules["board"] = board
    sys.modules["digitalio"] = digitalio
    sys.modules["pwmio"] = pwmio
    sys.modules["neopixel"] = neopixel


def uninstall():
    for name in _NAMES:
        sys.modules.pop(name, None)


class Clock:
    """A clock the test moves by hand: ``clock()`` reads it, ``clock.t += 5``."""

    def __init__(self, t=1000):
        self.t = t

    def __call__(self):
        return self.t
