"""kaithem.gpio over kcore.gpio's gpiozero back end, tested with gpiozero's MockFactory:
tags at /system/gpio/PIN, bus messages on change/active/inactive/hold, mock switching,
outputs that follow their tag (PWM really changes the pin's duty cycle)."""

import subprocess
import sys
import textwrap

import pytest
from ktest import wait_for

from kcore.kaithem import Kaithem


@pytest.fixture
def factory():
    """gpiozero's MockFactory with PWM-capable pins, standing in for a Pi's pins."""
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()
    f.close()


@pytest.fixture
def no_real_gpio(monkeypatch):
    """This machine as it is: gpiozero finds no pin library."""
    from gpiozero import Device

    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)


def _recorder(kai, *topics):
    got = []
    for t in topics:
        kai.message.subscribe(t, lambda topic, value: got.append((topic, value)))
    return got


def test_input_tag_claim_and_bus_messages(kai, factory):
    got = _recorder(kai, "/system/gpio/#")
    inp = kai.gpio.DigitalInput(17, pin_factory=factory, comment="door")
    tag = kai.tags["/system/gpio/17"]
    assert inp.tag is tag and tag.min == 0 and tag.max == 1
    assert tag.value == 0 and tag.current_source == "gpio"
    assert tag.claims["gpio"].priority == 60
    pin = factory.pin(17)
    assert pin.pull == "up" and not inp.mocked and "door" in repr(inp)
    pin.drive_low()  # pulled up, so active low
    assert tag.value == 1 and inp.value is True
    pin.drive_high()
    assert tag.value == 0 and inp.value is False
    expected = [
        ("/system/gpio/change/17", True),
        ("/system/gpio/active/17", True),
        ("/system/gpio/change/17", False),
        ("/system/gpio/inactive/17", False),
    ]
    wait_for(lambda: len(got) == 4, what="four bus messages")
    assert sorted(got) == sorted(expected)
    assert [m for m in got if "change" in m[0]] == [expected[0], expected[2]]


def test_on_change_and_friends_subscribe_to_the_documented_topics(kai, factory):
    inp = kai.gpio.DigitalInput(5, pin_factory=factory, hold_time=0.05)
    seen = {"change": [], "active": [], "inactive": [], "hold": []}
    subs = [
        inp.on_change(lambda t, v: seen["change"].append((t, v))),
        inp.on_active(lambda t, v: seen["active"].append((t, v))),
        inp.on_inactive(lambda t, v: seen["inactive"].append((t, v))),
        inp.on_hold(lambda t, v: seen["hold"].append((t, v))),
    ]
    factory.pin(5).drive_low()
    wait_for(lambda: seen["hold"], what="the hold event")
    factory.pin(5).drive_high()
    wait_for(lambda: seen["inactive"], what="the inactive event")
    assert seen["change"] == [("/system/gpio/change/5", True), ("/system/gpio/change/5", False)]
    assert seen["active"] == [("/system/gpio/active/5", True)]
    assert seen["inactive"] == [("/system/gpio/inactive/5", False)]
    assert seen["hold"] == [("/system/gpio/hold/5", True)]  # no repeat by default
    for s in subs:
        s.unsubscribe()


def test_hold_repeat(kai, factory):
    holds = []
    inp = kai.gpio.DigitalInput(6, pin_factory=factory, hold_time=0.03, hold_repeat=True)
    inp.on_hold(lambda t, v: holds.append(v))
    factory.pin(6).drive_low()
    wait_for(lambda: len(holds) >= 3, what="repeated hold events")
    factory.pin(6).drive_high()


