"""kcore.webserver_base: requests, responses, routing and the introspection pages.

No networking here: :mod:`kcore.webserver` (CPython) and
:mod:`kcore.webserver_circpy` (CircuitPython/MicroPython sockets) feed
:class:`Request` objects to :meth:`WebServerBase.find_and_run_handler` and
write the :class:`Response` it returns. Runs unchanged on CPython,
MicroPython and CircuitPython (no dataclasses, no typing at import, regexes
without named groups).

Handler resolution, in order: user routes (first full match wins; its regex
groups go to ``request.route_match_groups`` of *that* request), a standard
handler for exactly that path, the default handler (route ``None``), 404.

Standard pages: ``/healthz``, ``/varz``, ``/logz``, ``/flagz``,
``/favicon.ico``, and ``/metrics`` when :mod:`kcore.varz_prom` can be
imported. ``/varz``, ``/logz``, ``/flagz`` and ``/metrics`` are
*introspection* pages: pass ``introspection_auth`` (a plain callable taking
the request, see :class:`WebServerBase`) to guard them; kcore-auth provides
one. Every value on these pages is HTML-escaped.
"""

__version__ = "0.1.0"

import sys

from kcore import html as H
from kcore import varz as V
from kcore.common import platform as _platform
from kcore.common.urls import unquote_plus

# ---------------------------------------------------------------- errors

_HttpErrorBase = _platform.error_class(
    "HttpErrorBase", ValueError, doc="Base of HttpError (a KcoreError and a ValueError)."
)


class HttpError(_HttpErrorBase):  # type: ignore[misc,valid-type]
    """A request that must be answered with an error status (400, 413, ...).

    ``status`` is the HTTP status to send, the message says what was wrong
    (it is sent to the client, so it never contains secrets).
    """

    def __init__(self, status, message):
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

TEXT_PLAIN = "text/plain; charset=utf-8"
TEXT_HTML = "text/html; charset=utf-8"

_TCHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VCHARS = bytes(range(0x21, 0x7F))
_HAS_TRANSLATE = hasattr(b"", "translate")


def _only(data, allowed):
    # True if every byte of `data` is in `allowed` (fast path on CPython).
    if _HAS_TRANSLATE:
        return not data.translate(None, allowed)
    for b in data:
        if b not in allowed:
            return False
    return True


def is_token(data):
    """True for a non-empty RFC 9110 token (method or header name), as bytes."""
    return bool(data) and _only(data, _TCHARS)


# ---------------------------------------------------------------- headers


class Headers:
    """Request headers: case-insensitive lookup, repeated names kept.

    ``headers['Content-Type']``, ``headers.get('content-type')``,
    ``'host' in headers``, ``headers.get_all('cookie')``; ``items()`` gives
    (lower-case name, value) pairs in arrival order.
    """

    def __init__(self, pairs=None):
        self._pairs = []
        self._map = {}
        if pairs:
            if hasattr(pairs, "items"):
                pairs = pairs.items()
            for name, value in pairs:
                self.add(name, value)

    @classmethod
    def _from_pairs(cls, pairs):
        # Fast path for the parser: names already lower-case str, values str.
        h = cls()
        h._pairs = pairs
        m = h._map
        for n, v in pairs:
            if n in m:
                m[n] = m[n] + ", " + v
            else:
                m[n] = v
        return h

    def add(self, name, value):
        name = str(name).lower()
        value = str(value)
        self._pairs.append((name, value))
        if name in self._map:
            self._map[name] = self._map[name] + ", " + value
        else:
            self._map[name] = value

    def get(self, name, default=None):
        return self._map.get(name.lower(), default)

    def get_all(self, name):
        name = name.lower()
        return [v for (n, v) in self._pairs if n == name]

    def count(self, name):
        return len(self.get_all(name))

    def __getitem__(self, name):
        return self._map[name.lower()]

    def __contains__(self, name):
        return name.lower() in self._map

    def __iter__(self):
        return iter(self._map)

    def __len__(self):
        return len(self._map)

    def keys(self):
        return self._map.keys()

    def items(self):
        return list(self._pairs)

    def __repr__(self):
        return "Headers(%r)" % (self._pairs,)


