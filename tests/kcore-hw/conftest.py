"""Fixtures for the kcore-hw tests: clean gpio state and gpiozero mock pins.
(Polling waits come from tests/support/ktest.py.)"""

import pytest


@pytest.fixture(autouse=True)
def clean_gpio():
    """Every test starts with no open device, the default back end unchosen and
    pin take-over on."""
    from kcore import gpio

    gpio.close_all()
    gpio.init(backend="simulation", strict_pins=False)
    gpio.set_default_backend(None)
    gpio.SIM_BUTTONS.clear()
    gpio.SIM_LEDS.clear()
    yield gpio
    gpio.close_all()
    gpio.init(backend="simulation", strict_pins=False)
    gpio.set_default_backend(None)


@pytest.fixture
def mock_factory():
    """gpiozero's MockFactory, as in gpiozero's own tests; closed afterwards."""
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()


@pytest.fixture
def pwm_factory():
    """gpiozero's MockFactory with PWM-capable pins (MockPWMPin); closed afterwards."""
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()
    factory.close()
