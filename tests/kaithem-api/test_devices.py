"""kaithem.devices: registry by item and attribute, Device base class,
device_types, creation from code, closing."""

import pytest

import kcore.kaithem as kk
from kcore.kaithem import Kaithem
from kcore.kaithem import devices as kdev


class Lamp(kdev.Device):
    device_type = "Lamp"
    description = "a dimmable lamp"

    def __init__(self, name, config=None, **kwargs):
        super().__init__(name, config, **kwargs)
        self.released = 0

    def close(self):
        self.released += 1
        super().close()


@pytest.fixture
def k(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    yield inst
    inst.close()


def test_device_base_class_and_types_are_exposed(k):
    assert k.devices.Device is kdev.Device
    assert k.devices.device_types["Device"] is kdev.Device
    assert isinstance(k.devices.device_types, dict)


def test_register_type_and_create(k):
    assert k.devices.register_type(Lamp) is Lamp
    assert k.devices.device_types["Lamp"] is Lamp
    lamp = k.devices.create("Lamp", "kitchen", brightness=3)
    assert isinstance(lamp, Lamp)
    assert lamp.config == {"brightness": 3}
    assert k.devices["kitchen"] is lamp
    assert k.devices.kitchen is lamp
    assert "kitchen" in k.devices
    assert list(k.devices) == ["kitchen"]
    assert len(k.devices) == 1


def test_register_type_as_decorator_with_class_name(k):
    @k.devices.register_type
    class Sensor(kdev.Device):
        pass

    assert k.devices.device_types["Sensor"] is Sensor
    k.devices.register_type(Lamp, "OtherLamp")
    assert k.devices.device_types["OtherLamp"] is Lamp
    with pytest.raises(TypeError, match="subclasses of Device"):
        k.devices.register_type(dict)


def test_unknown_names(k):
    with pytest.raises(kdev.UnknownDevice) as ei:
        k.devices["nope"]
    assert isinstance(ei.value, KeyError)
    assert str(ei.value) == "no device named 'nope'"
    # attribute access raises AttributeError, so hasattr/getattr(default) work
    assert not hasattr(k.devices, "nope")
    assert getattr(k.devices, "nope", 5) == 5
    assert k.devices.get("nope") is None
    with pytest.raises(kdev.UnknownDeviceType, match=r"no device type 'Zzz'; known types: Device"):
        k.devices.create("Zzz", "x")


def test_names_with_spaces_and_clashing_names(k):
    a = k.devices.add(kdev.Device("Front Door"))
    b = k.devices.add(kdev.Device("add"))
    assert k.devices["Front Door"] is a
    assert k.devices["add"] is b
    assert callable(k.devices.add)  # methods win over device names
    assert sorted(k.devices) == ["Front Door", "add"]


def test_add_replaces_and_closes_the_old_device(k):
    old = k.devices.add(Lamp("l"))
    new = k.devices.add(Lamp("l"))
    assert old.closed and old.released == 1
    assert not new.closed
    assert k.devices.l is new
    k.devices.add(new)  # re-adding the same object does not close it
    assert not new.closed


def test_remove_closes(k):
    lamp = k.devices.add(Lamp("l"))
    k.devices.remove("l")
    assert lamp.closed
    assert "l" not in k.devices
    with pytest.raises(kdev.UnknownDevice):
        k.devices.remove("l")


def test_kaithem_close_closes_devices(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    lamp = inst.devices.add(Lamp("l"))
    inst.close()
    assert lamp.closed and lamp.released == 1


def test_device_validation_errors_and_context_manager():
    with pytest.raises(ValueError, match="non-empty str"):
        kdev.Device("")
    with pytest.raises(ValueError, match="printable"):
        kdev.Device("a\nb")
    with pytest.raises(TypeError, match="Device objects"):
        kdev.Namespace().add("x")
    with Lamp("ctx") as lamp:
        for i in range(kdev.MAX_ERRORS + 10):
            lamp.handle_error("problem %d" % i)
    assert lamp.closed
    assert len(lamp.errors) == kdev.MAX_ERRORS
    assert lamp.errors[-1][1] == "problem %d" % (kdev.MAX_ERRORS + 9)
    assert "closed" in repr(lamp)


def test_instances_isolated(tmp_path):
    with Kaithem(vardir=str(tmp_path / "a")) as a, Kaithem(vardir=str(tmp_path / "b")) as b:
        a.devices.register_type(Lamp)
        a.devices.create("Lamp", "x")
        assert "x" not in b.devices
        assert "Lamp" not in b.devices.device_types


def test_module_device_types_is_the_default_instances(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    previous = kk.set_default(inst)
    try:
        assert kdev.device_types is inst.devices.device_types
    finally:
        kk.set_default(previous)
        inst.close()
