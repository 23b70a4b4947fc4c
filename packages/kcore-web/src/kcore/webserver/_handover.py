"""When the leader of kcore.webserver's workers should hand over.

Handing the lead to another thread helps only when the leader waits (on a
lock, a socket, a sleep): then the other thread can serve. When the leader
computes, or the machine has no CPU for it right now, another thread would
only contend for the GIL and make every request slower. So a leader hands
over after SLOW_HANDLER seconds in one event if its CPU time did not advance
(it waits, or is descheduled) and it is not runnable (so it waits), and
after LONG_HANDLER seconds whatever it does (a computing handler must not
hold everyone up for long; the GIL then interleaves them).
"""

import os
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Dict, Optional

#: Seconds a leader may wait inside one event before another worker leads.
SLOW_HANDLER = 0.002
#: Seconds after which a leader hands over even while it computes.
LONG_HANDLER = 0.05


class LeaderWatch:
    """Watches the leader's current event from the housekeeping thread."""

    def __init__(self) -> None:
        self._cpu_clocks: Dict[int, Any] = {}  # worker id -> its CPU clock (where known)
        self._stat_paths: Dict[int, str] = {}  # worker id -> /proc/.../stat (Linux)
        self._look: Any = None  # (event start, first look, leader CPU then)

    def note_thread(self, ident: int) -> None:
        """Called by each worker thread once: how to see its CPU time and state."""
        try:
            self._cpu_clocks[ident] = time.pthread_getcpuclockid(ident)
        except (AttributeError, OSError):
            pass
        native = getattr(threading, "get_native_id", None)
        if native is not None and os.path.exists("/proc/self/task"):
            self._stat_paths[ident] = "/proc/self/task/%d/stat" % native()

    def forget(self) -> None:
        self._look = None

    def hand_over(self, leader: int, started: float, now: float) -> bool:
        """True if the leader, in an event since ``started``, should hand over now."""
        if now - started < SLOW_HANDLER:
            self._look = None
            return False
        if now - started >= LONG_HANDLER:
            self._look = None
            return True
        cpu = self._cpu_time(leader)
        look = self._look
        if look is None or look[0] != started:
            self._look = (started, now, cpu)  # first look at this event
            return cpu is None  # without a CPU clock: wall time alone decides
        if cpu is None or look[2] is None:
            return True
        computing = cpu - look[2] > 0.5 * (now - look[1])
        if computing or self._runnable(leader):
            return False
        self._look = None
        return True

    def _cpu_time(self, ident: int) -> "Optional[float]":
        clock = self._cpu_clocks.get(ident)
        if clock is None:
            return None
        try:
            return time.clock_gettime(clock)
        except OSError:
            return None

    def _runnable(self, ident: int) -> bool:
        # True if the thread is running or waiting for a CPU (not for I/O).
        path = self._stat_paths.get(ident)
        if path is None:
            return False
        try:
            with open(path, "rb") as f:
                stat = f.read()
        except OSError:
            return False
        i = stat.rfind(b")")
        return stat[i + 2 : i + 3] == b"R"
