"""The CPython network engine of kcore.webserver.

A fixed pool of worker threads shares one epoll set (a selector thread
feeds them where there is no epoll); normally one of them is active, more
are activated while handlers are slow (see ``WebServer._worker``).
Connections are armed one-shot, so a ready connection wakes exactly one
worker, which reads what is there
without blocking, parses it, and runs the handler only once a whole request
is buffered; then it writes the response (what does not fit the socket
buffer is finished later on EPOLLOUT, so a client that does not read costs
no thread either), answers pipelined requests already buffered, and re-arms
the connection. A
slow or hostile client therefore only ever costs a buffer, never a thread,
and TLS handshakes proceed in non-blocking steps. A housekeeping thread
enforces the request, idle and linger timeouts and runs the graceful
shutdown. Every resource is bounded: connections, threads, header and body
sizes, read, idle and write times.

A connection is owned by one thread at a time (``_claim``/``_release``
under a lock), so the timeout sweep never races a worker.
"""

import collections
import errno
import os
import queue
import select
import socket
import sys
import threading
import time
from typing import Any

from kcore import varz as V
from kcore.webserver._http import Limits, RequestReader
from kcore.webserver_base import (
    STATUS_TEXT,
    TEXT_PLAIN,
    HttpError,
    Request,
    Response,
    WebServerBase,
    check_path,
    default_logging_adapter,
    parse_form,
)

_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK)
SLOW_HANDLER = 0.002  # seconds in a handler after which another worker is activated
_ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
_FORM_METHODS = ("POST", "PUT", "PATCH")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_date_cache = [0, b""]


def _http_date():
    now = int(time.time())
    if now != _date_cache[0]:
        t = time.gmtime(now)
        _date_cache[1] = (
            "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n"
            % (
                _WEEKDAYS[t.tm_wday],
                t.tm_mday,
                _MONTHS[t.tm_mon - 1],
                t.tm_year,
                t.tm_hour,
                t.tm_min,
                t.tm_sec,
            )
        ).encode()
        _date_cache[0] = now
    return _date_cache[1]


# ---------------------------------------------------------------- pollers


class _EpollPoller:
    """One epoll set shared by every worker thread. Descriptors are armed
    one-shot, so a ready connection wakes exactly one worker, which owns it
    until it re-arms it."""

    shared = True

    def __init__(self):
        self._ep = select.epoll()
        self._in = select.EPOLLIN | select.EPOLLONESHOT | select.EPOLLRDHUP
        self._out = select.EPOLLOUT | select.EPOLLONESHOT

    def add(self, fd, write=False):
        self._ep.register(fd, self._out if write else self._in)

    def arm(self, fd, write=False):
        try:
            self._ep.modify(fd, self._out if write else self._in)
        except OSError:  # closed meanwhile (sweep, shutdown): nothing to arm
            pass

    def remove(self, fd):
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    def wait(self, timeout):
        # One event at a time: a worker never sits on ready connections
        # while its handler blocks (batching gained little and risked that).
        return self._ep.poll(timeout, 1)

    def wake(self):
        pass

    def stop_workers(self, n):
        # A level-triggered readable socket wakes every waiting worker.
        self._stop_r, self._stop_w = socket.socketpair()
        self._ep.register(self._stop_r.fileno(), select.EPOLLIN)
        self._stop_w.send(b"x")

    def close(self):
        self._ep.close()
        for s in (getattr(self, "_stop_r", None), getattr(self, "_stop_w", None)):
            if s is not None:
                s.close()


class _SelectorPoller:
    """Portable fallback (no epoll): the housekeeping thread runs a selector
    and hands ready descriptors to the workers through a queue; one-shot
    arming is emulated by unregistering on each event."""

    shared = False

    def __init__(self):
        import selectors

        self._events = selectors.EVENT_READ, selectors.EVENT_WRITE
        self._sel = selectors.DefaultSelector()
        self._pending: collections.deque = collections.deque()
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, self._events[0], "wake")

    def add(self, fd, write=False):
        self.arm(fd, write)

    def arm(self, fd, write=False):
        self._pending.append((fd, write))
        self.wake()

    def remove(self, fd):
        self._pending.append((fd, None))
        self.wake()

    def wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def wait(self, timeout):
        try:
            return [self._ready.get(timeout=timeout)]
        except queue.Empty:
            return []

    def stop_workers(self, n):
        for _ in range(n):
            self._ready.put((-2, 0))

    def dispatch(self, timeout):
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

    def close(self):
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()


