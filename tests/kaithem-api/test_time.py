"""kaithem.time: clocks, strftime, moon phase, sun events for the local date, is_*."""

import datetime as dt
import time

import ktest
import pytest

import kcore.kaithem
import kcore.kaithem.time as ktime
from kcore.kaithem import Kaithem
from kcore.kaithem.time import LocationError

UTC = dt.timezone.utc
LA = (34.05, -118.25)
TOKYO = (35.68, 139.69)
SVALBARD = (78.22, 15.65)
NOV20 = dt.date(2023, 11, 20)  # a Monday


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def near(ts, when, minutes=3):
    return abs(ts - when.timestamp()) <= minutes * 60


@pytest.fixture
def la():
    with Kaithem(location=LA) as inst:
        yield inst


@pytest.fixture
def default_instance():
    inst = Kaithem(location=TOKYO, config={"timezone": "Asia/Tokyo"})
    previous = kcore.kaithem.set_default(inst)
    try:
        yield inst
    finally:
        kcore.kaithem.set_default(previous)
        inst.close()


# ------------------------------------------------------------------ sun events


def test_sun_events_for_the_local_date_west_of_greenwich():
    # Published times for Los Angeles on 2023-11-20: sunrise 06:30, sunset 16:46 PST.
    rise = ktime.sunrise_time(*LA, NOV20)
    sset = ktime.sunset_time(*LA, NOV20)
    assert near(rise, utc(2023, 11, 20, 14, 30))
    assert near(sset, utc(2023, 11, 21, 0, 46))  # next UTC day: same local day
    assert rise < sset  # with the UTC date (the original) sunset came first


def test_sun_events_for_the_local_date_east_of_greenwich():
    # Tokyo 2023-11-20: sunrise 06:21, sunset 16:31 JST (UTC+9).
    assert near(ktime.sunrise_time(*TOKYO, NOV20), utc(2023, 11, 19, 21, 21))
    assert near(ktime.sunset_time(*TOKYO, NOV20), utc(2023, 11, 20, 7, 31))


def test_civil_twilight_brackets_sunrise_and_sunset():
    dawn = ktime.civil_dawn_time(*LA, NOV20)
    dusk = ktime.civil_dusk_time(*LA, NOV20)
    rise = ktime.sunrise_time(*LA, NOV20)
    sset = ktime.sunset_time(*LA, NOV20)
    assert 20 * 60 < rise - dawn < 40 * 60
    assert 20 * 60 < dusk - sset < 40 * 60


def test_explicit_coordinates_work_and_keep_subsecond_precision():
    # the original raised ValueError whenever lon was given
    t = ktime.sunrise_time(lat=LA[0], lon=LA[1], date=NOV20)
    assert isinstance(t, float)
    assert t != int(t)


def test_date_may_be_an_aware_datetime_or_named_timezone():
    by_date = ktime.sunrise_time(*LA, NOV20)
    # 2023-11-21 03:00 UTC is still the 20th in Los Angeles
    assert ktime.sunrise_time(*LA, utc(2023, 11, 21, 3, 0)) == by_date
    assert near(
        ktime.sunrise_time(*LA, NOV20, tz="America/Los_Angeles"), utc(2023, 11, 20, 14, 30)
    )
    with pytest.raises(ValueError, match="Mars/Olympus"):
        ktime.sunrise_time(*LA, NOV20, tz="Mars/Olympus")


def test_is_day_and_is_light_west_of_greenwich():
    noon = utc(2023, 11, 20, 20, 0)  # 12:00 PST
    midnight = utc(2023, 11, 21, 8, 0)  # 00:00 PST
    twilight = dt.datetime.fromtimestamp(ktime.sunrise_time(*LA, NOV20) - 600, UTC)
    assert ktime.is_day(*LA, now=noon) and not ktime.is_night(*LA, now=noon)
    assert ktime.is_night(*LA, now=midnight) and not ktime.is_day(*LA, now=midnight)
    assert ktime.is_light(*LA, now=noon) and not ktime.is_dark(*LA, now=noon)
    assert ktime.is_dark(*LA, now=midnight)
    # ten minutes before sunrise: light but not day
    assert ktime.is_light(*LA, now=twilight) and not ktime.is_day(*LA, now=twilight)


def test_is_day_around_the_world_at_local_noon():
    for lat, lon in [(51.5, -0.13), (-33.87, 151.21), (21.3, -157.86), (64.1, -21.9), LA]:
        local_noon = utc(2023, 3, 20, 12) - dt.timedelta(hours=lon / 15)
        local_midnight = local_noon + dt.timedelta(hours=12)
        assert ktime.is_day(lat, lon, now=local_noon), (lat, lon)
        assert ktime.is_night(lat, lon, now=local_midnight), (lat, lon)


def test_now_may_be_a_timestamp():
    noon = utc(2023, 11, 20, 20, 0)
    assert ktime.is_day(*LA, now=noon.timestamp())
    with pytest.raises(ValueError, match="aware"):
        ktime.is_day(*LA, now=dt.datetime(2023, 11, 20, 20))


def test_polar_day_and_night():
    with pytest.raises(ValueError, match="always above"):
        ktime.sunrise_time(*SVALBARD, dt.date(2023, 6, 21))
    assert ktime.is_day(*SVALBARD, now=utc(2023, 6, 21, 0, 0))
    assert ktime.is_light(*SVALBARD, now=utc(2023, 6, 21, 0, 0))
    assert ktime.is_night(*SVALBARD, now=utc(2023, 12, 21, 12, 0))
    assert not ktime.is_rahu(*SVALBARD, now=utc(2023, 6, 21, 12, 0))


