"""kaithem.units: fast table, pint fallback, define(), dimension check, fixed factors."""

import math
import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kcore.kaithem
import kcore.kaithem.units as units
from kcore.common.platform import KcoreError
from kcore.kaithem import Kaithem
from kcore.kaithem.units import (
    BUILTIN_UNITS,
    IncompatibleUnitsError,
    UnitError,
    UnknownUnitError,
)

# How pint spells each table unit (pint has no ppb, KPH, uno, gpm; its "cfm" is centifermi).
PINT_NAME = {
    "g": "g",
    "lb": "lb",
    "oz": "oz",
    "m": "m",
    "in": "inch",
    "ft": "ft",
    "mile": "mile",
    "K": "K",
    "degC": "degC",
    "degF": "degF",
    "V": "V",
    "A": "A",
    "W": "W",
    "dBm": "dBm",
    "U": "dimensionless",
    "uno": "dimensionless",
    "%": "percent",
    "ppm": "ppm",
    "ppb": "ppb",  # defined below as 1e-9
    "dB": "dB",
    "Pa": "Pa",
    "psi": "psi",
    "PSI": "psi",
    "ksi": "ksi",
    "bar": "bar",
    "millibar": "millibar",
    "mmHg": "mmHg",
    "KPH": "km/h",
    "km/h": "km/h",
    "MPH": "mph",
    "m3/min": "m**3/min",
    "cfm": "ft**3/min",
    "gpm": "gallon/min",
}
LOG_UNITS = {"dB", "dBm"}
OFFSET_UNITS = {"degC", "degF"}


@pytest.fixture(scope="module")
def ureg():
    import pint

    reg = pint.UnitRegistry()
    reg.define("ppb = 1e-9")
    return reg


@pytest.fixture
def k():
    with Kaithem() as inst:
        yield inst


@pytest.fixture
def default_instance():
    inst = Kaithem()
    previous = kcore.kaithem.set_default(inst)
    try:
        yield inst
    finally:
        kcore.kaithem.set_default(previous)
        inst.close()


def same_type_pairs():
    pairs = []
    for a, (ta, _) in BUILTIN_UNITS.items():
        for b, (tb, _) in BUILTIN_UNITS.items():
            if a != b and ta == tb and a in PINT_NAME and b in PINT_NAME:
                pairs.append((a, b))
    return pairs


PAIRS = same_type_pairs()


# ---------------------------------------------------------------- the original's tests


def test_scullery_conversions(k):
    c = k.units.convert
    assert c(12, "in", "ft") == pytest.approx(1)
    assert c(1, "km", "m") == pytest.approx(1000)
    assert c(50, "degC", "degF") == pytest.approx(122)
    assert c(122, "degF", "degC") == pytest.approx(50)
    assert c(1, "kft", "in") == pytest.approx(12000)


def test_min_is_minute_not_milli_inch(k):
    # scullery's test read "min" as milli-inch (1 ft == 12000 min); deliberately dropped.
    assert k.units.convert(1, "min", "s") == 60
    with pytest.raises(IncompatibleUnitsError):
        k.units.convert(1, "ft", "min")


def test_nonsense_convert(k):
    with pytest.raises(UnknownUnitError, match="'nonsense'"):
        k.units.convert(1, "nonsense", "m")
    with pytest.raises(UnknownUnitError, match="'blorp'"):
        k.units.convert(1, "m", "blorp")
    with pytest.raises(UnitError, match="mdegC"):
        k.units.convert(1, "mdegC", "K")


# ---------------------------------------------------------------- fixed factors


def test_fixed_factors(k):
    c = k.units.convert
    assert c(1, "oz", "g") == pytest.approx(28.349523125, rel=1e-12)  # was 28
    assert c(1, "ppm", "%") == pytest.approx(1e-4, rel=1e-12)  # was 0.01
    assert c(1, "ppb", "U") == pytest.approx(1e-9, rel=1e-12)  # was 1e-7
    assert c(10, "dB", "U") == pytest.approx(10, rel=1e-12)  # was 1e100
    assert c(20, "dB", "U") == pytest.approx(100, rel=1e-12)
    assert c(100, "U", "dB") == pytest.approx(20, rel=1e-12)
    assert c(0, "dBm", "W") == pytest.approx(0.001, rel=1e-12)
    assert c(1, "PSI", "Pa") == c(1, "psi", "Pa")  # the two spellings differed
    assert c(1, "ksi", "Pa") == pytest.approx(6894757.293168361, rel=1e-12)
    assert c(1, "lb", "g") == pytest.approx(453.59237, rel=1e-12)
    assert c(1, "MPH", "KPH") == pytest.approx(1.609344, rel=1e-12)
    assert c(100, "degC", "degF") == pytest.approx(212, rel=1e-12)


