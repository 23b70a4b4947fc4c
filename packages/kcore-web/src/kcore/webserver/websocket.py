"""WebSockets (RFC 6455) for kcore.webserver.

``server.add_websocket_handler('/ws', handler)``; ``handler(ws)`` runs in its
own thread::

    def echo(ws):
        for message in ws:          # str (text) or bytes (binary); ends on close
            ws.send(message)

:meth:`WebSocket.send` may be called from any thread (widgets push updates
from elsewhere) while another waits in :meth:`WebSocket.recv`: each waits
for the socket on its own, with its own timeout, so neither disturbs the
other. Pings are answered automatically; client frames must be masked; text
must be valid UTF-8; messages are bounded (``max_message`` bytes in at most
``max_fragments`` frames, close code 1009).

Keep-alive, while the handler waits in :meth:`~WebSocket.recv` (or iterates):
after ``ping_interval`` seconds without a frame from the client the server
pings, and closes (1001) if nothing comes back within ``ping_timeout``; a
client that sends no message for ``idle_timeout`` seconds is closed (1001)
too, so silent sessions cannot hold the session limit for good.

:func:`origin_allowed` is the check behind ``WebServer(websocket_same_origin=True)``
and a building block for ``add_websocket_handler(..., accept=...)``.
"""

import base64
import hashlib
import select
import socket
import struct
import threading
import time

from kcore.webserver_base import HttpError, ows_strip

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

    from kcore.webserver_base import Headers, Request

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class WebSocketClosed(ConnectionError):
    """The WebSocket is closed (sending is no longer possible)."""


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key."""
    digest = hashlib.sha1(key.encode("ascii") + GUID).digest()  # noqa: S324 - RFC 6455 says SHA-1
    return base64.b64encode(digest).decode()


def handshake_headers(
    headers: "Headers", subprotocols: "Optional[Sequence[str]]" = None
) -> "List[Tuple[str, str]]":
    """Validate an upgrade request's headers; the 101 response's headers.

    Raises HttpError (400 for a bad key or missing Connection: upgrade, 426
    for another protocol version).
    """
    tokens = [ows_strip(t).lower() for t in (headers.get("connection") or "").split(",")]
    if "upgrade" not in tokens:
        raise HttpError(400, "WebSocket upgrade without 'Connection: Upgrade'")
    if ows_strip(headers.get("sec-websocket-version") or "") != "13":
        raise HttpError(426, "only WebSocket version 13 is supported")
    key = ows_strip(headers.get("sec-websocket-key") or "")
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except (ValueError, UnicodeError):
        raw = b""
    if len(raw) != 16:
        raise HttpError(400, "bad Sec-WebSocket-Key")
    out = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if subprotocols:
        offered = [ows_strip(p) for p in (headers.get("sec-websocket-protocol") or "").split(",")]
        for p in subprotocols:
            if p in offered:
                out.append(("Sec-WebSocket-Protocol", p))
                break
    return out


_DEFAULT_PORTS = {"http": "80", "ws": "80", "https": "443", "wss": "443"}


def _host_port(authority: str) -> "Tuple[str, str]":
    # ("host", "port") of "host[:port]" or "[v6]:port", lower-case; port "" if absent.
    authority = authority.lower()
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return authority, ""
        rest = authority[end + 1 :]
        return authority[: end + 1], rest[1:] if rest.startswith(":") else ""
    host, _, port = authority.partition(":")
    return host, port


def origin_allowed(
    request: "Request", allowed: "Sequence[str]" = (), same_origin: bool = True
) -> bool:
    """Whether the upgrade ``request`` may open a WebSocket, by its Origin.

    No ``Origin`` header: True (not a browser; the check protects browser
    users from foreign pages, cross-site WebSocket hijacking). Otherwise
    True if the origin is one of ``allowed`` (exactly, e.g.
    ``"https://dash.example"``) or, with ``same_origin``, names the host of
    the ``Host`` header (and its port, when Host has one; ports are not
    compared when Host has none, as behind a TLS proxy). ``null`` and
    malformed origins are refused."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    origin = ows_strip(origin)
    if origin in allowed:
        return True
    if not same_origin:
        return False
    scheme, sep, authority = origin.partition("://")
    host_header = request.headers.get("host")
    if not sep or not authority or "/" in authority or "@" in authority or not host_header:
        return False
    o_host, o_port = _host_port(authority)
    h_host, h_port = _host_port(ows_strip(host_header))
    if o_host != h_host:
        return False
    if h_port:
        return (o_port or _DEFAULT_PORTS.get(scheme.lower(), "")) == h_port
    return True