def test_rahu_kaalam_uses_the_weekday_octant():
    # astral.rahukaalam in astral 3 lives in astral.sun (the original called a missing name)
    rise = ktime.sunrise_time(*LA, NOV20)
    length = ktime.sunset_time(*LA, NOV20) - rise
    start = ktime.rahu_start(*LA, NOV20)
    end = ktime.rahu_end(*LA, NOV20)
    assert start == pytest.approx(rise + length / 8, abs=1)  # Monday: 2nd eighth
    assert end - start == pytest.approx(length / 8, abs=1)
    sunday = dt.date(2023, 11, 19)
    day7 = ktime.sunset_time(*LA, sunday) - ktime.sunrise_time(*LA, sunday)
    assert ktime.rahu_start(*LA, sunday) == pytest.approx(
        ktime.sunrise_time(*LA, sunday) + 7 * day7 / 8, abs=1
    )
    assert ktime.is_rahu(*LA, now=start + 60)
    assert not ktime.is_rahu(*LA, now=start - 60)
    assert not ktime.is_rahu(*LA, now=end + 60)


# ------------------------------------------------------------------ location


def test_no_location_is_a_clear_error():
    with Kaithem() as k:
        with pytest.raises(LocationError, match="no location"):
            k.time.is_day()
        with pytest.raises(RuntimeError):
            k.time.sunrise_time()


def test_instance_location_is_the_default(la):
    assert la.time.sunrise_time(date=NOV20) == ktime.sunrise_time(*LA, NOV20)
    assert la.time.is_day(now=utc(2023, 11, 20, 20)) is True
    assert la.time.is_night(now=utc(2023, 11, 21, 8)) is True
    assert la.time.is_light(now=utc(2023, 11, 20, 20)) is True
    assert la.time.is_dark(now=utc(2023, 11, 21, 8)) is True
    assert la.time.is_rahu(now=ktime.rahu_start(*LA, NOV20) + 1) is True
    assert la.time.civil_dawn_time(date=NOV20) < la.time.civil_dusk_time(date=NOV20)
    assert la.time.rahu_start(date=NOV20) < la.time.rahu_end(date=NOV20)
    assert la.time.sunset_time(date=NOV20) == ktime.sunset_time(*LA, NOV20)
    # explicit coordinates override the instance's location
    assert la.time.sunrise_time(*TOKYO, NOV20) == ktime.sunrise_time(*TOKYO, NOV20)


def test_module_functions_use_default_instance_location(default_instance):
    assert ktime.sunrise_time(date=NOV20) == ktime.sunrise_time(*TOKYO, NOV20)
    assert ktime.strftime(0) == "Thursday, January 01, 1970 at 09:00:00 AM JST"


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((1.0, None), ValueError, "both lat and lon"),
        ((None, 2.0), ValueError, "both lat and lon"),
        ((91, 0), ValueError, "lat must be within"),
        ((0, 181), ValueError, "lon must be within"),
        (("34", 0), TypeError, "lat must be a number"),
        ((True, 0), TypeError, "lat must be a number"),
    ],
)
def test_bad_coordinates(args, exc, match):
    with pytest.raises(exc, match=match):
        ktime.sunrise_time(*args, NOV20)
    with pytest.raises(exc, match=match):
        ktime.is_day(*args)


def test_bad_location_on_instance():
    with Kaithem(location="here") as k:
        with pytest.raises(LocationError, match="here"):
            k.time.is_day()


# ------------------------------------------------------------------ moon, clocks, strftime


def test_moon_phase():
    # new moon 2023-11-13, first quarter 11-20, full moon 11-27
    assert ktime.moon_phase(dt.date(2023, 11, 13)) < 1.5
    assert 6 <= ktime.moon_phase(dt.date(2023, 11, 20)) <= 8
    assert 13 <= ktime.moon_phase(dt.date(2023, 11, 27)) <= 15
    assert ktime.moon_phase(utc(2023, 11, 27, 23)) == ktime.moon_phase(dt.date(2023, 11, 27))
    assert 0 <= ktime.moon_phase() < 28
    with pytest.raises(TypeError):
        ktime.moon_phase("2023-11-27")


def test_clocks(la):
    before = time.time()
    assert before <= ktime.lantime() <= time.time()
    assert before <= la.time.time() <= time.time()
    first = la.time.uptime()
    assert 0 <= first < 60
    assert ktest.wait_until(lambda: la.time.uptime() > first, timeout=5, interval=0.001)
    assert la.misc.uptime() >= first  # same origin as kaithem.time.uptime
    assert ktime.uptime() >= 0


def test_uptime_is_per_instance():
    with Kaithem() as old:
        old.time.uptime()
        deadline = time.monotonic() + 5
        while old.time.uptime() < 0.05 and time.monotonic() < deadline:
            pass
        with Kaithem() as new:
            assert new.time.uptime() < old.time.uptime()


def test_strftime_defaults_and_config():
    with Kaithem() as k:
        assert k.time.strftime(0) == "Thursday, January 01, 1970 at 12:00:00 AM UTC"
        assert k.time.strftime(0, "%Y-%m-%d %H:%M", "Europe/Paris") == "1970-01-01 01:00"
    cfg = {"strftime": "%H:%M %Z", "timezone": "America/New_York"}
    with Kaithem(config=cfg) as k:
        assert k.time.strftime(86400 * 200) == "20:00 EDT"
        assert k.time.strftime(utc(2023, 1, 1, 12)) == "07:00 EST"
    with Kaithem(config={"timezone": "Nowhere/Special"}) as k:
        with pytest.raises(ValueError, match="Nowhere/Special"):
            k.time.strftime(0)
    with pytest.raises(TypeError):
        ktime.format_time("yesterday")