def test_same_unit_returns_value_untouched(k):
    marker = object()
    assert k.units.convert(marker, "whatever", "whatever") is marker


# ---------------------------------------------------------------- against pint


@pytest.mark.parametrize(("fr", "to"), PAIRS, ids=["%s->%s" % p for p in PAIRS])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_fast_path_equals_pint(ureg, fr, to, data):
    if fr in LOG_UNITS:
        value = data.draw(st.floats(-60, 60, allow_subnormal=False))
    elif to in LOG_UNITS:
        value = data.draw(st.floats(1e-6, 1e6, allow_subnormal=False))
    else:
        # Results must stay normal floats too: a ppb -> % factor applied to
        # 2.2e-308 lands in subnormals, where no relative precision is left.
        value = data.draw(
            st.floats(-1e6, 1e6, allow_subnormal=False).filter(lambda v: v == 0 or abs(v) > 1e-280)
        )
    table = units.UnitTable()
    ours = table.convert(value, fr, to)
    theirs = ureg.Quantity(value, PINT_NAME[fr]).to(PINT_NAME[to]).magnitude
    # Offset and log units subtract: near a zero result only an absolute bound makes sense.
    abs_tol = 1e-12 * (abs(value) + 500) if {fr, to} & (OFFSET_UNITS | LOG_UNITS) else 0.0
    assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=abs_tol), (value, ours, theirs)


@pytest.mark.parametrize(
    "prefixed", ["mm", "km", "kg", "mA", "kV", "MW", "kPa", "mbar", "µm", "hPa", "cm"]
)
def test_prefixed_units_equal_pint(ureg, prefixed):
    table = units.UnitTable()
    base = table.base_units[table.get_type(prefixed)]
    ours = table.convert(3.5, prefixed, base)
    theirs = ureg.Quantity(3.5, prefixed).to(PINT_NAME[base]).magnitude
    assert math.isclose(ours, theirs, rel_tol=1e-9)


def test_every_table_unit_is_compared_with_pint():
    names = {a for a, _ in PAIRS} | {b for _, b in PAIRS}
    # V and A are alone in their type: test_prefixed_units_equal_pint covers mA and kV
    assert names | {"V", "A"} == set(PINT_NAME)
    assert set(BUILTIN_UNITS) - names == {"boolean", "bool", "V", "A"}  # pint has no boolean
    assert len(PAIRS) > 100


# ---------------------------------------------------------------- dimension check


def test_cross_type_conversion_raises_with_opt_out(k):
    with pytest.raises(IncompatibleUnitsError, match=r"'V' \(voltage\) to 'A' \(current\)"):
        k.units.convert(1, "V", "A")
    with pytest.raises(TypeError):  # also the matching builtin
        k.units.convert(1, "m", "KPH")
    assert k.units.convert(1, "V", "A", check_dimensions=False) == 1
    assert k.units.convert(2, "m", "KPH", check_dimensions=False) == 2


def test_dimension_check_off_by_config():
    with Kaithem(config={"units-check-dimensions": False}) as inst:
        assert inst.units.convert(3, "V", "A") == 3
        with pytest.raises(IncompatibleUnitsError):
            inst.units.convert(3, "V", "A", check_dimensions=True)


def test_pint_always_checks(k):
    with pytest.raises(IncompatibleUnitsError) as info:
        k.units.convert(1, "s", "kg*m")
    assert "'s'" in str(info.value)
    assert isinstance(info.value, KcoreError)


# ---------------------------------------------------------------- pint fallback


def test_mixed_fast_and_pint_units(k):
    c = k.units.convert
    assert c(100, "degC", "degR") == pytest.approx(671.67)
    assert c(671.67, "degR", "degC") == pytest.approx(100)
    assert c(5, "percent", "ppm") == pytest.approx(50000)
    assert c(3, "dB", "percent") == pytest.approx(199.5262315, rel=1e-9)
    assert c(1, "h", "min") == 60  # both pint-only
    assert c(2, "yard", "ft") == pytest.approx(6)


