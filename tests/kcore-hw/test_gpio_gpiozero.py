"""kcore.gpio on gpiozero, driven by gpiozero's MockFactory (its first-class mock back end)."""

import time

import pytest
from ktest import wait_for

from kcore import gpio
from kcore.common import KcoreError


def test_press_through_mock_pin_runs_callback_in_background(mock_factory):
    got = []
    with gpio.KButton(17, func=got.append, pin_factory=mock_factory, require_pressed_ms=50) as b:
        assert b.backend.name == "gpiozero"
        pin = mock_factory.pin(17)
        assert pin.pull == "up" and b.value() is True
        t0 = time.monotonic()
        pin.drive_low()
        assert b.is_pressed
        wait_for(lambda: got == [17], what="the press callback")
        assert time.monotonic() - t0 >= 0.045  # not before require_pressed_ms
        pin.drive_high()
        wait_for(lambda: len(b._events) == 2, what="the release event")
        assert [e[0] for e in b.events()] == ["press", "release"]


def test_short_press_is_dropped(mock_factory):
    got = []
    clock = [1000]
    with gpio.KButton(
        5,
        func=got.append,
        pin_factory=mock_factory,
        background=False,
        clock=lambda: clock[0],
        require_pressed_ms=100,
        confirm_without_background=True,
    ) as b:
        pin = mock_factory.pin(5)
        pin.drive_low()
        clock[0] += 50
        pin.drive_high()
        clock[0] += 500
        assert b.check() == 0
        assert got == [] and b.stats["unsustained"] == 1


def test_long_press(mock_factory):
    short, long_ = [], []
    with gpio.KButton(
        6,
        func=short.append,
        long_func=long_.append,
        long_press_ms=150,
        pin_factory=mock_factory,
        require_pressed_ms=20,
    ) as b:
        pin = mock_factory.pin(6)
        pin.drive_low()
        wait_for(lambda: long_ == [6], what="the long-press callback")
        assert short == [6]
        pin.drive_high()
        wait_for(lambda: b.stats["edges"] == 2, what="the release")
        assert [e[0] for e in b.events()] == ["press", "long_press", "release"]


def test_normally_low_button_with_pull_down(mock_factory):
    got = []
    with gpio.KButton(
        13,
        func=got.append,
        pin_factory=mock_factory,
        normally_high=False,
        pull_float_high=False,
        require_pressed_ms=0,
    ):
        pin = mock_factory.pin(13)
        assert pin.pull == "down"
        pin.drive_high()
        assert got == [13]  # require_pressed_ms=0: at once, in the edge's thread


def test_led_on_off_toggle_and_blink(mock_factory):
    with gpio.KLed(22, pin_factory=mock_factory) as led:
        pin = mock_factory.pin(22)
        assert pin.function == "output" and pin.state is False
        led.on()
        assert pin.state is True and led.get()
        led.toggle()
        assert pin.state is False
        pin.clear_states()
        led.blink(on_ms=30, off_ms=30, n=2)
        wait_for(lambda: not led.blinking, what="the blink to end")
        states = [s.state for s in pin.states]
        assert states == [False, True, False, True, False], states
    assert pin.state is False


def test_newer_device_takes_the_pin_and_strict_refuses(mock_factory):
    led = gpio.KLed(23, pin_factory=mock_factory)
    button = gpio.KButton(23, pin_factory=mock_factory, func=None)
    assert led.closed and mock_factory.pin(23).function == "input"
    with pytest.raises(gpio.PinInUse) as e:
        gpio.KLed(23, pin_factory=mock_factory, strict_pins=True)
    assert isinstance(e.value, ValueError) and isinstance(e.value, KcoreError)
    assert not button.closed
    button.close()
    gpio.KButton(23, pin_factory=mock_factory).close()


def test_pin_held_outside_kcore_is_not_taken(mock_factory):
    from gpiozero import LED

    foreign = LED(24, pin_factory=mock_factory)
    try:
        with pytest.raises(gpio.PinInUse, match="already in use"):
            gpio.KButton(24, pin_factory=mock_factory)
    finally:
        foreign.close()


def test_other_pin_factory_is_other_pins(mock_factory, pwm_factory):
    a = gpio.KLed(25, pin_factory=mock_factory)
    b = gpio.KLed(25, pin_factory=pwm_factory)
    assert not a.closed and not b.closed


def test_default_backend_follows_gpiozero_pin_factory(mock_factory):
    from gpiozero import Device

    old = Device.pin_factory
    Device.pin_factory = mock_factory
    try:
        gpio.set_default_backend(None)
        with gpio.KLed(24) as led:
            assert led.backend.name == "gpiozero"
            led.on()
            assert mock_factory.pin(24).state is True
        assert gpio.SIMULATION is False
    finally:
        Device.pin_factory = old


