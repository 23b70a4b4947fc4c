"""A fake CircuitPython ``neopixel``: records what was written and each show()."""

RGB = "RGB"
GRB = "GRB"
RGBW = "RGBW"
GRBW = "GRBW"

STRIPS = []


class NeoPixel:
    def __init__(self, pin, n, bpp=3, brightness=1.0, auto_write=True, pixel_order=None):
        self.pin = pin
        self.n = n
        self.brightness = brightness
        self.auto_write = auto_write
        self.pixel_order = pixel_order
        width = len(pixel_order) if pixel_order else bpp
        self.pixels = [(0,) * width] * n
        self.shown = []  # one copy of the pixels per show()
        self.deinited = False
        STRIPS.append(self)

    def __setitem__(self, i, color):
        if len(color) != len(self.pixels[i]):
            raise ValueError("expected %d channels, got %r" % (len(self.pixels[i]), color))
        self.pixels[i] = tuple(color)

    def __getitem__(self, i):
        return self.pixels[i]

    def __len__(self):
        return self.n

    def show(self):
        self.shown.append(list(self.pixels))

    def deinit(self):
        self.deinited = True