def test_pull_down_floating_and_active_state(kai, factory):
    down = kai.gpio.DigitalInput(7, pin_factory=factory, pull=False)
    assert factory.pin(7).pull == "down" and down.active_state is True
    factory.pin(7).drive_high()
    assert down.tag.value == 1
    floating = kai.gpio.DigitalInput(8, pin_factory=factory, pull=None, active_state=False)
    assert factory.pin(8).pull == "floating"
    factory.pin(8).drive_low()
    assert floating.tag.value == 1
    with pytest.raises(ValueError, match="active_state"):
        kai.gpio.DigitalInput(9, pin_factory=factory, pull=None)
    with pytest.warns(DeprecationWarning, match="pull_up"):
        old = kai.gpio.DigitalInput(10, pin_factory=factory, pull_up=False)
    assert factory.pin(10).pull == "down" and old.pull is False
    with pytest.raises(ValueError, match="hold_time"):
        kai.gpio.DigitalInput(11, pin_factory=factory, hold_time=-1)


def test_gpio_is_the_raw_gpiozero_button_with_bounce_time(kai, factory):
    from gpiozero import Button

    inp = kai.gpio.DigitalInput(12, pin_factory=factory, bounce_time=0.05)
    assert isinstance(inp.gpio, Button) and inp.gpio.pin is factory.pin(12)
    assert factory.pin(12).bounce == 0.05


def test_set_raw_mock_value_and_release_mocking(kai, factory):
    got = _recorder(kai, "/system/gpio/change/13")
    inp = kai.gpio.DigitalInput(13, pin_factory=factory)
    real = inp.gpio
    inp.set_raw_mock_value(False)  # raw low on a pulled-up input: active
    assert inp.mocked and inp.gpio is not real and real.closed
    assert inp.gpio.pin_factory is kai.gpio.mock_factory()
    assert inp.tag.value == 1
    inp.setRawMockValue(True)
    assert inp.tag.value == 0
    wait_for(lambda: len(got) == 2, what="the two changes")
    assert got == [("/system/gpio/change/13", True), ("/system/gpio/change/13", False)]
    inp.release_mocking()
    assert not inp.mocked and inp.gpio.pin_factory is factory
    factory.pin(13).drive_low()
    assert inp.tag.value == 1


def test_without_real_gpio_pins_fall_back_to_mock_and_warn_once(kai, no_real_gpio):
    warned = _recorder(kai, "/system/notifications/warnings")
    with pytest.warns(Warning):  # gpiozero's own pin-factory fallback warnings
        a = kai.gpio.DigitalInput(20)
    b = kai.gpio.DigitalOutput(21)
    assert a.mocked and b.mocked and kai.gpio.no_real_gpio
    a.set_raw_mock_value(0)
    assert a.tag.value == 1
    b.on()
    assert b.gpio.pin.state == 1
    wait_for(lambda: warned, what="the warning")
    assert len(warned) == 1 and "No real GPIO" in warned[0][1]
    with pytest.warns(Warning), pytest.raises(kai.gpio.NoRealGPIOError) as e:
        a.release_mocking()
    assert isinstance(e.value, RuntimeError) and a.mocked


def test_mock_true_uses_mock_pins(kai, factory):
    out = kai.gpio.DigitalOutput(22, pin_factory=factory, mock=True)
    assert out.mocked and out.gpio.pin_factory is kai.gpio.mock_factory()
    out.release_mocking()
    assert not out.mocked and factory.pin(22).state == 0


def test_digital_output_follows_its_tag(kai, factory):
    out = kai.gpio.DigitalOutput(23, pin_factory=factory)
    pin = factory.pin(23)
    assert out.tag is kai.tags["/system/gpio/23"] and pin.state == 0
    out.on()
    assert pin.state == 1 and out.value == 1
    override = out.tag.claim(0, "maintenance", priority=70)
    out.on()  # the default claim loses to the higher claim
    assert pin.state == 0
    override.release()
    assert pin.state == 1
    out.tag.value = 0.4  # below 0.5: off
    assert pin.state == 0
    out.set_state(True)
    assert pin.state == 1
    out.force(0)
    assert pin.state == 0 and out.forced
    out.off()
    out.on()
    assert pin.state == 0  # forced: the tag is ignored
    out.unforce()
    assert pin.state == 1
    with pytest.raises(ValueError, match="0 to 1"):
        out.value = 2


