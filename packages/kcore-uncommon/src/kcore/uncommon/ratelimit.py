"""Token-bucket rate limiter with an injectable clock.

The default clock is ``time.monotonic``, because ``time.time()`` jumps when
the system clock is set (NTP, by hand). Pass ``clock=time.time`` if you
serialize the state and restore it in another process.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class RateLimiter:
    """Allow ``rate`` events per ``per`` seconds, with bursts up to ``rate``."""

    def __init__(
        self,
        rate: float = 1,
        per: float = 1.0,
        interthread_locking: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError("RateLimiter needs rate > 0 and per > 0 (got %r, %r)" % (rate, per))
        self.rate = float(rate)
        self.per = float(per)
        self.allowance = float(rate)
        self.clock = clock
        self.sleep = sleep
        self.last_check = clock()
        self._lock: Optional[threading.Lock] = threading.Lock() if interthread_locking else None

    def check(self) -> bool:
        """Take one token if available; True if the event may happen now."""
        if self._lock is None:
            return self.check_real()
        with self._lock:
            return self.check_real()

    def check_real(self) -> bool:
        """:meth:`check` without the lock (for callers that hold their own)."""
        now = self.clock()
        elapsed = max(0.0, now - self.last_check)
        self.last_check = now
        self.allowance = min(self.rate, self.allowance + elapsed * self.rate / self.per)
        if self.allowance < 1.0:
            return False
        self.allowance -= 1.0
        return True

    def wait(
        self, polling_interval: Optional[float] = 0.5, timeout: Optional[float] = None
    ) -> bool:
        """Block until a token is available (True) or ``timeout`` seconds pass (False).

        Sleeps ``polling_interval`` seconds between checks, as existing callers expect;
        ``polling_interval=None`` sleeps exactly until the next token is due.
        """
        if polling_interval is not None and not polling_interval > 0:
            raise ValueError("polling_interval must be > 0 or None, not %r" % (polling_interval,))
        deadline = None if timeout is None else self.clock() + timeout
        while not self.check():
            if polling_interval is None:
                pause = max((1.0 - self.allowance) * self.per / self.rate, 0.001)
            else:
                pause = polling_interval
            if deadline is not None:
                left = deadline - self.clock()
                if left <= 0:
                    return False
                pause = min(pause, left)
            self.sleep(pause)
        return True

    def serialize(self) -> str:
        """``"rate, per, allowance, last_check"`` (last_check in the clock's units)."""
        return "%r, %r, %r, %r" % (self.rate, self.per, self.allowance, self.last_check)

    def deserialize(self, s: str) -> None:
        try:
            parts = [float(x) for x in s.split(",")]
        except ValueError:
            raise ValueError(
                "RateLimiter.deserialize: expected 4 numbers, got %r" % s[:80]
            ) from None
        if len(parts) != 4 or parts[0] <= 0 or parts[1] <= 0:
            raise ValueError(
                "RateLimiter.deserialize: expected 'rate, per, allowance, last_check'"
            )
        self.rate, self.per, self.allowance, self.last_check = parts
