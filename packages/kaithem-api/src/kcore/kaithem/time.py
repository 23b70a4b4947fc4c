"""``kaithem.time``: clocks, formatted time, moon phase and sun events.

Sun events come from astral for the observer's **local** date: by default the
calendar of local mean solar time at the longitude (UTC + lon/15 h), where
sunrise, noon and sunset of one date always fall in order (with the UTC date,
west of Greenwich sunset would come before sunrise and ``is_day`` would always
be false).

Every function takes its inputs explicitly (astral style): coordinates
``lat``/``lon`` (else the instance's ``location``), a ``date`` and a ``now``
for tests; only omitted inputs fall back to the present.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import threading
import time as _time
import weakref
from typing import Any, Callable, Optional, Tuple, Union

from kcore.common.platform import KcoreError
from kcore.kaithem._support import default_namespace

__all__ = [
    "DEFAULT_STRFTIME",
    "LocationError",
    "Namespace",
    "DEFAULT",
    "boot_time",
    "civil_dawn_time",
    "civil_dusk_time",
    "is_dark",
    "is_day",
    "is_light",
    "is_night",
    "format_time",
    "is_rahu",
    "lantime",
    "moon_phase",
    "rahu_end",
    "rahu_start",
    "strftime",
    "sunrise_time",
    "sunset_time",
    "time",
    "uptime",
]

DEFAULT_STRFTIME = "%A, %B %d, %Y at %I:%M:%S %p %Z"
CIVIL_DEPRESSION = 6.0
#: apparent elevation of the sun's centre at sunrise (upper limb on the horizon)
SUNRISE_ELEVATION = -16.0 / 60.0

DateLike = Union[_dt.date, _dt.datetime, None]
NowLike = Union[float, int, _dt.datetime, None]
TzLike = Union[str, _dt.tzinfo, None]


class LocationError(KcoreError, RuntimeError):
    """No location is known: pass ``lat`` and ``lon`` or give the instance one."""


class _DefaultInstance:
    """Marker: take the location from the default Kaithem instance."""

    def __repr__(self) -> str:
        return "DEFAULT"


#: ``location=DEFAULT`` (the module functions' default) means the default
#: instance's ``location``; ``None`` means no location.
DEFAULT: Any = _DefaultInstance()


# ------------------------------------------------------------------ clocks


def lantime() -> float:
    """Seconds since the epoch (wall clock); the original's network time."""
    return _time.time()


def time() -> float:
    """Seconds since the epoch (wall clock)."""
    return _time.time()


_boot_lock = threading.Lock()
_boot_times: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


_process_boot: Optional[float] = None


def boot_time(kaithem: Any) -> float:
    """Monotonic time at which ``kaithem`` came up: its ``created_at`` if it
    records one, else the first time anything asked."""
    global _process_boot
    value = getattr(kaithem, "__dict__", {}).get("created_at")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    with _boot_lock:
        if kaithem is None:
            if _process_boot is None:
                _process_boot = _time.monotonic()
            return _process_boot
        t = _boot_times.get(kaithem)
        if t is None:
            t = _boot_times[kaithem] = _time.monotonic()
        return t


# ------------------------------------------------------------ formatting


def _zone(tz: TzLike) -> _dt.tzinfo:
    if tz is None:
        return _dt.timezone.utc
    if isinstance(tz, _dt.tzinfo):
        return tz
    if not isinstance(tz, str) or not tz:
        raise ValueError("timezone must be an IANA name like 'Europe/Paris', got %r" % (tz,))
    if tz.upper() == "UTC":
        return _dt.timezone.utc
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            "unknown timezone %r (install tzdata on systems without one)" % tz
        ) from None


def _timestamp(now: NowLike) -> float:
    if now is None:
        return _time.time()
    if isinstance(now, _dt.datetime):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime (or a Unix timestamp), got %r" % now)
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise TypeError("now must be a Unix timestamp or an aware datetime, got %r" % (now,))
    if not math.isfinite(now):
        raise ValueError("now must be finite, got %r" % now)
    return float(now)


def format_time(ts: NowLike = None, fmt: Optional[str] = None, tz: TzLike = None) -> str:
    """Format ``ts`` (default now) with ``fmt`` (default
    :data:`DEFAULT_STRFTIME`) in timezone ``tz`` (default UTC)."""
    when = _dt.datetime.fromtimestamp(_timestamp(ts), _zone(tz))
    return when.strftime(fmt if fmt is not None else DEFAULT_STRFTIME)


# ------------------------------------------------------------ moon


def moon_phase(date: DateLike = None) -> float:
    """Age of the moon in days on ``date`` (UTC; default today):
    0 new, 7 first quarter, 14 full, 21 last quarter, below 28."""
    from astral import moon

    if isinstance(date, _dt.datetime):
        date = date.astimezone(_dt.timezone.utc).date() if date.tzinfo else date.date()
    elif date is None:
        date = _dt.datetime.now(_dt.timezone.utc).date()
    elif not isinstance(date, _dt.date):
        raise TypeError("date must be a datetime.date, got %r" % (date,))
    return float(moon.phase(date))


