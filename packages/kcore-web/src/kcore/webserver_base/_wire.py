"""HTTP/1.x on the wire, for every kcore server: parsing request heads and
writing response heads.

Pure functions over bytes (no sockets), shared by :mod:`kcore.webserver`
and :mod:`kcore.webserver_circpy`. Every problem with a request becomes an
:class:`HttpError` carrying the status to answer. :func:`response_head` is
the one place a status line and response headers are written, so every
response of every server has exactly one ``Server`` header and a valid
``Content-Type``.
"""

from kcore.common import platform as _platform

# ---------------------------------------------------------------- errors

_HttpErrorBase = _platform.error_class(
    "HttpErrorBase", ValueError, doc="Base of HttpError (a KcoreError and a ValueError)."
)


class HttpError(_HttpErrorBase):  # type: ignore[misc,valid-type]
    """A request that must be answered with an error status (400, 413, ...).

    ``status`` is the HTTP status to send, the message says what was wrong
    (it is sent to the client, so it never contains secrets).
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------- HTTP facts

STATUS_TEXT = {
    100: "Continue",
    101: "Switching Protocols",
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    417: "Expectation Failed",
    426: "Upgrade Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}

KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "test")

#: Methods that reach handlers (others are answered 501).
SERVED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")

#: Methods whose body is parsed as a form.
FORM_METHODS = ("POST", "PUT", "PATCH")

TEXT_PLAIN = "text/plain; charset=utf-8"
TEXT_HTML = "text/html; charset=utf-8"

#: The ``Server`` header of kcore.webserver.
SERVER_NAME = "k_webserver"

_TCHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VCHARS = bytes(range(0x21, 0x7F))
# What a request header value may hold (RFC 9110 field-content): HTAB, SP,
# visible ASCII and obs-text; no other control character (C0, DEL).
_FIELD_CHARS = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
# A Host value: reg-name, IP literal or IPv4, and a port (RFC 3986 authority
# without userinfo); empty is allowed (RFC 9112 3.2).
_HOST_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:[]%"
_HAS_TRANSLATE = hasattr(b"", "translate")
_HAS_ISPRINTABLE = hasattr("", "isprintable")


def _only(data: bytes, allowed: bytes) -> bool:
    # True if every byte of `data` is in `allowed` (fast path on CPython).
    if _HAS_TRANSLATE:
        return not data.translate(None, allowed)
    for b in data:
        if b not in allowed:
            return False
    return True


def _latin1(data: bytes) -> str:
    # MicroPython decodes every codec as UTF-8 and raises on other bytes.
    try:
        return data.decode("latin-1")
    except UnicodeError:
        return "".join([chr(b) for b in data])


def is_token(data: bytes) -> bool:
    """True for a non-empty RFC 9110 token (method or header name), as bytes."""
    return bool(data) and _only(data, _TCHARS)


def is_field_value(data: bytes) -> bool:
    """True if ``data`` (a request header value, a chunk extension, a
    trailer line) holds no control character but HTAB: no NUL, CR, LF, VT,
    FF, DEL, ..."""
    return _only(data, _FIELD_CHARS)


def has_control(text: str) -> bool:
    """True if ``text`` (a response header value a handler set) holds a
    control character: C0 (HTAB included), DEL or C1 (NEL, ...)."""
    if _HAS_ISPRINTABLE and text.isprintable():
        return False  # the usual case, checked in C
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0:
            return True
    return False


def ows_strip(text: str) -> str:
    """``text`` without leading and trailing spaces and tabs (RFC 9110
    optional whitespace). Never ``str.strip()``: that also removes VT, FF,
    NEL, NBSP, ..., which a front end may read differently (smuggling)."""
    return text.strip(" \t")


# ---------------------------------------------------------------- headers


class Headers:
    """Request headers: case-insensitive lookup, repeated names kept.

    ``headers['Content-Type']``, ``headers.get('content-type')``,
    ``'host' in headers``, ``headers.get_all('cookie')``; ``items()`` gives
    (lower-case name, value) pairs in arrival order.
    """

    def __init__(self, pairs: object = None) -> None:
        self._pairs = []  # type: list
        self._map = {}  # type: dict
        if pairs:
            items = pairs.items() if hasattr(pairs, "items") else pairs
            for name, value in items:  # type: ignore[union-attr]
                self.add(name, value)

    @classmethod
    def _from_pairs(cls, pairs: list) -> "Headers":
        # Fast path for the parser: names already lower-case str, values str.
        h = object.__new__(cls)
        h._pairs = pairs
        m = h._map = {}
        for n, v in pairs:
            if n in m:
                m[n] = m[n] + ", " + v
            else:
                m[n] = v
        return h

    def add(self, name: object, value: object) -> None:
        name = str(name).lower()
        value = str(value)
        self._pairs.append((name, value))
        if name in self._map:
            self._map[name] = self._map[name] + ", " + value
        else:
            self._map[name] = value

    def get(self, name: str, default: "str | None" = None) -> "str | None":
        return self._map.get(name.lower(), default)

    def get_all(self, name: str) -> list:
        name = name.lower()
        return [v for (n, v) in self._pairs if n == name]

    def count(self, name: str) -> int:
        return len(self.get_all(name))

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __contains__(self, name: object) -> bool:
        return str(name).lower() in self._map

    def __iter__(self) -> object:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def keys(self) -> object:
        return self._map.keys()

    def items(self) -> list:
        return list(self._pairs)

    def __repr__(self) -> str:
        return "Headers(%r)" % (self._pairs,)


# ---------------------------------------------------------------- parsing requests


def parse_request_head(head: bytes, max_headers: int = 100) -> "tuple[str, str, str, Headers]":
    """Parse the bytes of a request head (request line and header lines,
    without the final blank line). Returns ``(method, target, version,
    Headers)``; raises :class:`HttpError` with the status to answer."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if not is_token(method):
        raise HttpError(400, "malformed request method")
    if version != b"HTTP/1.1" and version != b"HTTP/1.0":
        if version[:5] == b"HTTP/" and len(version) == 8 and version[6:7] == b".":
            raise HttpError(505, "only HTTP/1.0 and HTTP/1.1 are supported")
        raise HttpError(400, "malformed HTTP version")
    if not target or not _only(target, _VCHARS):
        raise HttpError(400, "request target must be non-empty printable ASCII")
    if target[:1] != b"/" and target != b"*":
        if target[:7].lower() == b"http://" or target[:8].lower() == b"https://":
            i = target.find(b"/", target.find(b"//") + 2)
            target = target[i:] if i >= 0 else b"/"
        else:
            raise HttpError(400, "request target must be a path")
    if len(lines) - 1 > max_headers:
        raise HttpError(431, "too many header lines")
    n_lf = head.count(b"\n")
    if b"\x00" in head or head.count(b"\r") != n_lf or head.count(b"\r\n") != n_lf:
        raise HttpError(400, "control character (NUL, lone CR or LF) in the request head")
    pairs = []
    for line in lines[1:]:
        i = line.find(b":")
        if i <= 0:
            if not line:
                raise HttpError(400, "empty header line")
            if line[:1] == b" " or line[:1] == b"\t":
                raise HttpError(400, "obsolete header line folding")
            raise HttpError(400, "malformed header line")
        name = line[:i]
        if not is_token(name):  # (checked before decoding: a name may be any bytes)
            raise HttpError(400, "malformed header name")
        value = line[i + 1 :].strip(b" \t")
        if not is_field_value(value):
            raise HttpError(400, "control character in a header value")
        pairs.append((name.decode().lower(), _latin1(value)))
    headers = Headers._from_pairs(pairs)
    return method.decode(), target.decode(), version.decode(), headers