def _unmask(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    if n == 0:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def _ssl_want(e: BaseException) -> int:
    # The poll event an ssl "want read/write" error waits for (0: not one).
    name = type(e).__name__
    if name == "SSLWantReadError":
        return select.POLLIN
    if name == "SSLWantWriteError":
        return select.POLLOUT
    return 0


class _ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class WebSocket:
    """One server-side WebSocket session.

    ``request`` (the upgrade request), ``subprotocol``, ``closed``,
    ``close_code``, ``close_reason`` (why the server closed it, if it did:
    ``"idle timeout"``, ``"ping timeout"``, ...); :meth:`recv`, :meth:`send`,
    :meth:`ping`, :meth:`close`; iterating yields messages until the peer
    closes. Limits and keep-alive: see the module doc (``None`` turns a
    timeout off).
    """

    def __init__(
        self,
        sock: "socket.socket",
        request: "Request",
        initial: bytes = b"",
        max_message: int = 1 << 20,
        write_timeout: float = 10.0,
        subprotocol: "Optional[str]" = None,
        ping_interval: "Optional[float]" = 20.0,
        ping_timeout: "Optional[float]" = 20.0,
        idle_timeout: "Optional[float]" = 300.0,
        max_fragments: int = 1024,
    ) -> None:
        self.sock = sock
        self.request = request
        self.subprotocol = subprotocol
        self.max_message = max_message
        self.max_fragments = max_fragments
        self.write_timeout = write_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.idle_timeout = idle_timeout
        self.closed = False
        self.close_code: Optional[int] = None
        self.close_reason: Optional[str] = None
        self._buf = bytearray(initial)
        self._send_lock = threading.Lock()  # one frame at a time on the wire
        self._recv_lock = threading.Lock()  # one reader at a time
        # TLS: one SSL call at a time (never held while waiting).
        tls = hasattr(sock, "pending") and hasattr(sock, "cipher")
        self._io_lock: Optional[threading.Lock] = threading.Lock() if tls else None
        self._sock_lock = threading.Lock()
        self._sock_closed = False
        self._close_sent = False
        now = time.monotonic()
        self._last_heard = now  # any frame from the client
        self._last_message = now  # a whole message from the client
        self._ping_sent: Optional[float] = None  # an unanswered keep-alive ping
        # The message being received (kept across recv() timeouts).
        self._msg = bytearray()
        self._msg_op: Optional[int] = None
        self._msg_frames = 0
        sock.setblocking(False)

    # ------------------------------------------------------------ socket I/O

    def _io(self, fn: "Callable[[Any], Any]", arg: "Any") -> "Any":
        lock = self._io_lock
        if lock is None:
            return fn(arg)
        with lock:
            return fn(arg)

    def _wait(self, events: int, timeout: "Optional[float]") -> None:
        # Wait for the socket (or the timeout); errors are left to the next I/O call.
        try:
            p = select.poll()
            p.register(self.sock.fileno(), events)
            p.poll(-1 if timeout is None else max(0, int(timeout * 1000) + 1))
        except (OSError, ValueError):
            pass

    def _send_all(self, data: bytes, timeout: float) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            try:
                view = view[self._io(self.sock.send, view) :]
                continue
            except (BlockingIOError, InterruptedError):
                want = select.POLLOUT
            except OSError as e:
                want = _ssl_want(e)
                if not want:
                    raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectionError("the client did not take a frame in %s s" % timeout)
            self._wait(want, left)

    def _fill(self) -> bool:
        # Read what is available now: False if nothing is.
        try:
            data = self._io(self.sock.recv, 65536)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as e:
            if _ssl_want(e):
                return False
            raise
        if not data:
            raise ConnectionError("peer closed the connection")
        self._buf += data
        return True

    def _release_socket(self) -> None:
        with self._sock_lock:
            if self._sock_closed:
                return
            self._sock_closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # also wakes a reader waiting in recv()
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    # ------------------------------------------------------------ sending

    def send(self, message: "str | bytes") -> None:
        """Send a str as a text message, bytes as a binary one (any thread;
        waits at most ``write_timeout`` for a client that does not read,
        then the session is closed and WebSocketClosed raised)."""
        if isinstance(message, str):
            self._send_frame(OP_TEXT, message.encode("utf-8"))
        else:
            self._send_frame(OP_BINARY, bytes(message))

    def ping(self, data: bytes = b"") -> None:
        self._send_frame(OP_PING, bytes(data)[:125])

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            if self._close_sent:
                raise WebSocketClosed("WebSocket is closed")
            try:
                self._send_all(_frame(opcode, payload), self.write_timeout)
            except OSError:
                self._close_sent = True
                self.closed = True
                self.close_code = self.close_code or 1006
                self._release_socket()
                raise WebSocketClosed("WebSocket connection lost")

    def close(self, code: int = 1000, reason: str = "", drain: bool = False) -> None:
        """Send a close frame (once) and shut the connection down. With
        ``drain`` (after a protocol error) read and drop what the peer still
        sends for up to a second, so the close frame is not lost to a reset."""
        with self._send_lock:
            if not self._close_sent:
                self._close_sent = True
                payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
                try:
                    self._send_all(_frame(OP_CLOSE, payload), 1.0)
                except OSError:
                    pass
        if not self.closed:
            self.closed = True
            if self.close_code is None:
                self.close_code = code
            if drain:
                self._drain(1.0, 1 << 24)
        self._release_socket()

    def _drain(self, seconds: float, max_bytes: int) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + seconds
        got = 0
        try:
            while got < max_bytes:
                try:
                    data = self._io(self.sock.recv, 65536)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError as e:
                    if not _ssl_want(e):
                        return
                    data = None
                if data is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self._wait(select.POLLIN, left)
                    continue
                if not data:
                    return
                got += len(data)
        except OSError:
            return

    # ------------------------------------------------------------ receiving

    def recv(self, timeout: "Optional[float]" = None) -> "str | bytes | None":
        """The next message (str or bytes), or None once the session is closed.

        ``timeout`` seconds without a message raise ``TimeoutError`` (the
        session stays open, a message partly received is kept). Sends from
        other threads never affect this wait."""
        if self.closed:
            return None
        with self._recv_lock:
            return self._recv(timeout)

    def _recv(self, timeout: "Optional[float]") -> "str | bytes | None":
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                frame = self._next_frame()
                if frame is not None:
                    fin, opcode, payload = frame
                    self._last_heard = time.monotonic()
                    self._ping_sent = None
                    if opcode >= 8:
                        if not self._control(opcode, payload):
                            return None
                        continue
                    message = self._add_fragment(fin, opcode, payload)
                    if message is not None:
                        self._last_message = self._last_heard
                        return message
                    continue
                if self.closed:
                    return None
                now = time.monotonic()
                wait = self._keepalive(now)
                if wait is not None and wait < 0:
                    return None  # closed for a keep-alive reason
                if deadline is not None:
                    left = deadline - now
                    if left <= 0:
                        raise TimeoutError("no WebSocket message within %s s" % timeout)
                    wait = left if wait is None else min(wait, left)
                self._wait(select.POLLIN, wait)
        except _ProtocolError as e:
            self.close(e.code, e.reason, drain=True)
            return None
        except TimeoutError:
            if self.closed:
                return None
            raise
        except OSError:
            self.closed = True
            self.close_code = self.close_code or 1006
            self._release_socket()
            return None

    def __iter__(self) -> "Iterator[str | bytes]":
        while True:
            message = self.recv()
            if message is None:
                return
            yield message

    def _keepalive(self, now: float) -> "Optional[float]":
        # Ping a quiet client, close a dead or idle one: seconds until the
        # next check (None: no check due), or -1 if the session was closed.
        waits = []
        if self.idle_timeout is not None:
            idle_left = self._last_message + self.idle_timeout - now
            if idle_left <= 0:
                return self._keepalive_close("idle timeout")
            waits.append(idle_left)
        if self.ping_interval is not None:
            if self._ping_sent is None:
                ping_left = self._last_heard + self.ping_interval - now
                if ping_left > 0:
                    waits.append(ping_left)
                else:
                    self._ping_sent = now
                    self._send_frame(OP_PING, b"kcore")
                    if self.ping_timeout is not None:
                        waits.append(self.ping_timeout)
            elif self.ping_timeout is not None:
                pong_left = self._ping_sent + self.ping_timeout - now
                if pong_left <= 0:
                    return self._keepalive_close("ping timeout")
                waits.append(pong_left)
        return min(waits) if waits else None

    def _keepalive_close(self, reason: str) -> float:
        self.close_reason = reason
        self.close(1001, reason)
        return -1.0

    def _next_frame(self) -> "Optional[Tuple[bool, int, bytes]]":
        # The next whole frame, reading what the socket has; None if incomplete.
        while True:
            frame = self._parse_frame()
            if frame is not None:
                return frame
            if not self._fill():
                return None

    def _parse_frame(self) -> "Optional[Tuple[bool, int, bytes]]":
        buf = self._buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        fin = bool(b0 & 0x80)
        if b0 & 0x70:
            raise _ProtocolError(1002, "reserved bits set (no extension was negotiated)")
        opcode = b0 & 0x0F
        if opcode not in (0, 1, 2, 8, 9, 10):
            raise _ProtocolError(1002, "unknown opcode")
        if not b1 & 0x80:
            raise _ProtocolError(1002, "client frames must be masked")
        n = b1 & 0x7F
        if opcode >= 8 and (n > 125 or not fin):
            raise _ProtocolError(1002, "bad control frame")
        pos = 2
        if n == 126:
            if len(buf) < 4:
                return None
            n = struct.unpack_from("!H", buf, 2)[0]
            pos = 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n = struct.unpack_from("!Q", buf, 2)[0]
            pos = 10
        if opcode < 8 and len(self._msg) + n > self.max_message:
            raise _ProtocolError(1009, "message too big")
        end = pos + 4 + n
        if len(buf) < end:
            return None
        payload = _unmask(bytes(buf[pos + 4 : end]), bytes(buf[pos : pos + 4]))
        del buf[:end]
        return fin, opcode, payload

    def _add_fragment(self, fin: bool, opcode: int, payload: bytes) -> "str | bytes | None":
        # Join a message's frames in one buffer: no object per frame, and at
        # most max_fragments of them.
        if opcode == OP_CONT:
            if self._msg_op is None:
                raise _ProtocolError(1002, "continuation without a first frame")
        else:
            if self._msg_op is not None:
                raise _ProtocolError(1002, "new message inside a fragmented one")
            self._msg_op = opcode
        self._msg_frames += 1
        if self._msg_frames > self.max_fragments:
            raise _ProtocolError(1009, "message in too many fragments")
        if not fin:
            self._msg += payload
            return None
        op = self._msg_op
        if self._msg_frames > 1:
            self._msg += payload
            payload = bytes(self._msg)
        self._msg = bytearray()
        self._msg_op = None
        self._msg_frames = 0
        if op == OP_TEXT:
            try:
                return payload.decode("utf-8")
            except UnicodeError:
                raise _ProtocolError(1007, "text message is not valid UTF-8")
        return payload

    def _control(self, opcode: int, payload: bytes) -> bool:
        if opcode == OP_PING:
            try:
                self._send_frame(OP_PONG, payload)
            except WebSocketClosed:
                return False
            return True
        if opcode == OP_PONG:
            return True
        if opcode == OP_CLOSE:
            code = 1005
            if len(payload) >= 2:
                code = struct.unpack("!H", payload[:2])[0]
                if code < 1000 or code in (1004, 1005, 1006, 1015) or 1016 <= code < 3000:
                    raise _ProtocolError(1002, "invalid close code")
                try:
                    payload[2:].decode("utf-8")
                except UnicodeError:
                    raise _ProtocolError(1007, "close reason is not UTF-8")
            elif len(payload) == 1:
                raise _ProtocolError(1002, "malformed close frame")
            self.close_code = code
            self.close(1000 if code == 1005 else code)
            return False
        raise _ProtocolError(1002, "unknown control opcode")
