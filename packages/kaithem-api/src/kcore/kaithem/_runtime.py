"""The engine room of one :class:`~kcore.kaithem.Kaithem` instance: a worker
pool, a scheduler on the monotonic clock and the message bus.

Why not the original's globals: its pool popped tasks LIFO from an unbounded
deque, its scheduler used the wall clock (an NTP step moved every timer) and
held every job by weak reference (a lambda silently never ran), and both
started threads at import. Here:

* :class:`WorkerPool` is FIFO with a fixed maximum of threads and a bounded
  queue. Overflow policy: **caller runs** -- when the queue is full the task
  runs in the submitting thread, so nothing is lost and a flooding producer is
  slowed down to the pool's pace. Task errors are logged through
  ``kcore.common.logger`` and posted on the bus topic ``/system/errors/workers``.
* :class:`Scheduler` is one thread sleeping on a condition until the next job
  is due (woken early when an earlier job is added). Jobs are held strongly
  unless ``weak=True`` is asked for; due jobs run on the worker pool, and a
  repeating job never overlaps itself (a run that is still busy makes the next
  one skip).
* No thread exists before the first task, job or :meth:`Runtime.start`;
  :meth:`Runtime.close` stops and joins every thread.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError

WORKER_ERROR_TOPIC = "/system/errors/workers"
SCHEDULER_ERROR_TOPIC = "/system/errors/scheduler"


class RuntimeClosedError(KcoreError, RuntimeError):
    """The runtime (pool, scheduler or bus) was closed."""


def _describe(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return name or type(fn).__name__


class WorkerPool:
    """A FIFO thread pool: at most ``max_threads`` threads, at most
    ``queue_size`` waiting tasks (overflow: the caller runs the task).

    Threads are started on demand (none before the first :meth:`submit`) and
    live until :meth:`close`, which lets them finish the queue and joins them.
    """

    def __init__(
        self,
        max_threads: int = 8,
        queue_size: int = 10000,
        on_error: Callable[[Any, BaseException], None] | None = None,
        name: str = "kaithem-worker",
    ) -> None:
        if max_threads < 1:
            raise ValueError("max_threads must be >= 1, got %r" % (max_threads,))
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1, got %r" % (queue_size,))
        self.max_threads = int(max_threads)
        self.queue_size = int(queue_size)
        self.on_error = on_error
        self.name = name
        self._queue: deque = deque()
        self._cond = threading.Condition(threading.Lock())
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False
        self.caller_ran = 0  # tasks run in the caller because the queue was full
        self.errors = 0
        self._local = threading.local()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on a pool thread (FIFO). When the queue is full the
        task runs now, in this thread (caller-runs backpressure)."""
        cond = self._cond
        with cond:
            if self._closed:
                raise RuntimeClosedError("the worker pool is closed")
            q = self._queue
            if len(q) < self.queue_size:
                q.append((fn, args))
                if self._idle:
                    cond.notify()
                elif len(self._threads) < self.max_threads:
                    self._spawn()
                return
            self.caller_ran += 1
        self._run(fn, args)

    do = submit

    def in_worker(self) -> bool:
        """True when called from one of this pool's threads."""
        return getattr(self._local, "worker", False)

    def _spawn(self) -> None:
        t = threading.Thread(
            target=self._loop, name="%s-%d" % (self.name, len(self._threads)), daemon=True
        )
        self._threads.append(t)
        t.start()

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - a task must never kill its thread
            self.errors += 1
            self._report(fn, exc)

    def _report(self, fn: Any, exc: BaseException) -> None:
        _logger.log_error("kaithem worker task %s failed: %r" % (_describe(fn), exc))
        handler = self.on_error
        if handler is not None:
            try:
                handler(fn, exc)
            except Exception as report_exc:  # noqa: BLE001 - reporting must not recurse
                _logger.log_warning("could not report an error: %r" % (report_exc,))

    def _loop(self) -> None:
        self._local.worker = True
        cond = self._cond
        q = self._queue
        run = self._run
        while True:
            with cond:
                while not q:
                    if self._closed:
                        return
                    self._idle += 1
                    cond.wait()
                    self._idle -= 1
                fn, args = q.popleft()
            run(fn, args)

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def thread_count(self) -> int:
        return len(self._threads)

    def close(self, timeout: float = 10.0) -> None:
        """Finish queued tasks, stop and join the threads. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        me = threading.current_thread()
        for t in threads:
            if t is not me:
                t.join(max(0.0, deadline - time.monotonic()))
                if t.is_alive():
                    _logger.log_warning("kaithem worker %s did not stop in time" % t.name)


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

    def __init__(self, scheduler: Scheduler, fn: Callable[[], Any], interval, weak: bool):
        self._scheduler = scheduler
        self._weak = weak
        if weak:
            try:
                self._fn: Any = weakref.WeakMethod(fn)  # type: ignore[arg-type]
            except TypeError:
                self._fn = weakref.ref(fn)
        else:
            self._fn = fn
        self.interval = interval
        self.next_run = 0.0
        self.cancelled = False
        self.running = False
        self.runs = 0

    @property
    def function(self) -> Callable[[], Any] | None:
        return self._fn() if self._weak else self._fn

    def cancel(self) -> None:
        self.cancelled = True
        self._scheduler._cancelled(self)

    def __lt__(self, other: Job) -> bool:  # heap tie-breaker, never really used
        return id(self) < id(other)

    def __repr__(self) -> str:
        kind = "every %gs" % self.interval if self.interval else "once"
        return "<Job %s %s%s>" % (_describe(self.function), kind, " cancelled" * self.cancelled)


class Scheduler:
    """Runs callables at monotonic times, on a :class:`WorkerPool`."""

    def __init__(self, workers: WorkerPool, on_error=None, name: str = "kaithem-scheduler"):
        self.workers = workers
        self.on_error = on_error
        self.name = name
        self._heap: list = []
        self._seq = itertools.count()
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- public API ------------------------------------------------------

    def schedule(self, fn: Callable[[], Any], delay: float, *, weak: bool = False) -> Job:
        """Call ``fn()`` once, ``delay`` seconds from now."""
        return self.at(fn, time.monotonic() + _seconds(delay, "delay"), weak=weak)

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
        first: float | None = None,
    ) -> Job:
        """Call ``fn()`` every ``interval`` seconds (first after ``first``,
        default one interval). Missed runs are skipped, not piled up."""
        interval = _seconds(interval, "interval")
        if interval <= 0:
            raise ValueError("interval must be > 0 seconds, got %r" % (interval,))
        _check_callable(fn)
        job = Job(self, fn, interval, weak)
        delay = interval if first is None else _seconds(first, "first")
        self._push(job, time.monotonic() + delay)
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
        while True:
            due: list[Job] = []
            with cond:
                while True:
                    if self._closed:
                        return
                    heap = self._heap
                    now = time.monotonic()
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
                        break
                    cond.wait(heap[0][0] - now if heap else None)
            for job in due:
                self._dispatch(job)

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
        except Exception as exc:  # noqa: BLE001
            _logger.log_error("kaithem scheduled job %s failed: %r" % (_describe(fn), exc))
            if self.on_error is not None:
                try:
                    self.on_error(fn, exc)
                except Exception as report_exc:  # noqa: BLE001 - reporting must not recurse
                    _logger.log_warning("could not report an error: %r" % (report_exc,))
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
    10000), ``message-log-size`` (500).
    """

    def __init__(self, kaithem: Any = None) -> None:
        config = dict(getattr(kaithem, "config", None) or {})
        self.kaithem = kaithem
        self.workers = WorkerPool(
            max_threads=int(config.get("worker-threads", 8)),
            queue_size=int(config.get("task-queue-size", 10000)),
            on_error=self._worker_error,
        )
        self.scheduler = Scheduler(self.workers, on_error=self._job_error)
        from kcore.kaithem.message import MessageBus

        self.bus = MessageBus(
            workers=self.workers,
            queue_size=int(config.get("message-queue-size", 10000)),
            log_size=int(config.get("message-log-size", 500)),
        )
        self.started_at = time.monotonic()
        self._closed = False

    def _worker_error(self, fn: Any, exc: BaseException) -> None:
        self.bus.post(WORKER_ERROR_TOPIC, {"function": _describe(fn), "error": repr(exc)})

    def _job_error(self, fn: Any, exc: BaseException) -> None:
        self.bus.post(SCHEDULER_ERROR_TOPIC, {"function": _describe(fn), "error": repr(exc)})

    def start(self) -> Runtime:
        self.scheduler.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.scheduler.close()
        self.bus.close()
        self.workers.close()
