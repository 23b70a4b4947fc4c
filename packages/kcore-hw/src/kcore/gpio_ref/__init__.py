"""The Raspberry Pi 40-pin header: names, BCM numbers and physical pin numbers.

Data plus three look-ups, so a program can say ``by_name("SDA").bcm`` instead
of keeping its own copy of the pin-out. Every name is unique, so look-ups by
name are unambiguous; power and ground pins have ``bcm=None``.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional

__version__ = "0.1.0"


@dataclass(frozen=True)
class PinMap:
    """One name for one header pin: ``bcm`` is the GPIO number (None for power
    and ground), ``board`` the physical pin (1..40)."""

    bcm_name: str
    bcm: Optional[int]
    board: int


def _table() -> List[PinMap]:
    rows = [
        # Physical pin order; GPIO pins are named D<bcm> as in Adafruit Blinka's `board`.
        ("3v3#1", None, 1),
        ("5v#1", None, 2),
        ("D2", 2, 3),
        ("5v#2", None, 4),
        ("D3", 3, 5),
        ("gnd#1", None, 6),
        ("D4", 4, 7),
        ("D14", 14, 8),
        ("gnd#2", None, 9),
        ("D15", 15, 10),
        ("D17", 17, 11),
        ("D18", 18, 12),
        ("D27", 27, 13),
        ("gnd#3", None, 14),
        ("D22", 22, 15),
        ("D23", 23, 16),
        ("3v3#2", None, 17),
        ("D24", 24, 18),
        ("D10", 10, 19),
        ("gnd#4", None, 20),
        ("D9", 9, 21),
        ("D25", 25, 22),
        ("D11", 11, 23),
        ("D8", 8, 24),
        ("gnd#5", None, 25),
        ("D7", 7, 26),
        ("D0", 0, 27),
        ("D1", 1, 28),
        ("D5", 5, 29),
        ("gnd#6", None, 30),
        ("D6", 6, 31),
        ("D12", 12, 32),
        ("D13", 13, 33),
        ("gnd#7", None, 34),
        ("D19", 19, 35),
        ("D16", 16, 36),
        ("D26", 26, 37),
        ("D20", 20, 38),
        ("gnd#8", None, 39),
        ("D21", 21, 40),
        # Aliases for the pins' special functions.
        ("SDA", 2, 3),
        ("SCL", 3, 5),
        ("GPCLK0", 4, 7),
        ("TX", 14, 8),
        ("TXD", 14, 8),
        ("RX", 15, 10),
        ("RXD", 15, 10),
        ("PWM0", 18, 12),
        ("PCM_CLK", 18, 12),
        ("MOSI", 10, 19),
        ("MISO", 9, 21),
        ("SCK", 11, 23),
        ("SCLK", 11, 23),
        ("CE0", 8, 24),
        ("CE1", 7, 26),
        ("ID_SD", 0, 27),
        ("ID_SC", 1, 28),
        ("PWM1", 19, 35),
    ]
    return [PinMap(name, bcm, board) for name, bcm, board in rows]


PIN_MAPPINGS: Dict[str, List[PinMap]] = {"raspberry_pi": _table()}

_BY_NAME = {p.bcm_name.lower(): p for p in PIN_MAPPINGS["raspberry_pi"]}


def by_name(name: str, board_type: str = "raspberry_pi") -> PinMap:
    """The entry called ``name`` (case-insensitive: ``"sda"``, ``"D18"``, ``"GND#8"``)."""
    if board_type != "raspberry_pi":
        raise KeyError("unknown board type %r (known: %s)" % (board_type, ", ".join(PIN_MAPPINGS)))
    try:
        return _BY_NAME[str(name).lower()]
    except KeyError:
        raise KeyError("no Raspberry Pi pin named %r" % (name,)) from None


def bcm_to_board(bcm: int) -> int:
    """Physical header pin of GPIO ``bcm``."""
    for p in PIN_MAPPINGS["raspberry_pi"]:
        if p.bcm == bcm:
            return p.board
    raise KeyError("GPIO%r is not on the 40-pin header" % (bcm,))


def board_to_bcm(board: int) -> Optional[int]:
    """GPIO number of physical pin ``board`` (None for power and ground pins)."""
    for p in PIN_MAPPINGS["raspberry_pi"]:
        if p.board == board:
            return p.bcm
    raise KeyError("the 40-pin header has no pin %r" % (board,))


def names_for_board_pin(board: int) -> List[str]:
    """Every name of physical pin ``board``, main name first."""
    return [p.bcm_name for p in PIN_MAPPINGS["raspberry_pi"] if p.board == board]