# ---------------------------------------------------------------- connections

_READING, _HANDSHAKE, _LINGER, _WRITING = range(4)


class _Conn:
    __slots__ = (
        "addr",
        "after_write",
        "closed",
        "deadline",
        "fd",
        "in_request",
        "owned",
        "reader",
        "sock",
        "state",
        "tls",
        "wbuf",
    )

    def __init__(self, sock, addr, limits, tls):
        self.sock = sock
        self.fd = sock.fileno()
        self.addr = addr
        self.reader = RequestReader(limits)
        self.state = _HANDSHAKE if tls else _READING
        self.tls = tls
        self.deadline = 0.0
        self.owned = False
        self.closed = False
        self.in_request = False
        self.wbuf = None  # the unsent rest of a response, while _WRITING
        self.after_write = "close"


class _Closed(Exception):
    """The peer went away (or timed out) while we were writing."""


class WebServer(WebServerBase):
    """The kcore web server for CPython: WebServerBase plus networking.

    Construct with the WebServerBase arguments (routes, context, ...) plus
    the limits below, then :meth:`start`. Defaults are safe for a small
    service on a LAN or behind a proxy:

    ``max_connections`` open connections (more are answered 503 and closed),
    ``threads`` handler threads (16; one is active while handlers are quick,
    more are activated while handlers block, see :meth:`_worker`),
    ``max_header_bytes``/``max_body`` request sizes (431/413),
    ``request_timeout`` seconds for a whole request to arrive once started
    (408), ``keepalive_timeout`` seconds an idle connection stays open,
    ``write_timeout`` seconds a client may take to accept a response,
    ``max_websockets`` concurrent WebSocket sessions
    (each gets its own thread, apart from the handler pool).
    """

    def __init__(
        self,
        handlers=None,
        port=None,
        *args,
        max_connections=1000,
        threads=16,
        max_header_bytes=16384,
        max_body=1048576,
        request_timeout=10.0,
        keepalive_timeout=15.0,
        write_timeout=10.0,
        max_websockets=64,
        backlog=1024,
        shutdown_grace=5.0,
        force_selector=False,
        **kwargs,
    ):
        if "logging_adapter" not in kwargs or kwargs["logging_adapter"] is None:
            kwargs["logging_adapter"] = default_logging_adapter()
        super().__init__(handlers, port, *args, **kwargs)
        if threads < 1 or max_connections < 1:
            raise ValueError("threads and max_connections must be >= 1")
        self.max_connections = max_connections
        self.threads = threads
        self.limits = Limits(max_header_bytes=max_header_bytes, max_body=max_body)
        self.request_timeout = request_timeout
        self.keepalive_timeout = keepalive_timeout
        self.write_timeout = write_timeout
        self.max_websockets = max_websockets
        self.backlog = backlog
        self.shutdown_grace = shutdown_grace
        self.websocket_routes = []
        self.listen_address = None
        self.web_thread = None
        self._listener: Any = None
        self._tls_context: Any = None
        self._force_selector = force_selector
        self._poller: Any = None
        self._listener_fd = -1
        self._conns = {}
        self._workers = []
        self._websockets = {}
        self._ws_lock = threading.Lock()
        self._own_lock = threading.Lock()
        self._stopping = False
        self._exiting = False
        self._stopped = threading.Event()
        self._tick = threading.Event()
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._loop_thread = None
        # Adaptive concurrency: one worker is active (polls and runs handlers)
        # until handlers are slow; then the housekeeper lets more in.
        self._pool_cond = threading.Condition()
        self._allowed = 1
        self._active = 0
        self._busy_since: dict = {}  # worker id -> when its current event began
        self._last_activity = 0.0
        if "/varz" in self.standard_handlers:
            self.standard_handlers["/varz"] = ws_varz_handler

    # ------------------------------------------------------------ routes

    def add_websocket_handler(self, route_regex, handler, subprotocols=None):
        """Serve WebSockets at ``route_regex``: ``handler(ws)`` runs in its own
        thread with a :class:`~kcore.webserver.websocket.WebSocket` (``ws.request``
        is the upgrade request). Plain HTTP requests there get 426."""
        import re

        from kcore.webserver_base import _normalize

        regex = _normalize(route_regex)
        self.websocket_routes.append((re.compile(regex), handler, subprotocols))

    def add_static(self, url_prefix, directory, index="index.html"):
        """Serve the files under ``directory`` at ``url_prefix/...`` (no
        listing, nothing outside ``directory``, also through symlinks)."""
        from kcore.webserver.static import static_handler

        prefix = "/" + url_prefix.strip("/")
        if prefix == "/":
            prefix = ""
        escaped = "".join(["\\" + c if c in ".^$*+?{}[]\\|()" else c for c in prefix])
        self.add_handler(escaped + "/(.*)", static_handler(directory, index=index))

    # ------------------------------------------------------------ lifecycle

    def start(
        self,
        port=None,
        listen="127.0.0.1",
        background=True,
        tls_cert_file=None,
        tls_key_file=None,
        tls_key_password=None,
        tls_client_ca_file=None,
        tls_client_cert_required=True,
        server_class=None,
    ):
        """Bind, listen and serve. ``port`` 0 picks a free port (see
        ``self.port`` afterwards); ``listen`` defaults to loopback. TLS when
        ``tls_cert_file`` is given; with ``tls_client_ca_file`` clients must
        present a certificate signed by that CA (optional if
        ``tls_client_cert_required`` is False); the verified certificate is
        ``request.tls_peer_cert``. ``background`` returns the housekeeping
        thread; otherwise blocks until :meth:`shutdown`. ``server_class`` is
        accepted for compatibility with the original and ignored."""
        if port is None:
            port = self.port if self.port is not None else 80
        if self._listener is not None:
            raise RuntimeError("this WebServer is already started")
        self.max_connections = min(self.max_connections, _fd_budget())
        if tls_cert_file:
            self._tls_context = _tls_context(
                tls_cert_file,
                tls_key_file,
                tls_key_password,
                tls_client_ca_file,
                tls_client_cert_required,
            )
        family = socket.AF_INET6 if ":" in listen else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((listen, port))
            sock.listen(self.backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._listener = sock
        self._listener_fd = sock.fileno()
        self.port = sock.getsockname()[1]
        self.listen_address = listen
        if hasattr(select, "epoll") and not self._force_selector:
            self._poller = _EpollPoller()
        else:
            self._poller = _SelectorPoller()
        self._poller.add(self._listener_fd)
        V.set("web-connections-open", lambda: len(self._conns))
        for i in range(self.threads):
            t = threading.Thread(target=self._worker, name="kweb-worker-%d" % i, daemon=True)
            t.start()
            self._workers.append(t)
        if background:
            t = threading.Thread(target=self._housekeep, name="kweb-loop", daemon=True)
            self._loop_thread = self.web_thread = t
            t.start()
            return t
        self._loop_thread = threading.current_thread()
        self._housekeep()
        return None

    def shutdown(self, timeout=None):
        """Stop: no new connections, in-flight requests finish (up to
        ``shutdown_grace`` seconds), idle connections and WebSockets close.
        From a handler it returns at once (the handler's response is still
        sent); from elsewhere it waits up to ``timeout`` seconds for the
        threads to end and returns True if they did."""
        self._stopping = True
        self._tick.set()
        if self._poller is not None:
            self._poller.wake()
        with self._ws_lock:
            sessions = list(self._websockets.values())
        for ws in sessions:
            ws.close(1001, "server shutting down")
        me = threading.current_thread()
        if me is self._loop_thread or me in self._workers or self._loop_thread is None:
            return False
        if me.name.startswith("kweb-ws-"):
            return False
        timeout = self.shutdown_grace + 5.0 if timeout is None else timeout
        return self._stopped.wait(timeout)

    def close(self):
        self.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

    # ------------------------------------------------------------ housekeeping

    def _housekeep(self):
        """Timeouts and shutdown (and, without epoll, the selector)."""
        poller = self._poller
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
                self._maybe_grow(now)
                if self._stopping:
                    if grace_end is None:
                        grace_end = now + self.shutdown_grace
                        self._stop_listening()
                    self._close_idle()
                    if self._busy <= 0 or now > grace_end:
                        break
                if now >= next_sweep:
                    self._sweep(now)
                    next_sweep = now + 0.25
        except Exception as e:  # pragma: no cover - a bug here must not hang shutdown
            self._log_general("web server housekeeping failed: %r" % (e,))
        finally:
            self._finish_stop()

    def _stop_listening(self):
        listener = self._listener
        if listener is not None:
            self._poller.remove(listener.fileno())
            try:
                listener.close()
            except OSError:
                pass

    def _claim(self, conn):
        # Take ownership of a connection (False if another thread has it or it is closed).
        with self._own_lock:
            if conn.owned or conn.closed:
                return False
            conn.owned = True
            return True

    def _release(self, conn, write=False):
        # Give the connection back to the poller (it is re-armed one-shot).
        with self._own_lock:
            conn.owned = False
        self._poller.arm(conn.fd, write)

    def _close_idle(self):
        # Responses still being written are left to finish (until the grace ends).
        for conn in list(self._conns.values()):
            if conn.state != _WRITING and self._claim(conn):
                self._close(conn)

    def _sweep(self, now):
        for conn in list(self._conns.values()):
            if now < conn.deadline or not self._claim(conn):
                continue
            if conn.state == _READING and not conn.reader.started and _has_input(conn):
                # Not idle: a request arrived and waits for a busy worker.
                conn.deadline = now + self.request_timeout
                self._release(conn)
                continue
            if conn.state == _READING and conn.reader.started:
                V.bump("web-request-timeouts")
                self._send_nowait(conn, _error_bytes(408, "request timeout", False))
            elif conn.state == _WRITING:
                V.bump("web-write-timeouts")
            self._close(conn)

    def _finish_stop(self):
        self._exiting = True
        self._poller.stop_workers(len(self._workers))
        with self._pool_cond:
            self._pool_cond.notify_all()
        me = threading.current_thread()
        for t in self._workers:
            if t is not me:
                t.join(self.shutdown_grace + 1.0)
        for conn in list(self._conns.values()):
            self._close(conn)
        with self._ws_lock:
            sessions = list(self._websockets.values())
        for ws in sessions:
            ws.close(1001, "server shutting down")
        try:
            self._poller.close()
        except OSError:
            pass
        self._stopped.set()

    def _close(self, conn):
        if conn.state == _WRITING:
            self._unpark(conn)
        conn.closed = True
        fd = conn.fd
        if self._conns.get(fd) is conn:
            del self._conns[fd]
        self._poller.remove(fd)
        try:
            conn.sock.close()
        except OSError:
            pass

    # ------------------------------------------------------------ workers

    def _worker(self):
        """A pool thread: parked until allowed to be active, then serving.

        Under the GIL, threads that all poll take turns at every system call
        (each request would change hands several times). So normally one
        worker polls and runs handlers; when every active worker has been in
        a handler for longer than SLOW_HANDLER seconds, the housekeeper
        activates another one (up to ``threads``), and extra workers park
        again once handlers are quick."""
        me = threading.get_ident()
        cond = self._pool_cond
        while True:
            with cond:
                while self._active >= self._allowed and not self._exiting:
                    cond.wait()  # notified when more workers are allowed, or at exit
                if self._exiting:
                    return
                self._active += 1
            try:
                self._work(me)
            finally:
                with cond:
                    self._active -= 1
            if self._exiting:
                return

    def _work(self, me):
        poller = self._poller
        conns = self._conns
        busy = self._busy_since
        while not self._exiting:
            try:
                events = poller.wait(0.25)
            except (OSError, ValueError):  # poller closed under us: we are stopping
                if self._exiting:
                    return
                time.sleep(0.01)
                continue
            for fd, _ev in events:
                if self._exiting:
                    return
                if fd == self._listener_fd:
                    if not self._stopping:
                        self._accept()
                        poller.arm(fd)
                    continue
                conn = conns.get(fd)
                if conn is None or not self._claim(conn):
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
                    self._log_general("worker failed: %r" % (e,))
                    self._close(conn)
                finally:
                    del busy[me]
                if self._allowed > 1:
                    self._maybe_shrink()
            if self._active > self._allowed:
                with self._pool_cond:
                    if self._active > self._allowed:
                        return  # park

    def _maybe_shrink(self):
        # Handlers are quick again (no one else is stuck in a slow one):
        # one active worker fewer.
        now = time.monotonic()
        for started in list(self._busy_since.values()):
            if now - started > SLOW_HANDLER:
                return
        with self._pool_cond:
            if self._allowed > 1:
                self._allowed -= 1

    def _maybe_grow(self, now):
        # Every active worker is stuck in a slow handler: activate one more.
        if self._allowed >= self.threads:
            return
        slow = 0
        for started in list(self._busy_since.values()):
            if now - started > SLOW_HANDLER:
                slow += 1
        if slow >= self._allowed:
            V.bump("web-workers-activated")
            with self._pool_cond:
                self._allowed += 1
                self._pool_cond.notify()

    def _accept(self):
        listener = self._listener
        for _ in range(64):
            try:
                sock, addr = listener.accept()
            except OSError as e:
                if isinstance(e, BlockingIOError) or e.errno in _AGAIN:
                    return
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._log_general("accept failed: %s" % os.strerror(e.errno))
                    time.sleep(0.05)  # let connections close instead of spinning
                    return
                if e.errno == errno.EBADF:  # listener closed by shutdown
                    return
                continue
            V.bump("web-connections-total")
            if len(self._conns) >= self.max_connections or self._stopping:
                V.bump("web-connections-rejected")
                try:
                    sock.setblocking(False)
                    sock.send(_error_bytes(503, "too many connections", False))
                except OSError:
                    pass
                sock.close()
                continue
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            tls = self._tls_context is not None
            if tls:
                try:
                    sock = self._tls_context.wrap_socket(
                        sock, server_side=True, do_handshake_on_connect=False
                    )
                except OSError:
                    sock.close()
                    continue
            conn = _Conn(sock, addr, self.limits, tls)
            conn.deadline = time.monotonic() + (
                self.request_timeout if tls else self.keepalive_timeout
            )
            self._conns[conn.fd] = conn
            self._poller.add(conn.fd)

    def _on_event(self, conn):
        if conn.state == _READING:
            self._read(conn)
        elif conn.state == _WRITING:
            self._write_more(conn)
        elif conn.state == _HANDSHAKE:
            self._handshake(conn)
        else:
            self._linger(conn)

    def _park(self, conn):
        # The socket buffer is full: keep the rest of the response on the
        # connection and free the worker; EPOLLOUT resumes the write.
        with self._busy_lock:
            self._busy += 1  # shutdown waits for parked responses too
        conn.state = _WRITING
        conn.deadline = time.monotonic() + self.write_timeout
        self._release(conn, write=True)

    def _unpark(self, conn):
        conn.state = _READING
        conn.wbuf = None
        with self._busy_lock:
            self._busy -= 1
        if self._stopping:
            self._tick.set()

    def _write_more(self, conn):
        try:
            rest = self._send_some(conn, conn.wbuf)
        except _Closed:
            self._close(conn)
            return
        if rest is not None:
            conn.wbuf = rest
            self._release(conn, write=True)
            return
        self._unpark(conn)
        if conn.after_write != "keep" or self._stopping:
            self._close_after_response(conn)
            return
        conn.deadline = time.monotonic() + self.keepalive_timeout
        self._advance(conn)

    def _send_some(self, conn, data):
        """Send without blocking: None when all is sent, else the unsent rest."""
        view = memoryview(data)
        sock = conn.sock
        while view:
            try:
                n = sock.send(view)
            except (BlockingIOError, InterruptedError):
                return view
            except OSError as e:
                if conn.tls and _is_ssl_want(e):
                    return view
                raise _Closed()
            view = view[n:]
        return None

    def _handshake(self, conn):
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
            V.bump("web-tls-handshake-failed")
            self._close(conn)
            return
        conn.state = _READING
        conn.deadline = time.monotonic() + self.keepalive_timeout
        self._read(conn)

    def _read(self, conn):
        if self._fill(conn) == "closed":
            self._close(conn)
            return
        self._advance(conn)

    def _advance(self, conn):
        """Serve every complete request buffered on ``conn``, then re-arm it."""
        reader = conn.reader
        while True:
            if not conn.in_request and reader.started:
                conn.in_request = True
                conn.deadline = time.monotonic() + self.request_timeout
            try:
                req = reader.next_request()
            except HttpError as e:
                self._reject(conn, e)
                return
            if req is None:
                if conn.tls and conn.sock.pending():
                    if self._fill(conn) == "closed":
                        self._close(conn)
                        return
                    continue
                if reader.continue_pending:
                    reader.continue_pending = False
                    self._send_nowait(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
                if not conn.in_request:
                    conn.deadline = time.monotonic() + self.keepalive_timeout
                self._release(conn)
                return
            conn.in_request = False
            with self._busy_lock:
                self._busy += 1
            try:
                outcome = self._handle(conn, req)
            finally:
                with self._busy_lock:
                    self._busy -= 1
                if self._stopping:
                    self._tick.set()
            if outcome == "detached":
                return
            if conn.wbuf is not None:
                conn.after_write = outcome
                self._park(conn)
                return
            if outcome != "keep" or self._stopping:
                self._close_after_response(conn)
                return

    def _fill(self, conn):
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
                if conn.tls and _is_ssl_want(e):
                    return "ok"
                return "closed"
            if not data:
                return "closed"
            reader.feed(data)
            if len(data) < 65536 and not (conn.tls and sock.pending()):
                return "ok"
        return "ok"

    def _reject(self, conn, err):
        V.bump("web-status-%d" % err.status)
        V.bump("web-bad-request")
        self._send_nowait(conn, _error_bytes(err.status, err.message, False))
        self._start_linger(conn)

    def _send_nowait(self, conn, data):
        try:
            conn.sock.send(data)
        except OSError:
            pass

    def _close_after_response(self, conn):
        if conn.reader.buf and not conn.tls:
            self._start_linger(conn)
        else:
            self._close(conn)

    def _start_linger(self, conn):
        # Half-close and drain what the client still sends for a moment, so
        # our error response is not destroyed by a TCP reset.
        if conn.tls:
            self._close(conn)
            return
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.state = _LINGER
        conn.deadline = time.monotonic() + 2.0
        conn.reader.buf = bytearray()
        self._release(conn)

    def _linger(self, conn):
        try:
            while True:
                data = conn.sock.recv(65536)
                if not data:
                    self._close(conn)
                    return
        except (BlockingIOError, InterruptedError):
            self._release(conn)
        except OSError:
            self._close(conn)

    def _handle(self, conn, preq):
        """Run one request: 'keep', 'close' or 'detached' (WebSocket)."""
        method = preq.method
        keep_alive = preq.keep_alive and not self._stopping
        head_only = method == "HEAD"
        try:
            if method not in _ALLOWED_METHODS:
                raise HttpError(501, "method not implemented")
            path = preq.target.split("?", 1)[0]
            check_path(path)
            request = Request(
                method,
                preq.target,
                body=preq.body,
                headers=preq.headers,
                remote_address=conn.addr,
                server=self,
                http_version=preq.version,
            )
            if conn.tls:
                request.tls_peer_cert = conn.sock.getpeercert() or None
            if self.websocket_routes:
                outcome = self._maybe_websocket(conn, request)
                if outcome is not None:
                    return outcome
            if preq.body and method in _FORM_METHODS:
                request.post_params, request.files = parse_form(
                    preq.headers.get("content-type"), preq.body
                )
            response = self.find_and_run_handler(request)
        except HttpError as e:
            V.bump("web-status-%d" % e.status)
            response = Response(e.message + "\n", e.status, msg_type=TEXT_PLAIN)
            keep_alive = False
        keep_alive = keep_alive and not self._stopping  # the handler may have stopped us
        try:
            keep_alive = self._write_response(
                conn, response, preq.version, keep_alive, head_only, park=True
            )
        except _Closed:
            self._close(conn)
            return "detached"
        return "keep" if keep_alive else "close"

    def _write_response(self, conn, response, version, keep_alive, head_only, park=False):
        """Send a response. With ``park``, a plain (non-streamed) response
        that does not fit the socket buffer leaves its rest in ``conn.wbuf``
        for the poller to finish; streams are written here, blocking at most
        ``write_timeout`` per piece."""
        status = response.status_code
        head = [
            b"HTTP/1.1 %d %s\r\nServer: k_webserver\r\n"
            % (status, response.status_msg.encode("latin-1", "replace")),
            _http_date(),
            b"Content-Type: %s\r\n" % response.msg_type.encode("latin-1", "replace"),
        ]
        extra = response.extra_headers
        no_body = head_only or status in (204, 304) or status < 200
        stream = response.stream
        chunked = False
        if stream is None:
            body = response.body_bytes()
            if status != 204 and status != 304:
                head.append(b"Content-Length: %d\r\n" % len(body))
        else:
            body = b""
            has_length = any(k.lower() == "content-length" for k in extra)
            if not has_length:
                if version == "HTTP/1.1":
                    chunked = True
                    head.append(b"Transfer-Encoding: chunked\r\n")
                else:
                    keep_alive = False
        if keep_alive:
            if version == "HTTP/1.0":
                head.append(b"Connection: keep-alive\r\n")
        else:
            head.append(b"Connection: close\r\n")
        for k, v in extra.items():
            head.append(("%s: %s\r\n" % (k, v)).encode("latin-1", "replace"))
        head.append(b"\r\n")
        if stream is None or no_body:
            if not no_body:
                head.append(body)
            if stream is not None:
                _close_iter(stream)
            if park:
                conn.wbuf = self._send_some(conn, b"".join(head))
            else:
                self._sendall(conn, b"".join(head))
            return keep_alive
        self._sendall(conn, b"".join(head))
        declared = None
        for k, v in extra.items():
            if k.lower() == "content-length":
                declared = int(v) if v.isdigit() else -1
        sent = 0
        try:
            for chunk in stream:
                if isinstance(chunk, str):
                    chunk = chunk.encode("utf-8")
                if not chunk:
                    continue
                sent += len(chunk)
                if declared is not None and sent > declared:
                    raise ValueError("stream longer than its Content-Length")
                if chunked:
                    chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk)
                self._sendall(conn, chunk)
            if chunked:
                self._sendall(conn, b"0\r\n\r\n")
            if declared is not None and sent != declared:
                raise ValueError("stream shorter than its Content-Length")
        except _Closed:
            raise
        except Exception as e:
            # The status line is gone already: all we can do is log and cut
            # the connection so the client sees an incomplete body.
            self._log_general("streaming response failed: %r" % (e,))
            raise _Closed()
        finally:
            _close_iter(stream)
        return keep_alive

    def _sendall(self, conn, data):
        sock = conn.sock
        view = memoryview(data)
        deadline = None
        while view:
            try:
                n = sock.send(view)
                view = view[n:]
                continue
            except (BlockingIOError, InterruptedError):
                want_write = True
            except OSError as e:
                if conn.tls and _is_ssl_want(e):
                    want_write = type(e).__name__ != "SSLWantReadError"
                else:
                    raise _Closed()
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.write_timeout
            if now >= deadline:
                V.bump("web-write-timeouts")
                raise _Closed()
            try:
                p = select.poll()
                p.register(sock, select.POLLOUT if want_write else select.POLLIN)
                p.poll(min(1000, int((deadline - now) * 1000) + 1))
            except (OSError, ValueError):
                raise _Closed()

    def _log_general(self, msg):
        if self.logger is not None and self.logger.log_general is not None:
            self.logger.log_general(msg)

    # ------------------------------------------------------------ websockets

    def _maybe_websocket(self, conn, request):
        from kcore.webserver_base import _groups

        for rx, handler, subprotocols in self.websocket_routes:
            m = rx.match(request.path)
            if m is None:
                continue
            request.route_match_groups = _groups(m)
            request.context = self.context
            from kcore.webserver import websocket as W

            upgrade = request.headers.get("upgrade", "").lower()
            if upgrade != "websocket" or request.method != "GET":
                response = Response(
                    "this URL speaks WebSocket only\n",
                    426,
                    extra_headers={"Upgrade": "websocket", "Sec-WebSocket-Version": "13"},
                    msg_type=TEXT_PLAIN,
                )
                self._write_response(conn, response, request.http_version, False, False)
                return "close"
            with self._ws_lock:
                full = len(self._websockets) >= self.max_websockets or self._stopping
            if full:
                response = Response("too many WebSocket sessions\n", 503, msg_type=TEXT_PLAIN)
                self._write_response(conn, response, request.http_version, False, False)
                return "close"
            try:
                accept_headers = W.handshake_headers(request.headers, subprotocols)
            except HttpError as e:
                extra = {"Sec-WebSocket-Version": "13"} if e.status == 426 else None
                response = Response(
                    e.message + "\n", e.status, extra_headers=extra, msg_type=TEXT_PLAIN
                )
                self._write_response(conn, response, request.http_version, False, False)
                return "close"
            lines = [b"HTTP/1.1 101 Switching Protocols\r\nServer: k_webserver\r\n"]
            for k, v in accept_headers:
                lines.append(("%s: %s\r\n" % (k, v)).encode("latin-1"))
            lines.append(b"\r\n")
            self._sendall(conn, b"".join(lines))
            V.bump("web-websocket-sessions")
            self._detach(conn)
            ws = W.WebSocket(
                conn.sock,
                request,
                initial=bytes(conn.reader.buf),
                write_timeout=self.write_timeout,
                subprotocol=dict(accept_headers).get("Sec-WebSocket-Protocol"),
            )
            t = threading.Thread(
                target=self._run_websocket,
                args=(ws, handler),
                name="kweb-ws-%d" % conn.fd,
                daemon=True,
            )
            with self._ws_lock:
                self._websockets[id(ws)] = ws
            t.start()
            return "detached"
        return None

    def _detach(self, conn):
        fd = conn.fd
        if self._conns.get(fd) is conn:
            del self._conns[fd]
        self._poller.remove(fd)

    def _run_websocket(self, ws, handler):
        try:
            handler(ws)
        except Exception as e:
            self._log_exception(ws.request, e)
            ws.close(1011, "internal error")
        finally:
            ws.close(1000)
            with self._ws_lock:
                self._websockets.pop(id(ws), None)


def _fd_budget():
    # Connections we can hold without hitting EMFILE (which would make the
    # listener spin): the soft file limit minus room for files and threads.
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):
        return 1 << 30
    if soft == resource.RLIM_INFINITY:
        return 1 << 30
    return max(16, soft - 64)


