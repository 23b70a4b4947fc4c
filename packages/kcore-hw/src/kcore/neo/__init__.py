"""A NeoPixel strip with one API on a Raspberry Pi, on CircuitPython and in simulation.

A :class:`Neo` keeps the colours you set (``strip[3] = RED``, ``strip[-1]``)
and sends them, scaled by ``brightness``, to a back end on :meth:`Neo.show`
(or at once with ``auto_write``). Assigning to a slice includes its stop
(``strip[2:4] = RED`` sets pixels 2, 3 and 4) and applies a list value element
by element; ``Neo(..., python_slices=True)`` makes slices behave exactly like
a list's. Back ends, chosen once per strip:

* ``"headless"``: colours kept in memory only; needs nothing (``simulation=True``).
* ``"window"``: a tkinter window drawing one square per pixel (CPython, needs $DISPLAY).
* ``"rpi"``: a Raspberry Pi through ``rpi_ws281x`` (``pip install 'kcore-hw[rpi]'``; root).
* ``"circuitpython"``: the board's ``neopixel`` library.

``"auto"`` (the default) means CircuitPython on a board, ``rpi`` on a Raspberry
Pi and ``headless`` elsewhere; ``$KCORE_NEO_BACKEND`` overrides it. No hardware
library is imported until a strip asks for its back end.

This file runs unchanged on CircuitPython/MicroPython and CPython 3.9+.
"""

__version__ = "0.1.0"

import time

from kcore._hw import BackendUnavailable, HwError, is_raspberry_pi
from kcore.common.platform import CPYTHON, error_class, getenv

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only; boards have no typing
    from typing import Any, Iterator, Optional, Sequence


class NeoError(HwError):
    """Root of the errors kcore.neo raises (``BackendUnavailable`` is shared with kcore.gpio)."""


NeoBackendError = error_class(
    "NeoBackendError",
    RuntimeError,
    NeoError,
    "The back end cannot run here (not a Raspberry Pi, not root, no display).",
    module=__name__,
)
BadColor = error_class(
    "BadColor", ValueError, NeoError, "A colour that is not 0..255 channels.", module=__name__
)
StripClosed = error_class(
    "StripClosed", RuntimeError, NeoError, "The strip was closed.", module=__name__
)
__all__ = ["BackendUnavailable", "BadColor", "Neo", "NeoBackendError", "NeoError", "StripClosed"]

# ------------------------------------------------------------------ colours
# RGB tuples (the Adafruit LED-animation palette).
AMBER = (255, 100, 0)
AQUA = (50, 255, 255)
BLACK = (0, 0, 0)
BLUE = (0, 0, 255)
CYAN = (0, 255, 255)
GOLD = (255, 222, 30)
GREEN = (0, 255, 0)
JADE = (0, 255, 40)
MAGENTA = (255, 0, 20)
OFF = (0, 0, 0)
ORANGE = (255, 40, 0)
PINK = (242, 90, 255)
PURPLE = (180, 0, 255)
RED = (255, 0, 0)
TEAL = (0, 255, 120)
WHITE = (255, 255, 255)
YELLOW = (255, 150, 0)
# For RGBW strips (include_w=True).
RGBW_WHITE_RGB = (255, 255, 255, 0)
RGBW_WHITE_RGBW = (255, 255, 255, 255)
RGBW_WHITE_W = (0, 0, 0, 255)

BACKENDS = ("auto", "headless", "window", "rpi", "circuitpython")


def wheel(pos: int) -> tuple:
    """Colour ``pos`` (any int; taken modulo 256) on a colour wheel: green at 0,
    red at 85, blue at 170, back to green (the Adafruit rpi_ws281x examples' wheel)."""
    pos = int(pos) % 256
    if pos < 85:
        return (pos * 3, 255 - pos * 3, 0)
    if pos < 170:
        pos -= 85
        return (255 - pos * 3, 0, pos * 3)
    pos -= 170
    return (0, pos * 3, 255 - pos * 3)