def test_defined_unit_converts_to_pint_only_unit(k):
    k.units.define("smoot", 1.7018, "length")
    assert k.units.convert(1, "smoot", "yard") == pytest.approx(1.7018 / 0.9144)


def test_mixed_errors_name_the_units_asked_for(k):
    with pytest.raises(IncompatibleUnitsError, match=r"'min'.*'in'"):
        k.units.convert(1, "min", "in")
    with pytest.raises(UnknownUnitError, match="'percent'"):
        k.units.convert(1, "bool", "percent")


@pytest.mark.parametrize("bad", ["m**", "(((", "1/0"])
def test_unparsable_unit_is_a_unit_error(k, bad):
    with pytest.raises(UnitError, match=re_escape(bad)):
        k.units.convert(1, bad, "m")


def re_escape(s):
    import re

    return re.escape(repr(s))


def test_bad_arguments(k):
    with pytest.raises(TypeError, match="string"):
        k.units.convert(1, 5, "m")
    with pytest.raises(TypeError, match="string"):
        k.units.convert(1, ["m"], "m")
    with pytest.raises(UnknownUnitError, match="empty"):
        k.units.convert(1, "", "m")
    with pytest.raises(UnitError, match="longer than"):
        k.units.convert(1, "m" * 500, "in")
    with pytest.raises(TypeError, match="number"):
        k.units.convert("5", "m", "ft")
    with pytest.raises(TypeError, match="number"):
        k.units.convert("5", "min", "s")


def test_unknown_unit_error_is_key_error_with_readable_message(k):
    with pytest.raises(KeyError) as info:
        k.units.get_type("flurb")
    assert str(info.value) == "unit 'flurb' is not in the fast unit table"


# ---------------------------------------------------------------- define / get_type


def test_define_with_documented_base_unit_positional(k):
    # the original ignored a 4th positional argument (it was an unused "offset")
    k.units.define("hand", 4, "length", "in")
    assert k.units.convert(1, "hand", "m") == pytest.approx(0.1016)
    k.units.define("chain", 66, "length", base="ft")
    assert k.units.convert(1, "chain", "m") == pytest.approx(20.1168)
    k.units.define("kilohand", 1000, "length", baseUnit="hand")
    assert k.units.convert(1, "kilohand", "hand") == pytest.approx(1000)


def test_define_functions_and_functions_on_a_base(k):
    k.units.define("degRe", (lambda x: x * 1.25, lambda x: x / 1.25), "temperature", "degC")
    assert k.units.convert(80, "degRe", "degC") == pytest.approx(100)
    assert k.units.convert(373.15, "K", "degRe") == pytest.approx(80)
    k.units.define("halfK", (lambda x: x / 2, lambda x: x * 2), "temperature")
    assert k.units.convert(10, "halfK", "K") == pytest.approx(5)
    k.units.define("dozenft", (lambda x: x * 12, lambda x: x / 12), "length", "ft")
    assert k.units.convert(1, "dozenft", "in") == pytest.approx(144)


def test_define_new_type_and_prefixes(k):
    k.units.define("widget", 1, "widgets")
    k.units.define("dozen", 12, "widgets")
    assert k.units.base_units["widgets"] == "widget"
    assert k.units.convert(3, "dozen", "widget") == 36
    assert k.units.convert(1, "kwidget", "dozen") == pytest.approx(1000 / 12)
    assert k.units.get_type("kwidget") == "widgets"
    with pytest.raises(IncompatibleUnitsError):
        k.units.convert(1, "dozen", "m")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("x", 2, "length", "nonesuch"), "nonesuch"),
        (("x", 2, "mass", "m"), "type 'mass'.*'m'.*'length'"),
        (("x", 0, "length"), "non-zero"),
        (("x", float("nan"), "length"), "finite"),
        (("x", "2", "length"), "number"),
        (("x", (abs,), "length"), "pair"),
        (("x y", 2, "length"), "whitespace"),
        (("", 2, "length"), "empty"),
        (("x", 2, ""), "type name"),
    ],
)
def test_define_rejects_bad_definitions(k, args, match):
    with pytest.raises(UnitError, match=match):
        k.units.define(*args)


def test_define_base_twice_conflict(k):
    with pytest.raises(ValueError, match="once"):
        k.units.define("x", 2, "length", "ft", base="in")


