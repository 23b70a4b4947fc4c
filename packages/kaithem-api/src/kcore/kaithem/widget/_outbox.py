"""Bounded, coalescing send queues for widget sockets, and who drains them.

Each socket has an :class:`Outbox` holding

* the **latest value** of each subscribed widget: a newer value replaces one
  not yet sent (latest value wins; counted in ``coalesced``), so this part is
  bounded by the number of subscriptions, and
* an ordered **stream** of entries that must each arrive (``send()``
  messages, log lines, deletions, errors), bounded by ``limit``: overflowing
  it closes the socket (code 1013); the browser reconnects and gets fresh
  snapshots, so nothing is lost silently.

Whatever waits is sent as one frame ``[[id, value], ...]`` (split above
256 KiB). Two lanes drain outboxes:

* the **fast lane**: one shared thread (``widget-sender-threads``) takes the
  waiting outboxes in rounds, at most one round per ``widget-frame-interval``
  (5 ms), so values arriving meanwhile share a frame. It only sends a small
  frame to a socket that is writable right now, so it never waits for a
  browser. Few threads means few hand-overs of the interpreter lock, which is
  what limits latency with many sockets (measured: one beats two).
* the **slow lane**: a socket that is not writable (its browser stopped
  reading) or a big frame gets a thread of its own, which may block on that
  socket alone (up to the server's ``write_timeout``, after which the socket
  is closed). When it catches up, the socket returns to the fast lane.
"""

from __future__ import annotations

import queue
import select
import threading
import time
from collections import deque
from typing import Any

MAX_FRAME = 256 * 1024
# Larger frames go through the slow lane: a writable socket has room for at
# least this much in practice, so the shared lane does not wait on a browser.
FAST_FRAME = 4 * 1024


