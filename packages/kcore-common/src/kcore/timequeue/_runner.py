"""Thread mode of :mod:`kcore.timequeue` (import the names from there): a daemon
thread that calls ``TimeQueue.check()``. CPython only; ``threading`` is imported
when a thread is made, never at import, so boards can import this module."""

import sys

from kcore.common.platform import error_class
from kcore.timequeue._events import TimeQueueError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from kcore.timequeue import TimeQueue

_HOME = "kcore.timequeue"

ThreadsUnavailableError = error_class(
    "ThreadsUnavailableError",
    NotImplementedError,
    doc="Thread mode needs CPython; on boards call check() from the main loop.",
    module=_HOME,
)


class TimeQueueThread:
    """Runs ``queue.check()`` in a daemon thread, sleeping until the next event.

    CPython only (``threading`` is imported here, not at module import). Use as a
    context manager or call :meth:`stop`. Exceptions from callbacks are handled by
    the queue; one re-raised because of ``raise_errors`` is counted in
    ``loop_errors`` and the thread keeps running.
    """

    def __init__(
        self, queue: "TimeQueue", max_sleep_s: float = 10.0, name: str = "kcore-timequeue"
    ):
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
