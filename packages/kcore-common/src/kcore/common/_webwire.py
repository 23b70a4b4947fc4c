"""The board transports of :mod:`kcore.common.web`: a small HTTP/1.1
client over a socket pool, and the adafruit_requests adapter.

Kept apart from web.py so a board compiles only what it runs (MicroPython
parses a whole source file at once, and small heaps cannot take one big
file). Import :mod:`kcore.common.web`, not this module.
"""

from kcore.common.platform import CPYTHON, monotonic_ms
from kcore.common.web import (
    MAX_HEADER_LINE,
    MAX_HEADERS,
    USER_AGENT,
    Headers,
    Response,
    WebConnectionError,
    WebError,
    WebSSLError,
    WebTimeout,
    _check_header,
    _error,
    _too_big,
    follow_redirects,
    header_bytes,
    parse_url,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Optional

    from kcore.common.web import URL, PreparedRequest


def _errno_of(exc: BaseException) -> "Any":
    no = getattr(exc, "errno", None)
    if no is None and getattr(exc, "args", None) and isinstance(exc.args[0], int):
        no = exc.args[0]
    return no


def _is_timeout(exc: BaseException) -> bool:
    import errno

    if type(exc).__name__ in ("timeout", "TimeoutError", "SSLWantReadError"):
        return True
    no = _errno_of(exc)
    if no in (errno.ETIMEDOUT, errno.EAGAIN, 116):  # 116: ETIMEDOUT on lwIP boards
        return True
    return "timed out" in str(exc)


def classify_os_error(
    exc: BaseException, url: "URL", during: str, timeout: "int | float"
) -> "Any":
    """Turn a socket-level exception into the matching WebError leaf."""
    import errno

    if isinstance(exc, WebError):
        return exc
    if _is_timeout(exc):
        return _error(WebTimeout, "timed out after %ss while %s" % (timeout, during), url)
    no = _errno_of(exc)
    if no == errno.ECONNREFUSED:
        return _error(WebConnectionError, "connection refused", url)
    if no in (errno.ECONNRESET, errno.ECONNABORTED, 32):  # 32: EPIPE
        return _error(WebConnectionError, "connection reset while %s" % during, url)
    if no == errno.EHOSTUNREACH:
        return _error(WebConnectionError, "host unreachable", url)
    if "SSL" in type(exc).__name__ or (isinstance(no, int) and no < 0):
        # CPython ssl errors; negative errnos are mbedTLS codes on boards.
        return _error(WebSSLError, "TLS handshake failed: %s" % _ssl_reason(exc), url)
    return _error(WebConnectionError, "%s failed: %s" % (during, exc), url)


# ---------------------------------------------------- socket HTTP/1.1 client


class _Reader:
    """Buffered reads over any socket flavour (CPython, MicroPython, pools)."""

    def __init__(self, sock: "Any", chunk: int = 4096) -> None:
        self.buf = b""
        self.eof = False
        recv = getattr(sock, "recv", None)
        if recv is not None:
            self._recv = lambda: recv(chunk)
            return
        recv_into = getattr(sock, "recv_into", None)
        if recv_into is not None:
            space = bytearray(chunk)

            def _recv_into() -> bytes:
                n = recv_into(space)
                return bytes(space[:n])

            self._recv = _recv_into
            return
        read = sock.read

        def _read() -> bytes:
            data = read(chunk)
            return b"" if data is None else data

        self._recv = _read

    def fill(self) -> bool:
        if self.eof:
            return False
        data = self._recv()
        if not data:
            self.eof = True
            return False
        self.buf = self.buf + data if self.buf else bytes(data)
        return True

    def readline(self, limit: int, url: "URL") -> bytes:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[: i + 1], self.buf[i + 1 :]
                return line
            if len(self.buf) > limit:
                raise _error(WebError, "response header line longer than %d bytes" % limit, url)
            if not self.fill():
                line, self.buf = self.buf, b""
                return line

    def read_exact(self, n: int, url: "URL") -> bytes:
        chunks = []
        have = 0
        if self.buf:
            take = self.buf[:n]
            self.buf = self.buf[len(take) :]
            chunks.append(take)
            have = len(take)
        while have < n:
            if not self.fill():
                raise _error(
                    WebError, "connection closed after %d of %d body bytes" % (have, n), url
                )
            take = self.buf[: n - have]
            self.buf = self.buf[len(take) :]
            chunks.append(take)
            have += len(take)
        return b"".join(chunks)

    def read_to_close(self, limit: int, url: "URL") -> bytes:
        chunks = [self.buf] if self.buf else []
        have = len(self.buf)
        self.buf = b""
        while have <= limit and self.fill():
            chunks.append(self.buf)
            have += len(self.buf)
            self.buf = b""
        if have > limit:
            raise _too_big(limit, url)
        return b"".join(chunks)


def _send_all(sock: "Any", data: bytes) -> None:
    sendall = getattr(sock, "sendall", None)
    if sendall is not None:
        sendall(data)
        return
    send = getattr(sock, "send", None) or sock.write
    view = memoryview(data)
    while len(view):
        n = send(view)
        if n is None:  # some ports return None for "all sent"
            return
        if n == 0:
            raise OSError(32, "connection closed while sending")
        view = view[n:]


def parse_status_line(line: bytes, url: "URL") -> "tuple[int, str]":
    """``b'HTTP/1.1 200 OK\\r\\n'`` -> (200, 'OK')."""
    parts = line.strip().split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise _error(WebError, "malformed HTTP status line %r" % bytes(line[:40]), url)
    code = int(parts[1])
    if not 100 <= code <= 999:
        raise _error(WebError, "malformed HTTP status code %d" % code, url)
    reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
    return code, reason


def read_headers(reader: _Reader, url: "URL") -> Headers:
    headers = Headers()
    for _ in range(MAX_HEADERS + 1):
        line = reader.readline(MAX_HEADER_LINE, url)
        if not line.endswith(b"\n"):
            raise _error(WebError, "connection closed inside the response headers", url)
        if line in (b"\r\n", b"\n"):
            return headers
        text = line.decode("latin-1").strip()
        name, sep, value = text.partition(":")
        if not sep or not name or name != name.strip():
            raise _error(WebError, "malformed response header line %r" % text[:40], url)
        value = value.strip()
        if name in headers:
            value = headers[name] + ", " + value
        headers[name] = value
    raise _error(WebError, "more than %d response headers" % MAX_HEADERS, url)


def read_chunked(reader: _Reader, limit: int, url: "URL") -> bytes:
    chunks = []
    have = 0
    while True:
        line = reader.readline(MAX_HEADER_LINE, url)
        size_txt = line.split(b";", 1)[0].strip()
        try:
            size = int(size_txt, 16)
        except ValueError:
            raise _error(WebError, "malformed chunk size %r" % bytes(size_txt[:20]), url)
        if size < 0:
            raise _error(WebError, "malformed chunk size", url)
        if size == 0:
            break
        have += size
        if have > limit:
            raise _too_big(limit, url)
        chunks.append(reader.read_exact(size, url))
        if reader.read_exact(2, url) != b"\r\n":
            raise _error(WebError, "malformed chunk terminator", url)
    for _ in range(MAX_HEADERS + 1):  # trailers
        line = reader.readline(MAX_HEADER_LINE, url)
        if line in (b"\r\n", b"\n", b""):
            break
    return b"".join(chunks)


def read_response(
    reader: _Reader, method: str, limit: int, url: "URL"
) -> "tuple[int, str, Headers, bytes]":
    """Read one response from ``reader``: (code, reason, headers, body)."""
    while True:
        code, reason = parse_status_line(reader.readline(MAX_HEADER_LINE, url), url)
        headers = read_headers(reader, url)
        if not 100 <= code < 200 or code == 101:
            break  # skip interim 1xx responses
    if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
        return code, reason, headers, b""
    te = headers.get("transfer-encoding", "").lower()
    if te:
        if te.split(",")[-1].strip() != "chunked":
            raise _error(WebError, "unsupported transfer-encoding %r" % te[:30], url)
        return code, reason, headers, read_chunked(reader, limit, url)
    cl = headers.get("content-length")
    if cl is not None:
        values = [v.strip() for v in cl.split(",")]
        if not values[0].isdigit() or any(v != values[0] for v in values):
            raise _error(WebError, "malformed content-length %r" % cl[:20], url)
        n = int(values[0])
        if n > limit:
            raise _too_big(limit, url)
        return code, reason, headers, reader.read_exact(n, url)
    return code, reason, headers, reader.read_to_close(limit, url)


def build_request_head(
    method: str,
    url: "URL",
    headers: Headers,
    body: "Optional[bytes]",
    absolute_form: bool = False,
) -> bytes:
    """The request line and headers, as bytes (default headers added).
    Header values are sent as Latin-1 (checked by ``_check_header``)."""
    target = url.geturl() if absolute_form else url.target
    lines = ["%s %s HTTP/1.1" % (method, target)]
    if "host" not in headers:
        lines.append("Host: " + url.hostport)
    defaults = (
        ("User-Agent", USER_AGENT),
        ("Accept", "*/*"),
        ("Accept-Encoding", "identity"),
        ("Connection", "close"),
    )
    for name, value in defaults:
        if name not in headers:
            lines.append("%s: %s" % (name, value))
    if body is not None and "content-length" not in headers:
        lines.append("Content-Length: %d" % len(body))
    head = [("\r\n".join(lines) + "\r\n").encode("utf-8")]
    for name, value in headers.items():
        name, value = _check_header(name, value)
        head.append(header_bytes("%s: %s\r\n" % (name, value)))
    head.append(b"\r\n")
    return b"".join(head)


def _import_ssl() -> "Any":
    try:
        import ssl

        return ssl
    except ImportError:
        pass
    try:
        import tls  # type: ignore[import-not-found]  # MicroPython's low-level name

        return tls
    except ImportError:
        return None


class SocketTransport:
    """HTTP/1.1 over a socket pool: the ``socket`` module, or an injected
    pool with ``getaddrinfo`` and ``socket`` (CircuitPython's socketpool).

    One connection per request (``Connection: close``), which keeps the
    code small and leaves nothing open on a board between requests.
    """

    name = "socket"

    def __init__(
        self, socket_pool: "Any" = None, ssl_context: "Any" = None, ssl_module: "Any" = None
    ) -> None:
        self._pool = socket_pool
        self._ssl_context = ssl_context
        self._ssl_module = ssl_module
        self._contexts = {}  # type: dict

    def pool(self) -> "Any":
        if self._pool is None:
            try:
                import socket

                self._pool = socket
            except ImportError:
                raise _error(WebError, "no socket module: pass Session(socket_pool=...)")
        return self._pool

    def ssl_context(self, verify: bool, cafile: "Optional[str]", url: "URL") -> "Any":
        if self._ssl_context is not None and verify and not cafile:
            return self._ssl_context
        key = (bool(verify), cafile)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._make_context(verify, cafile, url)
            if len(self._contexts) > 8:
                self._contexts.clear()
            self._contexts[key] = ctx
        return ctx

    def _make_context(self, verify: bool, cafile: "Optional[str]", url: "URL") -> "Any":
        ssl = self._ssl_module or _import_ssl()
        if ssl is None:
            raise _error(WebSSLError, "https needs an ssl module, and this Python has none", url)
        create = getattr(ssl, "create_default_context", None)
        if create is not None:  # CPython, CircuitPython
            ctx = create(cafile=cafile) if (verify and cafile and CPYTHON) else create()
            if verify and cafile and not CPYTHON:
                pem = _read_file_bytes(cafile, url).decode("ascii")
                ctx.load_verify_locations(cadata=pem)  # CircuitPython takes PEM text
            if not verify:
                try:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                except AttributeError:
                    raise _error(
                        WebSSLError, "verify_ssl=False is not supported by this ssl module", url
                    )
            return ctx
        # MicroPython: no CA store of its own, so verification needs cafile.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            if not cafile:
                raise _error(
                    WebSSLError,
                    "cannot verify TLS here without a CA file: pass cafile=... "
                    "(or verify_ssl=False to skip verification)",
                    url,
                )
            ctx.verify_mode = ssl.CERT_REQUIRED
            # mbedTLS here may lack PEM support: hand it each certificate as DER.
            for der in pem_to_der(_read_file_bytes(cafile, url)):
                try:
                    ctx.load_verify_locations(cadata=der)  # the ssl.py wrapper
                except TypeError:
                    ctx.load_verify_locations(der)  # the native tls module
        else:
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def send(self, req: "PreparedRequest") -> Response:
        return follow_redirects(
            req, lambda method, url, headers, body: self._once(req, method, url, headers, body)
        )

    def _connect(self, url: "URL", host: str, port: int, timeout: "int | float") -> "Any":
        pool = self.pool()
        stream = getattr(pool, "SOCK_STREAM", 1)
        try:
            infos = pool.getaddrinfo(host, port, 0, stream)
        except Exception as e:
            if isinstance(e, (OSError, RuntimeError)) and not _is_timeout(e):
                raise _error(WebConnectionError, "cannot resolve host (%s)" % e, url)
            raise classify_os_error(e, url, "resolving the host", timeout)
        if not infos:
            raise _error(WebConnectionError, "cannot resolve host", url)
        err = _error(WebConnectionError, "no usable address", url)
        for info in infos[:4]:
            sock = pool.socket(info[0], stream, info[2] if len(info) > 2 else 0)
            try:
                sock.settimeout(timeout)
                sock.connect(info[-1])
                return sock
            except Exception as e:
                sock.close()
                err = classify_os_error(e, url, "connecting", timeout)
        raise err

    def _once(
        self,
        req: "PreparedRequest",
        method: str,
        url: "URL",
        headers: Headers,
        body: "Optional[bytes]",
    ) -> Response:
        start = monotonic_ms()
        timeout = req.timeout
        proxy = None
        if req.proxy_host and url.scheme == "http":
            proxy = parse_url(
                req.proxy_host if "://" in req.proxy_host else "http://" + req.proxy_host
            )
        head = build_request_head(method, url, headers, body, absolute_form=proxy is not None)
        target = proxy or url
        sock = self._connect(url, target.host, target.port, timeout)
        try:
            if url.scheme == "https":
                ctx = self.ssl_context(req.verify, req.cafile, url)
                try:
                    sock = ctx.wrap_socket(sock, server_hostname=url.host)
                except Exception as e:
                    if _is_timeout(e):
                        raise classify_os_error(e, url, "in the TLS handshake", timeout)
                    raise _error(WebSSLError, "TLS handshake failed: %s" % _ssl_reason(e), url)
            during = "sending the request"
            try:
                _send_all(sock, head + body if body else head)
                during = "waiting for the response"
                code, reason, rheaders, content = read_response(
                    _Reader(sock), method, req.max_body, url
                )
            except Exception as e:
                raise classify_os_error(e, url, during, timeout)
        finally:
            try:
                sock.close()
            except Exception:  # noqa: S110 - closing a dead socket must not mask the error
                pass
        return Response(
            code,
            rheaders,
            content,
            url.geturl(),
            monotonic_ms() - start,
            reason,
        )

    def close(self) -> None:
        self._contexts = {}


def _ssl_reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "certificate verify failed (unknown CA? pass cafile=...): " + text
    if _errno_of(exc) in (-9984, -0x2700):  # mbedTLS X509 verify failed
        return "certificate verify failed (unknown CA? pass cafile=...): " + text
    return text or type(exc).__name__


def pem_to_der(data: bytes) -> "list[bytes]":
    """The DER certificates in a PEM bundle (or ``[data]`` if it is not PEM)."""
    import binascii

    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    if begin not in data:
        return [data]
    out = []
    for part in data.split(begin)[1:]:
        body = part.split(end, 1)[0]
        b64 = b"".join([line.strip() for line in body.split(b"\n")])
        out.append(binascii.a2b_base64(b64))
    return out


def _read_file_bytes(path: str, url: "URL") -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise _error(WebSSLError, "cannot read cafile %r: %s" % (path, e), url)


# ---------------------------------------------------- adafruit_requests


class AdafruitTransport:
    """``adafruit_requests`` over an injected socket pool and SSL context.

    kcore keeps the redirect loop (bounded) and reads the body itself
    (bounded); adafruit_requests does the wire protocol and socket reuse.
    """

    name = "adafruit"

    def __init__(
        self, socket_pool: "Any", ssl_context: "Any" = None, module: "Any" = None
    ) -> None:
        if module is None:
            try:
                import adafruit_requests as module  # type: ignore[import-not-found,no-redef]
            except ImportError:
                raise _error(
                    WebError, "the adafruit transport needs the adafruit_requests library"
                )
        self._mod = module
        self._pool = socket_pool
        self._ssl_context = ssl_context
        self._contexts = SocketTransport(socket_pool, ssl_context)  # makes/caches contexts
        self._sessions = {}  # type: dict

    def _session(self, ctx: "Any") -> "Any":
        key = id(ctx)
        entry = self._sessions.get(key)
        if entry is None:
            # A session_id per SSL context: adafruit's connection manager
            # reuses sockets by (host, port, session_id), and a verified
            # request must never ride on a socket opened without verification.
            sid = "kcore-%d" % len(self._sessions)
            entry = (self._mod.Session(self._pool, ctx, session_id=sid), ctx)
            self._sessions[key] = entry
        return entry[0]

    def _context(self, req: "PreparedRequest", url: "URL") -> "Any":
        if url.scheme != "https":
            return self._ssl_context
        return self._contexts.ssl_context(req.verify, req.cafile, url)

    def send(self, req: "PreparedRequest") -> Response:
        if req.proxy_host:
            raise _error(WebError, "proxy_host is not supported by adafruit_requests", req.parsed)
        return follow_redirects(
            req, lambda method, url, headers, body: self._once(req, method, url, headers, body)
        )

    def _once(
        self,
        req: "PreparedRequest",
        method: str,
        url: "URL",
        headers: Headers,
        body: "Optional[bytes]",
    ) -> Response:
        start = monotonic_ms()
        session = self._session(self._context(req, url))
        sent = {}
        for name, value in headers.items():
            name, value = _check_header(name, value)
            if name.lower() != "connection":
                sent[name] = header_bytes(value)  # adafruit would send str as UTF-8
        plain = url.origin + url.target  # no user info: adafruit cannot parse it
        during = "connecting"
        resp = None
        err = None
        try:
            resp = session.request(
                method,
                plain,
                data=body,
                headers=sent,
                stream=True,
                timeout=req.timeout,
                allow_redirects=False,
            )
            during = "reading the response"
            rheaders = Headers(resp.headers)
            cl = rheaders.get("content-length")
            if cl and cl.isdigit() and int(cl) > req.max_body:
                raise _too_big(req.max_body, url)
            chunks = []
            have = 0
            if method != "HEAD" and resp.status_code not in (204, 304):
                for chunk in resp.iter_content(1024):
                    have += len(chunk)
                    if have > req.max_body:
                        raise _too_big(req.max_body, url)
                    chunks.append(bytes(chunk))
            reason = resp.reason
            if isinstance(reason, (bytes, bytearray)):
                reason = bytes(reason).decode("latin-1")
            out = Response(
                resp.status_code,
                rheaders,
                b"".join(chunks),
                url.geturl(),
                monotonic_ms() - start,
                reason,
                resp,
            )
        except Exception as e:
            err = e
        if resp is not None:
            try:
                resp.close()
            except Exception:  # noqa: S110 - the socket may already be gone
                pass
        if err is not None:
            if type(err).__name__ == "OutOfRetries":  # it retried once; why did it fail?
                cause = getattr(err, "__cause__", None)
                if cause is not None:
                    raise classify_os_error(cause, url, during, req.timeout)
                raise _error(WebConnectionError, "no working connection (%s)" % err, url)
            raise classify_os_error(err, url, during, req.timeout)
        return out

    def close(self) -> None:
        """Close the sockets adafruit's connection manager keeps for reuse."""
        self._sessions = {}
        try:
            from adafruit_connection_manager import (  # type: ignore[import-not-found]
                connection_manager_close_all,
            )
        except ImportError:
            return
        try:
            connection_manager_close_all(self._pool)
        except (RuntimeError, KeyError):  # pool never used
            pass
