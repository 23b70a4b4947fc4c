"""kaithem.events: when() and after() on the instance's scheduler."""

import gc
import threading
import time

import ktest
import pytest

from kcore.kaithem import events as E


def test_after_fires_once_after_delay(kai, wait_until):
    fired = []
    t0 = time.monotonic()
    ev = kai.events.after(0.5, lambda: fired.append(time.monotonic()))  # a lambda: held strongly
    gc.collect()
    assert not fired
    assert ev.wait(5)
    assert len(fired) == 1 and fired[0] - t0 >= 0.5
    assert ev.fired


def test_after_cancel(kai):
    fired = []
    ev = kai.events.after(0.05, lambda: fired.append(1))
    ev.cancel()
    assert not ev.wait(0.15)
    assert fired == []


def test_when_fires_once_on_rising_edge(kai, wait_until):
    flag = [False]
    fired = []
    ev = kai.events.when(lambda: flag[0], lambda: fired.append(1), priority="realtime")
    assert not ev.wait(0.05)
    flag[0] = True
    assert ev.wait(2)
    flag[0] = False
    flag[0] = True
    assert not ktest.wait_until(lambda: fired != [1], timeout=0.1)
    assert fired == [1]


def test_when_already_true_fires_at_first_poll(kai):
    ev = kai.events.when(lambda: True, lambda: None)
    assert ev.wait(2)


def test_when_trigger_error_is_reported(kai, wait_until):
    errors = []
    kai.message.subscribe(E.ERROR_TOPIC, errors.append)
    kai.events.when(lambda: 1 / 0, lambda: None)
    assert wait_until(lambda: errors)
    assert errors[0]["what"] == "trigger"


def test_action_error_is_reported(kai, wait_until):
    errors = []
    kai.message.subscribe(E.ERROR_TOPIC, errors.append)
    ev = kai.events.after(0, lambda: [][0])
    assert ev.wait(2)
    assert wait_until(lambda: errors and errors[0]["what"] == "action")


def test_priorities(kai):
    assert E.poll_interval("interactive") == 0.085
    assert E.poll_interval(0.5) == 0.5
    with pytest.raises(E.PriorityError):
        kai.events.when(lambda: False, print, priority="whenever")
    with pytest.raises(ValueError):
        E.poll_interval(0)
    with pytest.raises(TypeError):
        kai.events.after(1, "not callable")


def test_module_functions(default_kai):
    done = threading.Event()
    E.after(0.01, done.set)
    assert done.wait(2)
    done2 = threading.Event()
    E.when(lambda: True, done2.set)
    assert done2.wait(2)
