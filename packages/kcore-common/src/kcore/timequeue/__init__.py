"""A cooperative timer queue: run functions after a delay, repeatedly, at a wall-clock
time, or every day at hh:mm; call :meth:`TimeQueue.check` from your main loop.

Two clocks, never mixed (the original compared times of day with uptime, so daily
events fired at the wrong moment):

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
"""

import sys

from kcore.common import platform as _platform
from kcore.common.platform import error_class

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Sequence

    #: epoch seconds -> (year, month, mday, hour, minute, second, ...) in local time
    LocalTime = Callable[[int], Sequence[int]]

__version__ = "0.1.0"

ONE_DAY_IN_MS = 86400000
MONOTONIC = "monotonic"
WALL = "wall"
#: The time base of daily events driven by ``check(use_ms_time=...)`` alone: ms from a
#: midnight, as :func:`hm_to_ms` counts (no time zone, no DST).
INJECTED = "injected"
DEFAULT_MAX_LEN = 1000

TimeQueueFull = error_class(
    "TimeQueueFull",
    OverflowError,
    doc="The queue holds max_len events already.",
    module=__name__,
)
TimeQueueError = error_class(
    "TimeQueueError",
    ValueError,
    doc="A bad argument to the time queue (not a time).",
    module=__name__,
)
InvalidTimeError = error_class(
    "InvalidTimeError",
    ValueError,
    doc="A delay, hour, minute or time is not usable.",
    module=__name__,
)
ThreadsUnavailableError = error_class(
    "ThreadsUnavailableError",
    NotImplementedError,
    doc="Thread mode needs CPython; on boards call check() from the main loop.",
    module=__name__,
)


def now_in_ms() -> int:
    """Milliseconds on the monotonic clock (arbitrary epoch): the time base of delays."""
    return _platform.monotonic_ms()


def hm_to_ms(h: int, m: int) -> int:
    """Milliseconds from midnight to ``h``:``m``."""
    for value, top, what in ((h, 23, "hour"), (m, 59, "minute")):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise InvalidTimeError("%s must be an int 0..%d, got %r" % (what, top, value))
    return (h * 60 + m) * 60000


def _ms(value: object, what: str, positive: bool = False) -> int:
    """Check a millisecond count (int or float, finite) and return it as an int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTimeError("%s must be a number of ms, got %r" % (what, value))
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidTimeError("%s must be finite, got %r" % (what, value))
    if positive and value <= 0:
        raise InvalidTimeError("%s must be > 0, got %r" % (what, value))
    return int(value)


# ------------------------------------------------------------ calendar maths
# Pure functions: no datetime on boards, and no mktime (missing or epoch-2000
# on some ports). Dates become day numbers; local readings of an instant come
# from the injected ``localtime``; its epoch cancels out of every result.


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Day number of a proleptic Gregorian date (1970-01-01 is 0)."""
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _local_naive(t: int, localtime: "LocalTime") -> int:
    """The local wall reading of epoch second ``t``, as seconds since 1970-01-01 local."""
    lt = localtime(t)
    return _days_from_civil(lt[0], lt[1], lt[2]) * 86400 + lt[3] * 3600 + lt[4] * 60 + lt[5]


def _local_to_epoch(naive: int, localtime: "LocalTime") -> int:
    """First epoch second whose local reading is ``naive``, or, when that reading is
    skipped (DST gap), the first second after it (the end of the gap)."""
    guess = naive - (_local_naive(naive, localtime) - naive)
    offsets = []
    for k in range(-8, 9):  # UTC offsets seen within a day either side
        t = guess + k * 10800
        off = _local_naive(t, localtime) - t
        if off not in offsets:
            offsets.append(off)
    below, above, exact = None, None, None
    for off in offsets:
        t = naive - off
        reading = _local_naive(t, localtime)
        if reading == naive:
            exact = t if exact is None else min(exact, t)
        elif reading < naive:
            below = t if below is None else max(below, t)
        else:
            above = t if above is None else min(above, t)
    if exact is not None:
        return exact
    if below is None or above is None or above <= below:
        raise InvalidTimeError("localtime() gives no instant for local time %r" % naive)
    while above - below > 1:  # bisect the gap to the second the clock jumps
        mid = (below + above) // 2
        if _local_naive(mid, localtime) >= naive:
            above = mid
        else:
            below = mid
    return above


