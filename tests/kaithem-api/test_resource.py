"""kaithem.resource: a working read-only mapping keyed by (module, resource)
(the original's was garbage-collected on creation)."""

import gc
from collections.abc import Mapping

import pytest

from kcore.kaithem import Kaithem
from kcore.kaithem import resource as kres


@pytest.fixture
def k(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    yield inst
    inst.close()


def test_resource_namespace_exists_and_survives_gc(k):
    ns = k.resource
    del ns
    gc.collect()
    assert isinstance(k.resource, Mapping)
    assert len(k.resource) == 0
    assert k.resource is k.resource


def test_add_and_read_like_a_dict(k):
    page = object()
    k.resource.add("lights", "kitchen", {"brightness": 3})
    k.resource.add("lights", "page", page)
    k.resource.add("heating", "boiler", 1)
    assert k.resource["lights", "kitchen"] == {"brightness": 3}
    assert k.resource[("lights", "page")] is page
    assert ("heating", "boiler") in k.resource
    assert ("heating", "nope") not in k.resource
    assert "heating" not in k.resource  # keys are tuples
    assert sorted(k.resource) == [("heating", "boiler"), ("lights", "kitchen"), ("lights", "page")]
    assert len(k.resource) == 3
    assert k.resource.get(("x", "y"), "dflt") == "dflt"
    assert dict(k.resource.items())[("heating", "boiler")] == 1
    assert k.resource.modules() == ["heating", "lights"]
    assert k.resource.module("lights") == {"kitchen": {"brightness": 3}, "page": page}
    assert k.resource.module("none") == {}


def test_missing_resource_error_is_clear(k):
    with pytest.raises(kres.ResourceError) as ei:
        k.resource["mod", "res"]
    assert isinstance(ei.value, KeyError)
    assert str(ei.value) == "no resource 'res' in module 'mod'"


@pytest.mark.parametrize("key", ["mod/res", ("mod",), ("a", "b", "c"), ("", "x"), (1, "x")])
def test_bad_keys(k, key):
    with pytest.raises(TypeError, match=r"\(module, resource\) tuples"):
        k.resource[key]


def test_read_only_for_user_code(k):
    with pytest.raises(TypeError):
        k.resource["a", "b"] = 1
    with pytest.raises(TypeError):
        del k.resource["a", "b"]


def test_replace_update_remove(k):
    k.resource.add("m", "r", 1)
    k.resource.add("m", "r", 2)
    assert k.resource["m", "r"] == 2
    k.resource.update({("m", "s"): 3, ("n", "t"): 4})
    assert len(k.resource) == 3
    k.resource.remove("m", "r")
    assert ("m", "r") not in k.resource
    k.resource.remove("m")  # the whole module
    assert k.resource.modules() == ["n"]
    with pytest.raises(kres.ResourceError, match="no resources in module 'm'"):
        k.resource.remove("m")
    with pytest.raises(kres.ResourceError):
        k.resource.remove("n", "zz")
    with pytest.raises(TypeError):
        k.resource.update({"bad": 1})
    assert k.resource.modules() == ["n"]


def test_iteration_is_a_snapshot(k):
    for i in range(5):
        k.resource.add("m", str(i), i)
    for key in k.resource:  # mutating while iterating is safe
        k.resource.remove(*key)
    assert len(k.resource) == 0


def test_instances_isolated_and_close_clears(tmp_path):
    with Kaithem(vardir=str(tmp_path / "a")) as a, Kaithem(vardir=str(tmp_path / "b")) as b:
        a.resource.add("m", "r", 1)
        assert ("m", "r") not in b.resource
        ns = a.resource
    assert len(ns) == 0
