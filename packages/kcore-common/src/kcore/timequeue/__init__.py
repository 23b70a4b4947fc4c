"""A cooperative timer queue: run functions after a delay, repeatedly, at a wall-clock
time, or every day at hh:mm; call :meth:`TimeQueue.check` from your main loop.

Two clocks, never mixed (a time of day compared with uptime would fire daily events
at the wrong moment):

* delays and ``repeat_after_ms`` run on the **monotonic** clock
  (``kcore.common.platform.monotonic_ms``): setting the wall clock does not move them;
* :meth:`TimeQueue.at` and daily :class:`TimedEvent` run on the **wall** clock in local
  time (``kcore.common.platform.wall_time`` / ``localtime``).

Every event remembers its ``clock_kind``. Both clocks (and ``localtime``) can be
injected into :class:`TimeQueue`, so tests run on fake time; the pure parts take
explicit times and never read a hidden "now".

One injected time drives everything: ``check(use_ms_time=X)`` with no ``use_wall_ms``
fires delays, :meth:`~TimeQueue.at` events and daily events by ``X``. Daily events then
count ``X`` as :func:`hm_to_ms` does, in ms from a midnight, with every day
``ONE_DAY_IN_MS`` long (no time zone, no DST): ``TimedEvent(10, 0, f,
_force_now_ms=hm_to_ms(9, 0))`` fires at ``check(use_ms_time=hm_to_ms(10, 0))``. A daily
event armed on the other base (the real wall clock, or injected time) moves to the next
hh:mm on the base that drives the queue when the queue is first checked that way.

Catching up: an event fires at most once per :meth:`~TimeQueue.check` pass. A repeating
event that fell behind (the loop was busy, the board slept) fires once, then skips to its
next slot in the future on its original phase: no burst of missed calls.

Daylight saving time: a daily event's hh:mm is local time, recomputed every day (a 09:00
event stays at 09:00 across a DST change). On a day that skips hh:mm (spring forward,
02:30 in a 02:00->03:00 gap) it fires at the first valid moment after (03:00); on a day
that repeats it (fall back) it fires once, at the first occurrence.

Runs on CPython, CircuitPython and MicroPython. On CPython only, :meth:`TimeQueue.run_in_thread`
runs the checks in a daemon thread (``threading`` is imported only there).

Import every name from here. This module holds :class:`TimeQueue`; the parts live
in private modules: ``_calendar`` (checking times, the next local hh:mm),
``_events`` (:class:`Event`, :class:`AtEvent`, :class:`TimedEvent`) and ``_runner``
(:class:`TimeQueueThread`, loaded on first use: boards never run it, and a
class costs heap there).
"""