def test_env_selects_backend(monkeypatch):
    monkeypatch.setenv("KCORE_GPIO_BACKEND", "simulation")
    gpio.set_default_backend(None)
    assert gpio.default_backend().name == "simulation"
    assert gpio.SIMULATION is True


def test_no_pin_library_is_a_clear_error(monkeypatch):
    from gpiozero import Device

    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    with pytest.warns(Warning), pytest.raises(gpio.HardwareNotFound) as e:
        gpio.KLed(5, backend="gpiozero")
    assert "simulation" in str(e.value) and isinstance(e.value, RuntimeError)
    assert isinstance(e.value, gpio.BackendError)


def test_simulate_press_refused_on_gpiozero(mock_factory):
    with gpio.KButton(8, pin_factory=mock_factory) as b, pytest.raises(gpio.NotSimulated):
        b.simulate_press()


def test_input_reads_and_releases(mock_factory):
    from gpiozero import Device

    old = Device.pin_factory
    Device.pin_factory = mock_factory
    try:
        gpio.set_default_backend("gpiozero")
        assert gpio.input(9) is True  # pulled up, nothing drives it
        gpio.KLed(9).close()  # the pin was released by input()
        with gpio.KButton(9, func=None):
            mock_factory.pin(9).drive_low()
            assert gpio.input(9) is False  # read through the button holding the pin
    finally:
        Device.pin_factory = old


def test_button_is_a_gpiozero_button_and_can_float(mock_factory):
    from gpiozero import Button

    got = []
    with gpio.KButton(
        19,
        func=got.append,
        release_func=lambda p: got.append(-p),
        normally_high=False,
        pull_float_high=None,
        pin_factory=mock_factory,
        require_pressed_ms=0,
        debounce_ms=0,
    ) as b:
        assert isinstance(b.device, Button)
        pin = mock_factory.pin(19)
        assert pin.pull == "floating"
        pin.drive_high()
        pin.drive_low()
        assert got == [19, -19]


def test_bounce_ms_is_gpiozero_bounce_time(mock_factory):
    """The setting reaches the pin (MockPin stores it but, unlike real pins, does not filter)."""
    with gpio.KButton(20, pin_factory=mock_factory, bounce_ms=200, background=False):
        assert mock_factory.pin(20).bounce == 0.2
    with gpio.KButton(20, pin_factory=mock_factory, background=False):
        assert mock_factory.pin(20).bounce is None


def test_repeating_long_press_on_mock_pins(mock_factory):
    long_ = []
    with gpio.KButton(
        21,
        func=None,
        long_func=long_.append,
        long_press_ms=40,
        long_press_repeat=True,
        pin_factory=mock_factory,
        require_pressed_ms=0,
        debounce_ms=0,
    ):
        mock_factory.pin(21).drive_low()
        wait_for(lambda: len(long_) >= 3, what="three long-press calls")
        mock_factory.pin(21).drive_high()


def test_led_active_low_and_initial_value(mock_factory):
    with gpio.KLed(26, pin_factory=mock_factory, active_high=False, initial_value=True) as led:
        pin = mock_factory.pin(26)
        assert led.get() and pin.state is False  # lit by a low pin
        led.off()
        assert pin.state is True
    assert pin.state is True  # closed: off


def test_pwm_output_drives_the_duty_cycle(pwm_factory):
    with gpio.KPwmLed(18, frequency=200, pin_factory=pwm_factory) as pwm:
        pin = pwm_factory.pin(18)
        assert pin.frequency == 200 and pin.state == 0
        pwm.value = 0.25
        assert pin.state == 0.25 and pwm.device.value == 0.25
        pwm.on()
        assert pin.state == 1
    assert pin.state == 0
    with gpio.KPwmLed(13, active_high=False, initial_value=0.2, pin_factory=pwm_factory) as inv:
        assert pwm_factory.pin(13).state == pytest.approx(0.8) and inv.value == pytest.approx(0.2)


def test_pwm_on_a_factory_without_pwm_says_what_to_do(mock_factory):
    with pytest.raises(gpio.BackendError, match="MockPWMPin") as e:
        gpio.KPwmLed(18, pin_factory=mock_factory)
    assert isinstance(e.value, RuntimeError)
    gpio.KLed(18, pin_factory=mock_factory).close()  # the failed attempt released the pin


def test_mock_factory_can_do_pwm():
    factory = gpio.mock_factory()
    try:
        with gpio.KPwmLed(12, pin_factory=factory) as pwm:
            pwm.value = 0.5
            assert factory.pin(12).state == 0.5
    finally:
        factory.close()
