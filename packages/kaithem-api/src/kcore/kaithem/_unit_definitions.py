"""The built-in units of :mod:`kcore.kaithem.units` (import the names from
there): exact rational arithmetic, each unit's exact definition, the prefixes.

Linear and offset units are defined exactly, as rational numbers built from
their definitions (``ft`` is 12 ``in``, ``degF`` is ``degC`` x 9/5 + 32).
"""

from __future__ import annotations

import math

TYPE_CHECKING = False  # typing costs ~7 ms to import; mypy reads this block
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional, Tuple, Union

    Funcs = Tuple[Callable[[Any], Any], Callable[[Any], Any]]
    Rational = Tuple[int, int]  # numerator, denominator > 0, in lowest terms

# -- exact rationals as (numerator, denominator) pairs (``fractions`` costs
# ~10 ms to import, more than this whole module)


def _q(n: Union[int, float, str], d: int = 1) -> Rational:
    """An exact rational from an int, a float (its exact binary value), or a
    decimal string like ``"0.0254"`` or ``"1e-06"``, divided by ``d``."""
    if isinstance(n, str):
        mantissa, _, exp = n.lower().partition("e")
        whole, _, frac = mantissa.partition(".")
        num = int(whole + frac) if (whole + frac) not in ("", "-") else 0
        e = (int(exp) if exp else 0) - len(frac)
        return _q_norm(num * 10**e, d) if e >= 0 else _q_norm(num, d * 10**-e)
    if isinstance(n, float):
        a, b = n.as_integer_ratio()
        return _q_norm(a, b * d)
    return _q_norm(int(n), d)


def _q_norm(n: int, d: int) -> Rational:
    if d < 0:
        n, d = -n, -d
    g = math.gcd(n, d)
    return (n // g, d // g)


def _q_mul(a: Rational, b: Rational) -> Rational:
    return _q_norm(a[0] * b[0], a[1] * b[1])


def _q_div(a: Rational, b: Rational) -> Rational:
    return _q_norm(a[0] * b[1], a[1] * b[0])


def _q_sub(a: Rational, b: Rational) -> Rational:
    return _q_norm(a[0] * b[1] - b[0] * a[1], a[1] * b[1])


def _q_float(a: Rational) -> float:
    return a[0] / a[1]


# Exact definitions (NIST / pint), each in terms of the units it is defined by.
_ONE, _NIL = (1, 1), (0, 1)
_IN = _q("0.0254")  # m
_FT = _q_mul((12, 1), _IN)
_MILE = _q_mul((5280, 1), _FT)
_LB = _q("453.59237")  # g, international avoirdupois pound
_G0 = _q("9.80665")  # standard gravity, m/s²
_PSI = _q_div(_q_mul(_q_mul(_LB, (1, 1000)), _G0), _q_mul(_IN, _IN))  # lbf/in² in Pa
_MMHG = _q_mul(_q("13595.1", 1000), _G0)  # Pa: 1 mm of mercury at 13.5951 g/cm³
_ZERO_C = _q("273.15")  # K
_DEG_F = (5, 9)  # K per degF


def _dbm_to_w(x: float) -> float:
    return math.pow(10.0, x / 10.0) / 1000.0


def _w_to_dbm(x: float) -> float:
    return 10.0 * math.log10(x / 0.001)


def _db_to_ratio(x: float) -> float:
    return math.pow(10.0, x / 10.0)


def _ratio_to_db(x: float) -> float:
    return 10.0 * math.log10(x)


#: type -> (base symbol, pint spelling of the base or None)
BUILTIN_TYPES: Dict[str, Tuple[str, Optional[str]]] = {
    "mass": ("g", "g"),
    "length": ("m", "m"),
    "temperature": ("K", "K"),
    "voltage": ("V", "V"),
    "current": ("A", "A"),
    "power": ("W", "W"),
    "ratio": ("U", "dimensionless"),
    "pressure": ("Pa", "Pa"),
    "speed": ("KPH", "km/h"),
    "flow": ("m3/min", "m**3/min"),
    "boolean": ("boolean", None),
}

#: symbol -> (type, exact scale, exact offset): value_in_base = value * scale + offset
EXACT_UNITS: Dict[str, Tuple[str, Rational, Rational]] = {
    "g": ("mass", _ONE, _NIL),
    "lb": ("mass", _LB, _NIL),
    "oz": ("mass", _q_mul(_LB, (1, 16)), _NIL),
    "m": ("length", _ONE, _NIL),
    "in": ("length", _IN, _NIL),
    "ft": ("length", _FT, _NIL),
    "mile": ("length", _MILE, _NIL),
    "K": ("temperature", _ONE, _NIL),
    "degC": ("temperature", _ONE, _ZERO_C),
    "degF": ("temperature", _DEG_F, _q_sub(_ZERO_C, _q_mul((32, 1), _DEG_F))),
    "V": ("voltage", _ONE, _NIL),
    "A": ("current", _ONE, _NIL),
    "W": ("power", _ONE, _NIL),
    "U": ("ratio", _ONE, _NIL),
    "uno": ("ratio", _ONE, _NIL),
    "%": ("ratio", (1, 100), _NIL),
    "ppm": ("ratio", (1, 10**6), _NIL),
    "ppb": ("ratio", (1, 10**9), _NIL),
    "Pa": ("pressure", _ONE, _NIL),
    "psi": ("pressure", _PSI, _NIL),
    "PSI": ("pressure", _PSI, _NIL),
    "ksi": ("pressure", _q_mul((1000, 1), _PSI), _NIL),
    "bar": ("pressure", (100000, 1), _NIL),
    "millibar": ("pressure", (100, 1), _NIL),
    "mmHg": ("pressure", _MMHG, _NIL),
    "KPH": ("speed", _ONE, _NIL),
    "km/h": ("speed", _ONE, _NIL),
    "MPH": ("speed", _q_mul(_MILE, (1, 1000)), _NIL),
    "m3/min": ("flow", _ONE, _NIL),
    "cfm": ("flow", _q_mul(_q_mul(_FT, _FT), _FT), _NIL),
    "gpm": ("flow", _q_mul((231, 1), _q_mul(_q_mul(_IN, _IN), _IN)), _NIL),
    "boolean": ("boolean", _ONE, _NIL),
    "bool": ("boolean", _ONE, _NIL),
}


def _affine(scale: Rational, offset: Rational) -> Funcs:
    k, o = _q_float(scale), _q_float(offset)
    return (lambda x: x * k + o, lambda x: (x - o) / k)


#: symbol -> (type, factor or (to_base, from_base)): the original's raw table
BUILTIN_UNITS: Dict[str, Tuple[str, Union[float, Funcs]]] = {
    sym: (typ, _q_float(scale) if not offset[0] else _affine(scale, offset))
    for sym, (typ, scale, offset) in EXACT_UNITS.items()
}
BUILTIN_UNITS["dBm"] = ("power", (_dbm_to_w, _w_to_dbm))
BUILTIN_UNITS["dB"] = ("ratio", (_db_to_ratio, _ratio_to_db))

#: one-character SI prefixes accepted before linear table units
PREFIXES: Dict[str, float] = {
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "\u00b5": 1e-6,  # micro sign
    "\u03bc": 1e-6,  # Greek mu
    "m": 1e-3,
    "c": 1e-2,
    "d": 1e-1,
    "h": 1e2,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
}
#: symbols that look prefixed but mean something else
NOT_PREFIXED = frozenset({"min", "hbar"})
_UNPREFIXABLE_TYPES = frozenset({"ratio", "boolean"})
