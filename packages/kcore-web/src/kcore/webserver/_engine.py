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
either. A slow or hostile client therefore only ever costs a buffer, never
a thread, and TLS handshakes proceed in non-blocking steps.

A housekeeping thread enforces the request, idle, write and linger
timeouts and runs the graceful shutdown.

States of a connection: READING (waiting for or reading a request),
HANDSHAKE (TLS), WRITING (a parked response is being finished), LINGER
(half-closed after an error reply, draining what the client still sends).
"""

import collections
import errno
import os
import select
import socket
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
        self.after_write = "close"


class Engine:
    """Serves connections accepted on ``listener`` with ``threads`` workers.

    ``handle(conn, parsed_request)`` runs one complete request (it writes
    the response with ``writer``) and returns ``'keep'``, ``'close'`` or
    ``'detached'`` (the connection was handed over, e.g. to a WebSocket).
    ``count(name)`` bumps a counter, ``log(msg)`` logs a problem.
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
                self.count("web-write-timeouts")
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
        if conn.state == WRITING:
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

    def detach(self, conn: Conn) -> None:
        """Hand a connection over (WebSocket): the engine forgets it, open."""
        fd = conn.fd
        if self.conns.get(fd) is conn:
            del self.conns[fd]
        self.poller.remove(fd)

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
            if len(self.conns) >= self.max_connections or self.stopping:
                self.count("web-connections-rejected")
                try:
                    sock.setblocking(False)
                    sock.send(error_bytes(503, "too many connections", date=http_date()))
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
                    continue
            conn = Conn(sock, addr, self.limits, tls)
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
        # The socket buffer is full: keep the rest of the response on the
        # connection and free the worker; EPOLLOUT resumes the write.
        self._parked.add(conn)  # shutdown waits for parked responses too
        conn.state = WRITING
        conn.deadline = time.monotonic() + self.writer.write_timeout
        self._release(conn, write=True)

    def _unpark(self, conn: Conn) -> None:
        conn.state = READING
        conn.wbuf = None
        self._parked.discard(conn)
        if self.stopping:
            self._tick.set()

    def _write_more(self, conn: Conn) -> None:
        try:
            rest = self.writer.send_some(conn, conn.wbuf)
        except Closed:
            self.close(conn)
            return
        if rest is not None:
            conn.wbuf = rest
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
            if conn.wbuf is not None:
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
