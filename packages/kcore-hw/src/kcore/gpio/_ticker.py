"""The one background thread that runs kcore.gpio's timers on CPython.

It sleeps until the earliest deadline of any registered device (or until
an edge wakes it) and exits when no device is left, so importing kcore.gpio
starts nothing and closing every device stops the thread.
"""

import sys
import threading
from typing import Any, Optional, Set

MAX_WAIT_S = 0.5  # also samples the pins this often, for levels changed behind our back


class Ticker:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._devices: Set[Any] = set()
        self._thread: Optional[threading.Thread] = None
        self._woken = False

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def add(self, device: Any) -> None:
        with self._cond:
            self._devices.add(device)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kcore-gpio-ticker", daemon=True
                )
                self._thread.start()
            self._woken = True
            self._cond.notify()

    def remove(self, device: Any) -> None:
        with self._cond:
            self._devices.discard(device)
            self._woken = True
            self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._devices:
                    self._thread = None
                    return
                devices = list(self._devices)
                self._woken = False
            wait = MAX_WAIT_S
            for d in devices:
                try:
                    d.check()
                    due = d.next_due_ms()
                    if due is not None:
                        wait = min(wait, due / 1000.0)
                except Exception as e:  # one broken device must not stop the rest
                    sys.stderr.write("kcore.gpio: checking %r failed: %r\n" % (d, e))
            with self._cond:
                if not self._woken and self._devices:
                    self._cond.wait(wait)


TICKER = Ticker()
