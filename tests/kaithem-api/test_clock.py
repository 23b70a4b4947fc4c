"""An injectable clock: the scheduler, the bus, state-machine timers, events,
tags and alerts of one instance read its time, so hours run in milliseconds."""

from __future__ import annotations

import subprocess
import sys
import threading

import ktest
import pytest

from kcore.kaithem import Kaithem, ManualClock


@pytest.fixture
def clocked(tmp_path):
    clock = ManualClock(start=100.0, wall=1_700_000_000.0)
    inst = Kaithem(vardir=str(tmp_path), clock=clock)
    yield inst, clock
    inst.close()


def test_manual_clock_moves_only_when_told():
    c = ManualClock(start=5.0, wall=1000.0)
    assert (c.monotonic(), c.time()) == (5.0, 1000.0)
    assert c.advance(2.5) == 7.5
    assert c.time() == 1002.5
    with pytest.raises(ValueError):
        c.advance(-1)
    with pytest.raises(ValueError):
        c.set(1.0)


def test_scheduler_runs_jobs_when_the_clock_reaches_them(clocked):
    k, clock = clocked
    fired = []
    k.runtime.scheduler.schedule(lambda: fired.append("hour"), 3600)
    k.runtime.scheduler.schedule(lambda: fired.append("minute"), 60)
    clock.advance(59)
    ktest.wait_for(lambda: k.runtime.scheduler.pending == 2, what="two pending jobs")
    assert fired == []
    clock.advance(1)
    ktest.wait_for(lambda: fired == ["minute"], what="the one-minute job")
    clock.advance(3540)
    ktest.wait_for(lambda: fired == ["minute", "hour"], what="the one-hour job")


def test_repeating_job_on_a_manual_clock(clocked):
    k, clock = clocked
    runs = []
    k.runtime.scheduler.every(lambda: runs.append(clock.monotonic()), 10)
    for i in range(1, 4):
        clock.advance(10)
        ktest.wait_for(lambda i=i: len(runs) == i, what="run %d" % i)
    assert runs == [110.0, 120.0, 130.0]


def test_bus_timestamps_come_from_the_clock(clocked):
    k, clock = clocked
    got = []
    k.message.subscribe("/t", lambda t, m, ts, a: got.append(ts))
    k.message.post("/t", 1, synchronous=True)
    clock.advance(42)
    k.message.post("/t", 2, synchronous=True)
    assert got == [100.0, 142.0]


def test_state_machine_timer_and_ages_follow_the_clock(clocked):
    k, clock = clocked
    sm = k.states.StateMachine("off")
    sm.add_state("off")
    sm.add_state("on")
    sm.add_rule("off", "motion", "on")
    sm.set_timer("on", 600, "off")
    sm.event("motion")
    assert sm.entered_state == 1_700_000_000.0
    clock.advance(599)
    assert sm.age == 599
    assert sm.stateage == ("on", 599)
    assert sm.state == "on"
    clock.advance(1)
    ktest.wait_for(lambda: sm.state == "off", what="the 10-minute timer")
    assert sm.entered_state == 1_700_000_600.0


def test_events_after_uses_the_clock(clocked):
    k, clock = clocked
    done = threading.Event()
    k.events.after(86400, done.set)
    clock.advance(86399)
    assert not done.wait(0.05)
    clock.advance(1)
    assert done.wait(5)


def test_tag_timestamps_and_alert_trip_time_use_the_clock(clocked):
    k, clock = clocked
    tag = k.tags["/clocked"]
    tag.value = 3
    assert tag.timestamp == 100.0
    clock.advance(5)
    assert tag.age == 5
    alert = k.alerts.Alert("clocked", priority="warning")
    alert.trip("x")
    assert alert.tripped_at == 1_700_000_005.0


def test_pool_and_bus_modules_do_not_import_each_other_cyclically():
    code = (
        "import sys\n"
        "import kcore.kaithem._workers\n"
        "assert 'kcore.kaithem._runtime' not in sys.modules\n"
        "assert 'kcore.kaithem.message' not in sys.modules\n"
        "import kcore.kaithem.message as m\n"
        "assert 'kcore.kaithem._runtime' not in sys.modules\n"
        "bus = m.MessageBus()\n"
        "got = []\n"
        "bus.subscribe('/x', got.append)\n"
        "bus.post('/x', 1, synchronous=True)\n"
        "assert got == [1], got\n"
        "bus.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
