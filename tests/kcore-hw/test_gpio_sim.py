"""kcore.gpio's simulation back end with the real background thread and clock."""

import threading
import time

import pytest
from ktest import wait_for

from kcore import gpio
from kcore.common import KcoreError


def test_simulated_press_timings():
    """150 ms press with 100 ms requirement fires after ~100 ms; 50 ms never fires."""
    gpio.init(simulation=True)
    assert gpio.SIMULATION is True
    got = []
    with gpio.KButton(4, func=lambda pin: got.append(time.monotonic()), debounce_ms=80) as b:
        assert gpio.SIM_BUTTONS[4] is True
        t0 = time.monotonic()
        b.simulate_press(150)
        assert gpio.SIM_BUTTONS[4] is False
        wait_for(lambda: got, what="the press")
        assert 0.09 <= got[0] - t0 < 5
        wait_for(lambda: gpio.SIM_BUTTONS[4] is True, what="the simulated release")
        b.simulate_press(50)
        wait_for(lambda: b.stats["unsustained"] == 1, what="the short press to be dropped")
        assert len(got) == 1 and b.next_due_ms() is None


def test_debounce_80ms():
    """Presses within 80 ms of the last accepted one are bounces (fake clock, no thread)."""
    sim = gpio.SimulationBackend()
    clock = [0]
    got = []
    with gpio.KButton(
        4,
        func=got.append,
        backend=sim,
        background=False,
        debounce_ms=80,
        require_pressed_ms=0,
        clock=lambda: clock[0],
    ) as b:
        for t in (0, 30, 79, 80, 150):
            clock[0] = t
            b.simulate_press(5)
            clock[0] = t + 5
            b.check()
            assert not b.is_pressed
        # accepted at 0 and 80; 30 and 79 bounce; 150 is within 80 ms of 80
        assert got == [4, 4] and b.stats["debounced"] == 3


def test_sim_leds_table_and_dual_led():
    gpio.init(simulation=True)
    with gpio.KLed(20) as led:
        assert gpio.SIM_LEDS[20] is False
        led.on()
        assert gpio.SIM_LEDS[20] is True and led.is_lit
        assert "on" in repr(led)
    assert "closed" in repr(led)
    with gpio.KDualLed(1, 2) as d:
        d.yellow()
        assert gpio.SIM_LEDS[1] and gpio.SIM_LEDS[2]
        d.green()
        assert d.get() == (False, True)


def test_input_reads_simulated_level():
    gpio.init(simulation=True)
    assert gpio.input(30) is True  # the idle default
    gpio.SIM_BUTTONS[30] = False
    assert gpio.input(30) is False


def test_level_changed_behind_its_back_is_noticed_by_check():
    sim = gpio.SimulationBackend()
    got = []
    with gpio.KButton(
        3, func=got.append, backend=sim, background=False, require_pressed_ms=0
    ) as b:
        sim.levels[3] = False
        assert b.check() == 1 and got == [3]


def test_disable_and_enable():
    sim = gpio.SimulationBackend()
    got = []
    clock = [0]
    with gpio.KButton(
        3,
        func=got.append,
        backend=sim,
        background=False,
        clock=lambda: clock[0],
        require_pressed_ms=0,
        debounce_ms=0,
    ) as b:
        b.disable()
        sim.set_level(3, False)
        sim.set_level(3, True)
        b.enable()
        sim.set_level(3, False)
        assert got == [3] and b.stats["presses"] == 1


def test_ticker_thread_starts_on_demand_and_stops_when_idle():
    from kcore.gpio._ticker import TICKER

    wait_for(lambda: not TICKER.running, what="an idle ticker")
    before = threading.active_count()
    b = gpio.KButton(2, backend="simulation")
    assert TICKER.running
    b.close()
    wait_for(lambda: not TICKER.running, what="the ticker to stop")
    assert threading.active_count() == before
    # background=False starts no thread
    gpio.KLed(2, backend="simulation", background=False).close()
    assert not TICKER.running


def test_callback_exception_is_counted_not_fatal(capsys):
    def bad(pin):
        raise RuntimeError("broken callback")

    gpio.init(simulation=True)
    with gpio.KButton(7, func=bad, require_pressed_ms=10) as b:
        b.simulate_press(50)
        wait_for(lambda: b.stats["callback_errors"] == 1, what="the failing callback")
        b.simulate_unpress()
    assert "broken callback" in capsys.readouterr().err


def test_closed_device_errors_and_context_manager():
    gpio.init(simulation=True)
    with gpio.KButton(11) as b:
        pass
    assert b.closed and "closed" in repr(b)
    with pytest.raises(gpio.DeviceClosed) as e:
        b.value()
    assert isinstance(e.value, RuntimeError) and isinstance(e.value, KcoreError)
    b.close()  # twice is fine


