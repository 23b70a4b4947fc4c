"""The engine room of one :class:`~kcore.kaithem.Kaithem` instance: a worker
pool (:mod:`kcore.kaithem._workers`), a scheduler on the runtime's clock and
the message bus.

Why this shape: on the wall clock an NTP step would move every timer; a job
held by weak reference (a lambda) would silently never run; and threads started
at import would be a side effect of importing. So :class:`Scheduler` is one
thread sleeping on a condition until the next job is due (woken early when an
earlier job is added). Jobs are held strongly unless ``weak=True`` is asked
for; due jobs run on the worker pool, and a repeating job never overlaps itself
(a run that is still busy makes the next one skip). Time comes from an
injectable clock (:mod:`kcore.kaithem._clock`; ``Kaithem(clock=ManualClock())``
in tests). No thread exists before the first task, job or
:meth:`Runtime.start`; :meth:`Runtime.close` stops and joins every thread.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

from kcore.kaithem._clock import SYSTEM_CLOCK, Clock
from kcore.kaithem._support import describe, report, weak_callable
from kcore.kaithem._workers import RuntimeClosedError, WorkerPool
from kcore.kaithem.message import ERROR_TOPIC as BUS_ERROR_TOPIC
from kcore.kaithem.message import MessageBus

__all__ = ["Job", "Runtime", "RuntimeClosedError", "Scheduler", "WorkerPool"]

WORKER_ERROR_TOPIC = "/system/errors/workers"
SCHEDULER_ERROR_TOPIC = "/system/errors/scheduler"
ErrorHandler = Callable[[Any, BaseException], None]


class Job:
    """A scheduled call. ``cancel()`` stops it; ``next_run`` is on the
    monotonic clock; ``interval`` is None for a one-shot job."""

    __slots__ = (
        "__weakref__",
        "_fn",
        "_scheduler",
        "_weak",
        "cancelled",
        "interval",
        "next_run",
        "running",
        "runs",
    )

    def __init__(
        self,
        scheduler: Scheduler,
        fn: Callable[[], Any],
        interval: Optional[float],
        weak: bool,
    ) -> None:
        self._scheduler = scheduler
        self._weak = weak
        self._fn: Any = weak_callable(fn) if weak else fn
        self.interval = interval
        self.next_run = 0.0
        self.cancelled = False
        self.running = False
        self.runs = 0

    @property
    def function(self) -> Optional[Callable[[], Any]]:
        return self._fn() if self._weak else self._fn

    def cancel(self) -> None:
        self.cancelled = True
        self._scheduler._cancelled(self)

    def __lt__(self, other: Job) -> bool:  # heap tie-breaker, never really used
        return id(self) < id(other)

    def __repr__(self) -> str:
        kind = "every %gs" % self.interval if self.interval else "once"
        return "<Job %s %s%s>" % (describe(self.function), kind, " cancelled" * self.cancelled)


class Scheduler:
    """Runs callables at monotonic times of ``clock``, on a :class:`WorkerPool`."""

    def __init__(
        self,
        workers: WorkerPool,
        on_error: Optional[ErrorHandler] = None,
        name: str = "kaithem-scheduler",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.workers = workers
        self.on_error = on_error
        self.name = name
        self.clock = clock
        self._heap: List[Tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition(threading.Lock())
        clock.attach(self._cond)
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._dispatching = 0  # due jobs taken off the heap, not yet handed to the pool

    # -- public API ------------------------------------------------------

    def schedule(self, fn: Callable[[], Any], delay: float, *, weak: bool = False) -> Job:
        """Call ``fn()`` once, ``delay`` seconds from now."""
        return self.at(fn, self.clock.monotonic() + _seconds(delay, "delay"), weak=weak)

    def at(self, fn: Callable[[], Any], when: float, *, weak: bool = False) -> Job:
        """Call ``fn()`` once at monotonic time ``when``."""
        _check_callable(fn)
        job = Job(self, fn, None, weak)
        self._push(job, float(when))
        return job

    def every(
        self,
        fn: Callable[[], Any],
        interval: float,
        *,
        weak: bool = False,
        first: Optional[float] = None,
    ) -> Job:
        """Call ``fn()`` every ``interval`` seconds (first after ``first``,
        default one interval). Missed runs are skipped, not piled up."""
        interval = _seconds(interval, "interval")
        if interval <= 0:
            raise ValueError("interval must be > 0 seconds, got %r" % (interval,))
        _check_callable(fn)
        job = Job(self, fn, interval, weak)
        delay = interval if first is None else _seconds(first, "first")
        self._push(job, self.clock.monotonic() + delay)
        return job

    def reschedule(self, job: Job, when: float) -> None:
        """Move a pending job to monotonic time ``when`` (revives a fired one-shot)."""
        job.cancelled = False
        self._push(job, float(when))

    def start(self) -> None:
        with self._cond:
            self._ensure_thread()

    @property
    def pending(self) -> int:
        return sum(1 for _, _, j in self._heap if not j.cancelled)

    def idle(self) -> bool:
        """True when no job is due now and none is on its way to the pool."""
        with self._cond:
            now = self.clock.monotonic()
            return not self._dispatching and not any(
                when <= now and not job.cancelled for when, _, job in self._heap
            )

    def close(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify_all()
            t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    # -- internals ---------------------------------------------------------

    def _push(self, job: Job, when: float) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeClosedError("the scheduler is closed")
            job.next_run = when
            heap = self._heap
            wake = not heap or when < heap[0][0]
            heapq.heappush(heap, (when, next(self._seq), job))
            self._ensure_thread()
            if wake:
                self._cond.notify()

    def _cancelled(self, job: Job) -> None:
        # Lazy deletion: the heap entry is skipped when it comes up. Compact
        # when cancelled entries dominate, so cancel-heavy users stay bounded.
        with self._cond:
            heap = self._heap
            if len(heap) > 64 and sum(1 for e in heap if e[2].cancelled) > len(heap) // 2:
                self._heap = [e for e in heap if not e[2].cancelled]
                heapq.heapify(self._heap)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        cond = self._cond
        clock = self.clock
        while True:
            due: List[Job] = []
            with cond:
                while True:
                    if self._closed:
                        return
                    heap = self._heap
                    now = clock.monotonic()
                    while heap and (heap[0][2].cancelled or heap[0][0] <= now):
                        when, _, job = heapq.heappop(heap)
                        if job.cancelled or when != job.next_run:
                            continue  # cancelled or superseded by a reschedule
                        due.append(job)
                        if job.interval is not None:
                            nxt = when + job.interval
                            if nxt <= now:  # fell behind: skip the missed runs
                                nxt = now + job.interval
                            job.next_run = nxt
                            heapq.heappush(heap, (nxt, next(self._seq), job))
                    if due:
                        self._dispatching += len(due)
                        break
                    clock.wait(cond, heap[0][0] - now if heap else None)
            for job in due:
                self._dispatch(job)
            with cond:
                self._dispatching -= len(due)

    def _dispatch(self, job: Job) -> None:
        if job.running:  # a repeating job never overlaps itself
            return
        fn = job.function
        if fn is None:  # weak target collected
            job.cancel()
            return
        job.running = True
        try:
            self.workers.submit(self._run, job, fn)
        except RuntimeClosedError:
            job.running = False

    def _run(self, job: Job, fn: Callable[[], Any]) -> None:
        try:
            if not job.cancelled:
                job.runs += 1
                fn()
        except Exception as exc:
            what = "kaithem scheduled job %s failed: %r" % (describe(fn), exc)
            report(what, self.on_error, fn, exc)
        finally:
            job.running = False


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number of seconds, got %r" % (what, value))
    if value != value:
        raise ValueError("%s must not be NaN" % what)
    return float(value)


def _check_callable(fn: Any) -> None:
    if not callable(fn):
        raise TypeError("expected a callable, got %r" % (fn,))


class Runtime:
    """Scheduler, worker pool and message bus of one Kaithem instance.

    Configuration keys (``Kaithem(config={...})``): ``worker-threads`` (8),
    ``task-queue-size`` (10000), ``message-queue-size`` (per subscriber,
    10000), ``message-log-size`` (500). The clock is the instance's
    ``clock`` (the system clock unless one was given).
    """

    def __init__(self, kaithem: Any = None, clock: Optional[Clock] = None) -> None:
        config = dict(getattr(kaithem, "config", None) or {})
        self.kaithem = kaithem
        if clock is None:
            clock = getattr(kaithem, "clock", None) or SYSTEM_CLOCK
        self.clock: Clock = clock
        self.workers = WorkerPool(
            max_threads=int(config.get("worker-threads", 8)),
            queue_size=int(config.get("task-queue-size", 10000)),
            on_error=self._worker_error,
            on_stall=self._worker_stall,
        )
        self.scheduler = Scheduler(self.workers, on_error=self._job_error, clock=clock)
        self.bus = MessageBus(
            workers=self.workers,
            queue_size=int(config.get("message-queue-size", 10000)),
            log_size=int(config.get("message-log-size", 500)),
            clock=clock,
        )
        self.started_at = clock.monotonic()
        self._closed = False

    def _worker_error(self, fn: Any, exc: BaseException) -> None:
        self.bus.post(WORKER_ERROR_TOPIC, {"function": describe(fn), "error": repr(exc)})

    def _worker_stall(self, stalls: int, queued: int) -> None:
        self.bus.post(
            BUS_ERROR_TOPIC,
            {
                "stall": "all %d worker threads are busy" % self.workers.max_threads,
                "queued": queued,
                "stalls": stalls,
            },
        )

    def _job_error(self, fn: Any, exc: BaseException) -> None:
        self.bus.post(SCHEDULER_ERROR_TOPIC, {"function": describe(fn), "error": repr(exc)})

    def start(self) -> Runtime:
        self.scheduler.start()
        return self

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every job that is due has run and the worker pool is
        idle (bus deliveries included); True if that happened within
        ``timeout`` seconds of real time. After ``ManualClock.advance()``
        this runs what became due."""
        deadline = time.monotonic() + timeout
        workers, scheduler = self.workers, self.scheduler
        while True:
            if workers.idle() and scheduler.idle() and workers.idle():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.scheduler.close()
        self.bus.close()
        self.workers.close()