def test_get_type(k):
    assert k.units.get_type("degC") == "temperature"
    assert k.units.getType("kPa") == "pressure"
    assert k.units.get_type("bool") == "boolean"  # had no type in the original
    with pytest.raises(UnknownUnitError, match="'furlong'"):
        k.units.get_type("furlong")


def test_raw_table_is_exposed(k):
    assert k.units.units["ft"] == pytest.approx(0.3048)
    assert isinstance(k.units.units["degC"], tuple)
    assert k.units.unit_types["psi"] == "pressure"


def test_definitions_are_per_instance():
    with Kaithem() as a, Kaithem() as b:
        a.units.define("cubit", 0.4572, "length")
        assert a.units.convert(1, "cubit", "m") == pytest.approx(0.4572)
        with pytest.raises(UnknownUnitError):
            b.units.get_type("cubit")


def test_redefinition_invalidates_prefix_cache(k):
    k.units.define("blip", 2, "length")
    assert k.units.convert(1, "kblip", "m") == pytest.approx(2000)
    k.units.define("blip", 3, "length")
    assert k.units.convert(1, "kblip", "m") == pytest.approx(3000)


def test_module_functions_use_default_instance(default_instance):
    units.define("span", 9, "length", "in")
    assert default_instance.units.get_type("span") == "length"
    assert units.convert(1, "span", "in") == pytest.approx(9)
    assert units.get_type("span") == "length"
    assert units.getType("span") == "length"
    assert units.units is default_instance.units.units


# ---------------------------------------------------------------- laziness, threads


def test_import_does_not_import_pint():
    code = (
        "import sys, kcore.kaithem.units as u\n"
        "assert 'pint' not in sys.modules, 'pint imported at import'\n"
        "u.UnitTable().convert(1, 'degC', 'degF')\n"
        "assert 'pint' not in sys.modules, 'pint imported by a fast conversion'\n"
        "u.UnitTable().convert(1, 'h', 's')\n"
        "assert 'pint' in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_lazy_pint_registry_is_built_once_under_concurrency(monkeypatch):
    import pint

    built = []
    real = pint.UnitRegistry

    def counting(*a, **kw):
        built.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(units, "_pint_registry", None)
    monkeypatch.setattr(pint, "UnitRegistry", counting)
    table = units.UnitTable()
    results = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        results.append(table.convert(2, "h", "min"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [120] * 8
    assert len(built) == 1


def test_names_that_only_look_prefixed_go_to_pint(k):
    # "hbar" is the reduced Planck constant, not a hectobar; "min" is a minute
    assert k.units.convert(1, "hbar", "J*s") == pytest.approx(1.054571817e-34)
    assert k.units.convert(1, "hPa", "Pa") == pytest.approx(100)
    assert k.units.convert(2, "min", "s") == 120


def test_out_of_domain_values_are_unit_errors(k):
    with pytest.raises(UnitError, match="0 U in dB"):
        k.units.convert(0, "U", "dB")
    with pytest.raises(UnitError, match="dBm"):
        k.units.convert(1e6, "dBm", "W")


# ---------------------------------------------------------------- exact definitions


@pytest.mark.parametrize(
    ("value", "fr", "to", "expected"),
    [
        (12, "in", "ft", 1.0),
        (1, "ft", "in", 12.0),
        (1, "mile", "ft", 5280.0),
        (3, "ft", "m", 0.9144),
        (1, "kft", "in", 12000.0),
        (100, "degC", "degF", 212.0),
        (212, "degF", "degC", 100.0),
        (-40, "degC", "degF", -40.0),
        (32, "degF", "K", 273.15),
        (50, "degC", "degF", 122.0),
        (16, "oz", "lb", 1.0),
        (1000, "psi", "ksi", 1.0),
        (1, "bar", "millibar", 1000.0),
        (60, "MPH", "KPH", 96.56064),
        (1, "%", "ppm", 10000.0),
        (1, "km", "m", 1000.0),
        (1, "mm", "m", 0.001),
    ],
)
def test_documented_round_numbers_are_exact(k, value, fr, to, expected):
    got = k.units.convert(value, fr, to)
    assert got == expected  # exact, not approximately
    assert isinstance(got, float)


def test_defined_units_convert_exactly_through_their_definition(k):
    k.units.define("hand", 4, "length", "in")
    assert k.units.convert(3, "hand", "ft") == 1.0
    k.units.define("decikelvin", 0.1, "temperature", "K")
    assert k.units.convert(10, "decikelvin", "K") == 1.0
