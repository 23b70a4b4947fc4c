"""kaithem.string: si_format, format_time_interval, usrstrftime."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kcore.kaithem
import kcore.kaithem.string as kstring
from kcore.kaithem import Kaithem
from kcore.kaithem.string import format_time_interval, si_format

# ------------------------------------------------------------------ si_format


@pytest.mark.parametrize(
    ("n", "d", "expected"),
    [
        (1000, 2, "1K"),  # the original gave "1000" (strict > thresholds)
        (1001, 2, "1K"),  # original "1.0K"
        (1500, 2, "1.5K"),
        (1e6, 2, "1M"),  # original "1000K"
        (1234567, 2, "1.23M"),
        (1234567, 0, "1M"),
        (2.5e9, 2, "2.5G"),
        (3e12, 2, "3T"),
        (4e15, 2, "4P"),
        (999.999, 2, "1K"),  # rounding carries into the next prefix
        (999999.999, 2, "1M"),
        (999.994, 2, "999.99"),
        (5, 2, "5"),
        (0.6, 2, "0.6"),
        (0.5, 2, "0.5"),
        (0.4, 2, "400m"),
        (0.004, 2, "4m"),
        (4e-6, 2, "4u"),
        (5e-10, 2, "500p"),  # original "500.0p"
        (2e-9, 2, "2n"),
        (3e-14, 2, "30f"),
        (0, 2, "0"),
        (-1, 2, "-1"),  # every negative number was "-0.0f"
        (-1500, 2, "-1.5K"),
        (-0.004, 2, "-4m"),
        (-2.5e9, 1, "-2.5G"),
        (1.23456, 3, "1.235"),
    ],
)
def test_si_format(n, d, expected):
    assert si_format(n, d) == expected


def test_si_format_special_values_and_errors():
    assert si_format(float("inf")) == "inf"
    assert si_format(float("-inf")) == "-inf"
    assert si_format(float("nan")) == "nan"
    assert si_format("1500") == "1.5K"
    with pytest.raises(TypeError, match="number"):
        si_format("lots")
    with pytest.raises(ValueError, match="non-negative"):
        si_format(1, -1)


@given(st.floats(min_value=1e-14, max_value=1e17, allow_subnormal=False))
def test_si_format_sign_symmetry_and_readback(x):
    text = si_format(x, 3)
    assert si_format(-x, 3) == "-" + text
    scale = {"P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6, "K": 1e3}
    scale.update({"m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15})
    mult = scale.get(text[-1], 1)
    number = float(text[:-1] if text[-1] in scale else text)
    assert number < 1000 or text[-1] == "P"
    assert abs(number * mult - x) <= 0.0005 * mult + 1e-12 * x


# ------------------------------------------------------------------ format_time_interval


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((5, 1), "5s"),
        ((65, 2), "1m 5s"),
        ((65, 1), "1m"),
        ((90061, 3), "1d 1h 1m"),
        ((90061, 4), "1d 1h 1m 1s"),
        ((3601,), "1h 1s"),  # zero units are skipped
        ((0.5,), "500ms"),  # the original gave "499ms 1000us"
        ((0.1 + 0.2,), "300ms"),
        ((60.1, 2), "1m 100ms"),
        ((1.5e-6, 2), "1us 500ns"),
        ((604800 * 2 + 86400,), "2w 1d"),
        ((365 * 86400 + 7 * 86400,), "1yr 1w"),
        ((0,), "0s"),
        ((-65,), "-1m 5s"),
    ],
)
def test_format_time_interval_short(args, expected):
    assert format_time_interval(*args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((65, 2), "1 minute, 5 seconds"),
        ((60.1, 2), "1 minute, 100 milliseconds"),  # the pre-era test
        ((7200, 2), "2 hours"),
        ((1,), "1 second"),
        ((0,), "0 seconds"),
    ],
)
def test_format_time_interval_full(args, expected):
    assert format_time_interval(*args, full=True) == expected


def test_months_use_the_original_month_length():
    month = 30.4368333 * 86400
    assert format_time_interval(month * 2, 1) == "2 months"
    assert format_time_interval(month, 1, full=True) == "1 month"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((65, 2, True), "00:01"),
        ((3661.5, 3, True), "01:01:01"),
        ((3661.5, 4, True), "01:01:01:500"),
        ((100 * 3600 + 59, 2, True), "100:00"),  # hours do not wrap
        ((0.999, 4, True), "00:00:00:999"),
        ((-65, 3, True), "-00:01:05"),
    ],
)
def test_format_time_interval_clock(args, expected):
    assert format_time_interval(*args) == expected


def test_format_time_interval_errors():
    with pytest.raises(ValueError, match="finite"):
        format_time_interval(float("inf"))
    with pytest.raises(TypeError, match="seconds"):
        format_time_interval("5")
    with pytest.raises(ValueError, match="places"):
        format_time_interval(5, 0)


def test_full_style_from_config_and_old_name():
    with Kaithem(config={"full-time-intervals": True}) as k:
        assert k.string.format_time_interval(65) == "1 minute, 5 seconds"
        assert k.string.format_time_interval(65, full=False) == "1m 5s"
        assert k.string.formatTimeInterval(5, 1) == "5 seconds"
    with Kaithem() as k:
        assert k.string.format_time_interval(65) == "1m 5s"
        assert k.string.si_format(1000) == "1K"
    assert kstring.formatTimeInterval(65, 2) == "1m 5s"


# ------------------------------------------------------------------ usrstrftime


def test_usrstrftime_uses_instance_format():
    cfg = {"strftime": "%Y-%m-%d %H:%M", "timezone": "Asia/Kolkata"}
    with Kaithem(config=cfg) as k:
        assert k.string.usrstrftime(0) == "1970-01-01 05:30"
    inst = Kaithem(config={"strftime": "%H:%M"})
    previous = kcore.kaithem.set_default(inst)
    try:
        assert kstring.usrstrftime(3600) == "01:00"
        assert len(kstring.usrstrftime()) == 5
    finally:
        kcore.kaithem.set_default(previous)
        inst.close()