def check_host(version: str, headers: Headers) -> None:
    """RFC 9112 3.2: an HTTP/1.1 request has exactly one Host header, any
    request at most one, and its value is a valid authority (empty
    allowed). HttpError 400 otherwise."""
    host = headers._map.get("host")
    if host in _GOOD_HOSTS:  # the usual case: a Host seen before, once
        return
    if host is None:
        if version == "HTTP/1.1":
            raise HttpError(400, "HTTP/1.1 request without a Host header")
        return
    if "," in host and headers.count("host") > 1:
        raise HttpError(400, "more than one Host header")
    if host and not _only(host.encode("latin-1"), _HOST_CHARS):
        raise HttpError(400, "malformed Host header")
    if len(_GOOD_HOSTS) < 64 and "," not in host:
        _GOOD_HOSTS[host] = True


# Host values found valid (a few: a server is reached under a few names).
# A value with a comma is never one: it may be two Host headers joined.
_GOOD_HOSTS = {}  # type: dict


def body_framing(headers: Headers, max_body: int) -> "tuple[str, int | None]":
    """How the request body is framed: ``('length', n)`` or ``('chunked', None)``.

    Raises HttpError: 400 for a malformed, duplicate-but-different or
    Transfer-Encoding-conflicting Content-Length (request smuggling), 501
    for a transfer coding other than chunked, 413 for a body over
    ``max_body`` bytes.
    """
    present = headers._map
    if "transfer-encoding" not in present and "content-length" not in present:
        return "length", 0
    te = headers.get_all("transfer-encoding")
    cls = headers.get_all("content-length")
    if te:
        if cls:
            raise HttpError(400, "both Content-Length and Transfer-Encoding")
        codings = [ows_strip(c).lower() for c in ", ".join(te).split(",") if ows_strip(c)]
        if codings != ["chunked"]:
            raise HttpError(501, "only the chunked transfer coding is supported")
        return "chunked", None
    if not cls:
        return "length", 0
    values = []
    for v in ",".join(cls).split(","):
        v = ows_strip(v)
        if not v or len(v) > 18 or not _only(v.encode(), b"0123456789"):
            raise HttpError(400, "malformed Content-Length")
        values.append(int(v))
    for n in values[1:]:
        if n != values[0]:
            raise HttpError(400, "conflicting Content-Length values")
    if values[0] > max_body:
        raise HttpError(413, "request body larger than %d bytes" % max_body)
    return "length", values[0]