def test_output_options(kai, factory):
    from gpiozero import LED

    low = kai.gpio.DigitalOutput(24, pin_factory=factory, active_high=False, initial_value=1)
    assert isinstance(low.gpio, LED) and low.tag.value == 1
    assert factory.pin(24).state == 0  # on, active low
    low.off()
    assert factory.pin(24).state == 1


def test_pwm_output_really_drives_the_duty_cycle(kai, factory):
    out = kai.gpio.PWMOutput(18, pin_factory=factory, frequency=200, initial_value=0.1)
    pin = factory.pin(18)
    assert pin.frequency == 200 and pin.state == pytest.approx(0.1)
    out.tag.value = 0.25
    assert pin.state == pytest.approx(0.25) and out.gpio.value == pytest.approx(0.25)
    claim = out.tag.claim(0.9, "scene", priority=60)
    assert pin.state == pytest.approx(0.9)
    claim.release()
    assert pin.state == pytest.approx(0.25)
    out.on()
    assert pin.state == 1
    out.value = 0
    assert pin.state == 0
    states = [s.state for s in pin.states]
    assert states[-4:] == [pytest.approx(0.9), pytest.approx(0.25), 1, 0]


def test_pwm_needs_a_pwm_capable_factory(kai):
    from gpiozero.pins.mock import MockFactory

    plain = MockFactory()
    try:
        with pytest.raises(RuntimeError, match="MockPWMPin"):
            kai.gpio.PWMOutput(19, pin_factory=plain)
        assert "19" not in kai.gpio.outputs
    finally:
        plain.close()


def test_a_new_object_on_a_pin_closes_the_old_one(kai, factory):
    first = kai.gpio.DigitalInput(25, pin_factory=factory)
    second = kai.gpio.DigitalOutput(25, pin_factory=factory)
    assert first.closed and not second.closed
    assert kai.gpio.outputs == {"25": second} and kai.gpio.inputs == {}
    assert "gpio" not in second.tag.claims  # the input's claim went with it
    third = kai.gpio.PWMOutput(25, pin_factory=factory)
    assert second.closed and kai.gpio.outputs == {"25": third}
    with pytest.raises(Exception, match="closed"):
        first.set_raw_mock_value(1)


def test_close_releases_pins_and_the_kaithem_close_closes_all(tmp_path, factory):
    k = Kaithem(vardir=str(tmp_path))
    inp = k.gpio.DigitalInput(26, pin_factory=factory)
    out = k.gpio.PWMOutput(27, pin_factory=factory)
    inp.close()
    assert "gpio" not in inp.tag.claims and inp.closed
    inp.close()  # twice is fine
    k.close()
    assert out.closed and out.gpio is None
    from gpiozero import LED

    LED(26, pin_factory=factory).close()  # both pins are free again
    LED(27, pin_factory=factory).close()


def test_module_level_classes_use_the_default_instance(default_kai, factory):
    from kcore.kaithem import gpio

    inp = gpio.DigitalInput(16, pin_factory=factory)
    assert default_kai.gpio.inputs == {"16": inp}
    assert inp.tag is default_kai.tags["/system/gpio/16"]


def test_importing_kcore_kaithem_does_not_import_gpiozero():
    code = textwrap.dedent(
        """
        import sys, tempfile
        import kcore.kaithem
        from kcore.kaithem import Kaithem
        with Kaithem(vardir=tempfile.mkdtemp()) as k:
            k.units.convert(1, "m", "ft")
            assert "gpiozero" not in sys.modules
            ns = k.gpio  # the namespace loads lazily, still without gpiozero
            assert "gpiozero" not in sys.modules and "kcore.kaithem.gpio" in sys.modules
            from gpiozero.pins.mock import MockFactory
            f = MockFactory()
            ns.DigitalOutput(4, pin_factory=f).on()
            assert f.pin(4).state is True
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
