"""Sending responses on non-blocking sockets, for kcore.webserver.

A plain response is sent without blocking; what does not fit the socket
buffer is left on the connection (``conn.wbuf``) for the poller to finish, so
a client that does not read costs no thread. A file (:class:`FileBody`, what
static files are) is sent the same way, piece by piece as the socket takes
it (``sendfile`` where there is no TLS): a slow reader of a large file costs
an open file, never a thread. Other streamed responses (iterators) are
written by the handler's thread piece by piece, blocking at most
``write_timeout`` per piece. The head comes from
:func:`kcore.webserver_base.response_head`, the one writer of status lines
and headers.
"""

import os
import select
import time

from kcore.webserver_base import SERVER_NAME, response_head

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Optional, Tuple

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


#: Bytes a connection may be sent in one poller event before others get a turn.
PUMP_BUDGET = 1 << 20
#: The piece of a file read at a time where it cannot be sent with sendfile.
FILE_PIECE = 65536
_HAS_SENDFILE = hasattr(os, "sendfile")


class FileBody:
    """A response body that is ``size`` bytes of an open binary file, from
    its current position: sent from the poller without a thread (see the
    module doc). Iterating gives the bytes in pieces (for writers that
    stream); :meth:`close` closes the file, also if nothing was sent."""

    def __init__(self, f: "Any", size: int) -> None:
        self.f = f
        self.fd: int = f.fileno()
        self.offset: int = f.tell()
        self.remaining = size

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes at the current offset (b"" at the end of the file)."""
        n = min(n, self.remaining)
        if n <= 0:
            return b""
        data = os.pread(self.fd, n, self.offset)
        self.advance(len(data))
        return data

    def advance(self, n: int) -> None:
        self.offset += n
        self.remaining -= n

    def __iter__(self) -> "FileBody":
        return self

    def __next__(self) -> bytes:
        data = self.read(FILE_PIECE)
        if not data:
            self.close()
            raise StopIteration
        return data

    def close(self) -> None:
        self.remaining = 0
        self.f.close()


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
        if park and not chunked and isinstance(stream, FileBody):
            # The poller sends the file as the socket takes it (see pump()).
            conn.wsrc = stream
            conn.wbuf = memoryview(head)
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

    def pump(self, conn: "Any") -> "Tuple[bool, int]":
        """Send what the socket takes of ``conn.wbuf`` and then of the file
        ``conn.wsrc``, up to PUMP_BUDGET bytes: ``(done, bytes sent)``.
        Raises :class:`Closed` if the peer is gone or the file shrank."""
        sent = 0
        while True:
            buf = conn.wbuf
            if buf is not None:
                rest = self.send_some(conn, buf)
                sent += len(buf) - (0 if rest is None else len(rest))
                conn.wbuf = rest
                if rest is not None:
                    return False, sent
            src = conn.wsrc
            if src is None:
                return True, sent
            if src.remaining <= 0:
                conn.wsrc = None
                src.close()
                return True, sent
            if sent >= PUMP_BUDGET:
                return False, sent  # others' turn; the socket is still writable
            if _HAS_SENDFILE and not conn.tls:
                try:
                    n = os.sendfile(conn.fd, src.fd, src.offset, min(src.remaining, PUMP_BUDGET))
                except (BlockingIOError, InterruptedError):
                    return False, sent
                except OSError:
                    raise Closed()
                if n == 0:
                    self.log("static file shrank while being sent")
                    raise Closed()
                src.advance(n)
                sent += n
                continue
            try:
                piece = src.read(FILE_PIECE)
            except OSError as e:
                self.log("reading a file to send failed: %r" % (e,))
                raise Closed()
            if not piece:
                self.log("static file shrank while being sent")
                raise Closed()
            conn.wbuf = memoryview(piece)

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
