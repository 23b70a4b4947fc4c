"""The one background thread that runs kcore.gpio's timers on CPython.

It sleeps until the earliest deadline of any registered device (or until
an edge wakes it) and exits when no device is left, so importing kcore.gpio
starts nothing and closing every device stops the thread.

Devices made with ``background=True`` are checked in full. A simulated press
on a ``background=False`` button is only *released* here, when it is due
(the button notices at its next ``check()``), so a simulated press ends after
its duration whatever ``background`` is.
"""

import sys
import threading
from typing import Any, Optional, Set

MAX_WAIT_S = 0.5  # also samples the pins this often, for levels changed behind our back


class Ticker:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._devices: Set[Any] = set()
        self._releases: Set[Any] = set()  # buttons with a simulated press to let go
        self._thread: Optional[threading.Thread] = None
        self._woken = False

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def _start(self) -> None:
        # called with the condition held
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="kcore-gpio-ticker", daemon=True
            )
            self._thread.start()
        self._woken = True
        self._cond.notify()

    def add(self, device: Any) -> None:
        with self._cond:
            self._devices.add(device)
            self._start()

    def watch_release(self, button: Any) -> None:
        """Let go of ``button``'s simulated press when it is due."""
        with self._cond:
            self._releases.add(button)
            self._start()

    def remove(self, device: Any) -> None:
        with self._cond:
            self._devices.discard(device)
            self._releases.discard(device)
            self._woken = True
            self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._devices and not self._releases:
                    self._thread = None
                    return
                devices = list(self._devices)
                releases = list(self._releases)
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
            for b in releases:
                try:
                    b._sim_tick(notify=False)
                except Exception as e:
                    sys.stderr.write("kcore.gpio: releasing %r failed: %r\n" % (b, e))
                with self._cond:  # re-read under the lock: a new press may have come
                    due = None if b.closed else b.sim_release_due_ms()
                    if due is None:
                        self._releases.discard(b)
                    else:
                        wait = min(wait, due / 1000.0)
            with self._cond:
                if not self._woken and (self._devices or self._releases):
                    self._cond.wait(wait)


TICKER = Ticker()