def test_close_all_releases_pins():
    gpio.init(simulation=True)
    gpio.KButton(12)
    gpio.KLed(13)
    gpio.rpi_atexit()
    gpio.KButton(12).close()
    gpio.KLed(13).close()


def test_event_record_bound_and_get_event():
    sim = gpio.SimulationBackend()
    with gpio.KButton(
        14,
        func=None,
        backend=sim,
        background=False,
        require_pressed_ms=0,
        debounce_ms=0,
        queue_len=2,
    ) as b:
        for _ in range(3):
            sim.set_level(14, False)
            sim.set_level(14, True)
        assert b.get_event()[0] == "press"
        assert b.get_event()[0] == "release"
        assert b.get_event() is None
        assert b.stats["events_dropped"] == 4


def test_log_flag_prints_simulation_line(capsys):
    sim = gpio.SimulationBackend()
    with gpio.KButton(15, func=None, backend=sim, background=False, log=True) as b:
        b.simulate_press(200)
    assert "button on bcm_pin 15 set False for 200 ms." in capsys.readouterr().err


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="debounce_ms"):
        gpio.KButton(1, debounce_ms="x", backend="simulation")
    with pytest.raises(ValueError, match="long_press_ms"):
        gpio.KButton(1, long_press_ms=0, backend="simulation")
    with pytest.raises(ValueError, match="unknown GPIO back end"):
        gpio.KLed(1, backend="plasma")


# ---------------------------------------------------------------- issue 9 item 5


@pytest.mark.parametrize("normally_high", [True, False])
@pytest.mark.parametrize("pull_float_high", [True, False, None])
def test_idle_level_comes_from_normally_high(normally_high, pull_float_high):
    gpio.init(simulation=True)
    gpio.SIM_BUTTONS[4] = not normally_high  # a stale level from an earlier run
    with gpio.KButton(
        4, normally_high=normally_high, pull_float_high=pull_float_high, background=False
    ) as b:
        assert gpio.SIM_BUTTONS[4] is normally_high
        assert not b.is_pressed and b.value() is normally_high
        b.simulate_press(10_000)
        assert gpio.SIM_BUTTONS[4] is (not normally_high) and b.is_pressed


@pytest.mark.parametrize("background", [True, False])
def test_simulated_press_releases_on_its_own_timer(background):
    """The release comes after the duration even when nothing calls check()."""
    gpio.init(simulation=True)
    got = []
    with gpio.KButton(
        5,
        func=got.append,
        background=background,
        require_pressed_ms=0,
        debounce_ms=0,
    ) as b:
        t0 = time.monotonic()
        b.simulate_press(60)
        assert got == [5] and gpio.SIM_BUTTONS[5] is False
        wait_for(lambda: gpio.SIM_BUTTONS[5] is True, what="the release")
        assert time.monotonic() - t0 >= 0.055
        assert b.sim_release_due_ms() is None
        b.check()
        assert [e[0] for e in b.events()] == ["press", "release"]
    from kcore.gpio._ticker import TICKER

    wait_for(lambda: not TICKER.running, what="the ticker to stop")


def test_event_queue_holds_only_pending_press_confirmations():
    sim = gpio.SimulationBackend()
    clock = [0]
    with gpio.KButton(
        6,
        func=None,
        backend=sim,
        background=False,
        clock=lambda: clock[0],
        require_pressed_ms=100,
        long_press_ms=500,
        confirm_without_background=True,
    ) as b:
        assert b._event_queue.queue == []
        b.simulate_press(1000)
        assert len(b._event_queue.queue) == 1  # the press waiting for confirmation
        clock[0] = 100
        b.check()
        assert b._event_queue.queue == []  # confirmed; the long press is another timer
        assert b.stats["presses"] == 1 and b.next_due_ms() == 400
        clock[0] = 500
        b.check()
        assert b.stats["long_presses"] == 1 and b._event_queue.queue == []
        clock[0] = 1000
        b.check()  # the simulated release is due
        assert not b.is_pressed and b.next_due_ms() is None


def test_newer_device_takes_the_pin_from_an_unclosed_older_one():
    gpio.init(simulation=True)
    got = []
    old = gpio.KButton(8, func=got.append, background=False, require_pressed_ms=0)
    new = gpio.KButton(8, func=lambda pin: got.append(("new", pin)), background=False)
    assert old.closed and not new.closed
    with pytest.raises(gpio.DeviceClosed):
        old.value()
    led = gpio.KLed(8, background=False)  # any kind of device takes it
    assert new.closed and led.get() is False
    pwm = gpio.KPwmLed(8)
    assert led.closed and gpio.SIM_LEDS[8] == 0.0
    pwm.close()


def test_strict_pins_refuse_instead():
    gpio.init(simulation=True)
    first = gpio.KLed(9, background=False)
    with pytest.raises(gpio.PinInUse) as e:
        gpio.KButton(9, strict_pins=True, background=False)
    assert isinstance(e.value, ValueError) and "9" in str(e.value)
    assert not first.closed
    gpio.init(strict_pins=True)
    with pytest.raises(gpio.PinInUse):
        gpio.KLed(9, background=False)
    gpio.KLed(9, strict_pins=False, background=False).close()  # per device overrides
    assert first.closed


