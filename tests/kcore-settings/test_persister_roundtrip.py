"""Property tests: whatever the persisters accept, they read back unchanged."""

import datetime
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcore.persister import (
    FILE_FORMATS,
    Persister,
    PersisterDC,
    PersisterDictOfDC,
    PersisterError,
    PersisterListOfDC,
)

json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
literal_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children, children)
        | st.dictionaries(st.integers() | st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


@dataclass
class Item:
    name: str
    n: int = 0
    x: float = 0.0
    flag: bool = False
    note: Optional[str] = None
    tags: List[str] = field(default_factory=list)
    scores: Dict[str, int] = field(default_factory=dict)
    when: Optional[datetime.datetime] = None


items = st.builds(
    Item,
    name=st.text(),
    n=st.integers(),
    x=st.floats(allow_nan=False, allow_infinity=False),
    flag=st.booleans(),
    note=st.none() | st.text(),
    tags=st.lists(st.text(), max_size=3),
    scores=st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    when=st.none() | st.datetimes(),
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _roundtrip(make, value):
    with tempfile.TemporaryDirectory(prefix="kst-") as d:
        path = d + "/p.data"
        make(path).set_data(value)
        return make(path).get_data()


@pytest.mark.parametrize("fmt", FILE_FORMATS)
@SETTINGS
@given(value=json_like | literal_like)
def test_generic_round_trip(fmt, value):
    assert _roundtrip(lambda p: Persister(p, file_format=fmt), value) == value


@pytest.mark.parametrize("fmt", FILE_FORMATS)
@SETTINGS
@given(value=st.dictionaries(st.text(), items, max_size=5))
def test_dict_of_dc_round_trip(fmt, value):
    assert _roundtrip(lambda p: PersisterDictOfDC(p, Item, file_format=fmt), value) == value


@pytest.mark.parametrize("fmt", FILE_FORMATS)
@SETTINGS
@given(value=st.lists(items, max_size=5))
def test_list_of_dc_round_trip(fmt, value):
    assert _roundtrip(lambda p: PersisterListOfDC(p, Item, file_format=fmt), value) == value


@pytest.mark.parametrize("fmt", FILE_FORMATS)
@SETTINGS
@given(value=items)
def test_dc_field_lines_round_trip(fmt, value):
    make = lambda p: PersisterDC(p, Item, default_value=Item("d"), file_format=fmt)
    assert _roundtrip(make, value) == value


def test_lone_surrogate_round_trips_as_a_literal_and_is_refused_as_json(tmp_path):
    path = str(tmp_path / "p.data")
    Persister(path).set_data({"a": "\ud800"})  # repr() escapes it: plain ASCII on disk
    assert Persister(path).get_data() == {"a": "\ud800"}
    with pytest.raises(PersisterError, match="lone surrogate"):
        Persister(path, file_format="json").set_data({"a": "\ud800"})