def _close_iter(it):
    close = getattr(it, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: S110 - a generator's cleanup failing must not kill the worker
            pass


def _has_input(conn):
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


def _is_ssl_want(e):
    name = type(e).__name__
    return name in ("SSLWantReadError", "SSLWantWriteError")


def _error_bytes(status, message, keep_alive):
    body = (message + "\n").encode("utf-8", "replace")
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\nServer: k_webserver\r\n"
            % (status, STATUS_TEXT.get(status, "Error").encode()),
            _http_date(),
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n" % len(body),
            b"" if keep_alive else b"Connection: close\r\n",
            b"\r\n",
            body,
        )
    )


def _tls_context(cert, key, password, client_ca, client_required):
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key, password)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED if client_required else ssl.CERT_OPTIONAL
    return ctx


_SYS_CACHE: list = [0.0, {}]  # [monotonic time, facts]


def _sys_facts():
    """Cheap process facts, refreshed at most once a second (they are
    system calls; /varz is meant to be scraped often)."""
    now = time.monotonic()
    if now - _SYS_CACHE[0] < 1.0:
        return _SYS_CACHE[1]
    facts: dict = {
        "sys-cpu-count": os.cpu_count(),
        "sys-threads": threading.active_count(),
        "sys-pid": os.getpid(),
    }
    try:
        facts["sys-load-avg"] = " ".join(["%.2f" % x for x in os.getloadavg()])
    except (OSError, AttributeError):
        pass
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        facts["sys-max-rss-mb"] = round(usage.ru_maxrss * 1024 / scale / 1024, 1)
        facts["sys-cpu-user-s"] = round(usage.ru_utime, 2)
        facts["sys-cpu-system-s"] = round(usage.ru_stime, 2)
    except ImportError:
        pass
    _SYS_CACHE[0], _SYS_CACHE[1] = now, facts
    return facts


def ws_varz_handler(request):
    """/varz on CPython: varz plus cheap process facts (``sys-*``, at most a
    second old); nothing here blocks or samples the CPU (the original slept
    1 s per request)."""
    from kcore.webserver_base import varz_handler

    if request.query:
        return varz_handler(request)
    return varz_handler(request, _sys_facts())
