"""``kaithem.events``: one-shot temporary events on the instance's scheduler.

``when(trigger, action)`` polls ``trigger()`` at the rate of ``priority`` and
runs ``action()`` once, the first time the trigger goes from false to true
(a trigger already true fires at the first poll). ``after(delay, action)``
runs ``action()`` once, ``delay`` seconds later (monotonic clock). Both hold
their functions strongly (a lambda held weakly would be collected before it
ran) and return an :class:`Event` handle with ``cancel()``.
Errors are logged and posted to ``/system/errors/events``; a failing trigger
backs off for ``ERROR_BACKOFF`` seconds.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from kcore.common.platform import KcoreError
from kcore.kaithem._support import default_namespace, report

ERROR_TOPIC = "/system/errors/events"
ERROR_BACKOFF = 5.0

#: poll interval in seconds for each named priority (as in the original)
PRIORITIES = {
    "realtime": 1 / 60,
    "interactive": 0.085,
    "high": 0.8,
    "medium": 2.5,
    "low": 45.0,
    "verylow": 120.0,
}


class PriorityError(KcoreError, ValueError):
    """An unknown event priority."""


def poll_interval(priority: Any) -> float:
    """Seconds between polls for ``priority`` (a name or a positive number)."""
    if isinstance(priority, (int, float)) and not isinstance(priority, bool):
        if priority <= 0:
            raise PriorityError("a numeric priority is a poll interval > 0, got %r" % priority)
        return float(priority)
    try:
        return PRIORITIES[priority]
    except (KeyError, TypeError):
        raise PriorityError(
            "unknown event priority %r; use one of %s or a number of seconds"
            % (priority, ", ".join(PRIORITIES))
        ) from None


class Event:
    """Handle of a temporary event: ``fired``, ``cancelled``, ``cancel()``,
    ``wait(timeout)`` (True once the action has run)."""

    def __init__(self, kind: str, action: Callable[[], Any]) -> None:
        self.kind = kind
        self.action = action
        self.fired = False
        self.cancelled = False
        self._done = threading.Event()
        self._job: Any = None
        self._lock = threading.Lock()

    def cancel(self) -> None:
        self.cancelled = True
        if self._job is not None:
            self._job.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _claim_fire(self) -> bool:
        with self._lock:
            if self.fired or self.cancelled:
                return False
            self.fired = True
            return True

    def __repr__(self) -> str:
        st = "fired" if self.fired else "cancelled" if self.cancelled else "pending"
        return "<Event %s %r %s>" % (self.kind, self.action, st)


class Namespace:
    """``kaithem.events`` bound to one Kaithem instance."""

    PRIORITIES = PRIORITIES

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem

    def _report(self, what: str, fn: Any, exc: BaseException) -> None:
        report(
            "kaithem event %s %r failed: %r" % (what, fn, exc),
            self._kaithem.runtime.bus.post,
            ERROR_TOPIC,
            {"what": what, "function": repr(fn), "error": repr(exc)},
        )

    def _run_action(self, ev: Event) -> None:
        try:
            ev.action()
        except Exception as exc:
            self._report("action", ev.action, exc)
        finally:
            ev._done.set()

    def when(
        self, trigger: Callable[[], Any], action: Callable[[], Any], priority: Any = "interactive"
    ) -> Event:
        """Run ``action()`` once, when ``trigger()`` first turns true."""
        if not callable(trigger) or not callable(action):
            raise TypeError("when() needs a callable trigger and a callable action")
        interval = poll_interval(priority)
        ev = Event("when", action)
        state = {"prev": False, "backoff_until": 0.0}
        scheduler = self._kaithem.runtime.scheduler
        now_ = scheduler.clock.monotonic

        def poll() -> None:
            if ev.fired or ev.cancelled:
                ev.cancel()
                return
            if now_() < state["backoff_until"]:
                return
            try:
                now = bool(trigger())
            except Exception as exc:
                state["backoff_until"] = now_() + ERROR_BACKOFF
                self._report("trigger", trigger, exc)
                return
            rising = now and not state["prev"]
            state["prev"] = now
            if rising and ev._claim_fire():
                if ev._job is not None:
                    ev._job.cancel()
                self._run_action(ev)

        ev._job = scheduler.every(poll, interval, first=0)
        return ev

    def after(
        self, delay: float, action: Callable[[], Any], priority: Any = "interactive"
    ) -> Event:
        """Run ``action()`` once, ``delay`` seconds from now."""
        if not callable(action):
            raise TypeError("after() needs a callable action, got %r" % (action,))
        poll_interval(priority)  # validated; timing is exact, not polled
        ev = Event("after", action)

        def fire() -> None:
            if ev._claim_fire():
                self._run_action(ev)

        ev._job = self._kaithem.runtime.scheduler.schedule(fire, delay)
        return ev


def _ns() -> Namespace:
    ns: Namespace = default_namespace("events")
    return ns


def when(
    trigger: Callable[[], Any], action: Callable[[], Any], priority: Any = "interactive"
) -> Event:
    """:meth:`Namespace.when` on the default instance."""
    return _ns().when(trigger, action, priority)


def after(delay: float, action: Callable[[], Any], priority: Any = "interactive") -> Event:
    """:meth:`Namespace.after` on the default instance."""
    return _ns().after(delay, action, priority)
