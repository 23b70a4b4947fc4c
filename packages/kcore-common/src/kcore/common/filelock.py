"""An exclusive lock between processes and threads, on a lock file (CPython
only, POSIX): :class:`FileLock`.

Not shipped to boards: it needs fcntl and threading.
"""

import os
import threading
import time
from typing import Any, Optional

from kcore.common.platform import KcoreError

__all__ = ["FileLock", "LockTimeout"]


class LockTimeout(KcoreError, TimeoutError):
    """A :class:`FileLock` could not be acquired within its timeout."""


class FileLock:
    """Exclusive lock between processes *and* threads, on a lock file.

    Uses ``fcntl.flock`` on ``path`` (created 0600, never deleted), so the
    kernel drops the lock when the holder dies: it cannot go stale. Not
    re-entrant. ``timeout=None`` waits forever; on expiry
    :class:`LockTimeout` (a TimeoutError) names the file.

        with FileLock("/run/user/1000/myjob.lock", timeout=5):
            ...
    """

    def __init__(self, path: str, timeout: Optional[float] = None, poll: float = 0.05) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0 or None, not %r" % (timeout,))
        if not poll > 0:
            raise ValueError("poll must be > 0, not %r" % (poll,))
        self.path = os.fspath(path)
        self.timeout = timeout
        self.poll = poll
        self._thread_lock = threading.Lock()
        self._fd: Optional[int] = None

    @property
    def locked(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self, timeout: Optional[float] = -1) -> "FileLock":
        """Take the lock (``timeout=-1``: the constructor's timeout)."""
        import fcntl

        if timeout == -1:
            timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise self._timeout_error(timeout)
        try:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            flags |= getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(self.path, flags, 0o600)
        except BaseException:
            self._thread_lock.release()
            raise
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    raise self._timeout_error(timeout)
                wait = self.poll if deadline is None else min(self.poll, deadline - now)
                time.sleep(wait)
        except BaseException:
            os.close(fd)
            self._thread_lock.release()
            raise
        self._fd = fd
        return self

    def _timeout_error(self, timeout: Optional[float]) -> LockTimeout:
        return LockTimeout(
            "could not lock %s within %ss: held by another process or thread"
            % (self.path, timeout)
        )

    def release(self) -> None:
        """Release the lock (closing the file drops the flock)."""
        fd = self._fd
        if fd is None:
            raise RuntimeError("FileLock(%r) is not held" % self.path)
        self._fd = None
        try:
            import fcntl

            # Unlock explicitly: a forked child may still hold a copy of fd.
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        finally:
            self._thread_lock.release()

    def __enter__(self) -> "FileLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return "FileLock(%r, locked=%s)" % (self.path, self.locked)
