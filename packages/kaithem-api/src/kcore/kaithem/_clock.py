"""Clocks for one Kaithem runtime: the system's, or a manual one for tests.

The scheduler, the message bus, state-machine timers, events and alert beeps
read time from their runtime's clock (``Kaithem(clock=...)``), so a test or a
simulation can run hours of timers in milliseconds with :class:`ManualClock`.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Optional


class Clock:
    """The system clock: ``time.monotonic()`` for durations and timers,
    ``time.time()`` for wall-clock stamps."""

    manual = False

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def wait(self, cond: threading.Condition, timeout: Optional[float]) -> None:
        """Wait on ``cond`` (held by the caller) for up to ``timeout`` seconds
        of this clock's time, or until notified."""
        cond.wait(timeout)

    def attach(self, cond: threading.Condition) -> None:
        """Let :meth:`wait` on ``cond`` be woken when this clock jumps (a
        no-op for the system clock, which never jumps on purpose)."""

    def __repr__(self) -> str:
        return "<Clock system>"


SYSTEM_CLOCK = Clock()


class ManualClock(Clock):
    """A clock that moves only when told to: :meth:`advance` and :meth:`set`.

    Waiting on it never times out by itself; advancing wakes every waiter
    (the scheduler then runs what became due, on its worker pool). ``time()``
    moves with ``monotonic()`` from the ``wall`` given at creation.
    """

    manual = True

    def __init__(self, start: float = 1000.0, wall: float = 1.7e9) -> None:
        self._now = float(start)
        self._wall_offset = float(wall) - float(start)
        self._lock = threading.Lock()
        self._waiters: weakref.WeakSet[threading.Condition] = weakref.WeakSet()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def wait(self, cond: threading.Condition, timeout: Optional[float]) -> None:
        cond.wait()

    def attach(self, cond: threading.Condition) -> None:
        with self._lock:
            self._waiters.add(cond)

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (>= 0); returns the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go back; got %r seconds" % (seconds,))
        return self.set(self._now + seconds)

    def set(self, now: float) -> float:
        """Jump to monotonic time ``now`` (not before the current time)."""
        if now < self._now:
            raise ValueError("a monotonic clock cannot go back (%r < %r)" % (now, self._now))
        with self._lock:
            self._now = float(now)
            waiters = list(self._waiters)
        for cond in waiters:
            with cond:
                cond.notify_all()
        return self._now

    def __repr__(self) -> str:
        return "<ManualClock at %r>" % (self._now,)
