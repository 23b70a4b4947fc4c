"""Fixtures for the kcore-hw tests: clean gpio state, gpiozero mock pins, polling waits."""

import time

import pytest


@pytest.fixture(autouse=True)
def clean_gpio():
    """Every test starts with no open device and the default back end unchosen."""
    from kcore import gpio

    gpio.close_all()
    gpio.set_default_backend(None)
    gpio.SIM_BUTTONS.clear()
    gpio.SIM_LEDS.clear()
    yield gpio
    gpio.close_all()
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
def wait_for():
    """wait_for(predicate, timeout=3.0): poll until true; fail with a message at the deadline."""

    def wait(predicate, timeout=3.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.005)
        raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))

    return wait
