"""kcore.gpio's board-safe code paths: the circuitpython back end over fake
board/digitalio modules, and the simulation, driven by a hand-moved clock.
Plain asserts: runs under pytest and under the real micropython binary."""

import hwfakes
from mtest import raises

from kcore import gpio
from kcore.gpio._circuitpython import CircuitPythonBackend

dio = hwfakes.digitalio
pwmio = hwfakes.pwmio
board = hwfakes.board


def _backend():
    dio.reset()
    pwmio.NO_PWM.clear()
    return CircuitPythonBackend(board, dio, pwmio)


def test_button_press_needs_require_pressed_ms():
    clock = hwfakes.Clock()
    got = []
    b = gpio.KButton(
        5,
        func=got.append,
        background=False,
        clock=clock,
        backend=_backend(),
        require_pressed_ms=100,
        debounce_ms=0,
    )
    try:
        assert dio.IN_USE[board.D5].pull == dio.Pull.UP
        assert b.value() is True and not b.is_pressed
        dio.drive(board.D5, False)
        assert b.check() == 0  # edge seen, not yet sustained
        clock.t += 99
        assert b.check() == 0 and got == []
        clock.t += 1
        assert b.check() == 1 and got == [5]
        clock.t += 500
        assert b.check() == 0 and got == [5]  # one press, one call
        dio.drive(board.D5, None)
        b.check()
        kinds = [e[0] for e in b.events()]
        assert kinds == ["press", "release"], kinds
        assert b.events() == []
    finally:
        b.close()
    assert board.D5 not in dio.IN_USE


def test_short_press_is_dropped():
    clock = hwfakes.Clock()
    got = []
    with gpio.KButton(
        6,
        func=got.append,
        background=False,
        clock=clock,
        backend=_backend(),
        require_pressed_ms=100,
    ) as b:
        dio.drive(board.D6, False)
        b.check()
        clock.t += 50
        dio.drive(board.D6, None)
        b.check()
        clock.t += 200
        b.check()
        assert got == []
        assert b.stats["unsustained"] == 1
    assert b.closed


def test_debounce_ignores_quick_second_press():
    clock = hwfakes.Clock()
    got = []
    with gpio.KButton(
        7,
        func=got.append,
        background=False,
        clock=clock,
        backend=_backend(),
        require_pressed_ms=0,
        debounce_ms=80,
    ) as b:
        for step in (0, 20, 40, 150):
            clock.t = 1000 + step
            dio.drive(board.D7, False)
            b.check()
            clock.t += 5
            dio.drive(board.D7, None)
            b.check()
        # pressed at 1000 (taken), 1020 and 1040 (bounces), 1150 (taken)
        assert got == [7, 7], got
        assert b.stats["debounced"] == 2


def test_long_press_and_normally_low_button():
    clock = hwfakes.Clock()
    short, long_ = [], []
    with gpio.KButton(
        8,
        func=short.append,
        long_func=long_.append,
        long_press_ms=1000,
        normally_high=False,
        pull_float_high=False,
        background=False,
        clock=clock,
        backend=_backend(),
        require_pressed_ms=10,
    ) as b:
        assert dio.IN_USE[board.D8].pull == dio.Pull.DOWN
        dio.drive(board.D8, True)
        b.check()
        clock.t += 10
        b.check()
        assert short == [8] and long_ == []
        assert b.next_due_ms() == 990
        clock.t += 990
        assert gpio.check() == 1  # the module-level check services every device
        assert long_ == [8]
        assert [e[0] for e in b.events()] == ["press", "long_press"]


def test_event_queue_is_bounded():
    clock = hwfakes.Clock()
    with gpio.KButton(
        9,
        func=None,
        background=False,
        clock=clock,
        backend=_backend(),
        require_pressed_ms=0,
        debounce_ms=0,
        queue_len=3,
    ) as b:
        for _ in range(5):
            dio.drive(board.D9, False)
            b.check()
            dio.drive(board.D9, None)
            b.check()
        events = b.events()
        assert len(events) == 3
        assert b.stats["events_dropped"] == 7
        assert b.stats["presses"] == 5


def test_callback_error_does_not_stop_others():
    clock = hwfakes.Clock()

    def bad(pin):
        raise ValueError("boom")

    with gpio.KButton(
        10, func=bad, background=False, clock=clock, backend=_backend(), require_pressed_ms=0
    ) as b:
        dio.drive(board.D10, False)
        assert b.check() == 0
        assert b.stats["callback_errors"] == 1
        assert b.stats["presses"] == 1


def test_led_on_off_toggle_blink():
    clock = hwfakes.Clock()
    led = gpio.KLed(13, background=False, clock=clock, backend=_backend())
    try:
        io = dio.IN_USE[board.D13]
        assert io.direction == dio.Direction.OUTPUT and io.value is False
        led.on()
        assert led.get() and io.value
        led.toggle()
        assert not led.get()
        led.hi()
        led.low()
        assert not io.value
        led.blink(on_ms=100, off_ms=50, n=2)
        seen = []
        for _ in range(40):
            led.check()
            seen.append(io.value)
            clock.t += 10
        # on 100, off 50, on 100, then off for good
        assert seen[:10] == [True] * 10 and seen[10:15] == [False] * 5, seen
        assert seen[15:25] == [True] * 10 and seen[25:] == [False] * 15, seen
        assert not led.blinking
        led.blink(20, 20)
        led.set(0)  # set stops the blinking
        clock.t += 100
        led.check()
        assert not led.blinking and not io.value
    finally:
        led.close()
    assert raises(gpio.DeviceClosed, led.on)
    assert raises(RuntimeError, led.get)  # DeviceClosed is a RuntimeError too


