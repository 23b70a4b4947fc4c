"""kaithem.states.StateMachine: rules, timers, polled rules, seek, jump,
subscribers, clocks, and the original's bugs fixed."""

import gc
import threading
import time

import ktest
import pytest

from kcore.kaithem import states as S


def _lamp(kai):
    sm = kai.states.StateMachine("off")
    sm.add_state("off")
    sm.add_state("on")
    return sm


def test_initial_state_and_properties(kai):
    sm = kai.states.StateMachine()
    assert sm.state == "start"
    assert sm.prev_state is None
    assert abs(sm.entered_state - time.time()) < 5
    state, age = sm.stateage
    assert state == "start" and 0 <= age < 5
    assert isinstance(sm, S.StateMachine)


def test_string_rules_and_return_value(kai):
    sm = _lamp(kai)
    sm.add_rule("off", "motion", "on")
    assert sm("nothing") == "off"
    assert sm("motion") == "on"
    assert sm.prev_state == "off"
    assert sm.event("motion") == "on"  # no rule in "on": ignored


def test_enter_exit_order_and_positional_enter(kai):
    log = []
    sm = kai.states.StateMachine("a")
    sm.add_state("a", None, lambda: log.append("exit a"))
    sm.add_state("b", lambda: log.append("enter b"))  # the help page's positional order
    sm.add_rule("a", "go", "b")
    sm("go")
    assert log == ["exit a", "enter b"]


def test_function_destination(kai):
    sm = _lamp(kai)
    sm.add_rule("off", "maybe", lambda m: None)
    assert sm("maybe") == "off"
    sm.add_rule("off", "maybe", lambda m: "on")
    assert sm("maybe") == "on"


def test_jump_and_condition(kai):
    sm = _lamp(kai)
    sm.jump("on", condition="on")  # not in "on": nothing
    assert sm.state == "off"
    sm.jump("on")
    assert sm.state == "on"
    sm.jump("on")  # re-entry is a real transition
    assert sm.prev_state == "on"
    with pytest.raises(S.UnknownStateError):
        sm.jump("missing")
    with pytest.raises(KeyError):  # also a KeyError, like the original
        sm.jump("missing")


def test_jump_away_from_never_added_initial_state(kai):
    sm = kai.states.StateMachine("start")
    sm.add_state("x")
    sm.jump("x")  # the original raised KeyError looking up "start"
    assert sm.state == "x" and sm.prev_state == "start"


def test_state_names_are_validated(kai):
    sm = kai.states.StateMachine("a")
    for bad in ["a b", "a/b", "", 5]:
        with pytest.raises(S.StateError):
            sm.add_state(bad)
    with pytest.raises(ValueError):
        sm.add_state("x!")


def test_remove_state(kai):
    sm = _lamp(kai)
    sm.add_rule("off", "go", "on")
    sm.remove_state("off")
    assert sm("go") == "off"  # current state gone: events ignored
    sm.jump("on")
    assert sm.state == "on"
    with pytest.raises(S.UnknownStateError):
        sm.remove_state("off")


def test_timer_fires_on_monotonic_clock(kai, wait_until):
    sm = _lamp(kai)
    sm.add_rule("off", "motion", "on")
    sm.set_timer("on", 0.05, "off")
    t0 = time.monotonic()
    sm("motion")
    assert wait_until(lambda: sm.state == "off")
    assert time.monotonic() - t0 >= 0.05
    assert sm.prev_state == "on"


def test_reentry_resets_timer(kai, wait_until):
    sm = _lamp(kai)
    sm.add_rule("on", "motion", "on")
    sm.set_timer("on", 0.15, "off")
    sm.jump("on")
    assert not ktest.wait_until(lambda: sm.state == "off", timeout=0.1)
    sm("motion")  # re-entering restarts the 0.15 s
    t1 = time.monotonic()
    assert wait_until(lambda: sm.state == "off")
    assert time.monotonic() - t1 >= 0.15


def test_oscillator(kai, wait_until):
    sm = kai.states.StateMachine("start")
    sm.add_state("start")
    sm.add_state("on")
    sm.add_state("off")
    sm.add_rule("start", "begin", "on")
    sm.set_timer("on", 0.02, "off")
    sm.set_timer("off", 0.02, "on")
    seen = []
    sm.subscribe(seen.append)
    sm("begin")
    assert wait_until(lambda: len(seen) >= 5)
    assert seen[:5] == ["on", "off", "on", "off", "on"]


def test_set_timer_on_current_state_takes_effect(kai, wait_until):
    sm = _lamp(kai)
    sm.jump("on")
    sm.set_timer("on", 0.02, "off")
    assert wait_until(lambda: sm.state == "off")


def test_timer_can_be_removed(kai):
    sm = _lamp(kai)
    sm.set_timer("on", 0.02, "off")
    sm.set_timer("on", 0.02, None)
    sm.jump("on")
    assert not ktest.wait_until(lambda: sm.state != "on", timeout=0.1)


def test_seek_past_timer_fires(kai, wait_until):
    sm = _lamp(kai)
    sm.set_timer("on", 100, "off")
    sm.jump("on")
    sm.seek(99.98)
    assert wait_until(lambda: sm.state == "off", timeout=2)


