"""The events of :mod:`kcore.timequeue` (import the names from there): a delay
on the monotonic clock (:class:`Event`), a wall-clock time (:class:`AtEvent`),
and a daily local hh:mm (:class:`TimedEvent`)."""

from kcore.common import platform as _platform
from kcore.common.platform import error_class
from kcore.timequeue._calendar import (
    ONE_DAY_IN_MS,
    InvalidTimeError,
    _ms,
    hm_to_ms,
    next_injected_time_ms,
    next_local_time_ms,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Sequence

    from kcore.timequeue._calendar import LocalTime

_HOME = "kcore.timequeue"

MONOTONIC = "monotonic"
WALL = "wall"
#: The time base of daily events driven by ``check(use_ms_time=...)`` alone: ms from a
#: midnight, as :func:`hm_to_ms` counts (no time zone, no DST).
INJECTED = "injected"

TimeQueueError = error_class(
    "TimeQueueError",
    ValueError,
    doc="A bad argument to the time queue (not a time).",
    module=_HOME,
)


def now_in_ms() -> int:
    """Milliseconds on the monotonic clock (arbitrary epoch): the time base of delays."""
    return _platform.monotonic_ms()


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