def color_to_rgb(color: int) -> tuple:
    """0xRRGGBB -> (r, g, b)."""
    color = int(color)
    return ((color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF)


def rgb_to_color(rgb: "tuple | list") -> int:
    """(r, g, b) or (r, g, b, w) -> one int, first channel most significant."""
    out = 0
    for channel in rgb:
        out = (out << 8) | (int(channel) & 0xFF)
    return out


def scale(color: tuple, brightness: float) -> tuple:
    """A colour with every channel multiplied by ``brightness`` (0..1)."""
    return tuple(int(c * brightness) for c in color)


def _slice_range(s: slice, n: int) -> range:
    """``range(*s.indices(n))``, spelled out: not every CircuitPython build has
    ``slice.indices``."""
    step = 1 if s.step is None else s.step
    if step == 0:
        raise ValueError("slice step cannot be zero")
    lo, hi = (0, n) if step > 0 else (-1, n - 1)

    def clamp(v: "Optional[int]", default: int) -> int:
        if v is None:
            return default
        if v < 0:
            v += n
            return lo if v < lo else v
        return hi if v > hi else v

    if step > 0:
        return range(clamp(s.start, 0), clamp(s.stop, n), step)
    return range(clamp(s.start, n - 1), clamp(s.stop, -1), step)


def _inclusive_range(s: slice, n: int) -> range:
    """The pixels a slice assignment sets by default: from start up to and
    *including* stop (``[2:4]`` is 2, 3, 4); a missing bound means the end of
    the strip; negative bounds count from the end, pixel by pixel."""
    step = 1 if s.step is None else s.step
    if step == 0:
        raise ValueError("slice step cannot be zero")
    start = s.start
    stop = s.stop
    if start is None:
        start = 0 if step > 0 else n - 1
    if stop is None:
        stop = n - 1 if step > 0 else 0
    return range(start, stop + (1 if step > 0 else -1), step)


def _pick_backend(name: "Optional[str]") -> str:
    if name is None or name == "auto":
        name = getenv("KCORE_NEO_BACKEND", "auto") or "auto"
    if name != "auto":
        return name
    if not CPYTHON:
        try:
            import neopixel  # noqa: F401
        except ImportError:
            return "headless"
        return "circuitpython"
    return "rpi" if is_raspberry_pi() else "headless"


class HeadlessBackend:
    """Keeps the last frame in memory: the simulation that needs nothing.

    ``frame`` is what the LEDs would show (brightness applied), ``shows``
    counts calls to :meth:`write`.
    """

    name = "headless"

    def __init__(
        self, n: int, pin: object = None, order: str = "GRB", include_w: bool = False
    ) -> None:
        width = 4 if include_w else 3
        self.frame = [(0,) * width] * n  # type: list
        self.shows = 0
        self.order = order

    def write(self, frame: "Sequence[tuple]") -> None:
        self.frame = list(frame)
        self.shows += 1

    def close(self) -> None:
        pass


class CircuitPythonBackend:
    """The board's ``neopixel`` library; kcore does the brightness scaling itself."""

    name = "circuitpython"

    def __init__(
        self,
        n: int,
        pin: object = None,
        order: str = "GRB",
        include_w: bool = False,
        neopixel_module: "Any" = None,
    ) -> None:
        if neopixel_module is None:
            try:
                import neopixel as neopixel_module  # type: ignore[no-redef]
            except ImportError:
                raise BackendUnavailable(
                    "kcore.neo's circuitpython back end needs the neopixel library on the board "
                    "(circup install neopixel)"
                )
        if pin is None or isinstance(pin, str):
            import board

            name = pin
            if name is None:
                name = "NEOPIXEL" if hasattr(board, "NEOPIXEL") else "D18"
            pin = getattr(board, name, None)
            if pin is None:
                raise ValueError("this board has no pin named %r" % (name,))
        pixel_order = getattr(neopixel_module, order, order)
        self._np = neopixel_module.NeoPixel(
            pin, n, brightness=1.0, auto_write=False, pixel_order=pixel_order
        )

    def write(self, frame: "Sequence[tuple]") -> None:
        np = self._np
        for i, color in enumerate(frame):
            np[i] = color
        np.show()

    def close(self) -> None:
        deinit = getattr(self._np, "deinit", None)
        if deinit is not None:
            deinit()


def _make_backend(name: str, n: int, pin: object, order: str, include_w: bool) -> "Any":
    if name == "headless":
        return HeadlessBackend(n, pin, order, include_w)
    if name == "circuitpython":
        return CircuitPythonBackend(n, pin, order, include_w)
    if name == "window":
        if not CPYTHON:
            raise NeoBackendError("kcore.neo's window back end needs CPython with tkinter")
        from kcore.neo._tk import WindowBackend

        return WindowBackend(n, pin, order, include_w)
    if name == "rpi":
        if not CPYTHON:
            raise NeoBackendError("kcore.neo's rpi back end runs on a Raspberry Pi under CPython")
        from kcore.neo._ws281x import Ws281xBackend

        return Ws281xBackend(n, pin, order, include_w)
    raise ValueError(
        "unknown NeoPixel back end %r (choose one of %s)" % (name, ", ".join(BACKENDS))
    )


class Neo:
    """A strip of ``n`` NeoPixels that behaves like a fixed-length list of colours.

    Colours are (r, g, b) tuples (or (r, g, b, w) with ``include_w``) or
    0xRRGGBB ints; reads always give tuples. ``reverse_rg`` is for RGB-ordered
    strips (most are GRB). ``backend`` is a name from :data:`BACKENDS` or an
    object with ``write(frame)`` and ``close()``; ``simulation=True`` is
    ``backend="headless"`` and ``simulation="window"`` opens the window.

    Reading a slice (``strip[1:3]``) gives a list, as for any list. Assigning
    to one includes the stop pixel (``strip[2:4] = RED`` sets 2, 3 and 4; a
    missing bound means the end of the strip) and a list value is applied
    element by element (extra colours are ignored, too few is an IndexError).
    ``python_slices=True`` makes assignment behave exactly like a list's (stop
    excluded; a sequence of colours must fit the slice).
    """

    def __init__(
        self,
        n: int = 1,
        pin: object = None,
        brightness: float = 1.0,
        auto_write: bool = True,
        simulation: object = False,
        reverse_rg: bool = False,
        include_w: bool = False,
        backend: object = None,
        python_slices: bool = False,
    ) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError("a strip needs n >= 1 pixels, got %r" % (n,))
        self._n = n
        self._include_w = bool(include_w)
        self._width = 4 if include_w else 3
        self._vals = [(0,) * self._width] * n
        self._brightness = self._check_brightness(brightness)
        self.auto_write = bool(auto_write)
        self.pixel_order = ("RGB" if reverse_rg else "GRB") + ("W" if include_w else "")
        self.python_slices = bool(python_slices)
        self._closed = False
        if backend is None:
            if simulation is True:
                backend = "headless"
            elif simulation:
                backend = simulation
        if backend is None or isinstance(backend, str):
            backend = _make_backend(
                _pick_backend(backend), n, pin, self.pixel_order, self._include_w
            )
        self.backend: Any = backend

    # -------------------------------------------------------- list protocol
    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> "Iterator[tuple]":
        return iter(list(self._vals))

    def _index(self, i: object) -> int:
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError("pixel indices must be integers or slices, not %s" % type(i).__name__)
        j = i + self._n if i < 0 else i
        if j < 0 or j >= self._n:
            raise IndexError("pixel index %d out of range for a strip of %d" % (i, self._n))
        return j

    def _color(self, value: object) -> tuple:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0 or value > (0xFFFFFFFF if self._include_w else 0xFFFFFF):
                raise BadColor("colour %r is out of range" % (value,))
            rgb = color_to_rgb(value)
            if self._include_w:
                return (rgb[0], rgb[1], rgb[2], (value >> 24) & 0xFF)
            return rgb
        if isinstance(value, (tuple, list)) and len(value) in (3, 4):
            for c in value:
                if isinstance(c, bool) or not isinstance(c, int) or c < 0 or c > 255:
                    raise BadColor("colour %r: channels must be ints 0..255" % (value,))
            if len(value) == 4 and not self._include_w:
                raise BadColor("colour %r has a white channel; use include_w=True" % (value,))
            if len(value) == 3 and self._include_w:
                return (value[0], value[1], value[2], 0)
            return tuple(value)
        raise BadColor("not a colour: %r (use (r, g, b) or 0xRRGGBB)" % (value,))

    def __getitem__(self, i: "Any") -> "Any":
        if isinstance(i, slice):
            return [self._vals[j] for j in _slice_range(i, self._n)]
        return self._vals[self._index(i)]

    def _slice_colors(self, s: slice, value: object) -> "tuple[list, list]":
        """(pixel indices, colours) a slice assignment writes, all checked first."""
        if not self.python_slices:
            indices = [self._index(j) for j in _inclusive_range(s, self._n)]
            if isinstance(value, list):
                if len(value) < len(indices):
                    raise IndexError(
                        "a list of %d colours for a slice of %d pixels (slice stops are "
                        "included: [2:4] is 3 pixels)" % (len(value), len(indices))
                    )
                return indices, [self._color(v) for v in value[: len(indices)]]
            return indices, [self._color(value)] * len(indices)
        indices = list(_slice_range(s, self._n))
        if (
            isinstance(value, (list, tuple)) and len(value) > 0 and not isinstance(value[0], int)
        ) or (isinstance(value, list) and len(value) == 0):
            colors = [self._color(v) for v in value]
            if len(colors) != len(indices):
                raise ValueError(
                    "attempt to assign %d colours to a slice of %d pixels"
                    % (len(colors), len(indices))
                )
            return indices, colors
        return indices, [self._color(value)] * len(indices)

    def __setitem__(self, i: "Any", value: object) -> None:
        self._check_open()
        if isinstance(i, slice):
            indices, colors = self._slice_colors(i, value)
            for j, c in zip(indices, colors):
                self._vals[j] = c
        else:
            self._vals[self._index(i)] = self._color(value)
        if self.auto_write:
            self.show()

    def get(self, i: int) -> tuple:
        """The colour set at pixel ``i`` (negative counts from the end)."""
        return self[i]

    def set(self, i: object, value: object) -> None:
        """Set pixel ``i`` (an int or a slice) to ``value``."""
        self[i] = value

    # ------------------------------------------------------------ brightness
    @staticmethod
    def _check_brightness(value: object) -> float:
        try:
            v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("brightness must be a number 0..1, got %r" % (value,))
        if v != v:  # NaN
            raise ValueError("brightness must be a number 0..1, got NaN")
        return min(1.0, max(0.0, v))

    @property
    def brightness(self) -> float:
        """0..1, applied when colours are sent out; what you set stays as set."""
        return self._brightness

    @brightness.setter
    def brightness(self, value: float) -> None:
        self._brightness = self._check_brightness(value)
        if self.auto_write:
            self.show()

    # --------------------------------------------------------------- output
    def rendered(self) -> list:
        """What the LEDs show: every colour scaled by the brightness."""
        b = self._brightness
        return [scale(c, b) for c in self._vals]

    def show(self) -> None:
        """Send the colours to the back end."""
        self._check_open()
        self.backend.write(self.rendered())

    def redraw(self) -> None:
        """Same as :meth:`show` (the original's name)."""
        self.show()

    def fill(self, color: object) -> None:
        """Every pixel to ``color``."""
        c = self._color(color)
        self._check_open()
        self._vals = [c] * self._n
        if self.auto_write:
            self.show()

    def black(self) -> None:
        """Every pixel off."""
        self.fill(BLACK)

    def fill_wheel(self, offset: int = 0) -> None:
        """A rainbow along the strip (pixel i gets ``wheel(255 * i // n)``),
        rotated by ``offset``."""
        n = self._n
        self._check_open()
        self._vals = [wheel(255 * i // n + offset) for i in range(n)]
        if self.auto_write:
            self.show()

    def wipe(self, color: object = BLACK, delay_ms: int = 0) -> None:
        """Set the pixels to ``color`` one after another, showing each step."""
        c = self._color(color)
        for i in range(self._n):
            self._vals[i] = c
            self.show()
            if delay_ms:
                time.sleep(delay_ms / 1000)

    # ------------------------------------------------------------ lifecycle
    def _check_open(self) -> None:
        if self._closed:
            raise StripClosed("this NeoPixel strip is closed")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the back end (the window closes, the Pi's DMA channel is freed)."""
        if not self._closed:
            self._closed = True
            self.backend.close()

    def __enter__(self) -> "Neo":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return "<Neo closed>"
        return "<Neo n=%d backend=%s brightness=%.2f>" % (
            self._n,
            getattr(self.backend, "name", type(self.backend).__name__),
            self._brightness,
        )
