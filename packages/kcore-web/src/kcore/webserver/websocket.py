"""WebSockets (RFC 6455) for kcore.webserver.

``server.add_websocket_handler('/ws', handler)``; ``handler(ws)`` runs in its
own thread::

    def echo(ws):
        for message in ws:          # str (text) or bytes (binary); ends on close
            ws.send(message)

:meth:`WebSocket.send` may be called from any thread (widgets push updates
from elsewhere). Pings are answered automatically; client frames must be
masked; text must be valid UTF-8; messages are bounded (``max_message``,
close code 1009).
"""

import base64
import hashlib
import socket
import struct
import threading

from kcore.webserver_base import HttpError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Iterator, List, Optional, Sequence, Tuple

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
    tokens = [t.strip().lower() for t in (headers.get("connection") or "").split(",")]
    if "upgrade" not in tokens:
        raise HttpError(400, "WebSocket upgrade without 'Connection: Upgrade'")
    if (headers.get("sec-websocket-version") or "").strip() != "13":
        raise HttpError(426, "only WebSocket version 13 is supported")
    key = (headers.get("sec-websocket-key") or "").strip()
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
        offered = [p.strip() for p in (headers.get("sec-websocket-protocol") or "").split(",")]
        for p in subprotocols:
            if p in offered:
                out.append(("Sec-WebSocket-Protocol", p))
                break
    return out


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


class _ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class WebSocket:
    """One server-side WebSocket session.

    ``request`` (the upgrade request), ``subprotocol``, ``closed``,
    ``close_code``; :meth:`recv`, :meth:`send`, :meth:`ping`, :meth:`close`;
    iterating yields messages until the peer closes.
    """

    def __init__(
        self,
        sock: "socket.socket",
        request: "Request",
        initial: bytes = b"",
        max_message: int = 1 << 20,
        write_timeout: float = 10.0,
        subprotocol: "Optional[str]" = None,
    ) -> None:
        self.sock = sock
        self.request = request
        self.subprotocol = subprotocol
        self.max_message = max_message
        self.write_timeout = write_timeout
        self.closed = False
        self.close_code: Optional[int] = None
        self._buf = bytearray(initial)
        self._send_lock = threading.Lock()
        self._close_sent = False
        sock.setblocking(True)

    # ------------------------------------------------------------ sending

    def send(self, message: "str | bytes") -> None:
        """Send a str as a text message, bytes as a binary one."""
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
                self.sock.settimeout(self.write_timeout)
                self.sock.sendall(_frame(opcode, payload))
            except OSError:
                self._close_sent = True
                self.closed = True
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
                    self.sock.settimeout(1.0)
                    self.sock.sendall(_frame(OP_CLOSE, payload))
                except OSError:
                    pass
        if not self.closed:
            self.closed = True
            if self.close_code is None:
                self.close_code = code
            if drain:
                self._drain(1.0, 1 << 24)
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                self.sock.close()
            except OSError:
                pass

    def _drain(self, seconds: float, max_bytes: int) -> None:
        import time

        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + seconds
        got = 0
        try:
            while got < max_bytes:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.sock.settimeout(left)
                data = self.sock.recv(65536)
                if not data:
                    return
                got += len(data)
        except OSError:
            return

    # ------------------------------------------------------------ receiving

    def recv(self, timeout: "Optional[float]" = None) -> "str | bytes | None":
        """The next message (str or bytes), or None once the session is closed.

        ``timeout`` seconds without a message raise ``TimeoutError`` (the
        session stays open)."""
        if self.closed:
            return None
        self.sock.settimeout(timeout)
        fragments = []
        first_op = None
        size = 0
        try:
            while True:
                fin, opcode, payload = self._read_frame()
                if opcode >= 8:
                    if not self._control(opcode, payload):
                        return None
                    continue
                if opcode == OP_CONT:
                    if first_op is None:
                        raise _ProtocolError(1002, "continuation without a first frame")
                else:
                    if first_op is not None:
                        raise _ProtocolError(1002, "new message inside a fragmented one")
                    first_op = opcode
                size += len(payload)
                if size > self.max_message:
                    raise _ProtocolError(1009, "message too big")
                fragments.append(payload)
                if fin:
                    data = b"".join(fragments)
                    if first_op == OP_TEXT:
                        try:
                            return data.decode("utf-8")
                        except UnicodeError:
                            raise _ProtocolError(1007, "text message is not valid UTF-8")
                    return data
        except _ProtocolError as e:
            self.close(e.code, e.reason, drain=True)
            return None
        except socket.timeout:
            raise TimeoutError("no WebSocket message within %s s" % timeout)
        except OSError:
            self.closed = True
            self.close_code = self.close_code or 1006
            try:
                self.sock.close()
            except OSError:
                pass
            return None

    def __iter__(self) -> "Iterator[str | bytes]":
        while True:
            message = self.recv()
            if message is None:
                return
            yield message

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

    def _read_exact(self, n: int) -> bytes:
        buf = self._buf
        while len(buf) < n:
            data = self.sock.recv(max(65536, n - len(buf)))
            if not data:
                raise ConnectionError("peer closed the connection")
            buf += data
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def _read_frame(self) -> "Tuple[bool, int, bytes]":
        b0, b1 = self._read_exact(2)
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
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        if n > self.max_message:
            raise _ProtocolError(1009, "message too big")
        mask = self._read_exact(4)
        return fin, opcode, _unmask(self._read_exact(n), mask)