def test_negative_seek_extends(kai, wait_until):
    sm = _lamp(kai)
    sm.set_timer("on", 0.05, "off")
    sm.jump("on")
    t0 = time.monotonic()
    sm.seek(-0.1)
    assert wait_until(lambda: sm.state == "off")
    assert time.monotonic() - t0 >= 0.14


def test_polled_rule(kai, wait_until):
    flag = [False]
    calls = []

    def cond():
        calls.append(1)
        return flag[0]

    sm = _lamp(kai)
    sm.jump("on")
    sm.add_rule("on", cond, "off")
    assert wait_until(lambda: len(calls) >= 2)  # being polled
    flag[0] = True
    t0 = time.monotonic()
    assert wait_until(lambda: sm.state == "off")
    assert time.monotonic() - t0 < 0.3
    n = len(calls)
    # polling stops after leaving the state
    assert not ktest.wait_until(lambda: len(calls) != n, timeout=0.15)


def test_polled_rule_function_destination_and_one_transition(kai, wait_until):
    sm = kai.states.StateMachine("a")
    for s in "abc":
        sm.add_state(s)
    sm.add_rule("a", lambda: True, lambda m: "b")
    sm.add_rule("a", lambda: True, "c")  # must not also fire after the first moved us
    seen = []
    sm.subscribe(seen.append)
    assert wait_until(lambda: seen)
    assert seen == ["b"] and sm.state == "b"


def test_polling_stops_when_machine_dropped(kai, wait_until):
    calls = []
    sm = _lamp(kai)
    sm.jump("on")
    sm.add_rule("on", lambda: calls.append(1), "off")
    assert wait_until(lambda: len(calls) >= 2)
    del sm
    gc.collect()
    n = len(calls)
    assert not ktest.wait_until(lambda: len(calls) > n + 1, timeout=0.15)


def test_subscribers_per_state_and_all(kai):
    sm = _lamp(kai)
    on, off, every = [], [], []
    sm.subscribe(on.append, "on")
    sm.subscribe(off.append, "off")  # the original raised KeyError here
    sm.subscribe(every.append)
    sm.jump("on")
    sm.jump("off")
    assert on == ["on"] and off == ["off"] and every == ["on", "off"]
    sm.unsubscribe(every.append)
    sm.jump("on")
    assert every == ["on", "off"]


def test_subscriber_strong_by_default_weak_on_request(kai):
    sm = _lamp(kai)
    got = []
    sm.subscribe(lambda s: got.append(("strong", s)))

    class T:
        def f(self, s):
            got.append(("weak", s))

    t = T()
    sm.subscribe(t.f, weak=True)
    del t
    gc.collect()
    sm.jump("on")
    assert got == [("strong", "on")]


def test_subscriber_runs_outside_the_lock(kai):
    sm = _lamp(kai)
    other_thread_result = []

    def sub(state):
        t = threading.Thread(target=lambda: other_thread_result.append(sm.stateage[0]))
        t.start()
        t.join(2)

    sm.subscribe(sub)
    sm.jump("on")
    assert other_thread_result == ["on"]  # would deadlock/time out if the lock were held


def test_subscriber_error_is_reported_not_raised(kai, wait_until):
    errors = []
    kai.message.subscribe(S.ERROR_TOPIC, errors.append)
    sm = _lamp(kai)
    sm.subscribe(lambda s: 1 / 0)
    sm.jump("on")
    assert sm.state == "on"
    assert wait_until(lambda: errors)


def test_exit_error_aborts_enter_error_propagates(kai):
    sm = kai.states.StateMachine("a")
    sm.add_state("a", exit=lambda: 1 / 0)
    sm.add_state("b", enter=lambda: [][1])
    sm.add_state("c")
    sm.add_rule("a", "go", "b")
    with pytest.raises(ZeroDivisionError):
        sm("go")
    assert sm.state == "a"
    sm.add_state("a")  # replace: no failing exit any more
    sm.add_rule("a", "go", "b")
    seen = []
    sm.subscribe(seen.append)
    with pytest.raises(IndexError):
        sm("go")
    assert sm.state == "b" and seen == ["b"]  # state changed, subscribers still told


def test_module_level_class_uses_default_instance(default_kai, wait_until):
    sm = S.StateMachine("x")
    sm.add_state("x")
    sm.add_state("y")
    sm.set_timer("x", 0.01, "y")
    sm.jump("x")
    assert wait_until(lambda: sm.state == "y")


def test_poll_rate_has_the_documented_name_poll_rate_alias(kai):
    sm = kai.states.StateMachine("a")
    assert sm.pollRate == sm.poll_rate == 24.0
    sm.pollRate = 50
    assert sm.poll_rate == 50
    sm.poll_rate = 10
    assert sm.pollRate == 10
    assert S.StateMachine.poll_rate == 24.0  # the class default is untouched


def test_poll_rate_sets_the_polling_interval(tmp_path):
    from kcore.kaithem import Kaithem, ManualClock

    clock = ManualClock()
    with Kaithem(vardir=str(tmp_path), clock=clock) as k:
        sm = k.states.StateMachine("a")
        sm.pollRate = 2  # twice a second
        sm.add_state("a")
        sm.add_state("b")
        polls = []
        sm.add_rule("a", lambda: polls.append(clock.monotonic()) and False, "b")
        for i in range(1, 4):
            clock.advance(0.5)
            ktest.wait_for(lambda i=i: len(polls) >= i, what="poll %d" % i)
        assert polls[:3] == [1000.5, 1001.0, 1001.5]