# ------------------------------------------------------------ sun


def _coords(lat: Any, lon: Any, location: Any) -> Tuple[float, float]:
    if lat is None and lon is None:
        if location is DEFAULT:
            from kcore.kaithem import default

            location = default().location
        if location is None:
            raise LocationError(
                "no location: pass lat and lon, or create Kaithem(location=(lat, lon))"
            )
        try:
            lat, lon = location
        except (TypeError, ValueError):
            raise LocationError("location must be (lat, lon), got %r" % (location,)) from None
    elif lat is None or lon is None:
        raise ValueError("give both lat and lon (got lat=%r, lon=%r)" % (lat, lon))
    for name, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("%s must be a number of degrees, got %r" % (name, value))
        if not (-limit <= value <= limit):
            raise ValueError("%s must be within ±%g degrees, got %r" % (name, limit, value))
    return float(lat), float(lon)


def solar_timezone(lon: float) -> _dt.timezone:
    """Local mean solar time at longitude ``lon`` as a fixed UTC offset."""
    return _dt.timezone(_dt.timedelta(seconds=round(lon * 240.0)))


def _local_date(date: DateLike, tz: _dt.tzinfo, ts: Optional[float] = None) -> _dt.date:
    if date is None:
        return _dt.datetime.fromtimestamp(_time.time() if ts is None else ts, tz).date()
    if isinstance(date, _dt.datetime):
        return date.astimezone(tz).date() if date.tzinfo else date.date()
    if isinstance(date, _dt.date):
        return date
    raise TypeError("date must be a datetime.date or datetime.datetime, got %r" % (date,))


def _observer(lat: float, lon: float) -> Any:
    from astral import Observer

    return Observer(latitude=lat, longitude=lon, elevation=0.0)


def _event(
    kind: str,
    lat: Any,
    lon: Any,
    date: DateLike,
    tz: TzLike,
    location: Any,
) -> float:
    from astral import sun

    la, lo = _coords(lat, lon, location)
    zone = _zone(tz) if tz is not None else solar_timezone(lo)
    day = _local_date(date, zone)
    obs = _observer(la, lo)
    if kind == "sunrise":
        result = sun.sunrise(obs, day, zone)
    elif kind == "sunset":
        result = sun.sunset(obs, day, zone)
    elif kind == "dawn":
        result = sun.dawn(obs, day, CIVIL_DEPRESSION, zone)
    else:
        result = sun.dusk(obs, day, CIVIL_DEPRESSION, zone)
    return float(result.timestamp())


def sunrise_time(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    date: DateLike = None,
    *,
    tz: TzLike = None,
    location: Any = DEFAULT,
) -> float:
    """Unix time of sunrise at (lat, lon) on the local ``date`` (default
    today there). ``tz`` names the calendar ``date`` belongs to (default:
    local mean solar time). ``ValueError`` if the sun does not rise that day."""
    return _event("sunrise", lat, lon, date, tz, location)


def sunset_time(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    date: DateLike = None,
    *,
    tz: TzLike = None,
    location: Any = DEFAULT,
) -> float:
    """Unix time of sunset on the local ``date`` (see :func:`sunrise_time`)."""
    return _event("sunset", lat, lon, date, tz, location)


def civil_dawn_time(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    date: DateLike = None,
    *,
    tz: TzLike = None,
    location: Any = DEFAULT,
) -> float:
    """Unix time the sun rises to 6° below the horizon on the local ``date``."""
    return _event("dawn", lat, lon, date, tz, location)


def civil_dusk_time(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    date: DateLike = None,
    *,
    tz: TzLike = None,
    location: Any = DEFAULT,
) -> float:
    """Unix time the sun sinks to 6° below the horizon on the local ``date``."""
    return _event("dusk", lat, lon, date, tz, location)


def _between(
    start: str,
    end: str,
    threshold: float,
    lat: Any,
    lon: Any,
    now: NowLike,
    location: Any,
) -> bool:
    """Is ``now`` between today's ``start`` and ``end`` events (local solar
    date)? On days without those events (polar day or night) the sun's
    elevation against ``threshold`` decides."""
    la, lo = _coords(lat, lon, location)
    ts = _timestamp(now)
    day = _local_date(None, solar_timezone(lo), ts)
    try:
        a = _event(start, la, lo, day, None, None)
        b = _event(end, la, lo, day, None, None)
    except ValueError:
        from astral import sun

        when = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
        return bool(sun.elevation(_observer(la, lo), when) > threshold)
    return a <= ts < b


def is_day(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    *,
    now: NowLike = None,
    location: Any = DEFAULT,
) -> bool:
    """True between sunrise and sunset."""
    return _between("sunrise", "sunset", SUNRISE_ELEVATION, lat, lon, now, location)


