"""``kaithem.string``: human-readable times and numbers.

``si_format`` handles negative numbers and zero, switches prefix at exactly
1000 (1000 is "1K") and never prints "1000K"; ``format_time_interval`` works
on the exact decimal value, so 0.5 s is "500ms" (binary floating point would
give "499ms 1000us").
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Optional

__all__ = [
    "Namespace",
    "format_time_interval",
    "formatTimeInterval",
    "si_format",
    "usrstrftime",
]

# --------------------------------------------------------------- si_format

# (lower bound on |n|, power of ten, suffix), largest first
_LEVELS = (
    (1e15, 15, "P"),
    (1e12, 12, "T"),
    (1e9, 9, "G"),
    (1e6, 6, "M"),
    (1e3, 3, "K"),
    (0.5, 0, ""),
    (1e-3, -3, "m"),
    (1e-6, -6, "u"),
    (1e-9, -9, "n"),
    (1e-12, -12, "p"),
    (0.0, -15, "f"),
)


def _plain(x: float, d: int) -> str:
    text = "%.*f" % (d, x)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _scaled(a: float, power: int, d: int) -> str:
    return _plain(a / 10**power if power >= 0 else a * 10**-power, d)


def si_format(n: float, d: int = 2) -> str:
    """``n`` with an SI suffix and at most ``d`` decimals:
    1000 → "1K", 1234567 → "1.23M", 0.004 → "4m", -1500 → "-1.5K".

    Suffixes: K M G T P from 1000 up, none from 0.5 to 1000, then m u n p f."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        try:
            n = float(n)
        except (TypeError, ValueError):
            raise TypeError("si_format() needs a number, got %r" % (n,)) from None
    if isinstance(d, bool) or not isinstance(d, int) or d < 0:
        raise ValueError("d must be a non-negative int, got %r" % (d,))
    if math.isnan(n) or math.isinf(n):
        return str(float(n))
    if n == 0:
        return "0"
    sign = "-" if n < 0 else ""
    a = abs(n)
    for i, (bound, power, suffix) in enumerate(_LEVELS):
        if a >= bound:
            text = _scaled(a, power, d)
            if i > 0 and power >= 0 and float(text) >= 1000:  # 999.999 rounds up
                _, power, suffix = _LEVELS[i - 1]
                text = _scaled(a, power, d)
            if text == "0":
                return "0"
            return sign + text + suffix
    raise AssertionError("unreachable")  # pragma: no cover


# -------------------------------------------------- format_time_interval

_FS = 10**15  # work in integer femtoseconds: exact
_DAY = 86400 * _FS
# (femtoseconds, abbreviation, singular, plural)
_UNITS = (
    (365 * _DAY, "yr", "year", "years"),
    (int(Decimal("30.4368333") * _DAY), "month", "month", "months"),
    (7 * _DAY, "w", "week", "weeks"),
    (_DAY, "d", "day", "days"),
    (3600 * _FS, "h", "hour", "hours"),
    (60 * _FS, "m", "minute", "minutes"),
    (_FS, "s", "second", "seconds"),
    (10**12, "ms", "millisecond", "milliseconds"),
    (10**9, "us", "microsecond", "microseconds"),
    (10**6, "ns", "nanosecond", "nanoseconds"),
    (10**3, "ps", "picosecond", "picoseconds"),
    (1, "fs", "femtosecond", "femtoseconds"),
)


def _femtoseconds(seconds: Any) -> int:
    if isinstance(seconds, bool):
        raise TypeError("a time interval must be a number of seconds, got %r" % (seconds,))
    if isinstance(seconds, int):
        return seconds * _FS
    if isinstance(seconds, float):
        if not math.isfinite(seconds):
            raise ValueError("a time interval must be finite, got %r" % seconds)
        # repr() is the shortest decimal that round-trips: 60.1 means 60.1
        return int((Decimal(repr(seconds)) * _FS).to_integral_value())
    if isinstance(seconds, Decimal):
        if not seconds.is_finite():
            raise ValueError("a time interval must be finite, got %r" % seconds)
        return int((seconds * _FS).to_integral_value())
    raise TypeError("a time interval must be a number of seconds, got %r" % (seconds,))


def format_time_interval(
    seconds: float, places: int = 2, clock: bool = False, *, full: bool = False
) -> str:
    """A length of time as text: 65 → "1m 5s" (or, with ``full=True``,
    "1 minute, 5 seconds"), showing at most ``places`` non-zero units.

    ``clock=True`` gives "HH:MM"; with ``places`` 3 "HH:MM:SS", with 4
    "HH:MM:SS:mmm". Hours do not wrap at 24."""
    if isinstance(places, bool) or not isinstance(places, int) or places < 1:
        raise ValueError("places must be a positive int, got %r" % (places,))
    fs = _femtoseconds(seconds)
    sign = "-" if fs < 0 else ""
    fs = abs(fs)
    if clock:
        hours, rest = divmod(fs, 3600 * _FS)
        minutes, rest = divmod(rest, 60 * _FS)
        secs, rest = divmod(rest, _FS)
        millis = rest // 10**12
        if places >= 4:
            return "%s%02d:%02d:%02d:%03d" % (sign, hours, minutes, secs, millis)
        if places == 3:
            return "%s%02d:%02d:%02d" % (sign, hours, minutes, secs)
        return "%s%02d:%02d" % (sign, hours, minutes)
    parts = []
    for size, abbr, one, many in _UNITS:
        count, fs = divmod(fs, size)
        if count:
            if full:
                parts.append("%d %s" % (count, one if count == 1 else many))
            elif abbr == "month":
                parts.append("%d %s" % (count, "month" if count == 1 else "months"))
            else:
                parts.append("%d%s" % (count, abbr))
            if len(parts) >= places:
                break
    if not parts:
        return "0 seconds" if full else "0s"
    return sign + (", " if full else " ").join(parts)


formatTimeInterval = format_time_interval  # the original's name


# --------------------------------------------------------------- namespace


class Namespace:
    """``kaithem.string`` of one Kaithem instance. Config
    ``full-time-intervals`` (default false) picks the long interval style;
    ``strftime``/``timezone`` are those of ``kaithem.time``."""

    def __init__(self, kaithem: Any = None) -> None:
        self._kaithem = kaithem

    si_format = staticmethod(si_format)

    def format_time_interval(
        self, seconds: float, places: int = 2, clock: bool = False, *, full: Optional[bool] = None
    ) -> str:
        if full is None:
            config = getattr(self._kaithem, "config", None) or {}
            full = bool(config.get("full-time-intervals", False))
        return format_time_interval(seconds, places, clock, full=full)

    formatTimeInterval = format_time_interval

    def usrstrftime(self, ts: Any = None) -> str:
        """Format ``ts`` (default now) with the configured format and zone
        (there is no per-user setting outside the web UI)."""
        if self._kaithem is None:
            from kcore.kaithem.time import format_time

            return format_time(ts)
        strftime: str = self._kaithem.time.strftime(ts)
        return strftime

    def __repr__(self) -> str:
        return "<kaithem.string>"


def usrstrftime(ts: Any = None) -> str:
    """Format ``ts`` (default now) like ``kaithem.time.strftime`` on the
    default instance."""
    from kcore.kaithem import default

    text: str = default().string.usrstrftime(ts)
    return text