# ---------------------------------------------------------------- parsing


def parse_request_head(head, max_headers=100):
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
    names = []
    for line in lines[1:]:
        i = line.find(b":")
        if i <= 0:
            if not line:
                raise HttpError(400, "empty header line")
            if line[:1] == b" " or line[:1] == b"\t":
                raise HttpError(400, "obsolete header line folding")
            raise HttpError(400, "malformed header line")
        name = line[:i]
        names.append(name)
        pairs.append((name.decode().lower(), line[i + 1 :].strip(b" \t").decode("latin-1")))
    if names and not is_token(b"".join(names)):
        raise HttpError(400, "malformed header name")
    headers = Headers._from_pairs(pairs)
    return method.decode(), target.decode(), version.decode(), headers


def body_framing(headers, max_body):
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
        codings = [c.strip().lower() for c in ", ".join(te).split(",") if c.strip()]
        if codings != ["chunked"]:
            raise HttpError(501, "only the chunked transfer coding is supported")
        return "chunked", None
    if not cls:
        return "length", 0
    values = []
    for v in ",".join(cls).split(","):
        v = v.strip()
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


def percent_decode(text):
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


def check_path(path):
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


def parse_get_params(full_path):
    """Query parameters as a dict: ``+`` and ``%xx`` unquoted, the value split
    at the first ``=``, a name without ``=`` gets ``''``, the last duplicate wins."""
    i = full_path.find("?")
    if i < 0:
        return {}
    return parse_query(full_path[i + 1 :])


def parse_query(query, multi=False):
    """``a=1&b=2`` -> ``{'a': '1', 'b': '2'}`` (lists of values with ``multi``)."""
    out = {}  # type: dict
    for pair in query.split("&"):
        if not pair:
            continue
        i = pair.find("=")
        if i < 0:
            name, value = pair, ""
        else:
            name, value = pair[:i], pair[i + 1 :]
        name, value = unquote_plus(name), unquote_plus(value)
        if multi:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def _header_param(value, key):
    # 'multipart/form-data; boundary="x"' -> x for key 'boundary'.
    for piece in value.split(";")[1:]:
        piece = piece.strip()
        i = piece.find("=")
        if i > 0 and piece[:i].strip().lower() == key:
            v = piece[i + 1 :].strip()
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                v = v[1:-1]
            return v
    return None


class UploadedFile:
    """One file part of a multipart form: ``filename``, ``content_type``, ``data`` (bytes)."""

    def __init__(self, filename, content_type, data):
        self.filename = filename
        self.content_type = content_type
        self.data = data

    def __repr__(self):
        return "UploadedFile(%r, %r, %d bytes)" % (
            self.filename,
            self.content_type,
            len(self.data),
        )


