"""Sending responses on non-blocking sockets, for kcore.webserver.

A plain response is sent without blocking; what does not fit the socket
buffer is left on the connection (``conn.wbuf``) for the poller to finish, so
a client that does not read costs no thread. Streamed responses (iterators,
files) are written piece by piece, blocking at most ``write_timeout`` per
piece. The head comes from :func:`kcore.webserver_base.response_head`, the
one writer of status lines and headers.
"""

import select
import time

from kcore.webserver_base import SERVER_NAME, response_head

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Optional

    from kcore.webserver_base import Response

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_date_cache = [0, b""]  # type: list


def http_date() -> bytes:
    """The ``Date: ...\\r\\n`` header line for now (recomputed once a second)."""
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
    return _date_cache[1]  # type: ignore[no-any-return]


class Closed(Exception):
    """The peer went away (or timed out) while we were writing."""


def is_ssl_want(e: BaseException) -> bool:
    """True for ssl's 'try again when the socket is readable/writable' errors."""
    name = type(e).__name__
    return name in ("SSLWantReadError", "SSLWantWriteError")


def close_iter(it: object) -> None:
    """Close a streamed body (a generator's cleanup failing must not kill a worker)."""
    close = getattr(it, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: S110 - see the docstring
            pass


class ResponseWriter:
    """Writes responses to connections (objects with ``sock``, ``tls`` and
    ``wbuf``). ``count(name)`` bumps a counter, ``log(msg)`` logs a problem."""

    def __init__(
        self,
        write_timeout: float,
        count: "Callable[[str], Any]",
        log: "Callable[[str], Any]",
    ) -> None:
        self.write_timeout = write_timeout
        self.count = count
        self.log = log

    def write(
        self,
        conn: "Any",
        response: "Response",
        version: str,
        keep_alive: bool,
        head_only: bool,
        park: bool = False,
    ) -> bool:
        """Send a response; returns whether the connection stays open. With
        ``park``, a plain (non-streamed) response that does not fit the
        socket buffer leaves its rest in ``conn.wbuf``."""
        status = response.status_code
        stream = response.stream
        extra = response.extra_headers
        if status >= 200 and stream is None:  # the usual case: a whole body
            body = response.body
            if body.__class__ is not bytes:
                body = body.encode("utf-8")
            no_body = head_only or status == 204 or status == 304
            head = response_head(
                status,
                response.msg_type,
                None if status == 204 or status == 304 else len(body),
                extra,
                keep_alive,
                version,
                response.reason,
                SERVER_NAME,
                http_date(),
            )
            data = head if no_body else head + body
            if park:
                conn.wbuf = self.send_some(conn, data)
            else:
                self.sendall(conn, data)
            return keep_alive
        if status < 100:  # a failed handler (-1): a bare 500
            head = response_head(
                500, "?", 0, None, keep_alive, version, None, SERVER_NAME, http_date()
            )
            if stream is not None:
                close_iter(stream)
            if park:
                conn.wbuf = self.send_some(conn, head)
            else:
                self.sendall(conn, head)
            return keep_alive
        no_body = head_only or status in (204, 304) or status < 200
        chunked = False
        length = None  # type: Optional[int]
        if stream is None:
            body = response.body_bytes()
            if status != 204 and status != 304:
                length = len(body)
        else:
            body = b""
            has_length = any(k.lower() == "content-length" for k in extra)
            if not has_length:
                if version == "HTTP/1.1":
                    chunked = True
                else:
                    keep_alive = False
        head = response_head(
            status,
            response.msg_type,
            length,
            extra,
            keep_alive,
            version,
            response.reason,
            SERVER_NAME,
            http_date(),
            chunked,
        )
        if stream is None or no_body:
            if stream is not None:
                close_iter(stream)
            data = head if no_body else head + body
            if park:
                conn.wbuf = self.send_some(conn, data)
            else:
                self.sendall(conn, data)
            return keep_alive
        self.sendall(conn, head)
        self._stream(conn, stream, extra, chunked)
        return keep_alive

    def _stream(self, conn: "Any", stream: "Any", extra: dict, chunked: bool) -> None:
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
                self.sendall(conn, chunk)
            if chunked:
                self.sendall(conn, b"0\r\n\r\n")
            if declared is not None and sent != declared:
                raise ValueError("stream shorter than its Content-Length")
        except Closed:
            raise
        except Exception as e:
            # The status line is gone already: all we can do is log and cut
            # the connection so the client sees an incomplete body.
            self.log("streaming response failed: %r" % (e,))
            raise Closed()
        finally:
            close_iter(stream)

    def send_some(self, conn: "Any", data: "Any") -> "Optional[memoryview]":
        """Send without blocking: None when all is sent, else the unsent rest."""
        sock = conn.sock
        try:
            n = sock.send(data)
        except (BlockingIOError, InterruptedError):
            return memoryview(data)
        except OSError as e:
            if conn.tls and is_ssl_want(e):
                return memoryview(data)
            raise Closed()
        if n == len(data):
            return None
        view = memoryview(data)[n:]
        while view:
            try:
                n = sock.send(view)
            except (BlockingIOError, InterruptedError):
                return view
            except OSError as e:
                if conn.tls and is_ssl_want(e):
                    return view
                raise Closed()
            view = view[n:]
        return None

    def sendall(self, conn: "Any", data: bytes) -> None:
        """Send everything, waiting for the socket at most ``write_timeout``
        seconds in a row; raises :class:`Closed` if the peer is gone or slow."""
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
                if conn.tls and is_ssl_want(e):
                    want_write = type(e).__name__ != "SSLWantReadError"
                else:
                    raise Closed()
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.write_timeout
            if now >= deadline:
                self.count("web-write-timeouts")
                raise Closed()
            try:
                p = select.poll()
                p.register(sock, select.POLLOUT if want_write else select.POLLIN)
                p.poll(min(1000, int((deadline - now) * 1000) + 1))
            except (OSError, ValueError):
                raise Closed()

    def send_nowait(self, conn: "Any", data: bytes) -> None:
        """Send what fits now and forget the rest (error replies before a close)."""
        try:
            conn.sock.send(data)
        except OSError:
            pass