def test_private_simulations_do_not_share_pins():
    gpio.init(simulation=True)
    shared = gpio.KLed(10, background=False)
    private = gpio.KLed(10, backend=gpio.SimulationBackend(), background=False)
    assert not shared.closed and not private.closed
    shared.close()
    private.close()


def test_init_without_arguments_keeps_the_backend_already_chosen(monkeypatch):
    mine = gpio.SimulationBackend()
    assert gpio.init(backend=mine) is mine
    monkeypatch.setenv("KCORE_GPIO_BACKEND", "circuitpython")  # would fail if re-chosen
    assert gpio.init() is mine and gpio.default_backend() is mine
    assert gpio.SIMULATION is True
    gpio.set_default_backend(None)
    monkeypatch.setenv("KCORE_GPIO_BACKEND", "simulation")
    chosen = gpio.init()  # nothing chosen yet: choose now
    assert chosen.name == "simulation" and gpio.init() is chosen


def test_release_func_and_repeating_long_press():
    sim = gpio.SimulationBackend()
    clock = [0]
    got = []
    with gpio.KButton(
        11,
        func=lambda p: got.append("press"),
        release_func=lambda p: got.append("release"),
        long_func=lambda p: got.append("long"),
        long_press_ms=100,
        long_press_repeat=True,
        require_pressed_ms=0,
        debounce_ms=0,
        backend=sim,
        background=False,
        clock=lambda: clock[0],
    ) as b:
        sim.set_level(11, False)
        for t in (99, 100, 150, 200, 300, 350):
            clock[0] = t
            b.check()
        assert got == ["press", "long", "long", "long"]
        sim.set_level(11, True)
        clock[0] = 1000
        b.check()
        assert got[-1] == "release" and b.stats["long_presses"] == 3
        kinds = [e[0] for e in b.events()]
        assert kinds == ["press", "long_press", "long_press", "long_press", "release"]


def test_unsustained_press_has_no_release_callback():
    sim = gpio.SimulationBackend()
    clock = [0]
    got = []
    with gpio.KButton(
        12,
        func=got.append,
        release_func=got.append,
        backend=sim,
        background=False,
        clock=lambda: clock[0],
        require_pressed_ms=50,
        confirm_without_background=True,
    ) as b:
        sim.set_level(12, False)
        clock[0] = 20
        sim.set_level(12, True)
        b.check()
        assert got == [] and b.stats["unsustained"] == 1


def test_led_options_and_pwm_output_in_simulation():
    gpio.init(simulation=True)
    with gpio.KLed(20, active_high=False, initial_value=True, background=False) as led:
        assert gpio.SIM_LEDS[20] is True and led.is_lit  # SIM_LEDS holds on/off
    with gpio.KPwmLed(21, initial_value=0.25) as pwm:
        assert gpio.SIM_LEDS[21] == 0.25 and pwm.value == 0.25 and pwm.is_lit
        pwm.value = 0.5
        assert gpio.SIM_LEDS[21] == 0.5
        pwm.toggle()
        assert pwm.value == 0.0 and not pwm.is_lit
        pwm.on()
        assert gpio.SIM_LEDS[21] == 1.0 and "value=1.000" in repr(pwm)
        for bad in (1.5, -0.1, float("nan"), "half", None):
            with pytest.raises(ValueError, match=r"0\.0 to 1\.0"):
                pwm.value = bad
        assert pwm.value == 1.0 and pwm.device is None
    assert gpio.SIM_LEDS[21] == 0.0 and "closed" in repr(pwm)
    with pytest.raises(gpio.DeviceClosed):
        pwm.on()
    with pytest.raises(ValueError, match="frequency"):
        gpio.KPwmLed(21, frequency=0)


def test_no_func_prints_the_press(capsys):
    sim = gpio.SimulationBackend()
    with gpio.KButton(16, func=None, backend=sim, background=False, require_pressed_ms=0) as b:
        b.simulate_press(10)
    assert capsys.readouterr().out == "Button pressed: 16\n"


def test_without_background_a_press_is_accepted_at_once():
    # Nothing samples the pin between check() calls, so (as programs written for
    # the original expect) require_pressed_ms counts as 0 there.
    sim = gpio.SimulationBackend()
    got = []
    with gpio.KButton(13, func=got.append, backend=sim, background=False) as b:
        assert b.require_pressed_ms == 0
        b.simulate_press(200)
        assert got == [13]
    with gpio.KButton(
        14, func=got.append, backend=sim, background=False, confirm_without_background=True
    ) as b:
        assert b.require_pressed_ms == 100
        b.simulate_press(200)
        assert got == [13]  # waits for check() after 100 ms
