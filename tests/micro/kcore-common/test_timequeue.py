"""Portable tests of kcore.timequeue: plain asserts, run by pytest and by the real
micropython binary. Time is fake: both clocks and localtime are injected."""

import sys

from mtest import raises

from kcore import timequeue as TQ

DAY_S = 86400


def noop(*args, **kwargs):
    """A callback that does nothing."""


class _Log:
    def __init__(self):
        self.lines = []

    def log_error(self, msg):
        self.lines.append(msg)


class Clocks:
    """Fake monotonic ms / wall seconds; localtime in a made-up zone: UTC+1, but UTC+2
    between DST_START and DST_END (epoch seconds), like a European summer."""

    DST_START = 10 * DAY_S + 3600  # day 10, 02:00 local (+1) -> 03:00 local (+2)
    DST_END = 20 * DAY_S + 3600  # day 20, 03:00 local (+2) -> 02:00 local (+1)

    def __init__(self, mono=0, wall=0):
        self.mono = mono
        self.wall = wall

    def localtime(self, secs):
        secs = int(secs)
        off = 7200 if self.DST_START <= secs < self.DST_END else 3600
        return _gmtime(secs + off)

    def queue(self, **kw):
        if "logger" not in kw:
            kw["logger"] = _Log()
        return TQ.TimeQueue(
            clock=lambda: self.mono, wall_clock=lambda: self.wall, localtime=self.localtime, **kw
        )