def parse_form(content_type, body, max_parts=1000):
    """Decode a POST body. Returns ``(post_params, files)``.

    ``application/x-www-form-urlencoded`` -> ``{name: first value}`` (the
    original's format); ``multipart/form-data`` -> ``{name: [values]}`` and
    ``files`` -> ``{name: [UploadedFile]}``; anything else -> ``({}, {})``.
    Raises HttpError 400 for a malformed multipart body.
    """
    if not content_type or body is None:
        return {}, {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeError:
            raise HttpError(400, "form body is not valid UTF-8")
        multi = parse_query(text, multi=True)
        return {k: v[0] for k, v in multi.items()}, {}
    if ctype == "multipart/form-data":
        boundary = _header_param(content_type, "boundary")
        if not boundary or len(boundary) > 200:
            raise HttpError(400, "multipart form without a valid boundary")
        return _parse_multipart(body, boundary.encode("latin-1"), max_parts)
    return {}, {}


def _parse_multipart(body, boundary, max_parts):
    delim = b"--" + boundary
    params = {}  # type: dict
    files = {}  # type: dict
    start = body.find(delim)
    if start < 0:
        raise HttpError(400, "multipart body without its boundary")
    pos = start + len(delim)
    n = 0
    while True:
        if body[pos : pos + 2] == b"--":
            return params, files
        if body[pos : pos + 2] != b"\r\n":
            raise HttpError(400, "malformed multipart boundary line")
        pos += 2
        end = body.find(b"\r\n" + delim, pos)
        if end < 0:
            raise HttpError(400, "unterminated multipart part")
        part = body[pos:end]
        pos = end + 2 + len(delim)
        n += 1
        if n > max_parts:
            raise HttpError(413, "too many multipart parts")
        hend = part.find(b"\r\n\r\n")
        if hend < 0:
            raise HttpError(400, "multipart part without headers")
        try:
            _m, _t, _v, pheaders = parse_request_head(b"X / HTTP/1.1\r\n" + part[:hend], 50)
        except HttpError:
            raise HttpError(400, "malformed multipart part headers")
        data = part[hend + 4 :]
        disp = pheaders.get("content-disposition", "")
        name = _header_param(disp, "name")
        if name is None:
            continue
        filename = _header_param(disp, "filename")
        if filename is not None:
            ptype = pheaders.get("content-type", "application/octet-stream")
            files.setdefault(name, []).append(UploadedFile(filename, ptype, data))
        else:
            try:
                value = data.decode("utf-8")
            except UnicodeError:
                raise HttpError(400, "form field is not valid UTF-8")
            params.setdefault(name, []).append(value)


# ---------------------------------------------------------------- Request / Response


class Request:
    """One HTTP request as handlers see it.

    ``method``, ``full_path`` (with query), ``path`` (before ``?``),
    ``query``, ``get_params`` (dict), ``post_params`` (dict; see
    :func:`parse_form`), ``files``, ``body`` (raw bytes or None),
    ``headers`` (:class:`Headers`), ``remote_address``,
    ``route_match_groups`` (tuple of the matching route's groups),
    ``context`` (the server's context dict), ``server``, ``http_version``,
    ``tls_peer_cert`` (a verified client certificate, CPython TLS only).
    ``str(request)`` is the path.
    """

    def __init__(
        self,
        method,
        full_path,
        body=None,
        context=None,
        headers=None,
        post_params=None,
        remote_address=None,
        route_match_groups=None,
        server=None,
        files=None,
        http_version="HTTP/1.1",
    ):
        self.method = method
        self.full_path = full_path
        i = full_path.find("?")
        self.path = full_path if i < 0 else full_path[:i]
        self.query = "" if i < 0 else full_path[i + 1 :]
        self.get_params = parse_query(self.query) if self.query else {}
        self.body = body
        self.context = {} if context is None else context
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.post_params = {} if post_params is None else post_params
        self.files = {} if files is None else files
        self.remote_address = remote_address
        self.route_match_groups = () if route_match_groups is None else route_match_groups
        self.server = server
        self.http_version = http_version
        self.tls_peer_cert = None

    def __str__(self):
        return self.path

    def __repr__(self):
        return "Request(%r, %r)" % (self.method, self.full_path)


def _is_iterator(body):
    return hasattr(body, "__next__") and not isinstance(body, (str, bytes, bytearray))


class Response:
    """What a handler returns.

    ``body``: str (sent UTF-8), bytes (sent as is), an iterator of str/bytes
    chunks (streamed; chunked encoding on HTTP/1.1), or None. ``msg_type``
    defaults to ``text/html`` for a body starting with ``<``, ``text/plain``
    otherwise (``application/octet-stream`` for bytes). ``status_msg``
    overrides the reason phrase. ``ok`` is true for 2xx statuses.
    """

    def __init__(
        self,
        body,
        status_code=200,
        extra_headers=None,
        msg_type=None,
        exception=None,
        status_msg=None,
        binary=False,
    ):
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise ValueError("status_code must be an int, got %r" % (status_code,))
        if not 100 <= status_code <= 599:
            raise ValueError("status_code must be 100..599, got %d" % status_code)
        self.status_code = status_code
        self.stream = None
        if body is None:
            body = b"" if binary else ""
        if isinstance(body, (bytes, bytearray)):
            binary = True
            body = bytes(body)
        elif _is_iterator(body):
            self.stream = body
            body = b"" if binary else ""
        elif not isinstance(body, str):
            body = str(body)
        self.body = body
        self.binary = binary
        if msg_type is None:
            if binary:
                msg_type = "application/octet-stream"
            elif isinstance(body, str) and body[:1] == "<":
                msg_type = TEXT_HTML
            else:
                msg_type = TEXT_PLAIN
        self.msg_type = _check_header_value("Content-Type", msg_type)
        self.extra_headers = {}
        if extra_headers:
            for k, v in extra_headers.items():
                if not is_token(str(k).encode()):
                    raise ValueError("bad header name %r" % (k,))
                self.extra_headers[str(k)] = _check_header_value(k, v)
        self.exception = exception
        if status_msg is not None:
            status_msg = _check_header_value("status_msg", status_msg)
        self.status_msg = status_msg or STATUS_TEXT.get(status_code, "Unknown")

    @property
    def ok(self):
        return 200 <= self.status_code < 300

    def body_bytes(self):
        """The (non-streamed) body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        return self.body.encode("utf-8")

    def __str__(self):
        if self.exception is not None:
            detail = str(self.exception)
        elif self.stream is not None:
            detail = "<stream>"
        else:
            text = self.body if isinstance(self.body, str) else repr(self.body)
            detail = text[:70].replace("\n", "\\n")
        return "[%d] %s" % (self.status_code, detail)


def _check_header_value(name, value):
    value = str(value)
    for ch in ("\r", "\n", "\x00"):
        if ch in value:
            raise ValueError("header %s: value contains a control character" % name)
    return value


def error_response(status, message):
    """A small plain-text error response (the message is text, never HTML)."""
    return Response(message + "\n", status, msg_type=TEXT_PLAIN)


# ---------------------------------------------------------------- logging adapter


class LoggingAdapter:
    """Where the server's log lines go; any callable may be None (skipped).

    ``log_request(msg)``, ``log_404(msg)``, ``log_general(msg)``,
    ``log_exceptions(msg)`` take one string; ``get_logz_html()`` returns
    the (already escaped) HTML fragment /logz shows.
    """

    def __init__(
        self,
        log_request=None,
        log_404=None,
        log_general=None,
        log_exceptions=None,
        get_logz_html=None,
    ):
        self.log_request = log_request
        self.log_404 = log_404
        self.log_general = log_general
        self.log_exceptions = log_exceptions
        self.get_logz_html = get_logz_html


def default_logging_adapter():
    """kcore.common's logger: info for requests and 404s, error for
    handler exceptions, its in-memory queue for /logz."""
    import kcore.common as C

    return LoggingAdapter(C.log_info, C.log_info, C.log_info, C.log_error, C.last_logs_html)


def _traceback_text(e):
    try:
        import traceback

        return "".join(traceback.format_exception(type(e), e, e.__traceback__))
    except (ImportError, AttributeError):
        import io

        buf = io.StringIO()
        sys.print_exception(e, buf)  # type: ignore[attr-defined]
        return buf.getvalue()


# ---------------------------------------------------------------- routing


class _Route:
    def __init__(self, regex, compiled, func):
        self.regex = regex
        self.compiled = compiled
        self.func = func

    def __repr__(self):
        return "Route(%r)" % self.regex


def _groups(match):
    try:
        return tuple(match.groups())
    except AttributeError:  # MicroPython: no groups()
        out = []
        i = 1
        while True:
            try:
                out.append(match.group(i))
            except IndexError:
                return tuple(out)
            i += 1


def _normalize(route_regex):
    r = route_regex
    if r[:1] == "^":
        r = r[1:]
    if r[-1:] == "$" and r[-2:-1] != "\\":
        r = r[:-1]
    if r[:1] != "/":
        r = "/" + r
    return "^" + r + "$"


INTROSPECTION_PATHS = ("/varz", "/logz", "/flagz", "/metrics")

#: /flagz shows this instead of the value of a flag whose name looks secret.
REDACTED = "(redacted)"
SECRET_WORDS = ("pass", "secret", "token", "credential", "private", "apikey", "api_key")


def _looks_secret(name):
    name = name.lower()
    for word in SECRET_WORDS:
        if word in name:
            return True
    return False


def _prometheus_available():
    if not _platform.CPYTHON:
        return False
    try:
        import importlib.util as iu

        return (
            iu.find_spec("prometheus_client") is not None
            and iu.find_spec("kcore.varz_prom") is not None
        )
    except (ImportError, ValueError):
        return False


class WebServerBase:
    """Routing, standard pages, counters and logging, without networking.

    ``handlers``: dict or list of ``(route_regex, func)`` (``None``/``''``
    route = default handler). ``context``: dict every request gets as
    ``request.context``. ``flagz_args``: dict or argparse Namespace shown at
    /flagz. ``logging_filters``: substrings of paths not logged.
    ``varz_path_trim``: chars of the path used in ``web-path-*`` counters;
    at most ``max_path_counters`` such counters exist, later paths count as
    ``web-path-(other)``.

    ``introspection_auth``: None (pages open; the CPython server binds
    127.0.0.1 by default) or a callable ``auth(request)`` guarding
    INTROSPECTION_PATHS: return True to allow, False for a 403, or a
    :class:`Response` (e.g. 401 with ``WWW-Authenticate``) to send instead.
    """

    def __init__(
        self,
        handlers=None,
        port=None,
        context=None,
        wrap_handlers=True,
        use_standard_handlers=True,
        varz=True,
        varz_path_trim=14,
        logging_adapter=None,
        logging_filters=("favicon.ico",),
        flagz_args=None,
        introspection_auth=None,
        max_path_counters=100,
    ):
        self.port = port
        self.context = {} if context is None else context
        self.wrap_handlers = wrap_handlers
        self.varz = varz
        self.varz_path_trim = varz_path_trim
        self.logger = logging_adapter
        self.logging_filters = list(logging_filters or [])
        self.flagz_args = flagz_args
        self.introspection_auth = introspection_auth
        self.max_path_counters = max_path_counters
        self._path_keys = {}
        self.routes = []
        self.default_handler = None
        self.standard_handlers = {}
        if use_standard_handlers:
            self.standard_handlers = {
                "/healthz": self._healthz_handler,
                "/favicon.ico": self._favicon_handler,
                "/flagz": self._flagz_handler,
                "/logz": self._logz_handler,
                "/varz": self._varz_handler,
            }
            if _prometheus_available():
                self.standard_handlers["/metrics"] = metrics_response
        if handlers:
            self.add_handlers(handlers)
        if varz:
            V.stamp("web-server-start")

    # ------------------------------------------------------------ routes

    def add_handlers(self, handlers):
        """Add routes from a dict or a list of (route_regex, func) pairs."""
        items = handlers.items() if hasattr(handlers, "items") else handlers
        for route_regex, func in items:
            self.add_handler(route_regex, func)

    def add_handler(self, route_regex, func, fixup_regex=True):
        """Add one route (appended: earlier routes win). ``None`` or ``''``
        sets the default handler."""
        if not route_regex:
            self.default_handler = func
            return
        import re

        regex = _normalize(route_regex) if fixup_regex else route_regex
        self.routes.append(_Route(regex, re.compile(regex), func))

    def del_handler(self, route_regex):
        """Remove the first route with the same (normalised) regex; True if found."""
        if not route_regex:
            found = self.default_handler is not None
            self.default_handler = None
            return found
        regex = _normalize(route_regex)
        for i in range(len(self.routes)):
            if self.routes[i].regex == regex or self.routes[i].regex == route_regex:
                del self.routes[i]
                return True
        return False

    def _match(self, path):
        for route in self.routes:
            m = route.compiled.match(path)
            if m is not None:
                return route, _groups(m)
        return None, ()

    def _find_handler(self, path):
        """The route record for ``path`` or None (user routes only)."""
        return self._match(path)[0]

    def _resolve(self, path):
        route, groups = self._match(path)
        if route is not None:
            return route.func, groups, False
        std = self.standard_handlers.get(path)
        if std is not None:
            return std, (), path in INTROSPECTION_PATHS
        return self.default_handler, (), False

    # ------------------------------------------------------------ dispatch

    def find_and_run_handler(self, request):
        """Resolve, authorise, run and count one request; always a Response."""
        path = request.path
        func, groups, guarded = self._resolve(path)
        request.route_match_groups = groups
        request.context = self.context
        if request.server is None:
            request.server = self
        logger = self.logger
        if logger is not None and logger.log_request is not None:
            if not self._filtered(request.full_path):
                logger.log_request(
                    "%s from %s: %s" % (request.method, request.remote_address, request.full_path)
                )
        if func is None:
            if logger is not None and logger.log_404 is not None:
                logger.log_404("404 for %s" % request.full_path)
            response = Response("page not found", 404)
        elif guarded and self.introspection_auth is not None:
            response = self._authorise(request)
            if response is None:
                response = self._call(func, request)
        else:
            response = self._call(func, request)
        if self.varz:
            self._count(request, response)
        return response

    def _filtered(self, full_path):
        for f in self.logging_filters:
            if f in full_path:
                return True
        return False

    def _authorise(self, request):
        try:
            verdict = self.introspection_auth(request)
        except Exception as e:
            self._log_exception(request, e)
            return error_response(500, "internal server error")
        if isinstance(verdict, Response):
            return verdict
        if verdict:
            return None
        return error_response(403, "forbidden")

    def _call(self, func, request):
        if not self.wrap_handlers:
            return _as_response(func(request))
        try:
            return _as_response(func(request))
        except Exception as e:
            self._log_exception(request, e)
            return Response("internal server error\n", 500, msg_type=TEXT_PLAIN, exception=e)

    def _log_exception(self, request, e):
        if self.varz:
            V.bump("web-handler-exception")
        logger = self.logger
        if logger is not None and logger.log_exceptions is not None:
            logger.log_exceptions(
                "handler exception. path=%s, error=%s, details: %s"
                % (request.path, repr(e), _traceback_text(e))
            )

    def _count(self, request, response):
        method = request.method if request.method in KNOWN_METHODS else "other"
        key = "web-path-" + request.path[1 : 1 + self.varz_path_trim]
        if key not in self._path_keys:
            if len(self._path_keys) >= self.max_path_counters:
                key = "web-path-(other)"
            else:
                self._path_keys[key] = True
        V.bump_many(("web-method-" + method, key, "web-status-%d" % response.status_code))

    def test_handler(self, path, method="test"):
        """Run the handler for ``path`` without any network (tests, tools)."""
        return self.find_and_run_handler(Request(method, path, server=self))

    # ------------------------------------------------------------ standard pages

    def healthz_text(self):
        """What this server's /healthz (possibly a user route) says."""
        func, groups, _g = self._resolve("/healthz")
        if func is None:
            return "no /healthz handler"
        request = Request("GET", "/healthz", server=self, route_match_groups=groups)
        request.context = self.context
        try:
            r = _as_response(func(request))
        except Exception as e:
            return "healthz handler failed: %s" % type(e).__name__
        return r.body if isinstance(r.body, str) else r.body.decode("utf-8", "replace")

    def _healthz_handler(self, request):
        return Response("ok", msg_type=TEXT_PLAIN)

    def _favicon_handler(self, request):
        return Response(b"", 204, msg_type="image/x-icon")

    def _flagz_handler(self, request):
        args = self.flagz_args
        if args is None:
            return Response("no flagz data available", 503, msg_type=TEXT_PLAIN)
        if not hasattr(args, "items"):
            args = vars(args)
        shown = {}
        for k, v in args.items():
            shown[k] = REDACTED if _looks_secret(str(k)) and v not in (None, "") else v
        return Response(str(H.dict_to_page(shown, "flagz")), msg_type=TEXT_HTML)

    def _logz_handler(self, request):
        getter = self.logger.get_logz_html if self.logger is not None else None
        if getter is None:
            return Response("no log data available", 503, msg_type=TEXT_PLAIN)
        return Response(str(H.html_page_wrap(H.raw(getter()), "logz")), msg_type=TEXT_HTML)

    def _varz_handler(self, request):
        return varz_handler(request)


def _as_response(value):
    if isinstance(value, Response):
        return value
    if value is None:
        return Response("")
    return Response(value)


def varz_handler(request, extra_dict=None):
    """/varz: every varz value as an escaped HTML table sorted by key;
    ``/varz?NAME`` -> that one value as text/plain (``None`` if absent)."""
    if request.query:
        name = unquote_plus(request.query.split("&")[0])
        return Response(str(V.get(name)), msg_type=TEXT_PLAIN)
    d = V.get_dict()
    if extra_dict:
        d.update(extra_dict)
    return Response(varz_page(d), msg_type=TEXT_HTML)


def _esc(text):
    # kcore.html.escape, skipped for the usual text with nothing to escape.
    for ch in "&<>\"'":
        if ch in text:
            return H.escape(text)
    return text


def varz_page(d, title="varz"):
    """The /varz page: the same markup as ``html.dict_to_page(d, title)``,
    every key and value escaped. It is served often, so the cells are
    escaped in one pass over the joined text (with separators no cell
    contains) instead of one call per cell."""
    keys = list(d.keys())
    try:
        keys.sort()
    except TypeError:
        keys.sort(key=str)
    cells = [str(k) + "\x00" + str(d[k]) for k in keys]
    joined = "\x01".join(cells)
    if joined.count("\x00") == len(cells) and joined.count("\x01") == len(cells) - 1:
        if cells:
            joined = _esc(joined)
            joined = joined.replace("\x00", "</td><td>").replace("\x01", "</td></tr>\n<tr><td>")
            table = "<table border=1 cellpadding=2>\n<tr><td>" + joined + "</td></tr>\n</table>\n"
        else:
            table = "<table border=1 cellpadding=2>\n</table>\n"
    else:  # a key or value holds a separator character: one cell at a time
        rows = ["<table border=1 cellpadding=2>\n"]
        for k in keys:
            rows.append("<tr><td>%s</td><td>%s</td></tr>\n" % (_esc(str(k)), _esc(str(d[k]))))
        rows.append("</table>\n")
        table = "".join(rows)
    shell = _PAGE_SHELLS.get(title)
    if shell is None:
        shell = str(H.html_page_wrap(H.raw("\x00"), title)).split("\x00")
        if len(shell) != 2:  # a title holding the marker: no caching
            return str(H.html_page_wrap(H.raw(table), title))
        if len(_PAGE_SHELLS) < 16:
            _PAGE_SHELLS[title] = shell
    return shell[0] + table + shell[1]


_PAGE_SHELLS = {}  # type: dict


def metrics_response(request):
    """/metrics: the Prometheus exposition of varz (text or OpenMetrics per
    the Accept header), plus this server's /healthz as healthz_info and
    healthz_status. ``?name[]=metric`` restricts the output."""
    try:
        import kcore.varz_prom as vp
    except ImportError:
        return Response(
            "prometheus export needs: pip install 'kcore-varz[prometheus]'\n",
            501,
            msg_type=TEXT_PLAIN,
        )
    server = request.server
    healthz = server.healthz_text() if hasattr(server, "healthz_text") else None
    names = parse_query(request.query, multi=True).get("name[]") if request.query else None
    body, ctype = vp.render(accept=request.headers.get("accept"), names=names, healthz=healthz)
    return Response(body, msg_type=ctype)


def BaseHTTPRequestHandler_to_Request(b, method, post_params=None):  # noqa: N802
    """A Request from a stdlib ``BaseHTTPRequestHandler`` (for programs that
    keep their own http.server)."""
    return Request(
        method,
        b.path,
        headers=list(b.headers.items()),
        post_params=post_params,
        remote_address=b.client_address,
    )
