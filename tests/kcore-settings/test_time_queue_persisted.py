"""kcore.time_queue_persisted: events that survive a restart, stored with the safe
persister, functions looked up by name on the given context only."""

import datetime
import types

import pytest

from kcore.common.logger import Logger
from kcore.persister import PersisterError
from kcore.time_queue_persisted import EventDC, TimeQueuePersisted, lookup_function

T0 = datetime.datetime(2030, 1, 2, 3, 4, 5)


class Clock:
    """A fake wall clock (epoch seconds) that tests move by hand."""

    def __init__(self, dt=T0):
        self.now = dt.timestamp()

    def __call__(self):
        return self.now

    def set(self, dt):
        self.now = dt.timestamp()


@pytest.fixture
def jobs():
    calls = []
    ctx = types.SimpleNamespace(
        water=lambda *a, **k: calls.append(("water", a, k)),
        light=lambda *a, **k: calls.append(("light", a, k)),
    )
    ctx.calls = calls
    return ctx


def make(path, ctx, clock, **kw):
    return TimeQueuePersisted(str(path), ctx, wall_clock=clock, logger=Logger(), **kw)


def test_the_file_holds_the_originals_repr_lines(tmp_path, jobs):
    path = tmp_path / "q.data"
    tq = make(path, jobs, Clock())
    tq.add_event(EventDC(T0, "water", [7], {}, 1000))
    assert path.read_text() == (
        "EventDC(fire_dt=datetime.datetime(2030, 1, 2, 3, 4, 5), func_name='water', "
        "args=[7], kwargs={}, repeat_after_ms=1000)\n"
    )
    assert tq.get_queue_ro() == [EventDC(T0, "water", [7], {}, 1000)]
    assert tq.queue == tq.get_queue_ro()


def test_events_survive_a_restart_and_fire_once(tmp_path, jobs):
    path = tmp_path / "q.data"
    clock = Clock()
    first = make(path, jobs, clock)
    first.add_dt(T0 + datetime.timedelta(minutes=1), "water", [1], {"litres": 2})
    first.add_dt(T0 + datetime.timedelta(minutes=5), "light")
    assert first.check() == 0
    del first  # "restart"
    clock.set(T0 + datetime.timedelta(minutes=2))
    second = make(path, jobs, clock)
    assert second.check() == 1 and jobs.calls == [("water", (1,), {"litres": 2})]
    assert [e.func_name for e in make(path, jobs, clock).get_queue_ro()] == ["light"]
    clock.set(T0 + datetime.timedelta(minutes=6))
    assert second.check() == 1 and second.get_queue_ro() == []
    assert path.read_text() == "[]\n"


def test_repeating_event_saves_its_next_time(tmp_path, jobs):
    path = tmp_path / "q.data"
    clock = Clock()
    make(path, jobs, clock).add_event(EventDC(T0, "water", repeat_after_ms=60_000))
    assert make(path, jobs, clock).check() == 1
    (event,) = make(path, jobs, clock).get_queue_ro()
    assert event.fire_dt == T0 + datetime.timedelta(minutes=1)  # moved forward on disk
    # After a restart it does not fire again at its first time (the original did).
    assert make(path, jobs, clock).check() == 0
    clock.set(T0 + datetime.timedelta(minutes=1))
    assert make(path, jobs, clock).check() == 1 and len(jobs.calls) == 2


def test_functions_come_from_the_context_only(tmp_path):
    errors = []

    class Log:
        def log_error(self, msg):
            errors.append(msg)

    ran = []
    ctx = {"ok": lambda: ran.append(1), "not_callable": 5}
    path = tmp_path / "q.data"
    tq = TimeQueuePersisted(str(path), ctx, wall_clock=Clock(), logger=Log())
    for name in ("ok", "print", "not_callable"):
        tq.add_dt(T0, name)
    assert tq.check() == 3 and ran == [1]
    assert len(errors) == 2 and tq.error_count == 2
    assert "no function 'print'" in errors[0] and "not a function" in errors[1]
    for bad in ("os.system", "__class__", "_private", "a b", ""):
        with pytest.raises(ValueError):
            lookup_function(ctx, bad)
    assert lookup_function(types.SimpleNamespace(f=len), "f") is len
    with pytest.raises(LookupError, match="no context"):
        EventDC(T0, "ok").fire()


def test_the_file_is_never_evaluated(tmp_path, jobs):
    marker = tmp_path / "pwned"
    path = tmp_path / "q.data"
    path.write_text(
        "EventDC(fire_dt=__import__('os').system('touch %s'), func_name='water')\n" % marker
    )
    with pytest.raises(PersisterError, match="line 1: calling an expression is not allowed"):
        make(path, jobs, Clock())
    assert not marker.exists()


def test_only_eventdc_is_stored(tmp_path, jobs):
    tq = make(tmp_path / "q.data", jobs, Clock())
    with pytest.raises(TypeError, match="EventDC events only"):
        tq.add(10, print)
    with pytest.raises(TypeError, match="fire_dt must be a datetime"):
        EventDC("2030-01-01", "water")
    with pytest.raises(ValueError, match="func_name"):
        EventDC(T0, "os.system")


def test_callbacks_may_add_events_and_queues_share_the_file(tmp_path):
    path = tmp_path / "q.data"
    clock = Clock()
    ran = []

    def context(owner):
        def again(n):  # re-queues itself through the queue that fires it
            ran.append(n)
            if n < 3:
                owner[0].add_dt(T0, "again", [n + 1])

        return types.SimpleNamespace(again=again)

    tq_box, other_box = [], []
    tq = make(path, context(tq_box), clock)
    other = make(path, context(other_box), clock)
    tq_box.append(tq)
    other_box.append(other)
    other.add_dt(T0, "again", [1])  # added through another object: tq sees it
    assert tq.check() == 1 and ran == [1]
    assert [e.args for e in other.get_queue_ro()] == [[2]]  # saved by the check
    assert other.check() == 1 and tq.check() == 1 and ran == [1, 2, 3]
    assert tq.get_queue_ro() == []


def test_memory_only_queue(jobs):
    tq = TimeQueuePersisted(None, jobs, wall_clock=Clock(), logger=Logger())
    tq.add_dt(T0, "light")
    assert tq.check() == 1 and jobs.calls == [("light", (), {})]


def test_readme_example_runs(tmp_path):
    import pathlib
    import re
    import subprocess
    import sys

    readme = pathlib.Path(__file__).resolve().parents[2] / "packages/kcore-settings/README.md"
    block = [b for b in re.findall(r"```python\n(.*?)```", readme.read_text(), re.S) if "tq" in b]
    r = subprocess.run(
        [sys.executable, "-c", block[0]], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "jobs.data").read_text() == (
        "EventDC(fire_dt=datetime.datetime(2030, 1, 2, 6, 0), func_name='water', args=[7], "
        "kwargs={}, repeat_after_ms=86400000)\n"
    )