def test_newer_device_takes_the_pin_unless_strict():
    be = _backend()
    led = gpio.KLed(14, background=False, backend=be)
    button = gpio.KButton(14, background=False, backend=be)
    assert led.closed and not button.closed
    assert dio.IN_USE[board.D14].direction == dio.Direction.INPUT
    e = raises(gpio.PinInUse, gpio.KLed, 14, background=False, backend=be, strict_pins=True)
    assert "14" in str(e) and not button.closed
    button.close()
    dio.DigitalInOut(board.D15)  # held outside kcore: never taken
    assert raises(gpio.PinInUse, gpio.KLed, 15, background=False, backend=be)
    assert raises(ValueError, gpio.KLed, 99, background=False, backend=be)
    gpio.KLed("LED", background=False, backend=be).close()


def test_floating_input_and_active_low_led():
    be = _backend()
    with gpio.KButton(
        16, background=False, backend=be, pull_float_high=None, normally_high=False
    ) as b:
        assert dio.IN_USE[board.D16].pull is None
        assert not b.is_pressed
    with gpio.KLed(17, background=False, backend=be, active_high=False) as led:
        assert dio.OUTPUTS[board.D17] is True and not led.get()  # off: pin high
        led.on()
        assert dio.OUTPUTS[board.D17] is False and led.get()
    with gpio.KLed(17, background=False, backend=be, initial_value=True) as led:
        assert dio.OUTPUTS[board.D17] is True and led.is_lit


def test_pwm_output_on_pwmio():
    be = _backend()
    with gpio.KPwmLed(18, frequency=1000, backend=be) as pwm:
        out = dio.IN_USE[board.D18]
        assert out.frequency == 1000 and out.duty_cycle == 0
        pwm.value = 0.5
        assert out.duty_cycle == 32768 and pwm.value == 0.5
        pwm.on()
        assert out.duty_cycle == 65535
        assert raises(ValueError, setattr, pwm, "value", 2)
        assert out.duty_cycle == 65535
        assert pwm.device is out
    assert out.deinited and board.D18 not in dio.IN_USE
    with gpio.KPwmLed(18, active_high=False, initial_value=0.25, backend=be) as pwm:
        assert dio.IN_USE[board.D18].duty_cycle == 49151
    pwmio.NO_PWM.add(board.D19)
    assert raises(gpio.BackendError, gpio.KPwmLed, 19, backend=be)
    assert board.D19 not in dio.IN_USE


def test_pwm_needs_pwmio():
    be = CircuitPythonBackend(board, dio)
    hwfakes.uninstall()
    e = raises(ImportError, gpio.KPwmLed, 18, backend=be)
    assert "pwmio" in str(e)


def test_dual_led():
    be = _backend()
    with gpio.KDualLed(16, 17, backend=be) as d:
        d.yellow()
        assert dio.OUTPUTS[board.D16] and dio.OUTPUTS[board.D17]
        d.red()
        assert d.get() == (True, False)
        d.green()
        assert d.get() == (False, True)
        d.off()
        assert d.get() == (False, False)
    assert board.D16 not in dio.IN_USE and board.D17 not in dio.IN_USE


def test_default_imports_board_and_digitalio():
    hwfakes.install()
    try:
        dio.reset()
        be = gpio.make_backend("circuitpython")
        assert be.board is board and be.digitalio is dio
        with gpio.KLed(3, background=False, backend=be) as led:
            led.on()
            assert dio.OUTPUTS[board.D3]
    finally:
        hwfakes.uninstall()


def test_missing_board_modules_name_what_is_needed():
    hwfakes.uninstall()
    e = raises(ImportError, gpio.make_backend, "circuitpython")
    assert "digitalio" in str(e)


def test_simulation_backend_press():
    clock = hwfakes.Clock()
    sim = gpio.SimulationBackend()
    got = []
    with gpio.KButton(
        21,
        func=got.append,
        background=False,
        clock=clock,
        backend=sim,
        require_pressed_ms=100,
        debounce_ms=80,
        confirm_without_background=True,
    ) as b:
        assert sim.levels[21] is True
        b.simulate_press(150)
        assert sim.levels[21] is False
        assert len(b._event_queue.queue) == 1  # the press waiting for confirmation
        clock.t += 100
        b.check()
        assert got == [21] and b._event_queue.queue == []
        clock.t += 50
        b.check()
        assert sim.levels[21] is True
        b.simulate_press(50)  # shorter than require_pressed_ms: never fires
        clock.t += 200
        b.check()
        b.check()
        assert got == [21]
    led = gpio.KLed(22, background=False, backend=sim)
    led.on()
    assert sim.leds[22] is True
    led.close()
    pwm = gpio.KPwmLed(22, backend=sim, initial_value=0.5)
    assert sim.leds[22] == 0.5
    pwm.close()


def test_simulated_idle_level_comes_from_normally_high():
    sim = gpio.SimulationBackend()
    sim.levels[23] = True
    with gpio.KButton(23, background=False, backend=sim, normally_high=False) as b:
        assert sim.levels[23] is False and not b.is_pressed
        b.simulate_press(10)
        assert sim.levels[23] is True and b.is_pressed


def test_simulate_press_refused_on_hardware():
    with gpio.KButton(11, background=False, backend=_backend()) as b:
        assert raises(gpio.NotSimulated, b.simulate_press)
        assert raises(RuntimeError, b.simulate_unpress)


def test_bad_arguments():
    be = _backend()
    assert raises(ValueError, gpio.KButton, 12, debounce_ms=-1, backend=be)
    assert raises(ValueError, gpio.KButton, 12, queue_len=0, backend=be)
    assert raises(ValueError, gpio.make_backend, "nonsense")
    with gpio.KLed(12, background=False, backend=be) as led:
        assert raises(ValueError, led.blink, 0, 10)
