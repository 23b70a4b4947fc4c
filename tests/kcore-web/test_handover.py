"""When the leading worker hands over: only when that can help (it waits), or
after LONG_HANDLER whatever it does. The clocks and thread states are given."""

import threading

import ktest

from kcore.webserver._handover import LONG_HANDLER, SLOW_HANDLER, LeaderWatch


def _watch(cpu_times, runnable):
    w = LeaderWatch()
    cpu = iter(cpu_times)
    w._cpu_time = lambda ident: next(cpu)
    w._runnable = lambda ident: runnable
    return w


def test_quick_events_never_hand_over():
    w = _watch([0.0], runnable=False)
    assert not w.hand_over(1, started=10.0, now=10.0 + SLOW_HANDLER / 2)


def test_a_waiting_leader_hands_over_after_a_second_look():
    w = _watch([1.0, 1.0], runnable=False)  # no CPU used between the looks
    assert not w.hand_over(1, 10.0, 10.003)  # first look
    assert w.hand_over(1, 10.0, 10.008)


def test_a_computing_or_descheduled_leader_keeps_the_lead_until_long():
    computing = _watch([1.0, 1.005], runnable=False)  # CPU advanced with the clock
    assert not computing.hand_over(1, 10.0, 10.003)
    assert not computing.hand_over(1, 10.0, 10.008)
    assert computing.hand_over(1, 10.0, 10.0 + LONG_HANDLER)
    descheduled = _watch([1.0, 1.0], runnable=True)  # waits for a CPU, not for I/O
    assert not descheduled.hand_over(1, 10.0, 10.003)
    assert not descheduled.hand_over(1, 10.0, 10.008)


def test_without_a_cpu_clock_wall_time_decides():
    w = _watch([None], runnable=False)
    assert w.hand_over(1, 10.0, 10.003)


def test_real_thread_clock_and_state():
    w = LeaderWatch()
    ready, done = threading.Event(), threading.Event()
    idents = []

    def sleeper():
        idents.append(threading.get_ident())
        w.note_thread(idents[0])
        ready.set()
        done.wait(10)

    t = threading.Thread(target=sleeper)
    t.start()
    try:
        assert ready.wait(5)
        assert w._cpu_time(idents[0]) is not None
        assert idents[0] in w._stat_paths  # Linux: the state is readable
        # Blocked in done.wait(): not runnable (a running thread would read "R").
        ktest.wait_for(lambda: not w._runnable(idents[0]), what="the thread to block")
    finally:
        done.set()
        t.join(5)