_HEX = "0123456789abcdefABCDEF"


def percent_decode(text: str) -> bytes:
    """Strict %xx decoding to bytes (``+`` stays ``+``); HttpError 400 on a bad escape."""
    if "%" not in text:
        return text.encode()
    out = bytearray()
    parts = text.split("%")
    out.extend(parts[0].encode())
    for part in parts[1:]:
        if len(part) < 2 or part[0] not in _HEX or part[1] not in _HEX:
            raise HttpError(400, "malformed percent escape in the path")
        out.append(int(part[:2], 16))
        out.extend(part[2:].encode())
    return bytes(out)


def check_path(path: str) -> str:
    """Validate a request path (without query): percent escapes well formed,
    decoding to UTF-8 without NUL, and no ``..`` segment. Returns the decoded
    path; raises HttpError 400."""
    if "%" not in path and "." not in path and "\\" not in path and "\x00" not in path:
        return path  # the common case: plain ASCII (the parser checked), nothing to decode
    raw = percent_decode(path)
    try:
        decoded = raw.decode("utf-8")
    except UnicodeError:
        raise HttpError(400, "path is not valid UTF-8")
    if "\x00" in decoded:
        raise HttpError(400, "NUL in the path")
    for seg in decoded.replace("\\", "/").split("/"):
        if seg == "..":
            raise HttpError(400, "'..' in the path")
    return decoded


# ---------------------------------------------------------------- writing responses

_CTYPE_LINES = {}  # type: dict  # msg_type -> b"Content-Type: ...\r\n"
_STATUS_LINES = {}  # type: dict  # (status, reason, server) -> status line + Server header


def wire_content_type(msg_type: str) -> str:
    """The Content-Type sent for a Response's ``msg_type``: the original's
    short values become valid MIME types (``text`` and ``?`` -> text/plain,
    ``text/html`` gains its charset); anything else is sent as given."""
    if msg_type == "text" or msg_type == "?" or msg_type == "" or msg_type == "text/plain":
        return TEXT_PLAIN
    if msg_type == "text/html" or msg_type == "html":
        return TEXT_HTML
    if "/" not in msg_type:
        return "application/octet-stream"
    return msg_type


