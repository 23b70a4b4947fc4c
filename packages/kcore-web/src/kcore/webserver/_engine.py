"""The connection engine of kcore.webserver: worker threads, the connection
state machine, timeouts and shutdown.

Leader and followers: of the ``threads`` workers one at a time, the
*leader*, waits on the poller and serves the ready connections one after
the other, handler included; the others wait their turn. Under the GIL that
is the fastest way to serve quick handlers (threads that all poll would
trade the interpreter at every system call). When the leader's handler is
slow because it waits (on a lock, a socket, a sleep, not on the CPU), the
housekeeper hands leadership to a waiting worker, so other clients are
still served; the old leader rejoins the waiting workers when its request
is done. At most ``threads`` handlers run at once.

A connection is owned by one thread at a time (``_claim`` under a lock):
reading is non-blocking and a handler runs only once its whole request is
buffered; a response that does not fit the socket buffer is finished when
the socket is writable, so a client that does not read costs no thread
either; files (static ones) are sent the same way, as the socket takes
them. A slow or hostile client therefore only ever costs a buffer, never
a thread, and TLS handshakes proceed in non-blocking steps. One client
address holds at most ``max_per_address`` connections, so it cannot take
every connection slot.

A housekeeping thread enforces the request, idle, write and linger
timeouts and runs the graceful shutdown. The client of a response being
written must take some of it every ``write_timeout`` seconds and, past the
first ``write_timeout`` seconds, average ``min_send_rate`` bytes a second;
what it took is what left the kernel's send queue (where the kernel says,
as on Linux), so a large socket buffer gives a slow reader no credit. A
connection cut for that is reset, which also frees its queued bytes.

States of a connection: READING (waiting for or reading a request),
HANDSHAKE (TLS), WRITING (a parked response is being finished), LINGER
(half-closed after an error reply, draining what the client still sends).
"""

import collections
import errno
import os
import select
import socket
import struct
import sys
import threading
import time

from kcore.webserver._handover import LeaderWatch
from kcore.webserver._http import RequestReader
from kcore.webserver._poller import MUTE, READ, WRITE
from kcore.webserver._writer import Closed, http_date, is_ssl_want
from kcore.webserver_base import HttpError, error_bytes, response_head

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Dict, List, Optional

    from kcore.webserver._http import Limits, ParsedRequest
    from kcore.webserver._writer import ResponseWriter

_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK)

READING, HANDSHAKE, LINGER, WRITING = range(4)


class Conn:
    """One client connection and what the engine knows about it."""

    __slots__ = (
        "addr",
        "after_write",
        "closed",
        "counted",
        "deadline",
        "fd",
        "in_request",
        "interest",
        "owned",
        "reader",
        "sock",
        "state",
        "tls",
        "wbuf",
        "wdelivered",
        "wlast",
        "wsent",
        "wsrc",
        "wstart",
    )

    def __init__(self, sock: "Any", addr: "Any", limits: "Limits", tls: bool) -> None:
        self.sock = sock
        self.fd: int = sock.fileno()
        self.addr = addr
        self.reader = RequestReader(limits)
        self.state = HANDSHAKE if tls else READING
        self.tls = tls
        self.deadline = 0.0
        self.owned = False
        self.closed = False
        self.in_request = False
        self.interest = READ  # what the poller watches for (MUTE while another thread owns it)
        self.wbuf: Any = None  # the unsent rest of a response, while WRITING
        self.wsrc: Any = None  # a FileBody still to send after wbuf, while WRITING
        self.wstart = 0.0  # when the parked write began
        self.wsent = 0  # bytes handed to the kernel since (and queued before)
        self.wdelivered = 0  # of these, bytes the client has taken
        self.wlast = 0.0  # when the client last took some
        self.after_write = "close"
        self.counted: Optional[str] = None  # the address counted in Engine.per_address