def is_night(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    *,
    now: NowLike = None,
    location: Any = DEFAULT,
) -> bool:
    """``not is_day(...)``."""
    return not is_day(lat, lon, now=now, location=location)


def is_light(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    *,
    now: NowLike = None,
    location: Any = DEFAULT,
) -> bool:
    """True between civil dawn and civil dusk."""
    return _between("dawn", "dusk", -CIVIL_DEPRESSION, lat, lon, now, location)


def is_dark(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    *,
    now: NowLike = None,
    location: Any = DEFAULT,
) -> bool:
    """``not is_light(...)``."""
    return not is_light(lat, lon, now=now, location=location)


def _rahu(
    la: float, lo: float, date: DateLike, tz: TzLike, ts: Optional[float] = None
) -> Tuple[float, float]:
    from astral import sun

    zone = _zone(tz) if tz is not None else solar_timezone(lo)
    day = _local_date(date, zone, ts)
    start, end = sun.rahukaalam(_observer(la, lo), day, True, zone)
    return float(start.timestamp()), float(end.timestamp())


def rahu_start(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    date: DateLike = None,
    *,
    tz: TzLike = None,
    location: Any = DEFAULT,
) -> float:
    """Unix time Rahu Kaalam starts on the local ``date`` (``ValueError`` on
    days without sunrise or sunset)."""
    return _rahu(*_coords(lat, lon, location), date, tz)[0]


def rahu_end(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    date: DateLike = None,
    *,
    tz: TzLike = None,
    location: Any = DEFAULT,
) -> float:
    """Unix time Rahu Kaalam ends on the local ``date``."""
    return _rahu(*_coords(lat, lon, location), date, tz)[1]


def is_rahu(
    lat: Optional[float] = None,
    lon: Optional[float] = None,
    *,
    now: NowLike = None,
    location: Any = DEFAULT,
) -> bool:
    """True during today's Rahu Kaalam (an eighth of the daylight, which
    one depending on the weekday). False on days without sunrise or sunset."""
    la, lo = _coords(lat, lon, location)
    ts = _timestamp(now)
    try:
        start, end = _rahu(la, lo, None, None, ts)
    except ValueError:  # no sunrise or no sunset that day
        return False
    return start <= ts < end


# ------------------------------------------------------------ namespace


def _with_location(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as a Namespace method that passes the instance's location."""

    @functools.wraps(fn)
    def method(self: Namespace, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("location", self.location)
        return fn(*args, **kwargs)

    return method


class Namespace:
    """``kaithem.time`` of one Kaithem instance: sun functions default to its
    ``location``; ``strftime`` uses config ``strftime`` (format) and
    ``timezone`` (IANA name, default UTC)."""

    def __init__(self, kaithem: Any = None) -> None:
        self._kaithem = kaithem
        if kaithem is not None:
            boot_time(kaithem)

    LocationError = LocationError

    @property
    def location(self) -> Optional[Tuple[float, float]]:
        return getattr(self._kaithem, "location", None)

    def _config(self, key: str, default: Any) -> Any:
        config = getattr(self._kaithem, "config", None) or {}
        return config.get(key, default)

    lantime = staticmethod(lantime)
    time = staticmethod(time)
    moon_phase = staticmethod(moon_phase)

    def uptime(self) -> float:
        """Seconds since this Kaithem instance came up (monotonic clock)."""
        return _time.monotonic() - boot_time(self._kaithem)

    def strftime(self, ts: NowLike = None, fmt: Optional[str] = None, tz: TzLike = None) -> str:
        """:func:`strftime` with this instance's configured format and zone."""
        if fmt is None:
            fmt = self._config("strftime", DEFAULT_STRFTIME)
        if tz is None:
            tz = self._config("timezone", None)
        return format_time(ts, fmt, tz)

    # The sun functions with this instance's location as the default
    # (explicit lat/lon still win).
    sunrise_time = _with_location(sunrise_time)
    sunset_time = _with_location(sunset_time)
    civil_dawn_time = _with_location(civil_dawn_time)
    civil_dusk_time = _with_location(civil_dusk_time)
    rahu_start = _with_location(rahu_start)
    rahu_end = _with_location(rahu_end)
    is_day = _with_location(is_day)
    is_night = _with_location(is_night)
    is_light = _with_location(is_light)
    is_dark = _with_location(is_dark)
    is_rahu = _with_location(is_rahu)

    def __repr__(self) -> str:
        return "<kaithem.time location=%r>" % (self.location,)


def _ns() -> Namespace:
    ns: Namespace = default_namespace("time")
    return ns


def uptime() -> float:
    """Seconds since the default Kaithem instance came up."""
    return _ns().uptime()


def strftime(ts: NowLike = None, fmt: Optional[str] = None, tz: TzLike = None) -> str:
    """Format ``ts`` (default now) with the default instance's configured
    format and timezone unless ``fmt``/``tz`` are given."""
    return _ns().strftime(ts, fmt, tz)
