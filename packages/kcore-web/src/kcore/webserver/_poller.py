"""How kcore.webserver waits for sockets: an epoll set, or a portable
selector fallback fed by the housekeeping thread.

Only the engine's leader thread waits on the poller. With epoll a
descriptor stays registered (level-triggered) for as long as its interest
(reading, writing, or nothing while another thread owns it) does not
change, so serving a request costs no registration call. The fallback
delivers each readiness once (``oneshot``): the engine arms the descriptor
again whenever it hands the connection back.
"""

import collections
import queue
import select
import socket

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, List, Tuple

    Events = List[Tuple[int, int]]

#: Interests a descriptor can have.
MUTE, READ, WRITE = 0, 1, 2


class EpollPoller:
    """One level-triggered epoll set."""

    shared = True  # waited on by a worker (not fed by the housekeeper)
    oneshot = False

    def __init__(self) -> None:
        self._ep = select.epoll()
        self._masks = {
            MUTE: 0,
            READ: select.EPOLLIN | select.EPOLLRDHUP,
            WRITE: select.EPOLLOUT,
        }

    def add(self, fd: int, interest: int = READ) -> None:
        self._ep.register(fd, self._masks[interest])

    def arm(self, fd: int, interest: int = READ) -> None:
        try:
            self._ep.modify(fd, self._masks[interest])
        except OSError:  # closed meanwhile (sweep, shutdown): nothing to arm
            pass

    def remove(self, fd: int) -> None:
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    def forget(self, fd: int) -> None:
        """The descriptor is about to be closed (closing leaves the epoll set by itself)."""

    def wait(self, timeout: float) -> "Events":
        return self._ep.poll(timeout, 64)

    def wake(self) -> None:
        pass

    def stop_workers(self, n: int) -> None:
        # A readable socket wakes the worker that waits.
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
    oneshot = True

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

    def add(self, fd: int, interest: int = READ) -> None:
        self.arm(fd, interest)

    def arm(self, fd: int, interest: int = READ) -> None:
        self._pending.append((fd, interest))
        self.wake()

    def remove(self, fd: int) -> None:
        self._pending.append((fd, MUTE))
        self.wake()

    def forget(self, fd: int) -> None:
        """The descriptor is about to be closed: drop it from the selector."""
        self.remove(fd)

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
            fd, interest = self._pending.popleft()
            try:
                sel.unregister(fd)
            except (KeyError, ValueError, OSError):
                pass
            if interest != MUTE:
                try:
                    sel.register(fd, self._events[1] if interest == WRITE else self._events[0])
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
