"""The worker pool of one Kaithem runtime.

:class:`WorkerPool` is FIFO (tasks start in the order given) with a fixed
maximum of threads and a bounded queue (a flood cannot exhaust memory). A task
submitted while every started thread is busy (a thread woken for an earlier
task but not yet running it counts as busy) starts a new thread, up to the
maximum, so one blocking task never holds up another while the pool has room.
When the pool is full the task waits in the queue: that **stall** is counted in
``stalls`` and reported to ``on_stall`` at once (then at most once a second).
Overflow policy when the queue is full too: **caller runs** -- the task runs in
the submitting thread, so nothing is lost and a flooding producer is slowed
down to the pool's pace. Task errors are logged through ``kcore.common.logger``
and passed to ``on_error`` (the runtime posts them on
``/system/errors/workers``). Threads start on demand (none before the first
task) and are joined by :meth:`WorkerPool.close`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Tuple

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError
from kcore.kaithem._support import describe, report


class RuntimeClosedError(KcoreError, RuntimeError):
    """The runtime (pool, scheduler or bus) was closed."""


Task = Tuple[Callable[..., Any], Tuple[Any, ...]]


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
        on_error: Optional[Callable[[Any, BaseException], None]] = None,
        name: str = "kaithem-worker",
        on_stall: Optional[Callable[[int, int], None]] = None,
    ) -> None:
        if max_threads < 1:
            raise ValueError("max_threads must be >= 1, got %r" % (max_threads,))
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1, got %r" % (queue_size,))
        self.max_threads = int(max_threads)
        self.queue_size = int(queue_size)
        self.on_error = on_error
        self.name = name
        self._queue: Deque[Task] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._threads: List[threading.Thread] = []
        self._idle = 0  # threads waiting for a task
        self._wakeups = 0  # of those, notified for a queued task but not yet running
        self._closed = False
        self.caller_ran = 0  # tasks run in the caller because the queue was full
        self.errors = 0
        self.stalls = 0  # tasks that had to wait because every thread was busy
        self.on_stall = on_stall
        self._last_stall_report = -1e18
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
                if self._idle > self._wakeups:  # an idle thread nobody has claimed
                    self._wakeups += 1
                    cond.notify()
                    return
                if len(self._threads) < self.max_threads:
                    self._spawn()
                    return
                self.stalls += 1
                stalls, queued = self.stalls, len(q)
                now = time.monotonic()
                if now - self._last_stall_report < 1.0:
                    return
                self._last_stall_report = now
            else:
                self.caller_ran += 1
                stalls = 0
        if stalls:
            self._report_stall(stalls, queued)
            return
        self._run(fn, args)

    def _report_stall(self, stalls: int, queued: int) -> None:
        _logger.log_warning(
            "%s: all %d threads are busy; %d tasks wait (%d stalls so far)"
            % (self.name, self.max_threads, queued, stalls)
        )
        handler = self.on_stall
        if handler is not None and not getattr(self._local, "reporting", False):
            self._local.reporting = True  # a report that stalls again is not reported
            try:
                handler(stalls, queued)
            except Exception as exc:  # reporting must not recurse
                _logger.log_warning("could not report a stall: %r" % (exc,))
            finally:
                self._local.reporting = False

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

    def _run(self, fn: Callable[..., Any], args: Tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a task must never kill its thread
            self.errors += 1
            what = "kaithem worker task %s failed: %r" % (describe(fn), exc)
            report(what, self.on_error, fn, exc)

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
                    if self._wakeups:
                        self._wakeups -= 1
                fn, args = q.popleft()
            run(fn, args)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def idle(self) -> bool:
        """True when no task waits and no pool thread runs one."""
        with self._cond:
            return not self._queue and self._idle == len(self._threads)

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