def _ctype_line(msg_type: str) -> bytes:
    line = _CTYPE_LINES.get(msg_type)
    if line is None:
        line = ("Content-Type: %s\r\n" % wire_content_type(msg_type)).encode("latin-1", "replace")
        if len(_CTYPE_LINES) < 64:
            _CTYPE_LINES[msg_type] = line
    return line


def status_line(status: int, reason: "str | None" = None, server: str = SERVER_NAME) -> bytes:
    """``HTTP/1.1 <status> <reason>`` and the ``Server`` header, as bytes."""
    key = (status, reason, server)
    line = _STATUS_LINES.get(key)
    if line is None:
        text = STATUS_TEXT.get(status, "Unknown") if reason is None else reason
        line = ("HTTP/1.1 %d %s\r\nServer: %s\r\n" % (status, text, server)).encode(
            "latin-1", "replace"
        )
        if len(_STATUS_LINES) < 256:
            _STATUS_LINES[key] = line
    return line


_HEADS = {}  # type: dict  # what response_head writes for a shape, around the Date line


def response_head(
    status: int,
    msg_type: "str | None" = None,
    length: "int | None" = None,
    extra_headers: "dict | list | None" = None,
    keep_alive: bool = False,
    version: str = "HTTP/1.1",
    reason: "str | None" = None,
    server: str = SERVER_NAME,
    date: bytes = b"",
    chunked: bool = False,
) -> bytes:
    """The status line and headers of a response, up to and including the
    blank line: ``Server``, ``date`` (a ready ``Date: ...\\r\\n`` line or
    nothing), ``Content-Type`` (from ``msg_type`` via
    :func:`wire_content_type`; None: no Content-Type), ``Connection``
    (``close``, or ``keep-alive`` for HTTP/1.0 clients), ``Content-Length``
    (``length``, or ``Transfer-Encoding: chunked`` with ``chunked``), then
    ``extra_headers`` (a dict or a list of pairs; a value that is a list
    gives one header line per element, e.g. several ``Set-Cookie``). A
    header name that is not a token or a value holding a control character
    raises ValueError (the last line of defence against header injection,
    also for headers changed after the Response was made)."""
    shape = (status, msg_type, keep_alive, version, reason, server, chunked)
    fixed = _HEADS.get(shape)
    if fixed is None:
        after = []
        if msg_type is not None:
            after.append(_ctype_line(msg_type))
        if not keep_alive:
            after.append(b"Connection: close\r\n")
        elif version == "HTTP/1.0":
            after.append(b"Connection: keep-alive\r\n")
        if chunked:
            after.append(b"Transfer-Encoding: chunked\r\n")
        fixed = (status_line(status, reason, server), b"".join(after))
        if len(_HEADS) < 128:
            _HEADS[shape] = fixed
    head = fixed[0] + date + fixed[1]
    if length is not None and not chunked:
        head += b"Content-Length: %d\r\n" % length
    if extra_headers:
        head += header_lines(extra_headers)
    return head + b"\r\n"


def header_lines(extra_headers: "dict | list") -> bytes:
    """``Name: value\r\n`` lines for a dict or a list of (name, value)
    pairs; a list or tuple value gives one line per element. ValueError for
    a name that is not a token or a value with a control character."""
    out = []
    items = extra_headers.items() if hasattr(extra_headers, "items") else extra_headers
    for k, v in items:  # type: ignore[union-attr]
        name = str(k)
        if not is_token(name.encode()):
            raise ValueError("bad header name %r" % (name,))
        values = v if isinstance(v, (list, tuple)) else (v,)
        for value in values:
            value = str(value)
            if has_control(value):
                raise ValueError("header %s: value contains a control character" % name)
            out.append(("%s: %s\r\n" % (name, value)).encode("latin-1", "replace"))
    return b"".join(out)


def error_bytes(
    status: int,
    message: str,
    keep_alive: bool = False,
    server: str = SERVER_NAME,
    date: bytes = b"",
) -> bytes:
    """A whole plain-text error response (head and body) for ``status``."""
    body = (message + "\n").encode("utf-8", "replace")
    return (
        response_head(status, TEXT_PLAIN, len(body), None, keep_alive, server=server, date=date)
        + body
    )