def next_local_time_ms(
    hour: int, minute: int, after_ms: int, localtime: "LocalTime | None" = None
) -> int:
    """Epoch ms of the first local ``hour``:``minute`` at or after ``after_ms``.

    Pure: ``after_ms`` is the caller's "now" on the wall clock, ``localtime`` the
    function giving local readings (default ``kcore.common.platform.localtime``).
    """
    hm_to_ms(hour, minute)
    if localtime is None:
        localtime = _platform.localtime
    after_s = -(-int(after_ms) // 1000)  # ceiling: whole seconds at or after
    lt = localtime(after_s)
    day = _days_from_civil(lt[0], lt[1], lt[2])
    for extra in range(4):
        naive = (day + extra) * 86400 + hour * 3600 + minute * 60
        t = _local_to_epoch(naive, localtime)
        if t >= after_s:
            return t * 1000
    raise InvalidTimeError("no local %02d:%02d found after %r" % (hour, minute, after_ms))


def next_injected_time_ms(hour: int, minute: int, after_ms: int) -> int:
    """The first ``hour``:``minute`` at or after ``after_ms`` on injected time (ms from a
    midnight, as :func:`hm_to_ms` counts; every day is ``ONE_DAY_IN_MS`` long)."""
    slot = after_ms - after_ms % ONE_DAY_IN_MS + hm_to_ms(hour, minute)
    return slot if slot >= after_ms else slot + ONE_DAY_IN_MS


def _func_name(func: object) -> str:
    name = getattr(func, "__name__", None)
    return name if name else type(func).__name__


# ------------------------------------------------------------------ events

_IDLE, _QUEUED, _FIRING = 0, 1, 2


class Event:
    """Call ``func(*args, **kwargs)`` ``fire_in_ms`` from ``now_ms`` (monotonic clock),
    then every ``repeat_after_ms`` if given.

    ``now_ms`` defaults to :func:`now_in_ms`; :meth:`TimeQueue.add` passes its own clock.
    ``args``/``kwargs`` are copied, never mutated.
    """

    clock_kind = MONOTONIC
    base = None  # type: str | None  # daily events: WALL or INJECTED (see TimedEvent)

    def __init__(
        self,
        fire_in_ms: "int | float",
        func: "Callable[..., Any]",
        args: "Sequence[Any] | None" = None,
        kwargs: "dict | None" = None,
        repeat_after_ms: "int | float | None" = None,
        now_ms: "int | None" = None,
    ) -> None:
        delay = _ms(fire_in_ms, "fire_in_ms")
        self._setup(func, args, kwargs, repeat_after_ms)
        if now_ms is None:
            now_ms = now_in_ms()
        self.fire_at_ms = _ms(now_ms, "now_ms") + delay

    def _setup(
        self,
        func: "Callable[..., Any]",
        args: "Sequence[Any] | None",
        kwargs: "dict | None",
        repeat_after_ms: "int | float | None",
    ) -> None:
        if not callable(func):
            raise TypeError("func must be callable, got %s" % type(func).__name__)
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TypeError("kwargs must be a dict, got %s" % type(kwargs).__name__)
        if isinstance(args, (str, bytes)):
            raise TypeError("args must be a list or tuple of arguments, not a string")
        self.func = func
        self.args = tuple(args) if args else ()
        self.kwargs = dict(kwargs) if kwargs else {}
        if repeat_after_ms is not None:
            repeat_after_ms = _ms(repeat_after_ms, "repeat_after_ms", positive=True)
        self.repeat_after_ms = repeat_after_ms
        self.cancelled = False
        self._state = _IDLE
        self._seq = 0

    def fire(self) -> "Any":
        """Run the callback now (the queue calls this when the event is due)."""
        return self.func(*self.args, **self.kwargs)

    def next_fire_ms(self, now_ms: int, localtime: "LocalTime | None" = None) -> "int | None":
        """When to fire next, having fired at ``now_ms``; None for a one-shot.

        Missed slots are skipped: the result is the first slot after ``now_ms``
        on the event's original phase.
        """
        if not self.repeat_after_ms:
            return None
        periods = (now_ms - self.fire_at_ms) // self.repeat_after_ms + 1
        if periods < 1:
            periods = 1
        return self.fire_at_ms + periods * self.repeat_after_ms

    def __str__(self) -> str:
        return "%s(at %d ms %s, repeat %s, %s%r %r)" % (
            type(self).__name__,
            self.fire_at_ms,
            self.clock_kind,
            self.repeat_after_ms,
            _func_name(self.func),
            self.args,
            self.kwargs,
        )

    __repr__ = __str__


class AtEvent(Event):
    """Call ``func`` at ``epoch_seconds`` on the wall clock (see :meth:`TimeQueue.at`)."""

    clock_kind = WALL

    def __init__(
        self,
        epoch_seconds: "int | float",
        func: "Callable[..., Any]",
        args: "Sequence[Any] | None" = None,
        kwargs: "dict | None" = None,
        repeat_after_ms: "int | float | None" = None,
    ) -> None:
        if isinstance(epoch_seconds, bool) or not isinstance(epoch_seconds, (int, float)):
            raise InvalidTimeError("epoch_seconds must be a number, got %r" % (epoch_seconds,))
        self._setup(func, args, kwargs, repeat_after_ms)
        self.fire_at_ms = _ms(epoch_seconds * 1000, "epoch_seconds")


class TimedEvent(Event):
    """Call ``func`` every day at local ``time_hour``:``time_min`` (wall clock).

    ``now_ms`` is "now" as epoch ms on the wall clock (default: the real wall clock),
    and ``localtime`` converts epoch seconds to local readings (default
    ``kcore.common.platform.localtime``): ``base`` is :data:`WALL`.

    ``_force_now_ms`` (the original's argument) is "now" on injected time instead, in ms
    from a midnight as :func:`hm_to_ms` counts: ``base`` is :data:`INJECTED`, and the
    event fires when ``check(use_ms_time=...)`` reaches its hh:mm on that base.
    """

    clock_kind = WALL

    def __init__(
        self,
        time_hour: int,
        time_min: int,
        func: "Callable[..., Any]",
        args: "Sequence[Any] | None" = None,
        kwargs: "dict | None" = None,
        _force_now_ms: "int | None" = None,
        now_ms: "int | None" = None,
        localtime: "LocalTime | None" = None,
    ) -> None:
        hm_to_ms(time_hour, time_min)
        self._setup(func, args, kwargs, None)
        self.time_hour = time_hour
        self.time_min = time_min
        self.repeat_after_ms = ONE_DAY_IN_MS  # informative; re-arming uses the calendar
        self.localtime = localtime
        if now_ms is None and _force_now_ms is not None:
            self.rebase(INJECTED, _ms(_force_now_ms, "_force_now_ms"))
        else:
            if now_ms is None:
                now_ms = int(_platform.wall_time() * 1000)
            self.rebase(WALL, _ms(now_ms, "now_ms"), localtime)

    def _slot(self, base: "str | None", after_ms: int, localtime: "LocalTime | None") -> int:
        if base == INJECTED:
            return next_injected_time_ms(self.time_hour, self.time_min, after_ms)
        return next_local_time_ms(
            self.time_hour, self.time_min, after_ms, self.localtime or localtime
        )

    def rebase(self, base: str, now_ms: int, localtime: "LocalTime | None" = None) -> None:
        """Arm at the first hh:mm at or after ``now_ms`` on ``base`` (:data:`WALL`:
        epoch ms, local calendar; :data:`INJECTED`: ms from a midnight)."""
        if base not in (WALL, INJECTED):
            raise TimeQueueError("base must be WALL or INJECTED, got %r" % (base,))
        self.fire_at_ms = self._slot(base, now_ms, localtime)
        self.base = base

    def next_fire_ms(self, now_ms: int, localtime: "LocalTime | None" = None) -> "int | None":
        """The next hh:mm (on this event's base) strictly after both ``now_ms`` and the
        last slot."""
        after = now_ms if now_ms > self.fire_at_ms else self.fire_at_ms
        return self._slot(self.base, after + 1, localtime)


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


class TimeQueueThread:
    """Runs ``queue.check()`` in a daemon thread, sleeping until the next event.

    CPython only (``threading`` is imported here, not at module import). Use as a
    context manager or call :meth:`stop`. Exceptions from callbacks are handled by
    the queue; one re-raised because of ``raise_errors`` is counted in
    ``loop_errors`` and the thread keeps running.
    """

    def __init__(self, queue: TimeQueue, max_sleep_s: float = 10.0, name: str = "kcore-timequeue"):
        if sys.implementation.name != "cpython":
            raise ThreadsUnavailableError(
                "TimeQueueThread needs CPython threads; on %s call check() from the main loop"
                % sys.implementation.name
            )
        import threading

        if (
            isinstance(max_sleep_s, bool)
            or not isinstance(max_sleep_s, (int, float))
            or not (max_sleep_s > 0)
        ):
            raise TimeQueueError("max_sleep_s must be a number > 0, got %r" % (max_sleep_s,))
        self.queue = queue
        self.max_sleep_s = float(max_sleep_s)
        self.loop_errors = 0
        self.last_error = None  # type: Exception | None
        self._wake = threading.Event()
        self._waker = self._wake.set  # one bound method, so remove() finds it
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._current_thread = threading.current_thread

    def start(self) -> "TimeQueueThread":
        self.queue._listeners.append(self._waker)
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                self.queue.check()
            except Exception as e:  # raise_errors=True: already logged by the queue
                self.loop_errors += 1
                self.last_error = e
            if self._stopping:
                break
            due = self.queue.next_due_ms()
            timeout = self.max_sleep_s if due is None else min(due / 1000.0, self.max_sleep_s)
            if timeout > 0:
                self._wake.wait(timeout)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the thread (waiting up to ``timeout`` s); True once it has ended."""
        self._stopping = True
        self._wake.set()
        try:
            self.queue._listeners.remove(self._waker)
        except ValueError:
            pass
        if self._thread is not self._current_thread() and self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    close = stop

    def __enter__(self) -> "TimeQueueThread":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
