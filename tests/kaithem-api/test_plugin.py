"""kaithem.plugin.add_plugin: weak proxy published as kaithem.<name>, gone
with the object, no shadowing of built-in names; strong assignment works."""

import gc
import weakref

import pytest

import kcore.kaithem as kk
from kcore.kaithem import Kaithem
from kcore.kaithem import plugin as kplugin


class Thing:
    def __init__(self, value):
        self.value = value

    def double(self):
        return self.value * 2


@pytest.fixture
def k(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    yield inst
    inst.close()


def test_add_plugin_publishes_a_weak_proxy(k):
    obj = Thing(21)
    proxy = k.plugin.add_plugin("thing", obj)
    assert type(proxy) in weakref.ProxyTypes
    assert k.thing.double() == 42
    assert k.thing.value == 21
    obj.value = 5
    assert k.thing.value == 5
    assert k.plugin.plugins() == ["thing"]


def test_plugin_vanishes_with_its_object(k):
    obj = Thing(1)
    k.plugin.add_plugin("thing", obj)
    held = k.thing
    del obj
    gc.collect()
    assert not hasattr(k, "thing")
    with pytest.raises(AttributeError):
        k.thing  # noqa: B018
    with pytest.raises(ReferenceError):
        held.value  # noqa: B018
    assert k.plugin.plugins() == []
    # the name is free again
    new = Thing(2)
    k.plugin.add_plugin("thing", new)
    assert k.thing.value == 2


def test_replacing_a_plugin_and_the_old_one_dying_keeps_the_new(k):
    old, new = Thing("old"), Thing("new")
    k.plugin.add_plugin("p", old)
    k.plugin.add_plugin("p", new)
    del old
    gc.collect()
    assert k.p.value == "new"


@pytest.mark.parametrize(
    "name", ["units", "persist", "plugin", "close", "start", "vardir", "runtime", "_x", "a b", ""]
)
def test_builtin_and_invalid_names_are_refused(k, name):
    with pytest.raises(kplugin.PluginError) as ei:
        k.plugin.add_plugin(name, Thing(0))
    assert isinstance(ei.value, ValueError)


def test_instance_attributes_are_refused_even_when_none(tmp_path):
    with Kaithem() as inst:  # vardir is None here
        for name in ("vardir", "location", "config"):
            with pytest.raises(kplugin.PluginError):
                inst.plugin.add_plugin(name, Thing(0))
        assert inst.vardir is None


def test_non_plugin_attribute_is_not_overwritten(k):
    strong = Thing("strong")
    k.mine = strong
    with pytest.raises(kplugin.PluginError, match="already set"):
        k.plugin.add_plugin("mine", Thing("weak"))
    assert k.mine is strong


def test_plain_assignment_is_the_strong_alternative(k):
    k.keep = Thing(7)
    gc.collect()
    assert k.keep.value == 7


def test_objects_without_weakref_support_get_a_clear_error(k):
    with pytest.raises(TypeError, match=r"weakly referenced.*kaithem\.d = obj"):
        k.plugin.add_plugin("d", {"a": 1})
    assert not hasattr(k, "d")


def test_remove_plugin_and_close(k):
    a, b = Thing(1), Thing(2)
    k.plugin.add_plugin("a", a)
    k.plugin.add_plugin("b", b)
    k.plugin.remove_plugin("a")
    assert not hasattr(k, "a")
    with pytest.raises(KeyError):
        k.plugin.remove_plugin("a")
    k.plugin.close()
    assert not hasattr(k, "b")
    assert k.plugin.plugins() == []


def test_instances_are_isolated(tmp_path):
    obj = Thing(3)
    with Kaithem(vardir=str(tmp_path / "1")) as k1, Kaithem(vardir=str(tmp_path / "2")) as k2:
        k1.plugin.add_plugin("iso", obj)
        assert k1.iso.value == 3
        assert not hasattr(k2, "iso")


def test_module_function_uses_default_instance(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    previous = kk.set_default(inst)
    try:
        obj = Thing(9)
        kplugin.add_plugin("modlevel", obj)
        assert kk.default().modlevel.value == 9
        kplugin.remove_plugin("modlevel")
        assert not hasattr(inst, "modlevel")
    finally:
        kk.set_default(previous)
        inst.close()