class Engine:
    """Serves connections accepted on ``listener`` with ``threads`` workers.

    ``handle(conn, parsed_request)`` runs one complete request (it writes
    the response with ``writer``) and returns ``'keep'``, ``'close'`` or
    ``'detached'`` (the connection was handed over, e.g. to a WebSocket).
    ``count(name)`` bumps a counter, ``log(msg)`` logs a problem.
    ``max_per_address`` (None: no cap) bounds the connections of one client
    address, WebSockets handed over included (:meth:`release_address`).
    """

    def __init__(
        self,
        listener: "Any",
        poller: "Any",
        handle: "Callable[[Conn, ParsedRequest], str]",
        writer: "ResponseWriter",
        count: "Callable[[str], Any]",
        log: "Callable[[str], Any]",
        limits: "Limits",
        threads: int,
        max_connections: int,
        request_timeout: float,
        keepalive_timeout: float,
        shutdown_grace: float,
        tls_context: "Any" = None,
        on_stop: "Optional[Callable[[], Any]]" = None,
        max_per_address: "Optional[int]" = None,
        write_timeout: float = 10.0,
        min_send_rate: "Optional[float]" = None,
    ) -> None:
        self.listener = listener
        self.listener_fd: int = listener.fileno()
        self.poller = poller
        self.handle = handle
        self.writer = writer
        self.count = count
        self.log = log
        self.limits = limits
        self.threads = threads
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self.keepalive_timeout = keepalive_timeout
        self.shutdown_grace = shutdown_grace
        self.tls_context = tls_context
        self.on_stop = on_stop
        self.max_per_address = max_per_address
        self.write_timeout = write_timeout
        self.min_send_rate = min_send_rate
        self.per_address: Dict[str, int] = {}  # open connections (and WebSockets) by address
        self._addr_lock = threading.Lock()
        self.conns: Dict[int, Conn] = {}
        self.workers: List[threading.Thread] = []
        self.loop_thread: Optional[threading.Thread] = None
        self.stopping = False
        self.exiting = False
        self.stopped = threading.Event()
        self._tick = threading.Event()
        self._own_lock = threading.Lock()
        self._parked: set = set()  # connections whose response the poller finishes
        self._ready: collections.deque = collections.deque()  # polled, not yet served
        # Leader and followers (see the module doc).
        self._pool_cond = threading.Condition()
        self._leader: Optional[int] = None  # the thread id of the leader
        self._waiting = 0  # workers waiting to lead
        self._busy_since: Dict[int, float] = {}  # worker id -> when its current event began
        self._watch = LeaderWatch()
        self._last_activity = 0.0
        poller.add(self.listener_fd)

    # ------------------------------------------------------------ lifecycle

    def run(self, background: bool) -> "Optional[threading.Thread]":
        """Start the workers and the housekeeping (in a thread with
        ``background``, else here, returning after shutdown)."""
        for i in range(self.threads):
            t = threading.Thread(target=self._worker, name="kweb-worker-%d" % i, daemon=True)
            t.start()
            self.workers.append(t)
        if background:
            t = threading.Thread(target=self._housekeep, name="kweb-loop", daemon=True)
            self.loop_thread = t
            t.start()
            return t
        self.loop_thread = threading.current_thread()
        self._housekeep()
        return None

    def stop(self) -> None:
        """Begin the graceful shutdown (the housekeeper carries it out)."""
        self.stopping = True
        self._tick.set()
        self.poller.wake()

    def is_engine_thread(self, thread: threading.Thread) -> bool:
        """True for the engine's own threads (which must not wait for the stop)."""
        return thread is self.loop_thread or thread in self.workers

    def connection_count(self) -> int:
        return len(self.conns)

    # ------------------------------------------------------------ housekeeping

    def _housekeep(self) -> None:
        """Timeouts and shutdown (and, without epoll, the selector)."""
        poller = self.poller
        next_sweep = time.monotonic() + 0.25
        grace_end = None
        try:
            while True:
                # Tick fast while requests flow (to notice slow handlers), slowly when idle.
                now = time.monotonic()
                tick = 0.005 if now - self._last_activity < 1.0 else 0.25
                if poller.shared:
                    self._tick.wait(tick)
                    self._tick.clear()
                else:
                    poller.dispatch(tick)
                now = time.monotonic()
                self._maybe_hand_over(now)
                if self.stopping:
                    if grace_end is None:
                        grace_end = now + self.shutdown_grace
                        self._stop_listening()
                    self._close_idle()
                    # Done once no worker is in an event and no response is parked.
                    if (not self._busy_since and not self._parked) or now > grace_end:
                        break
                if now >= next_sweep:
                    self._sweep(now)
                    next_sweep = now + 0.25
        except Exception as e:  # pragma: no cover - a bug here must not hang shutdown
            self.log("web server housekeeping failed: %r" % (e,))
        finally:
            self._finish_stop()

    def _stop_listening(self) -> None:
        self.poller.remove(self.listener_fd)
        try:
            self.listener.close()
        except OSError:
            pass

    def _claim(self, conn: Conn) -> bool:
        # Take ownership of a connection (False if another thread has it or it is closed).
        with self._own_lock:
            if conn.owned or conn.closed:
                return False
            conn.owned = True
            return True

    def _busy_elsewhere(self, conn: Conn) -> None:
        # A ready connection another thread owns: stop the poller reporting
        # it (level-triggered, it would spin) until the owner releases it.
        with self._own_lock:  # (registration changes under the lock: their order matters)
            if not conn.owned or conn.closed or self.poller.oneshot:
                return
            conn.interest = MUTE
            self.poller.arm(conn.fd, MUTE)

    def _release(self, conn: Conn, write: bool = False) -> None:
        # Give the connection back to the poller; the registration changes
        # only if the interest does (always, for a one-shot poller).
        want = WRITE if write else READ
        with self._own_lock:
            conn.owned = False
            if conn.interest == want and not self.poller.oneshot:
                return
            conn.interest = want
            self.poller.arm(conn.fd, want)

    def _close_idle(self) -> None:
        # Responses still being written are left to finish (until the grace ends).
        for conn in list(self.conns.values()):
            if conn.state != WRITING and self._claim(conn):
                self.close(conn)

    def _sweep(self, now: float) -> None:
        for conn in list(self.conns.values()):
            if now < conn.deadline or not self._claim(conn):
                continue
            if conn.state == READING and not conn.reader.started and _has_input(conn):
                # Not idle: a request arrived and waits for a busy worker.
                conn.deadline = now + self.request_timeout
                self._release(conn)
                continue
            if conn.state == READING and conn.reader.started:
                self.count("web-request-timeouts")
                self.writer.send_nowait(
                    conn, error_bytes(408, "request timeout", date=http_date())
                )
            elif conn.state == WRITING:
                self._write_deadline(conn, now)  # did the client take bytes meanwhile?
                if now < conn.deadline:
                    self._release(conn, write=True)
                    continue
                self.count("web-write-timeouts")
                _reset_on_close(conn.sock)  # drop what the kernel still queues for it
            self.close(conn)

    def _finish_stop(self) -> None:
        self.exiting = True
        self.poller.stop_workers(len(self.workers))
        with self._pool_cond:
            self._pool_cond.notify_all()
        me = threading.current_thread()
        for t in self.workers:
            if t is not me:
                t.join(self.shutdown_grace + 1.0)
        for conn in list(self.conns.values()):
            self.close(conn)
        if self.on_stop is not None:
            self.on_stop()
        try:
            self.poller.close()
        except OSError:
            pass
        self.stopped.set()

    def close(self, conn: Conn) -> None:
        """Close a connection the caller owns."""
        if conn.state == WRITING or conn.wsrc is not None:
            self._unpark(conn)
        conn.closed = True
        fd = conn.fd
        if self.conns.get(fd) is conn:
            del self.conns[fd]
        self.poller.forget(fd)
        try:
            conn.sock.close()
        except OSError:
            pass
        if conn.counted is not None:
            self.release_address(conn.counted)
            conn.counted = None

    def detach(self, conn: Conn) -> "Optional[str]":
        """Hand a connection over (WebSocket): the engine forgets it, open.
        Returns the address it still counts for: pass it to
        :meth:`release_address` when the connection closes."""
        fd = conn.fd
        if self.conns.get(fd) is conn:
            del self.conns[fd]
        self.poller.remove(fd)
        counted, conn.counted = conn.counted, None
        return counted

    def release_address(self, host: str) -> None:
        """One connection of ``host`` fewer (see ``max_per_address``)."""
        with self._addr_lock:
            n = self.per_address.get(host, 0) - 1
            if n > 0:
                self.per_address[host] = n
            else:
                self.per_address.pop(host, None)

    def _admit_address(self, host: str) -> bool:
        # Count one more connection of host, unless it has its share already.
        with self._addr_lock:
            n = self.per_address.get(host, 0)
            if self.max_per_address is not None and n >= self.max_per_address:
                return False
            self.per_address[host] = n + 1
            return True

    # ------------------------------------------------------------ workers

    def _worker(self) -> None:
        """A pool thread: waits to lead, then leads until it is asked to hand
        over (while it is in a slow event), then finishes that event and
        waits again."""
        me = threading.get_ident()
        self._watch.note_thread(me)
        cond = self._pool_cond
        while True:
            with cond:
                self._waiting += 1
                while self._leader is not None and not self.exiting:
                    cond.wait()  # notified when leadership is free, or at exit
                self._waiting -= 1
                if self.exiting:
                    return
                self._leader = me
            self._lead(me)
            if self.exiting:
                return

    def _lead(self, me: int) -> None:
        # Serve ready events while this thread is the leader. Events polled
        # in a batch wait in a deque shared by successive leaders, so none
        # waits behind a leader whose handler blocks.
        poller = self.poller
        conns = self.conns
        busy = self._busy_since
        ready = self._ready
        listener_fd = self.listener_fd
        while self._leader == me and not self.exiting:
            try:
                fd = ready.popleft()[0]
            except IndexError:
                try:
                    events = poller.wait(0.25)
                except (OSError, ValueError):  # poller closed under us: we are stopping
                    if self.exiting:
                        return
                    time.sleep(0.01)
                    continue
                ready.extend(events)
                continue
            if fd == listener_fd:
                if not self.stopping:
                    self._accept()
                    if poller.oneshot:
                        poller.arm(fd, READ)
                elif not poller.oneshot:
                    poller.arm(fd, MUTE)  # until the housekeeper closes it: no spinning
                continue
            conn = conns.get(fd)
            if conn is None:
                continue
            if not self._claim(conn):
                self._busy_elsewhere(conn)
                continue
            now = time.monotonic()
            busy[me] = now
            if now - self._last_activity >= 1.0:  # the housekeeper ticks slowly when idle
                self._tick.set()
                poller.wake()
            self._last_activity = now
            try:
                self._on_event(conn)
            except Exception as e:  # pragma: no cover - last line of defence
                self.log("worker failed: %r" % (e,))
                self.close(conn)
            finally:
                del busy[me]
            if self.stopping:
                self._tick.set()
        if self._leader == me:  # stopping: let the next one see that too
            with self._pool_cond:
                self._leader = None
                self._pool_cond.notify()

    def _maybe_hand_over(self, now: float) -> None:
        """Hand leadership to a waiting worker when the leader's current
        event is slow for a reason another thread can help with (see
        :class:`~kcore.webserver._handover.LeaderWatch`)."""
        leader = self._leader
        started = self._busy_since.get(leader) if leader is not None else None
        if started is None or self._waiting == 0:
            self._watch.forget()
            return
        if not self._watch.hand_over(leader, started, now):  # type: ignore[arg-type]
            return
        with self._pool_cond:
            if self._leader != leader or self._waiting == 0:
                return
            self._leader = None
            self._pool_cond.notify()
        self.count("web-workers-activated")

    def _accept(self) -> None:
        listener = self.listener
        for _ in range(64):
            try:
                sock, addr = listener.accept()
            except OSError as e:
                if isinstance(e, BlockingIOError) or e.errno in _AGAIN:
                    return
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.log("accept failed: %s" % os.strerror(e.errno))
                    time.sleep(0.05)  # let connections close instead of spinning
                    return
                if e.errno == errno.EBADF:  # listener closed by shutdown
                    return
                continue
            self.count("web-connections-total")
            host = addr[0] if isinstance(addr, tuple) else str(addr)
            refusal = None
            if len(self.conns) >= self.max_connections or self.stopping:
                refusal = "too many connections"
            elif not self._admit_address(host):
                refusal = "too many connections from your address"
                self.count("web-connections-rejected-per-address")
            if refusal is not None:
                self.count("web-connections-rejected")
                try:
                    sock.setblocking(False)
                    sock.send(error_bytes(503, refusal, date=http_date()))
                except OSError:
                    pass
                sock.close()
                continue
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            tls = self.tls_context is not None
            if tls:
                try:
                    sock = self.tls_context.wrap_socket(
                        sock, server_side=True, do_handshake_on_connect=False
                    )
                except OSError:
                    sock.close()
                    self.release_address(host)
                    continue
            conn = Conn(sock, addr, self.limits, tls)
            conn.counted = host
            conn.deadline = time.monotonic() + (
                self.request_timeout if tls else self.keepalive_timeout
            )
            self.conns[conn.fd] = conn
            self.poller.add(conn.fd)

    # ------------------------------------------------------------ connection events

    def _on_event(self, conn: Conn) -> None:
        if conn.state == READING:
            if self._fill(conn) == "closed":
                self.close(conn)
            else:
                self._advance(conn)
        elif conn.state == WRITING:
            self._write_more(conn)
        elif conn.state == HANDSHAKE:
            self._handshake(conn)
        else:
            self._linger(conn)

    def _park(self, conn: Conn) -> None:
        # The socket buffer is full (or a file is to be sent): keep the rest
        # of the response on the connection and free the worker; EPOLLOUT
        # resumes the write.
        self._parked.add(conn)  # shutdown waits for parked responses too
        conn.state = WRITING
        now = time.monotonic()
        conn.wstart = conn.wlast = now
        conn.wsent = _unsent(conn.fd) or 0  # already queued: delivered counts from here
        conn.wdelivered = 0
        conn.deadline = now + self.write_timeout
        self._release(conn, write=True)

    def _unpark(self, conn: Conn) -> None:
        conn.state = READING
        conn.wbuf = None
        src, conn.wsrc = conn.wsrc, None
        if src is not None:
            src.close()
        self._parked.discard(conn)
        if self.stopping:
            self._tick.set()

    def _progress(self, conn: Conn, sent: int) -> None:
        conn.wsent += sent
        self._write_deadline(conn, time.monotonic())

    def _write_deadline(self, conn: Conn, now: float) -> None:
        # The client must take bytes every write_timeout seconds, and on
        # average min_send_rate a second after the first write_timeout, so
        # a reader trickling bytes is cut too.
        unsent = _unsent(conn.fd)
        delivered = conn.wsent - unsent if unsent is not None else conn.wsent
        if delivered > conn.wdelivered:
            conn.wdelivered = delivered
            conn.wlast = now
        deadline = conn.wlast + self.write_timeout
        rate = self.min_send_rate
        if rate:
            deadline = min(deadline, conn.wstart + self.write_timeout + conn.wdelivered / rate)
        conn.deadline = deadline

    def _write_more(self, conn: Conn) -> None:
        try:
            done, sent = self.writer.pump(conn)
        except Closed:
            self.close(conn)
            return
        if sent:
            self._progress(conn, sent)
        if not done:
            self._release(conn, write=True)
            return
        self._unpark(conn)
        if conn.after_write != "keep" or self.stopping:
            self._close_after_response(conn)
            return
        conn.deadline = time.monotonic() + self.keepalive_timeout
        self._advance(conn)

    def _handshake(self, conn: Conn) -> None:
        import ssl

        try:
            conn.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._release(conn)
            return
        except ssl.SSLWantWriteError:
            self._release(conn, write=True)
            return
        except (OSError, ValueError):
            self.count("web-tls-handshake-failed")
            self.close(conn)
            return
        conn.state = READING
        conn.deadline = time.monotonic() + self.keepalive_timeout
        self._read(conn)

    def _read(self, conn: Conn) -> None:
        if self._fill(conn) == "closed":
            self.close(conn)
            return
        self._advance(conn)

    def _advance(self, conn: Conn) -> None:
        """Serve every complete request buffered on ``conn``, then re-arm it."""
        reader = conn.reader
        while True:
            try:
                req = reader.next_request()
            except HttpError as e:
                self._reject(conn, e)
                return
            if req is None:
                if conn.tls and conn.sock.pending():
                    if self._fill(conn) == "closed":
                        self.close(conn)
                        return
                    continue
                if reader.continue_pending:
                    reader.continue_pending = False
                    self.writer.send_nowait(conn, response_head(100, keep_alive=True))
                if not reader.started:
                    conn.deadline = time.monotonic() + self.keepalive_timeout
                elif not conn.in_request:  # a request has begun: it must arrive in time
                    conn.in_request = True
                    conn.deadline = time.monotonic() + self.request_timeout
                self._release(conn)
                return
            conn.in_request = False
            outcome = self.handle(conn, req)
            if outcome == "detached":
                return
            if conn.wsrc is not None:  # a file: send what fits now
                try:
                    self.writer.pump(conn)
                except Closed:
                    self.close(conn)
                    return
            if conn.wbuf is not None or conn.wsrc is not None:
                conn.after_write = outcome
                self._park(conn)
                return
            if outcome != "keep" or self.stopping:
                self._close_after_response(conn)
                return
            if not reader.buf and not conn.tls:  # nothing more buffered: skip the parser
                conn.deadline = time.monotonic() + self.keepalive_timeout
                self._release(conn)
                return

    def _fill(self, conn: Conn) -> str:
        """Read what is available without blocking: 'ok' or 'closed'."""
        sock = conn.sock
        reader = conn.reader
        cap = self.limits.max_header_bytes + self.limits.max_body + 65536
        while len(reader.buf) < cap:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return "ok"
            except OSError as e:
                if conn.tls and is_ssl_want(e):
                    return "ok"
                return "closed"
            if not data:
                return "closed"
            reader.feed(data)
            if len(data) < 65536 and not (conn.tls and sock.pending()):
                return "ok"
        return "ok"

    def _reject(self, conn: Conn, err: HttpError) -> None:
        self.count("web-status-%d" % err.status)
        self.count("web-bad-request")
        self.writer.send_nowait(conn, error_bytes(err.status, err.message, date=http_date()))
        self._start_linger(conn)

    def _close_after_response(self, conn: Conn) -> None:
        if conn.reader.buf and not conn.tls:
            self._start_linger(conn)
        else:
            self.close(conn)

    def _start_linger(self, conn: Conn) -> None:
        # Half-close and drain what the client still sends for a moment, so
        # our error response is not destroyed by a TCP reset.
        if conn.tls:
            self.close(conn)
            return
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close(conn)
            return
        conn.state = LINGER
        conn.deadline = time.monotonic() + 2.0
        conn.reader.buf = bytearray()
        self._release(conn)

    def _linger(self, conn: Conn) -> None:
        try:
            while True:
                data = conn.sock.recv(65536)
                if not data:
                    self.close(conn)
                    return
        except (BlockingIOError, InterruptedError):
            self._release(conn)
        except OSError:
            self.close(conn)