from kcore.common import platform as _platform
from kcore.common.platform import error_class
from kcore.timequeue._calendar import (  # noqa: F401 - re-exported
    ONE_DAY_IN_MS,
    InvalidTimeError,
    _ms,
    hm_to_ms,
    next_injected_time_ms,
    next_local_time_ms,
)
from kcore.timequeue._events import (  # noqa: F401 - re-exported
    _FIRING,
    _IDLE,
    _QUEUED,
    INJECTED,
    MONOTONIC,
    WALL,
    AtEvent,
    Event,
    TimedEvent,
    TimeQueueError,
    _func_name,
    now_in_ms,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Sequence

    from kcore.timequeue._calendar import LocalTime
    from kcore.timequeue._runner import ThreadsUnavailableError, TimeQueueThread  # noqa: F401

__version__ = "0.1.0"
DEFAULT_MAX_LEN = 1000

TimeQueueFull = error_class(
    "TimeQueueFull",
    OverflowError,
    doc="The queue holds max_len events already.",
    module=__name__,
)


# ------------------------------------------------------------------- queue


def _insert(events: list, event: Event) -> None:
    """Insert into a list kept sorted by (fire_at_ms, seq)."""
    key = (event.fire_at_ms, event._seq)
    lo, hi = 0, len(events)
    while lo < hi:
        mid = (lo + hi) // 2
        other = events[mid]
        if (other.fire_at_ms, other._seq) <= key:
            lo = mid + 1
        else:
            hi = mid
    events.insert(lo, event)


class TimeQueue:
    """A bounded queue of :class:`Event` objects, fired by :meth:`check`.

    ``clock`` returns monotonic ms, ``wall_clock`` epoch seconds, ``localtime``
    maps epoch seconds to a local time tuple (defaults: kcore.common.platform).
    ``max_len`` bounds the queue (:class:`TimeQueueFull` when full). A callback
    that raises does not stop the pass: the error is logged, counted in
    ``error_count`` and kept in ``last_errors`` as ``(event, exception)``
    pairs of the latest pass; with ``raise_errors=True`` the first one is
    re-raised once the pass is complete. ``logger``: any object with
    ``log_error(msg)`` (e.g. a ``kcore.common.logger.Logger``); default: the
    process logger of kcore.common.logger. Thread-safe on CPython.
    """

    def __init__(
        self,
        list_of_events: "Sequence[Event] | None" = None,
        clock: "Callable[[], int] | None" = None,
        wall_clock: "Callable[[], float] | None" = None,
        localtime: "LocalTime | None" = None,
        max_len: int = DEFAULT_MAX_LEN,
        raise_errors: bool = False,
        logger: "Any" = None,
    ) -> None:
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise TimeQueueError("max_len must be an int >= 1, got %r" % (max_len,))
        self.clock = clock if clock is not None else _platform.monotonic_ms
        self.wall_clock = wall_clock if wall_clock is not None else _platform.wall_time
        self.localtime = localtime if localtime is not None else _platform.localtime
        self.max_len = max_len
        self.raise_errors = raise_errors
        self.logger = logger
        self.last_errors = []  # type: list
        self.error_count = 0
        self.fired_count = 0
        self._mono = []  # type: list
        self._wall = []  # type: list
        self._firing = 0
        self._seq = 0
        self._lock = _platform.new_lock()
        self._listeners = []  # type: list
        self._runner = None  # type: TimeQueueThread | None
        self._wall_base = None  # type: str | None  # base of every queued daily event, if one
        for event in list_of_events or ():
            self.add_event(event)

    # -- clocks

    def now_ms(self) -> int:
        """Now on the monotonic clock, in ms."""
        return int(self.clock())

    def wall_now_ms(self) -> int:
        """Now on the wall clock, in epoch ms."""
        return int(self.wall_clock() * 1000)

    def _nows(
        self, use_ms_time: "int | float | None", use_wall_ms: "int | float | None"
    ) -> "tuple[int, int, str]":
        """(monotonic now, wall now, base of daily events) for a check."""
        mono = self.now_ms() if use_ms_time is None else _ms(use_ms_time, "use_ms_time")
        if use_wall_ms is not None:
            return mono, _ms(use_wall_ms, "use_wall_ms"), WALL
        if use_ms_time is not None:
            return mono, mono, INJECTED  # one injected time drives every kind of event
        return mono, self.wall_now_ms(), WALL

    def _align_daily(self, base: str, wall_now: int) -> list:
        """Move daily events armed on another base to ``base`` (caller holds the lock);
        returns the events that could not be moved, with the error."""
        failed = []  # type: list
        if self._wall_base == base or not self._wall:
            self._wall_base = base
            return failed
        for event in self._wall:
            if event.base is not None and event.base != base:
                try:
                    event.rebase(base, wall_now, self.localtime)
                except Exception as e:  # a broken localtime: keep its old time
                    failed.append((event, e))
        self._wall.sort(key=lambda e: (e.fire_at_ms, e._seq))
        self._wall_base = base
        return failed

    # -- adding and removing

    def add(
        self,
        fire_in_ms: "int | float",
        func: "Callable[..., Any]",
        args: "Sequence[Any] | None" = None,
        kwargs: "dict | None" = None,
        repeat_after_ms: "int | float | None" = None,
    ) -> Event:
        """Run ``func`` in ``fire_in_ms`` ms (monotonic), then every ``repeat_after_ms``."""
        event = Event(fire_in_ms, func, args, kwargs, repeat_after_ms, now_ms=self.now_ms())
        return self.add_event(event)

    def at(
        self,
        epoch_seconds: "int | float",
        func: "Callable[..., Any]",
        args: "Sequence[Any] | None" = None,
        kwargs: "dict | None" = None,
    ) -> Event:
        """Run ``func`` once when the wall clock reaches ``epoch_seconds``."""
        return self.add_event(AtEvent(epoch_seconds, func, args, kwargs))

    def daily(
        self,
        hour: int,
        minute: int,
        func: "Callable[..., Any]",
        args: "Sequence[Any] | None" = None,
        kwargs: "dict | None" = None,
    ) -> Event:
        """Run ``func`` every day at local ``hour``:``minute`` (this queue's clocks)."""
        event = TimedEvent(
            hour, minute, func, args, kwargs, now_ms=self.wall_now_ms(), localtime=self.localtime
        )
        return self.add_event(event)

    def add_event(self, event: Event) -> Event:
        """Queue an event made elsewhere; returns it (for :meth:`cancel`)."""
        if not isinstance(event, Event):
            raise TypeError("add_event needs an Event, got %s" % type(event).__name__)
        if event.clock_kind not in (MONOTONIC, WALL):
            raise TimeQueueError("unknown clock_kind %r" % (event.clock_kind,))
        with self._lock:
            if event._state != _IDLE:
                raise TimeQueueError(
                    "event is already queued (callback %s)" % _func_name(event.func)
                )
            if len(self._mono) + len(self._wall) + self._firing >= self.max_len:
                raise TimeQueueFull(
                    "time queue is full (max_len=%d); cancel events or raise max_len"
                    % self.max_len
                )
            self._seq += 1
            event._seq = self._seq
            event.cancelled = False
            event._state = _QUEUED
            _insert(self._mono if event.clock_kind == MONOTONIC else self._wall, event)
            if event.base is not None and event.base != self._wall_base:
                self._wall_base = None  # mixed bases: the next check aligns them
        self._notify()
        return event

    def cancel(self, event: Event) -> bool:
        """Take ``event`` out of the queue (also stops a repeating event from inside its
        own callback). True if it was queued or firing."""
        with self._lock:
            found = False
            if event._state == _QUEUED:
                events = self._mono if event.clock_kind == MONOTONIC else self._wall
                for i in range(len(events)):
                    if events[i] is event:
                        del events[i]
                        found = True
                        break
                event._state = _IDLE
            elif event._state == _FIRING:
                found = True
            event.cancelled = True
        if found:
            self._notify()
        return found

    remove = cancel

    def clear(self) -> None:
        """Drop every queued event."""
        with self._lock:
            for event in self._mono + self._wall:
                event._state = _IDLE
                event.cancelled = True
            self._mono = []
            self._wall = []
        self._notify()

    def __len__(self) -> int:
        return len(self._mono) + len(self._wall)

    @property
    def queue(self) -> list:
        """A copy of the queued events, soonest first (both clocks compared as "due in")."""
        mono_now, wall_now, _base = self._nows(None, None)
        with self._lock:
            events = self._mono + self._wall
        return sorted(
            events,
            key=lambda e: (
                e.fire_at_ms - (mono_now if e.clock_kind == MONOTONIC else wall_now),
                e._seq,
            ),
        )

    def next_due_ms(
        self, use_ms_time: "int | float | None" = None, use_wall_ms: "int | float | None" = None
    ) -> "int | None":
        """Milliseconds until the next event is due (0 if one is overdue), None if empty.

        A main loop sleeps this long (capped, if wall-clock events should notice
        the clock being set) between :meth:`check` calls. The times mean what they
        mean for :meth:`check`.
        """
        mono_now, wall_now, base = self._nows(use_ms_time, use_wall_ms)
        with self._lock:
            failed = self._align_daily(base, wall_now)
            best = None
            if self._mono:
                best = self._mono[0].fire_at_ms - mono_now
            if self._wall:
                due = self._wall[0].fire_at_ms - wall_now
                if best is None or due < best:
                    best = due
        for event, error in failed:
            self._report(event, error)
        if best is None:
            return None
        return best if best > 0 else 0

    # -- firing

    def check(
        self, use_ms_time: "int | float | None" = None, use_wall_ms: "int | float | None" = None
    ) -> int:
        """Fire every due event once; return how many callbacks ran.

        ``use_ms_time`` / ``use_wall_ms`` force "now" on the monotonic / wall clock
        (0 is a time like any other; only None reads the clock). ``use_ms_time``
        alone is "now" for every event: delays, :meth:`at` and daily events (on the
        :data:`INJECTED` base: ms from a midnight, as :func:`hm_to_ms` counts).
        """
        mono_now, wall_now, base = self._nows(use_ms_time, use_wall_ms)
        due = []
        with self._lock:
            failed = self._align_daily(base, wall_now)
            for events, now in ((self._mono, mono_now), (self._wall, wall_now)):
                n = 0
                while n < len(events) and events[n].fire_at_ms <= now:
                    n += 1
                for event in events[:n]:
                    event._state = _FIRING
                    due.append((now - event.fire_at_ms, event, now))
                del events[:n]
            self._firing += len(due)
        for event, error in failed:
            self._report(event, error)
        # Most overdue first; ties in the order they were added.
        due.sort(key=lambda item: (-item[0], item[1]._seq))
        errors = []
        fired = 0
        i = 0
        try:
            while i < len(due):
                event, now = due[i][1], due[i][2]
                i += 1
                try:
                    if not event.cancelled:
                        fired += 1
                        event.fire()
                except Exception as e:
                    errors.append((event, e))
                    self._report(event, e)
                finally:
                    self._rearm(event, now)
        finally:
            # Interrupted (KeyboardInterrupt...): put the unfired events back, still due.
            with self._lock:
                while i < len(due):
                    event = due[i][1]
                    i += 1
                    self._firing -= 1
                    event._state = _IDLE
                    if not event.cancelled:
                        event._state = _QUEUED
                        _insert(self._mono if event.clock_kind == MONOTONIC else self._wall, event)
                self.fired_count += fired
                self.error_count += len(errors)
                self.last_errors = errors
        if errors and self.raise_errors:
            raise errors[0][1]
        return fired

    def _rearm(self, event: Event, now: int) -> None:
        next_ms = None
        if not event.cancelled:
            try:
                next_ms = event.next_fire_ms(now, self.localtime)
            except Exception as e:
                self._report(event, e)
        with self._lock:
            self._firing -= 1
            event._state = _IDLE
            if next_ms is not None and not event.cancelled:
                event.fire_at_ms = next_ms
                event._state = _QUEUED
                _insert(self._mono if event.clock_kind == MONOTONIC else self._wall, event)

    def _report(self, event: Event, error: BaseException) -> None:
        msg = "timequeue: callback %s raised %s: %s" % (
            _func_name(event.func),
            type(error).__name__,
            error,
        )
        try:
            if self.logger is not None:
                self.logger.log_error(msg)
            else:
                from kcore.common.logger import log_error

                log_error(msg)
        except Exception:  # noqa: S110 - a broken logger must never break the pass
            pass

    # -- thread mode (CPython only)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def run_in_thread(
        self, max_sleep_s: float = 10.0, name: str = "kcore-timequeue"
    ) -> "TimeQueueThread":
        """CPython only: start a daemon thread that calls :meth:`check` when events are
        due (woken early by :meth:`add`); returns the :class:`TimeQueueThread`.
        ``max_sleep_s`` caps each sleep so wall-clock events notice the clock being set."""
        if self._runner is not None and self._runner.is_alive():
            raise RuntimeError("this TimeQueue already runs in a thread; stop() it first")
        from kcore.timequeue._runner import TimeQueueThread

        self._runner = TimeQueueThread(self, max_sleep_s=max_sleep_s, name=name).start()
        return self._runner

    def close(self) -> None:
        """Stop the thread started by :meth:`run_in_thread`, if any."""
        runner = self._runner
        self._runner = None
        if runner is not None:
            runner.stop()

    def __enter__(self) -> "TimeQueue":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def __getattr__(name: str) -> "Any":  # a module __getattr__
    """Thread mode loads on first use (CPython >= 3.7 and MicroPython)."""
    if name in ("TimeQueueThread", "ThreadsUnavailableError"):
        # (``from kcore.timequeue import _runner`` fails on MicroPython because
        # this package has a module __getattr__.)
        from kcore.timequeue._runner import ThreadsUnavailableError, TimeQueueThread

        value = TimeQueueThread if name == "TimeQueueThread" else ThreadsUnavailableError
        globals()[name] = value
        return value
    raise AttributeError("module 'kcore.timequeue' has no attribute '%s'" % name)