class Outbox:
    """The send queue of one socket (``ws`` has ``send(str)`` and ``close(code, reason)``)."""

    def __init__(self, ws: Any, pool: SenderPool, limit: int, name: str = "") -> None:
        self.ws = ws
        self.pool = pool
        self.limit = limit
        self.name = name
        self.frames = 0
        self.entries = 0
        self.coalesced = 0
        self.closed = False  # the socket is gone (or closing)
        self._lock = threading.Lock()
        self._latest: dict[str, str] = {}
        self._stream: deque = deque()
        self._closing: tuple[int, str] | None = None
        self._busy = False  # a lane owns the outbox (queued or sending)
        self._slow = False

    @property
    def closing(self) -> bool:
        """Closed, or asked to close."""
        return self._closing is not None

    # -- producers (any thread, never blocking) ------------------------------------------

    def offer(self, key: str, fragment: str) -> None:
        """Queue a widget's latest value (replaces an unsent older one)."""
        # The hot path of every write (once per subscribed socket): kept flat.
        with self._lock:
            if self._closing is not None:
                return
            latest = self._latest
            if key in latest:
                self.coalesced += 1
            latest[key] = fragment
            if self._busy:  # a lane owns it and will see the new value
                return
            self._busy = True
        self.pool.schedule(self)

    def offer_stream(self, fragment: str) -> None:
        """Queue an entry that must arrive, in order."""
        with self._lock:
            if self._closing is not None:
                return
            if len(self._stream) >= self.limit:
                self._closing = (1013, "client too slow: reconnect")
                self._latest.clear()
                self._stream.clear()
            else:
                self._stream.append(fragment)
            kick = self._claim()
        self._kick(kick)

    def drop(self, key: str) -> None:
        with self._lock:
            self._latest.pop(key, None)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close soon without blocking the caller: unsent data is dropped and
        a lane sends the close frame."""
        with self._lock:
            if self._closing is None:
                self._closing = (code, reason)
            self._latest.clear()
            self._stream.clear()
            kick = self._claim()
        self._kick(kick)

    def _claim(self) -> str | None:
        """Lock held: which lane to wake, if any."""
        if self._busy:  # a lane owns it and will see the new data
            return None
        self._busy = True
        return "fast"

    def _kick(self, kick: str | None) -> None:
        if kick == "fast":
            self.pool.schedule(self)

    # -- lanes ----------------------------------------------------------------------------

    def _take(self) -> list[str]:
        """Lock held: everything waiting, values first, then the stream."""
        parts = list(self._latest.values())
        self._latest.clear()
        if self._stream:
            parts.extend(self._stream)
            self._stream.clear()
        return parts

    def _writable(self) -> bool:
        sock = getattr(self.ws, "sock", None)
        if sock is None:
            return True
        try:
            return bool(select.select([], [sock], [], 0)[1])
        except (OSError, ValueError):  # closed meanwhile: the send will say so
            return True

    def fast_flush(self) -> None:
        """Called by a pool thread: send what waits if the socket can take
        it now, else hand the outbox to the slow lane."""
        with self._lock:
            if self._closing is not None or not self._writable():
                self._go_slow([])
                return
            parts = self._take()
        if sum(map(len, parts)) > FAST_FRAME:
            with self._lock:
                self._go_slow(parts)
            return
        if parts and not self._send(parts):
            return
        with self._lock:
            if self._closing is not None or self._latest or self._stream:
                kick = "fast"  # more arrived while sending: stay busy, queue again
            else:
                self._busy = False
                kick = None
        self._kick(kick)

    def _go_slow(self, parts: list[str]) -> None:
        """Lock held: start this outbox's own thread, with ``parts`` first."""
        self._slow = True
        self._busy = True
        threading.Thread(
            target=self._slow_loop,
            args=(parts,),
            name="kaithem-widgets-%s" % self.name,
            daemon=True,
        ).start()

    def _slow_loop(self, parts: list[str]) -> None:
        patience = float(getattr(self.ws, "write_timeout", None) or 10.0)
        while True:
            if parts:
                # Wait for room here, bounded, rather than trusting the socket
                # timeout alone (another thread's recv() may reset it).
                room = self._await_room(patience)
                if room == "timeout":
                    self._finish((1013, "client too slow: reconnect"))
                    return
                if room == "ok" and not self._send(parts):  # may block: this socket only
                    return
            with self._lock:
                closing = self._closing
                if closing is None:
                    parts = self._take()
                    if not parts and self._writable():
                        self._slow = False  # caught up: back to the fast lane
                        self._busy = False
                        return
            if closing is not None:
                self._finish(closing)
                return
            if not parts:
                self._await_room(1.0)  # nothing to send and the browser is not reading

    def _await_room(self, seconds: float) -> str:
        """``"ok"`` once the socket can take data, ``"closing"`` if a close
        was asked for meanwhile, ``"timeout"`` after ``seconds``."""
        sock = getattr(self.ws, "sock", None)
        if sock is None:
            return "ok"
        deadline = time.monotonic() + seconds
        while True:
            if self._closing is not None:
                return "closing"
            left = deadline - time.monotonic()
            try:
                if select.select([], [sock], [], max(0.0, min(0.25, left)))[1]:
                    return "ok"
            except (OSError, ValueError):
                return "ok"  # closed meanwhile: the send will say so
            if left <= 0:
                return "timeout"

    def _send(self, parts: list[str]) -> bool:
        """Send in frames; False (and the outbox closed) if the socket is gone."""
        send = self.ws.send
        try:
            self.entries += len(parts)
            batch: list[str] = []
            size = 0
            for part in parts:
                if batch and size + len(part) > MAX_FRAME:
                    send("[" + ",".join(batch) + "]")
                    self.frames += 1
                    batch, size = [], 0
                batch.append(part)
                size += len(part) + 1
            send("[" + ",".join(batch) + "]")
            self.frames += 1
            return True
        except Exception:  # WebSocketClosed, OSError: the browser is gone
            self._gone()
            return False

    def _finish(self, closing: tuple[int, str]) -> None:
        try:
            self.ws.close(*closing)
        except Exception:  # noqa: S110 - closing a dead socket: nothing to do
            pass
        self._gone()

    def _gone(self) -> None:
        with self._lock:
            self.closed = True
            if self._closing is None:
                self._closing = (1006, "")
            self._latest.clear()
            self._stream.clear()
            self._slow = True  # nothing schedules it again
            self._busy = True


class SenderPool:
    """The fast lane: ``threads`` threads sending for every socket, started
    on first use."""

    def __init__(self, threads: int = 1, interval: float = 0.005) -> None:
        if threads < 1:
            raise ValueError("widget-sender-threads must be >= 1")
        if not 0 <= interval <= 1:
            raise ValueError("widget-frame-interval must be 0 to 1 seconds")
        self.size = threads
        self.interval = interval
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def schedule(self, outbox: Outbox) -> None:
        if not self._threads:
            self._start()
        self._queue.put(outbox)

    def _start(self) -> None:
        with self._lock:
            if self._threads or self._closed:
                return
            for i in range(self.size):
                t = threading.Thread(
                    target=self._run, name="kaithem-widgets-send-%d" % i, daemon=True
                )
                self._threads.append(t)
                t.start()

    def _run(self) -> None:
        # Rounds: flush every outbox waiting now, then (if that took less
        # than `interval`) pause, so a busy socket gets at most one frame per
        # interval and values arriving meanwhile share it. The first frame
        # after a quiet spell goes out at once.
        q = self._queue
        interval = self.interval
        while True:
            batch = [q.get()]
            while True:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            start = time.monotonic()
            for outbox in batch:
                if outbox is None:
                    q.put(None)  # the other threads stop too
                    return
                try:
                    outbox.fast_flush()
                except Exception as e:  # one socket must not stop the lane
                    from kcore.common import logger

                    logger.log_error("widget sender failed: %r" % (e,))
            pause = interval - (time.monotonic() - start)
            if pause > 0:
                time.sleep(pause)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        self._queue.put(None)
        for t in threads:
            if t is not threading.current_thread():
                t.join(5)