_OUTQ: "List[Any]" = []  # [fcntl.ioctl, TIOCOUTQ] once looked up; [None] where unknown


def _unsent(fd: int) -> "Optional[int]":
    """Bytes in the kernel's send queue of socket ``fd`` (not yet taken by
    the peer), or None where the kernel does not say."""
    if not _OUTQ:
        try:
            import fcntl
            import termios

            _OUTQ[:] = [fcntl.ioctl, termios.TIOCOUTQ]  # (SIOCOUTQ on Linux)
        except (ImportError, AttributeError):
            _OUTQ[:] = [None]
    if _OUTQ[0] is None:
        return None
    try:
        return int.from_bytes(_OUTQ[0](fd, _OUTQ[1], b"\0\0\0\0"), sys.byteorder)
    except (OSError, ValueError):
        return None


def _reset_on_close(sock: "Any") -> None:
    # Closing will reset the connection (SO_LINGER 0) instead of sending
    # the queued bytes first.
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, ValueError):
        pass


def _has_input(conn: Conn) -> bool:
    """True if bytes (not just the end of the stream) wait on the socket."""
    try:
        p = select.poll()
        p.register(conn.fd, select.POLLIN)
        if not p.poll(0):
            return False
        if conn.tls:
            return True  # cannot peek through TLS; the worker will see an EOF
        return bool(conn.sock.recv(1, socket.MSG_PEEK))
    except (OSError, ValueError):
        return False
