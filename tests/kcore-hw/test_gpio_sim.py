"""kcore.gpio's simulation back end with the real background thread and clock."""

import threading
import time

import pytest

from kcore import gpio
from kcore.common import KcoreError


def test_simulated_press_timings(wait_for):
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


def test_ticker_thread_starts_on_demand_and_stops_when_idle(wait_for):
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


def test_callback_exception_is_counted_not_fatal(wait_for, capsys):
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


def test_event_queue_bound_and_get_event():
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
