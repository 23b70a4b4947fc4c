"""NeoPixels on a Raspberry Pi through ``rpi_ws281x`` (the ``[rpi]`` extra). CPython only.

The library drives the LEDs by DMA from /dev/mem, so it needs a Raspberry Pi
and root; both are checked first so the error says which is missing rather
than failing deep in C.
"""

import os
from typing import Any, Callable, Optional, Sequence

from kcore._hw import BackendUnavailable, is_raspberry_pi
from kcore.neo import NeoBackendError

# Pins the PWM/PCM/SPI hardware can drive, and the PWM channel each one needs.
PINS = {10: 0, 12: 0, 18: 0, 21: 0, 13: 1, 19: 1}
DEFAULT_PIN = 18
# From rpi_ws281x's ws2811.h, used when the module does not export them.
STRIP_TYPES = {
    "RGB": 0x00100800,
    "RBG": 0x00100008,
    "GRB": 0x00081000,
    "GBR": 0x00080010,
    "BRG": 0x00001008,
    "BGR": 0x00000810,
    "RGBW": 0x18100800,
    "RBGW": 0x18100008,
    "GRBW": 0x18081000,
    "GBRW": 0x18080010,
    "BRGW": 0x18001008,
    "BGRW": 0x18000810,
}


def _import_rpi_ws281x() -> Any:
    try:
        import rpi_ws281x
    except ImportError:
        raise BackendUnavailable(
            "kcore.neo's rpi_ws281x back end needs: pip install 'kcore-hw[rpi]'"
        ) from None
    return rpi_ws281x


def pin_number(pin: object) -> int:
    """18, "18", "D18", "GPIO18" or a Blinka pin object with ``.id`` -> 18."""
    if pin is None:
        return DEFAULT_PIN
    pin = getattr(pin, "id", pin)
    if isinstance(pin, str):
        text = pin.upper()
        for prefix in ("GPIO", "D"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
        pin = int(text) if text.isdigit() else pin
    if not isinstance(pin, int) or pin not in PINS:
        raise ValueError(
            "rpi_ws281x cannot drive NeoPixels from pin %r; use GPIO %s"
            % (pin, ", ".join(str(p) for p in sorted(PINS)))
        )
    return pin


class Ws281xBackend:
    name = "rpi"

    def __init__(
        self,
        n: int,
        pin: object = None,
        order: str = "GRB",
        include_w: bool = False,
        freq_hz: int = 800000,
        dma: int = 10,
        invert: bool = False,
        is_pi: Callable[[], bool] = is_raspberry_pi,
        euid: Optional[int] = None,
    ) -> None:
        module = _import_rpi_ws281x()
        if not is_pi():
            raise NeoBackendError(
                "kcore.neo's rpi back end drives LEDs only on a Raspberry Pi; "
                "use simulation=True (headless) or simulation='window' elsewhere"
            )
        if euid is None:
            euid = os.geteuid()
        if euid != 0:
            raise NeoBackendError(
                "kcore.neo's rpi back end needs root (rpi_ws281x uses /dev/mem and DMA); "
                "run the program as root"
            )
        gpio = pin_number(pin)
        ws = getattr(module, "ws", None)
        prefix = "SK6812_STRIP_" if include_w else "WS2811_STRIP_"
        strip_type = getattr(ws, prefix + order, None) or STRIP_TYPES[order]
        self._color = module.Color
        self._n = n
        self.strip = module.PixelStrip(n, gpio, freq_hz, dma, invert, 255, PINS[gpio], strip_type)
        self.strip.begin()

    def write(self, frame: Sequence[Sequence[int]]) -> None:
        strip, color = self.strip, self._color
        for i, c in enumerate(frame):
            strip.setPixelColor(i, color(*c))
        strip.show()

    def close(self) -> None:
        """Turn the LEDs off and release the DMA channel."""
        self.write([(0, 0, 0)] * self._n)
        cleanup = getattr(self.strip, "_cleanup", None)
        if cleanup is not None:
            cleanup()
