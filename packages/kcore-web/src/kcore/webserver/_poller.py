"""How kcore.webserver waits for sockets: one shared epoll set, or a
portable selector fallback fed by one thread.

Descriptors are armed one-shot: a ready connection is handed to exactly one
worker, which owns it until it arms it again.
"""

import collections
import queue
import select
import socket

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, List, Tuple

    Events = List[Tuple[int, int]]


class EpollPoller:
    """One epoll set shared by every worker thread. Descriptors are armed
    one-shot, so a ready connection wakes exactly one worker, which owns it
    until it re-arms it."""

    shared = True

    def __init__(self) -> None:
        self._ep = select.epoll()
        self._in = select.EPOLLIN | select.EPOLLONESHOT | select.EPOLLRDHUP
        self._out = select.EPOLLOUT | select.EPOLLONESHOT

    def add(self, fd: int, write: bool = False) -> None:
        self._ep.register(fd, self._out if write else self._in)

    def arm(self, fd: int, write: bool = False) -> None:
        try:
            self._ep.modify(fd, self._out if write else self._in)
        except OSError:  # closed meanwhile (sweep, shutdown): nothing to arm
            pass

    def remove(self, fd: int) -> None:
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    def wait(self, timeout: float) -> "Events":
        # One event at a time: a worker never sits on ready connections
        # while its handler blocks (batching gained little and risked that).
        return self._ep.poll(timeout, 1)

    def wake(self) -> None:
        pass

    def stop_workers(self, n: int) -> None:
        # A level-triggered readable socket wakes every waiting worker.
        self._stop_r, self._stop_w = socket.socketpair()
        self._ep.register(self._stop_r.fileno(), select.EPOLLIN)
        self._stop_w.send(b"x")

    def close(self) -> None:
        self._ep.close()
        for s in (getattr(self, "_stop_r", None), getattr(self, "_stop_w", None)):
            if s is not None:
                s.close()


class SelectorPoller:
    """Portable fallback (no epoll): the housekeeping thread runs a selector
    and hands ready descriptors to the workers through a queue; one-shot
    arming is emulated by unregistering on each event."""

    shared = False

    def __init__(self) -> None:
        import selectors

        self._events = selectors.EVENT_READ, selectors.EVENT_WRITE
        self._sel = selectors.DefaultSelector()
        self._pending = collections.deque()  # type: collections.deque
        self._ready = queue.SimpleQueue()  # type: queue.SimpleQueue
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, self._events[0], "wake")

    def add(self, fd: int, write: bool = False) -> None:
        self.arm(fd, write)

    def arm(self, fd: int, write: bool = False) -> None:
        self._pending.append((fd, write))
        self.wake()

    def remove(self, fd: int) -> None:
        self._pending.append((fd, None))
        self.wake()

    def wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def wait(self, timeout: float) -> "Events":
        try:
            return [self._ready.get(timeout=timeout)]
        except queue.Empty:
            return []

    def stop_workers(self, n: int) -> None:
        for _ in range(n):
            self._ready.put((-2, 0))

    def dispatch(self, timeout: float) -> None:
        sel = self._sel
        while self._pending:
            fd, write = self._pending.popleft()
            try:
                sel.unregister(fd)
            except (KeyError, ValueError, OSError):
                pass
            if write is not None:
                try:
                    sel.register(fd, self._events[1] if write else self._events[0])
                except (KeyError, ValueError, OSError):
                    pass
        for key, mask in sel.select(timeout):
            if key.data == "wake":
                try:
                    while self._wake_r.recv(4096):
                        pass
                except OSError:
                    pass
                continue
            try:
                sel.unregister(key.fd)
            except (KeyError, ValueError, OSError):
                pass
            self._ready.put((key.fd, mask))

    def close(self) -> None:
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()


def make_poller(force_selector: bool = False) -> "Any":
    """An epoll poller where there is epoll (Linux), else the selector one."""
    if hasattr(select, "epoll") and not force_selector:
        return EpollPoller()
    return SelectorPoller()
