"""kcore.webserver_circpy: the kcore web server for CircuitPython and MicroPython.

One request per connection, served from :meth:`WebServer.listen` (call it
from your main loop; with ``blocking=False`` it returns at once when nobody
is waiting). The sockets come from an injected *socket pool*: on
CircuitPython ``socketpool.SocketPool(wifi.radio)`` (the default there), on
MicroPython the ``socket`` module itself, on CPython the ``socket`` module
too (for tests)::

    import socket
    from kcore.webserver_circpy import WebServer

    server = WebServer({'/hello': lambda request: 'hello'}, port=8080, pool=socket)
    while True:
        server.listen()

Requests are bounded (``max_header_bytes``, ``max_body``, ``timeout``
seconds per read and for the whole request); bodies are read exactly
(Content-Length), forms are parsed; heads are parsed as strictly as by
:mod:`kcore.webserver` (the same code: control characters, padded
Content-Length, a missing or doubled Host are refused); errors get their
status (400, 408, 413, 431, 501) instead of a dropped connection. Binds ``127.0.0.1`` unless told
otherwise: pass ``listen_address='0.0.0.0'`` to serve the LAN.
"""

__version__ = "0.1.0"

from kcore.common import platform as _platform
from kcore.webserver_base import (
    FORM_METHODS,
    TEXT_PLAIN,
    HttpError,
    Response,
    WebServerBase,
    body_framing,
    check_host,
    default_logging_adapter,
    parse_request_head,
    request_from_wire,
    response_head,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Tuple

    from kcore.webserver_base import Request

CIRCUITPYTHON = _platform.CIRCUITPYTHON

MSG_DONTWAIT = 64
_EAGAIN = (11, 35, 115, 116)  # EAGAIN (Linux), EAGAIN (BSD), EINPROGRESS, ETIMEDOUT
_TIMEDOUT = (110, 116, 60)


def _errno(e: BaseException) -> "Any":
    n = getattr(e, "errno", None)
    if n is None and e.args:
        n = e.args[0]
    return n


def _default_pool() -> "Any":
    if _platform.CIRCUITPYTHON:
        import socketpool  # type: ignore[import-not-found]
        import wifi  # type: ignore[import-not-found]

        return socketpool.SocketPool(wifi.radio)
    import socket

    return socket


class WebServer(WebServerBase):
    """WebServerBase on a socket pool: bind and listen in the constructor,
    one request per :meth:`listen` call.

    ``listen()`` returns 0 (nobody waiting), 1 (handled), -1 (handler
    exception, answered 500), -2 (bad or incomplete request, answered with
    its error status), -3 (404).
    """

    #: The ``Server`` header of this server's responses.
    server_name = "kds_webserver_circpy"

    def __init__(
        self,
        handlers: "Any" = None,
        port: int = 80,
        listen_address: str = "127.0.0.1",
        blocking: bool = False,
        timeout: float = 5,
        backlog_queue_size: int = 3,
        socket: "Any" = None,
        pool: "Any" = None,
        max_header_bytes: int = 4096,
        max_body: int = 16384,
        *args: "Any",
        **kwargs: "Any",
    ) -> None:
        if kwargs.get("logging_adapter") is None:
            kwargs["logging_adapter"] = default_logging_adapter()
        super().__init__(handlers, port, *args, **kwargs)
        self.listen_address = listen_address
        self.blocking = blocking
        self.timeout = timeout
        self.max_header_bytes = max_header_bytes
        self.max_body = max_body
        self.pool = pool
        if socket is None:
            if pool is None:
                self.pool = pool = _default_pool()
            socket = pool.socket(pool.AF_INET, pool.SOCK_STREAM)
            try:
                socket.setsockopt(pool.SOL_SOCKET, pool.SO_REUSEADDR, 1)
            except (AttributeError, OSError):
                pass
            socket.bind(self._address(listen_address, port))
            socket.listen(backlog_queue_size)
        self.socket = socket
        socket.setblocking(blocking)
        if blocking and timeout:
            try:
                socket.settimeout(timeout)
            except (AttributeError, OSError):
                pass

    def _address(self, host: str, port: int) -> "Any":
        getaddrinfo = getattr(self.pool, "getaddrinfo", None)
        if getaddrinfo is not None:
            return getaddrinfo(host, port)[0][-1]
        return (host, port)

    def close(self) -> None:
        """Stop listening."""
        try:
            self.socket.close()
        except OSError:
            pass

    def shutdown(self) -> None:
        self.close()

    def __enter__(self) -> "WebServer":
        return self

    def __exit__(self, *exc: "Any") -> None:
        self.close()

    # ------------------------------------------------------------ serving

    def listen(self) -> int:
        """Accept and serve at most one connection (see the class doc for the codes)."""
        try:
            client, addr = self.socket.accept()
        except OSError as e:
            if _errno(e) in _EAGAIN:
                return 0
            raise
        try:
            return self._serve(client, self._peer(addr))
        finally:
            try:
                client.close()
            except OSError:
                pass

    def _peer(self, addr: "Any") -> "Any":
        if isinstance(addr, (bytes, bytearray)):
            conv = getattr(self.pool, "sockaddr", None)
            if conv is not None:
                try:
                    a = conv(addr)
                    host, port = (a[1], a[2]) if len(a) >= 3 else (a[0], a[1])
                    if isinstance(host, (bytes, bytearray)):
                        host = self.pool.inet_ntop(self.pool.AF_INET, host)
                    return (host, port)
                except (TypeError, ValueError, OSError, AttributeError, IndexError):
                    pass
        return addr

    def _serve(self, client: "Any", addr: "Any") -> int:
        try:
            client.setblocking(True)
            client.settimeout(self.timeout)
        except (AttributeError, OSError):
            pass
        try:
            request = self._read_request(client, addr)
        except HttpError as e:
            self._send_response(client, Response(e.message + "\n", e.status, msg_type=TEXT_PLAIN))
            return -2
        except OSError as e:
            if _errno(e) in _TIMEDOUT or _errno(e) in _EAGAIN:  # a read timed out
                self._send_response(
                    client, Response("request timeout\n", 408, msg_type=TEXT_PLAIN)
                )
            return -2
        response = self.find_and_run_handler(request)
        self._send_response(client, response, request.method == "HEAD")
        if response.exception is not None or response.status_code == 500:
            return -1
        if response.status_code == 404:
            return -3
        return 1

    def _recv(self, client: "Any", n: int) -> bytes:
        recv = getattr(client, "recv", None)
        if recv is not None:
            return recv(n)
        buf = bytearray(n)
        k = client.recv_into(buf)
        return bytes(buf[:k])

    def _read_request(self, client: "Any", remote_address: "Any" = None) -> "Request":
        deadline = _platform.monotonic_ms() + int(self.timeout * 1000)
        buf = b""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > self.max_header_bytes:
                raise HttpError(431, "request header fields too large")
            if _platform.monotonic_ms() > deadline:
                raise HttpError(408, "request timeout")
            data = self._recv(client, 1024)
            if not data:
                raise HttpError(400, "connection closed mid-request")
            buf += data
        if end > self.max_header_bytes:
            raise HttpError(431, "request header fields too large")
        method, target, version, headers = parse_request_head(buf[:end], 50)
        kind, length = body_framing(headers, self.max_body)
        if method in FORM_METHODS and "content-length" not in headers:
            raise HttpError(411, "%s needs a Content-Length" % method)
        check_host(version, headers)
        if kind == "chunked":
            raise HttpError(
                411, "chunked request bodies are not supported here: send Content-Length"
            )
        length = length or 0  # chunked was refused above
        body = buf[end + 4 :]
        if len(body) < length and (headers.get("expect") or "").lower() == "100-continue":
            self._send_all(client, response_head(100, keep_alive=True, server=self.server_name))
        while len(body) < length:
            if _platform.monotonic_ms() > deadline:
                raise HttpError(408, "request timeout")
            data = self._recv(client, min(1024, length - len(body)))
            if not data:
                raise HttpError(400, "connection closed mid-body")
            body += data
        return request_from_wire(
            method, target, version, headers, body[:length], remote_address, self
        )

    def _send_all(self, client: "Any", data: bytes) -> bool:
        view = memoryview(data)
        deadline = _platform.monotonic_ms() + int(self.timeout * 1000)
        while len(view):
            try:
                n = client.send(view)
            except OSError as e:
                if _errno(e) in _EAGAIN and _platform.monotonic_ms() < deadline:
                    continue
                return False
            if n is None:
                n = 0
            view = view[n:]
        return True

    def _send_response(self, client: "Any", response: Response, head_only: bool = False) -> bool:
        status = response.status_code
        if status < 100:  # a failed handler (-1): a bare 500
            status, body, reason = 500, b"", None
        else:
            body, reason = b"", response.reason
        stream = response.stream
        length = None
        if stream is None:
            if status == response.status_code:
                body = response.body_bytes()
            length = len(body)
        try:
            head = response_head(
                status,
                response.msg_type,
                length,
                response.extra_headers,
                keep_alive=False,
                reason=reason,
                server=self.server_name,
            )
        except ValueError as e:
            # A header changed after the Response was made holds a control
            # character (or a bad name): a bare 500, never an exception out
            # of listen() (the board's main loop).
            if self.logger is not None and self.logger.log_general is not None:
                self.logger.log_general("response refused: %s" % e)
            head = response_head(500, "?", 0, keep_alive=False, server=self.server_name)
            stream, body = None, b""
        if head_only or status in (204, 304):
            return self._send_all(client, head)
        if stream is None:
            return self._send_all(client, head + body)
        if not self._send_all(client, head):
            return False
        for chunk in stream:
            if isinstance(chunk, str):
                chunk = chunk.encode()
            if not self._send_all(client, chunk):
                return False
        return True


def connect_wifi(
    dhcp_hostname: str, ssid: str, wifi_password: str, print_addrs: bool = True
) -> "Tuple[str, str]":
    """Join a WiFi network on a CircuitPython board; returns (mac, ip)."""
    import wifi  # type: ignore[import-not-found]

    try:
        wifi.radio.hostname = dhcp_hostname
    except (AttributeError, ValueError):
        pass
    wifi.radio.connect(ssid, wifi_password)
    mac = ":".join(["%02x" % b for b in wifi.radio.mac_address])
    ip = str(wifi.radio.ipv4_address)
    if print_addrs:
        print("wifi: mac %s ip %s" % (mac, ip))
    return mac, ip
