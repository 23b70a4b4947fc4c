"""Incremental HTTP/1.1 request parsing for kcore.webserver: bytes in, requests out.

Pure (no sockets, no threads), so it is fuzzed directly. Every problem with
the input becomes an :class:`~kcore.webserver_base.HttpError` carrying the
status to answer; nothing else escapes for any input.
"""

from kcore.webserver_base import (
    Headers,
    HttpError,
    body_framing,
    check_host,
    is_field_value,
    ows_strip,
    parse_request_head,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Optional, Sequence, Tuple


class Limits:
    """Bounds on what one request may use (bytes, counts)."""

    def __init__(
        self,
        max_header_bytes: int = 16384,
        max_request_line: int = 8192,
        max_headers: int = 100,
        max_body: int = 1048576,
        max_chunk_line: int = 1024,
    ) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_request_line = max_request_line
        self.max_headers = max_headers
        self.max_body = max_body
        self.max_chunk_line = max_chunk_line


class ParsedRequest:
    """A complete request off the wire (head parsed, body de-chunked)."""

    __slots__ = ("body", "expect_continue", "headers", "keep_alive", "method", "target", "version")

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        headers: Headers,
        body: bytes,
        keep_alive: bool,
        expect_continue: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue


_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _TRAILER = range(5)
_HEXDIGITS = b"0123456789abcdefABCDEF"
_NEED_LENGTH = ("POST", "PUT", "PATCH")


# The usual request head, recognised in one regex match: a method handlers
# serve, an origin-form target, HTTP/1.0 or 1.1, header lines of a token, a
# colon and a value without control characters. What this accepts, the
# strict parser (parse_request_head) accepts with the same result; anything
# else goes to the strict parser.
_TCHAR = "!#$%&'*+.^_`|~0-9A-Za-z\\-"
_FAST = []  # type: list  # [head pattern, field pattern], compiled on first use (import cost)
_VERSIONS = {"0": "HTTP/1.0", "1": "HTTP/1.1"}


def _compile_fast() -> list:
    import re

    _FAST[:] = [
        re.compile(
            "(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) (/[!-~]*) HTTP/1\\.([01])\r\n"
            "((?:[" + _TCHAR + "]+:[\t -~\x80-\xff]*\r\n)*)"
        ),
        re.compile("([" + _TCHAR + "]+):[ \t]*([\t -~\x80-\xff]*?)[ \t]*\r\n"),
    ]
    return _FAST


def _parse_head_fast(
    buf: bytearray, end: int, max_headers: int
) -> "Optional[Tuple[str, str, str, Headers]]":
    """(method, target, version, headers) of the head ``buf[:end]``, or None
    if it is not of the usual shape (then the strict parser looks at it)."""
    head_re, field_re = _FAST or _compile_fast()
    m = head_re.fullmatch(buf[: end + 2].decode("latin-1"))
    if m is None:
        return None
    method, target, minor, block = m.groups()
    if block:
        pairs = [(n.lower(), v) for n, v in field_re.findall(block)]
        if len(pairs) > max_headers:
            return None
    else:
        pairs = []
    return method, target, _VERSIONS[minor], Headers._from_pairs(pairs)


def _connection_tokens(headers: Headers) -> "Sequence[str]":
    value = headers.get("connection")
    if not value:
        return ()
    return [ows_strip(t).lower() for t in value.split(",")]


class RequestReader:
    """Feed bytes with :meth:`feed`; take complete requests with :meth:`next_request`.

    ``started`` tells whether bytes of an unfinished request are buffered (so
    an idle keep-alive connection can be told from a stalled request), and
    ``continue_pending`` whether a ``100 Continue`` should be sent now.

    Memory is bounded by the limits, whatever the framing: a chunked body
    is gathered in one buffer (no object per chunk), so a million one-byte
    chunks cost about what a one-megabyte body does.
    """

    def __init__(self, limits: "Optional[Limits]" = None) -> None:
        self.limits = limits or Limits()
        self.buf = bytearray()
        self._state = _HEAD
        self._head = []  # type: list
        self._need = 0
        self._body = bytearray()  # a chunked body so far
        self.continue_pending = False

    def feed(self, data: bytes) -> None:
        self.buf += data

    @property
    def started(self) -> bool:
        return self._state != _HEAD or bool(self.buf)

    def next_request(self) -> "Optional[ParsedRequest]":
        """The next complete request, or None if more bytes are needed."""
        buf = self.buf
        lim = self.limits
        if self._state == _HEAD:
            while buf[:2] == b"\r\n":  # RFC 9112 2.2: ignore blank lines before a request
                del buf[:2]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > lim.max_header_bytes:
                    self._too_big_head(buf)
                if b"\n" not in buf and len(buf) > lim.max_request_line:
                    raise HttpError(414, "request line too long")
                return None
            if end > lim.max_header_bytes:
                self._too_big_head(buf)
            if end > lim.max_request_line and buf.find(b"\r\n") > lim.max_request_line:
                raise HttpError(414, "request line too long")
            head = _parse_head_fast(buf, end, lim.max_headers)
            if head is None:  # anything unusual: the strict parser decides (or says why not)
                head = parse_request_head(bytes(buf[:end]), lim.max_headers)
            method, target, version, headers = head
            del buf[: end + 4]
            hmap = headers._map
            if "content-length" in hmap or "transfer-encoding" in hmap:
                kind, length = body_framing(headers, lim.max_body)
            else:
                kind, length = "length", 0
            if kind != "chunked" and method in _NEED_LENGTH and "content-length" not in hmap:
                raise HttpError(411, "%s needs a Content-Length" % method)
            check_host(version, headers)
            if "connection" not in hmap:
                keep_alive = version == "HTTP/1.1"
            elif version == "HTTP/1.1":
                keep_alive = "close" not in _connection_tokens(headers)
            else:
                keep_alive = "keep-alive" in _connection_tokens(headers)
            if "expect" not in hmap and kind != "chunked" and not length:
                return ParsedRequest(method, target, version, headers, b"", keep_alive, False)
            expect = hmap.get("expect")
            expect_continue = False
            if expect is not None:
                if ows_strip(expect).lower() != "100-continue":
                    raise HttpError(417, "unsupported Expect header")
                expect_continue = version == "HTTP/1.1"
            self._head = [method, target, version, headers, keep_alive, expect_continue]
            self._body = bytearray()
            if kind == "chunked":
                self._state = _CHUNK_SIZE
            elif length:
                self._state = _BODY
                self._need = length
            else:
                return self._done(b"")
            self.continue_pending = expect_continue
        if self._state == _BODY:
            if len(buf) < self._need:
                return None
            body = bytes(buf[: self._need])
            del buf[: self._need]
            return self._done(body)
        return self._chunked()

    def _chunked(self) -> "Optional[ParsedRequest]":
        # The chunks of a chunked body, then its trailer. Parsed by position
        # in the buffer, which is trimmed once per call (not per chunk).
        buf = self.buf
        lim = self.limits
        body = self._body
        pos = 0
        view = memoryview(buf)
        try:
            while True:
                if self._state == _CHUNK_SIZE:
                    i = buf.find(b"\r\n", pos)
                    if i < 0:
                        if len(buf) - pos > lim.max_chunk_line:
                            raise HttpError(400, "chunk size line too long")
                        return None
                    if i - pos > lim.max_chunk_line:
                        raise HttpError(400, "chunk size line too long")
                    size_text = bytes(view[pos:i])
                    if size_text.strip(_HEXDIGITS):  # not just a size: an extension, spaces, junk
                        if not is_field_value(size_text):  # a lone CR or LF, a NUL, ...
                            raise HttpError(400, "control character in a chunk size line")
                        semi = size_text.find(b";")
                        if semi >= 0:
                            size_text = size_text[:semi]
                        size_text = size_text.strip(b" \t")
                        if size_text.strip(_HEXDIGITS):
                            raise HttpError(400, "malformed chunk size")
                    if not size_text or len(size_text) > 15:
                        raise HttpError(400, "malformed chunk size")
                    size = int(size_text, 16)
                    pos = i + 2
                    if size == 0:
                        self._state = _TRAILER
                        self._need = 0
                        continue
                    if len(body) + size > lim.max_body:
                        raise HttpError(413, "request body larger than %d bytes" % lim.max_body)
                    self._state = _CHUNK_DATA
                    self._need = size
                if self._state == _CHUNK_DATA:
                    need = self._need
                    end = pos + need
                    if len(buf) < end + 2:
                        return None
                    if not buf.startswith(b"\r\n", end):
                        raise HttpError(400, "chunk data not followed by CRLF")
                    body += view[pos:end]
                    pos = end + 2
                    self._state = _CHUNK_SIZE
                    continue
                # _TRAILER: header-like lines until an empty one; contents ignored
                i = buf.find(b"\r\n", pos)
                if i < 0:
                    if len(buf) - pos > lim.max_header_bytes:
                        raise HttpError(431, "chunked trailer too large")
                    return None
                self._need += i - pos + 2
                if self._need > lim.max_header_bytes:
                    raise HttpError(431, "chunked trailer too large")
                line = bytes(view[pos:i])
                pos = i + 2
                if not line:
                    self._body = bytearray()
                    return self._done(bytes(body))
                if b":" not in line or not is_field_value(line):
                    raise HttpError(400, "malformed chunked trailer")
        finally:
            view.release()
            if pos:
                del buf[:pos]

    def _too_big_head(self, buf: bytearray) -> None:
        line_end = buf.find(b"\r\n")
        if line_end < 0 or line_end > self.limits.max_request_line:
            raise HttpError(414, "request line too long")
        raise HttpError(431, "request header fields too large")

    def _done(self, body: bytes) -> ParsedRequest:
        method, target, version, headers, keep_alive, expect_continue = self._head
        self._head = []
        self._state = _HEAD
        self.continue_pending = False
        return ParsedRequest(method, target, version, headers, body, keep_alive, expect_continue)
