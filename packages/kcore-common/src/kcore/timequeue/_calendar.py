"""The time arithmetic of :mod:`kcore.timequeue` (import the names from there):
checking millisecond counts and hh:mm, and finding the next local hh:mm on the
wall clock (DST included) or on injected time."""

from kcore.common import platform as _platform
from kcore.common.platform import error_class

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Callable, Sequence

    #: epoch seconds -> (year, month, mday, hour, minute, second, ...) in local time
    LocalTime = Callable[[int], Sequence[int]]

# Tracebacks name the module the errors are imported from.
_HOME = "kcore.timequeue"

ONE_DAY_IN_MS = 86400000

InvalidTimeError = error_class(
    "InvalidTimeError",
    ValueError,
    doc="A delay, hour, minute or time is not usable.",
    module=_HOME,
)


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