def _gmtime(secs):
    """UTC fields for days after 1970-01-01 (January 1970 is enough here)."""
    days, rest = divmod(secs, DAY_S)
    return (1970, 1, 1 + days, rest // 3600, rest % 3600 // 60, rest % 60, 0, 0)


def local_epoch(day, h, m, off):
    """Epoch seconds of local day/h:m in a zone at offset ``off`` seconds."""
    return day * DAY_S + h * 3600 + m * 60 - off


def test_helpers():
    assert TQ.hm_to_ms(1, 2) == 3720000 and TQ.ONE_DAY_IN_MS == 86400000
    a = TQ.now_in_ms()
    assert TQ.now_in_ms() >= a
    raises(ValueError, TQ.hm_to_ms, 24, 0)
    raises(ValueError, TQ.hm_to_ms, 1, 60)


def test_add_check_and_zero_is_a_time():
    c = Clocks(mono=1000)
    q = c.queue()
    got = []
    q.add(0, got.append, ["now"])
    q.add(-1500, got.append, ["past"])
    assert q.check(0) == 1 and got == ["past"]
    assert q.check() == 1 and got == ["past", "now"] and len(q) == 0


def test_args_copied():
    args, got = [1], []
    e = TQ.Event(5, got.append, args, now_ms=10)
    args.append(2)
    e.fire()
    assert got == [1] and e.fire_at_ms == 15 and e.clock_kind == TQ.MONOTONIC


def test_repeat_skips_missed_slots():
    c = Clocks()
    q = c.queue()
    got = []
    e = q.add(100, lambda: got.append(c.mono), repeat_after_ms=100)
    c.mono = 100
    assert q.check() == 1
    c.mono = 1050
    assert q.check() == 1 and q.check() == 0 and e.fire_at_ms == 1100
    assert got == [100, 1050]


def test_clocks_never_mix():
    c = Clocks(wall=1000000)
    q = c.queue()
    got = []
    q.add(60000, got.append, ["delay"])
    q.at(1000060, got.append, ["at"])
    c.wall += DAY_S
    assert q.check() == 1 and got == ["at"]
    c.wall = 0
    assert q.check() == 0
    c.mono = 60000
    assert q.check() == 1 and got == ["at", "delay"]


def test_daily_event_and_dst():
    c = Clocks(wall=local_epoch(8, 12, 0, 3600))
    q = c.queue()
    e = q.daily(9, 0, noop)
    assert e.fire_at_ms == local_epoch(9, 9, 0, 3600) * 1000
    c.wall = local_epoch(9, 9, 0, 3600)
    assert q.check() == 1
    assert e.fire_at_ms == local_epoch(10, 9, 0, 7200) * 1000  # 09:00 local in summer time
    # 02:30 is skipped on day 10: fires at 03:00 local, the end of the gap
    g = TQ.TimedEvent(
        2, 30, noop, now_ms=local_epoch(10, 0, 0, 3600) * 1000, localtime=c.localtime
    )
    assert g.fire_at_ms == Clocks.DST_START * 1000
    # 02:30 happens twice on day 20: the first occurrence, once
    a = TQ.TimedEvent(
        2, 30, noop, now_ms=local_epoch(20, 0, 0, 7200) * 1000, localtime=c.localtime
    )
    assert a.fire_at_ms == local_epoch(20, 2, 30, 7200) * 1000
    nxt = a.next_fire_ms(a.fire_at_ms, c.localtime)
    assert nxt == local_epoch(21, 2, 30, 3600) * 1000


def test_timed_event_compat():
    e = TQ.TimedEvent(10, 0, noop, _force_now_ms=TQ.hm_to_ms(9, 0))
    assert e.fire_at_ms == TQ.hm_to_ms(10, 0) and e.base == TQ.INJECTED


def test_check_with_one_injected_time_fires_daily_events_by_it():
    q = TQ.TimeQueue(logger=_Log())  # the real clocks are never consulted below
    got = []
    e = TQ.TimedEvent(10, 1, got.append, ["x"], _force_now_ms=TQ.hm_to_ms(10, 0))
    q.add_event(e)
    assert q.check(use_ms_time=TQ.hm_to_ms(10, 0)) == 0
    assert q.check(use_ms_time=TQ.hm_to_ms(10, 1)) == 1 and got == ["x"]
    assert e.fire_at_ms == TQ.hm_to_ms(10, 1) + TQ.ONE_DAY_IN_MS
    assert q.check(use_ms_time=TQ.ONE_DAY_IN_MS + TQ.hm_to_ms(10, 1)) == 1
    assert got == ["x", "x"]
    # a daily event armed on the real wall clock follows the injected time too
    w = q.daily(7, 0, got.append, ["w"])
    assert w.base == TQ.WALL
    assert q.check(use_ms_time=2 * TQ.ONE_DAY_IN_MS + TQ.hm_to_ms(6, 59)) == 0
    assert w.base == TQ.INJECTED
    assert q.check(use_ms_time=2 * TQ.ONE_DAY_IN_MS + TQ.hm_to_ms(7, 0)) == 1
    assert got == ["x", "x", "w"]


def test_errors_do_not_abort_the_pass():
    c = Clocks()
    log = _Log()
    q = c.queue(logger=log)
    got = []

    def boom():
        raise RuntimeError("boom")

    q.add(0, got.append, [1])
    bad = q.add(0, boom, repeat_after_ms=10)
    q.add(0, got.append, [2])
    assert q.check() == 3 and got == [1, 2]
    assert q.error_count == 1 and q.last_errors[0][0] is bad
    assert len(log.lines) == 1 and "boom" in log.lines[0]
    assert len(q) == 1 and bad.fire_at_ms == 10


def test_raise_errors():
    q = Clocks().queue(raise_errors=True)
    got = []

    def boom():
        raise KeyError("k")

    q.add(0, boom)
    q.add(0, got.append, [1])
    raises(KeyError, q.check)
    assert got == [1] and len(q) == 0


def test_bounded_and_cancel():
    q = Clocks().queue(max_len=2)
    q.add(1, noop)
    e = q.add(2, noop)
    err = raises(OverflowError, q.add, 3, noop)
    assert "max_len=2" in str(err)
    assert q.cancel(e) and not q.cancel(e) and len(q) == 1
    e2 = q.add(3, noop)
    assert q.remove(e2) and len(q) == 1
    raises(ValueError, TQ.TimeQueue, None, None, None, None, 0)


def test_cancel_inside_callback():
    q = Clocks().queue()
    got = []
    box = {}

    def first():
        got.append("first")
        q.cancel(box["other"])
        q.cancel(box["me"])

    box["me"] = q.add(0, first, repeat_after_ms=5)
    box["other"] = q.add(0, got.append, ["other"])
    assert q.check() == 1 and got == ["first"] and len(q) == 0


def test_next_due_ms():
    c = Clocks(mono=500, wall=1000)
    q = c.queue()
    assert q.next_due_ms() is None
    q.add(300, noop)
    assert q.next_due_ms() == 300
    q.at(1000.1, noop)
    assert q.next_due_ms() == 100
    c.mono = 10000
    assert q.next_due_ms() == 0
    assert [e.clock_kind for e in q.queue] == [TQ.MONOTONIC, TQ.WALL]


def test_alias_module():
    from kcore.time_queue import TimeQueue

    assert TimeQueue is TQ.TimeQueue


def test_threads_only_on_cpython():
    if sys.implementation.name == "cpython":
        return  # covered by tests/kcore-common/test_timequeue.py
    e = raises(NotImplementedError, Clocks().queue().run_in_thread)
    assert "check()" in str(e)
