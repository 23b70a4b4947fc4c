"""Web client: one ``requests``-like surface on three transports.

Layering follows ``requests``: thin functions (:func:`web_get`,
:func:`read_web`, ...) call a :class:`Session`, which hands a prepared
request to a swappable transport:

* ``"requests"`` (CPython with ``requests`` installed; imported on the first
  request, never at import time);
* ``"adafruit"`` (CircuitPython: ``adafruit_requests`` over the socket pool
  and SSL context given to ``Session(socket_pool=..., ssl_context=...)``);
* ``"socket"`` (MicroPython, or anywhere without those): a small HTTP/1.1
  client over the ``socket`` module or an injected socket pool.

Every transport returns kcore's own :class:`Response` (``str()`` is the body
text) and raises only the :class:`WebError` tree. Responses are bounded in
size, every request has a timeout, redirects are bounded, and error messages
name the host, never the credentials or query of the URL.
"""

import sys

from kcore.common.platform import (
    CIRCUITPYTHON,
    CPYTHON,
    KcoreError,
    error_class,
    monotonic_ms,
)
from kcore.common.urls import decode_utf8_replace, unquote, urlencode

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Iterable, Iterator, Optional, Tuple, Union

    HeaderData = Union["Headers", "dict[str, Any]", Iterable[Tuple[str, Any]], None]
    SendOnce = Callable[[str, "URL", "Headers", Optional[bytes]], "Response"]

DEFAULT_TIMEOUT = 10
DEFAULT_MAX_REDIRECTS = 5
# A response body larger than this raises WebError instead of eating memory.
DEFAULT_MAX_BODY = 32 * 1024 * 1024 if CPYTHON else 64 * 1024
MAX_HEADER_LINE = 8192 if CPYTHON else 2048
MAX_HEADERS = 100
USER_AGENT = "kcore-web/0.1"
REDIRECT_CODES = (301, 302, 303, 307, 308)
#: The request headers that follow a redirect to another origin (scheme, host,
#: port); every other header (Authorization, Cookie, Proxy-Authorization,
#: X-Kcore-Auth, X-Api-Key, ...) is dropped. An allowlist, so a credential in a
#: header kcore has never heard of cannot leak either.
CROSS_ORIGIN_HEADERS = (
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "pragma",
    "user-agent",
)

# ------------------------------------------------------------------ errors

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - static view of the classes built below

    class WebError(KcoreError, OSError):
        url: str
        host: str

    class WebTimeout(WebError, TimeoutError):
        pass

    class WebConnectionError(WebError, ConnectionError):
        pass

    class WebSSLError(WebConnectionError):
        pass

    class InvalidURL(WebError, ValueError):
        pass

    class InvalidHeader(WebError, ValueError):
        pass

else:
    # Names, not classes: MicroPython has no TimeoutError or ConnectionError.
    # There a class has one exception base, and the leaves keep WebError.
    WebError = error_class(
        "WebError",
        "OSError",
        doc="Root of every web client error (also an OSError, as requests' is).",
        module=__name__,
    )

    def _leaf(name: str, builtin: "str | None", base: "type[Exception]", doc: str) -> "Any":
        return error_class(name, builtin, base, doc, __name__, keep_base=True)

    WebTimeout = _leaf(
        "WebTimeout", "TimeoutError", WebError, "The server did not answer in time."
    )
    WebConnectionError = _leaf(
        "WebConnectionError", "ConnectionError", WebError, "No connection to the server."
    )
    WebSSLError = _leaf(
        "WebSSLError", None, WebConnectionError, "TLS handshake/verification failed."
    )
    InvalidURL = _leaf("InvalidURL", "ValueError", WebError, "The URL cannot be requested.")
    InvalidHeader = _leaf("InvalidHeader", "ValueError", WebError, "A header name/value is bad.")


def _error(cls: "type[Any]", what: str, url: "URL | None" = None) -> "Any":
    """Build ``cls`` with a message naming the method/host and what failed.

    ``url`` is a :class:`URL` (or None); only its redacted form (no user
    info, no query) ever reaches the message.
    """
    if url is not None:
        err = cls("%s: %s" % (url.redacted(), what))
        err.url = url.redacted()
        err.host = url.host
    else:
        err = cls(what)
        err.url = ""
        err.host = ""
    return err


# -------------------------------------------------------------------- URLs

_HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;="
_SCHEME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789+-."


def mask_url(url: str) -> str:
    """``url`` as an error message may show it, whether or not it parses:
    anything that may be credentials (from the start of the authority, or of
    the text, to the last ``@``) becomes ``***``, the query and fragment are
    cut, control characters are escaped, and it is at most 120 characters.
    Over-masks (an ``@`` in a path) rather than show a password."""
    at = url.rfind("@")
    if at >= 0:
        start = url.find("//")
        start = start + 2 if 0 <= start < at else 0
        url = url[:start] + "***" + url[at:]
    slashes = url.find("//")
    for mark in "?#":
        i = url.find(mark, slashes + 2 if slashes >= 0 else 0)
        if i >= 0:
            url = url[:i] + mark + "..."
    out = []
    for ch in url[:120]:
        out.append(ch if 0x20 <= ord(ch) != 0x7F else "\\x%02x" % ord(ch))
    return "".join(out) + ("..." if len(url) > 120 else "")


def _bad_url(url: str, what: str) -> "Any":
    """InvalidURL naming the masked URL and what is wrong with it."""
    return _error(InvalidURL, "%s: %s" % (mask_url(url), what))


class URL:
    """A parsed http(s) URL. ``target`` is the request target (path+query)."""

    def __init__(self, scheme: str, host: str, port: int, target: str, userinfo: str = "") -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        self.userinfo = userinfo

    @property
    def default_port(self) -> int:
        return 443 if self.scheme == "https" else 80

    @property
    def hostport(self) -> str:
        """Host as it goes in a Host header (IPv6 bracketed, port if needed)."""
        host = "[%s]" % self.host if ":" in self.host else self.host
        if self.port != self.default_port:
            host = "%s:%d" % (host, self.port)
        return host

    @property
    def origin(self) -> str:
        return "%s://%s" % (self.scheme, self.hostport)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def redacted(self) -> str:
        """The URL without credentials or query: safe for messages and logs."""
        return self.origin + self.path

    def geturl(self) -> str:
        return self.origin + self.target

    def __repr__(self) -> str:
        return "URL(%r)" % self.redacted()


def parse_url(url: str) -> URL:
    """Split an ``http://`` or ``https://`` URL into a :class:`URL`.

    Raises InvalidURL for anything else: a missing or unsupported scheme, no
    host, a bad port, or control characters (which could smuggle headers).
    Spaces are percent-encoded; the fragment is dropped.
    """
    if not isinstance(url, str):
        raise _error(InvalidURL, "URL must be a str, not %s" % type(url).__name__)
    url = url.strip()
    # Every message below names the URL only through mask_url(): a password
    # can be anywhere in a URL that does not parse.
    for ch in url:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise _bad_url(url, "URL contains a control character (CR/LF/NUL/...)")
    sep = url.find("://")
    if sep <= 0:
        raise _bad_url(url, "URL has no scheme: use http:// or https://")
    scheme = url[:sep].lower()
    if scheme not in ("http", "https"):
        if len(scheme) <= 16 and not [c for c in scheme if c not in _SCHEME_CHARS]:
            what = "unsupported URL scheme '%s'" % scheme
        else:
            what = "unsupported URL scheme"
        raise _bad_url(url, what + " (use http:// or https://)")
    rest = url[sep + 3 :]
    cut = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if 0 <= i < cut:
            cut = i
    netloc, target = rest[:cut], rest[cut:].replace(" ", "%20")
    hash_at = target.find("#")
    if hash_at >= 0:
        target = target[:hash_at]
    if not target.startswith("/"):
        target = "/" + target
    userinfo = ""
    at = netloc.rfind("@")
    if at >= 0:
        userinfo, netloc = netloc[:at], netloc[at + 1 :]
    port_str = ""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise _bad_url(url, "URL has an unterminated IPv6 address")
        host = netloc[1:end]
        after = netloc[end + 1 :]
        if after:
            if not after.startswith(":"):
                raise _bad_url(url, "URL has junk after the IPv6 address")
            port_str = after[1:]
        for ch in host.lower():
            if ch not in "0123456789abcdef:.%":
                raise _bad_url(url, "URL has an invalid IPv6 address")
    else:
        colon = netloc.rfind(":")
        if colon >= 0:
            host, port_str = netloc[:colon], netloc[colon + 1 :]
        else:
            host = netloc
        for ch in host.lower():
            if ch not in _HOST_CHARS:
                raise _bad_url(url, "URL host contains an invalid character")
    host = host.lower()
    if not host:
        raise _bad_url(url, "URL has no host")
    if port_str:
        if not port_str.isdigit() or not 0 < int(port_str) < 65536:
            raise _bad_url(url, "URL has an invalid port (a number 1-65535)")
        port = int(port_str)
    else:
        port = 443 if scheme == "https" else 80
    return URL(scheme, host, port, target, userinfo)


def _normalize_path(path: str) -> str:
    out = []  # type: list
    for seg in path.split("/"):
        if seg == "..":
            if len(out) > 1:
                out.pop()
        elif seg != ".":
            out.append(seg)
    if path.endswith(("/.", "/..")):
        out.append("")
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def join_url(base: URL, location: str) -> str:
    """Resolve a redirect ``Location`` against the :class:`URL` ``base``."""
    location = location.strip()
    head = location[:12].lower()
    if head.startswith(("http://", "https://")):
        return location
    if "://" in location.split("/", 1)[0] or (":" in head and head.split(":")[0].isalpha()):
        return location  # other scheme: parse_url() will reject it clearly
    if location.startswith("//"):
        return base.scheme + ":" + location
    if location.startswith("/"):
        path, _, query = location.partition("?")
        return base.origin + _normalize_path(path) + ("?" + query if query else "")
    if location.startswith("?"):
        return base.origin + base.path + location
    directory = base.path.rsplit("/", 1)[0]
    path, _, query = location.partition("?")
    return base.origin + _normalize_path(directory + "/" + path) + ("?" + query if query else "")


def add_query(url: str, get_dict: "Any") -> str:
    """Append ``get_dict`` (dict or list of pairs), url-encoded, with ? or &."""
    if not get_dict:
        return url
    query = get_dict if isinstance(get_dict, str) else urlencode(get_dict)
    hash_at = url.find("#")
    if hash_at >= 0:
        url = url[:hash_at]
    if "?" not in url:
        return url + "?" + query
    if url.endswith(("?", "&")):
        return url + query
    return url + "&" + query


# ----------------------------------------------------------------- headers


class Headers:
    """Case-insensitive header mapping that remembers the original case."""

    def __init__(self, data: "HeaderData" = None) -> None:
        self._d = {}  # type: dict[str, tuple[str, Any]]
        if data:
            self.update(data)

    def update(self, data: "HeaderData") -> None:
        if data is None:
            return
        items = data.items() if hasattr(data, "items") else data
        for k, v in items:
            self[k] = v

    def __setitem__(self, key: str, value: "Any") -> None:
        self._d[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> "Any":
        return self._d[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._d[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._d

    def __iter__(self) -> "Iterator[str]":
        return iter([k for k, _ in self._d.values()])

    def __len__(self) -> int:
        return len(self._d)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            other = dict(other.lower_items())
        elif hasattr(other, "items"):
            other = {k.lower(): v for k, v in other.items()}
        else:
            return False
        return dict(self.lower_items()) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    def get(self, key: str, default: "Any" = None) -> "Any":
        entry = self._d.get(key.lower())
        return default if entry is None else entry[1]

    def pop(self, key: str, default: "Any" = None) -> "Any":
        entry = self._d.pop(key.lower(), None)
        return default if entry is None else entry[1]

    def keys(self) -> "list[str]":
        return [k for k, _ in self._d.values()]

    def values(self) -> "list[Any]":
        return [v for _, v in self._d.values()]

    def items(self) -> "list[tuple[str, Any]]":
        return list(self._d.values())

    def lower_items(self) -> "list[tuple[str, Any]]":
        return [(k, kv[1]) for k, kv in self._d.items()]

    def copy(self) -> "Headers":
        return Headers(self.items())

    def __repr__(self) -> str:
        return repr(dict(self.items()))


_HEADER_NAME_PUNCTUATION = "!#$%&'*+-.^_`|~"


def _check_header(name: object, value: object) -> "tuple[str, str]":
    """``(name, value)`` as str, if every transport can send them: a name of
    token characters, a value of Latin-1 characters without CR/LF/NUL (what
    HTTP/1.1 and http.client allow). Else InvalidHeader, naming the header
    (never its value, which may be a secret)."""
    name = str(name)
    value = str(value)
    shown = repr(name[:40])
    if not name:
        raise _error(InvalidHeader, "empty header name")
    for ch in name:
        if not (ch.isalpha() or ch.isdigit() or ch in _HEADER_NAME_PUNCTUATION) or ord(ch) > 126:
            raise _error(InvalidHeader, "invalid header name %s" % shown)
    for ch in value:
        if ch in "\r\n\x00":
            raise _error(InvalidHeader, "header %s contains CR/LF/NUL" % shown)
        if ord(ch) > 255:
            raise _error(
                InvalidHeader,
                "header %s has a character HTTP cannot carry (values are Latin-1; "
                "percent- or base64-encode others)" % shown,
            )
    return name, value


def header_bytes(text: str) -> bytes:
    """A checked header line or value as bytes, Latin-1 as HTTP/1.1 sends
    it (MicroPython's ``str.encode`` knows only UTF-8)."""
    return bytes([ord(ch) for ch in text])


def _charset(content_type: "str | None") -> "str | None":
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, val = part.strip().partition("=")
        if key.strip().lower() == "charset":
            return val.strip().strip("\"'") or None
    return None


# --------------------------------------------------------------- responses


class _Elapsed:
    """Stand-in for ``datetime.timedelta`` where a board has no datetime."""

    def __init__(self, ms: int) -> None:
        self.ms = ms
        self.seconds = ms // 1000
        self.microseconds = (ms % 1000) * 1000

    def total_seconds(self) -> float:
        return self.ms / 1000.0

    def __repr__(self) -> str:
        return "elapsed(%.3fs)" % self.total_seconds()


def make_elapsed(ms: int) -> "Any":
    """``datetime.timedelta`` (as requests gives) where available."""
    try:
        from datetime import timedelta
    except ImportError:  # boards
        return _Elapsed(ms)
    return timedelta(milliseconds=ms)


class Response:
    """An HTTP response, whatever transport fetched it.

    ``str(resp)`` is the body text (what the original's users expect);
    ``resp.transport_response`` is the transport's own object, and unknown
    attributes are looked up there (``history``, ``cookies``, ...).
    """

    exception = None  # type: Optional[BaseException]

    def __init__(
        self,
        status_code: "int | None",
        headers: "HeaderData" = None,
        content: bytes = b"",
        url: str = "",
        elapsed_ms: int = 0,
        reason: str = "",
        transport_response: "Any" = None,
        history: "list | None" = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.content = content
        self.url = url
        self.elapsed = make_elapsed(elapsed_ms)
        self.reason = reason
        self.transport_response = transport_response
        self.history = history if history is not None else []
        self.encoding = _charset(self.headers.get("content-type"))
        self._text = None  # type: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and self.status_code < 400

    @property
    def text(self) -> str:
        if self._text is None:
            enc = (self.encoding or "utf-8").lower()
            if enc in ("utf-8", "utf8"):
                self._text = decode_utf8_replace(self.content)
            else:
                try:
                    self._text = self.content.decode(enc, "replace")
                except (LookupError, TypeError, UnicodeError):  # unknown/unsupported charset
                    self._text = decode_utf8_replace(self.content)
        return self._text

    def json(self, **kwargs: "Any") -> "Any":
        import json

        return json.loads(self.text, **kwargs)

    def raise_for_status(self) -> None:
        if not self.ok:
            url = None
            try:
                url = parse_url(self.url)
            except Exception:  # noqa: S110 - message just names less
                pass
            raise _error(WebError, "HTTP %s %s" % (self.status_code, self.reason), url)

    def close(self) -> None:
        """Nothing to release: the body is already read and the socket closed."""

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return "<Response [%s]>" % self.status_code

    def __getattr__(self, name: str) -> "Any":
        if name.startswith("_"):
            raise AttributeError(name)
        tr = self.__dict__.get("transport_response")
        if tr is None:
            raise AttributeError("'Response' object has no attribute '%s'" % name)
        return getattr(tr, name)


def _safe_url_for_display(url: str) -> str:
    try:
        return parse_url(url).redacted()
    except Exception:
        return mask_url(url) if isinstance(url, str) else "<invalid URL>"


class FakeResponse:
    """What the wrapping functions return instead of raising.

    Fields as in the original: ``elapsed, exception, ok=False, headers={},
    status_code=None, text='', url``; ``str()`` is a one-line field dump
    (credentials and query removed from the URL).
    """

    def __init__(self, exception: BaseException, url: str = "", elapsed_ms: int = 0) -> None:
        self.elapsed = make_elapsed(elapsed_ms)
        self.exception = exception
        self.ok = False
        self.headers = Headers()
        self.status_code = None
        self.text = ""
        self.content = b""
        self.reason = ""
        self.url = url
        self.history = []  # type: list

    def json(self, **kwargs: "Any") -> "Any":
        raise self.exception

    def raise_for_status(self) -> None:
        raise self.exception

    def close(self) -> None:
        pass

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return (
            "FakeResponse(ok=False, status_code=None, url=%r, exception=%s: %s, elapsed=%.3fs)"
            % (
                _safe_url_for_display(self.url),
                type(self.exception).__name__,
                self.exception,
                self.elapsed.total_seconds(),
            )
        )

    __repr__ = __str__


# ---------------------------------------------------------------- requests


class PreparedRequest:
    """Everything a transport needs, already validated and encoded."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: "Headers",
        body: "bytes | None",
        timeout: "int | float",
        verify: bool,
        cafile: "str | None",
        proxy_host: "str | None",
        allow_redirects: bool,
        max_redirects: int,
        max_body: int,
    ) -> None:
        self.method = method
        self.url = url
        self.parsed = parse_url(url)
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.verify = verify
        self.cafile = cafile
        self.proxy_host = proxy_host
        self.allow_redirects = allow_redirects
        self.max_redirects = max_redirects
        self.max_body = max_body


def _basic_auth(userinfo: str) -> str:
    import binascii

    user, _, password = userinfo.partition(":")
    raw = ("%s:%s" % (unquote(user), unquote(password))).encode("utf-8")
    return "Basic " + binascii.b2a_base64(raw).decode("ascii").strip()


def _with_url_credentials(url: URL, headers: Headers) -> Headers:
    """``headers`` plus Basic auth from the URL's user info, unless the
    caller set an Authorization header (requests does the same)."""
    if not url.userinfo or "authorization" in headers:
        return headers
    headers = headers.copy()
    headers["Authorization"] = _basic_auth(url.userinfo)
    return headers


def _redirect_target(
    req: PreparedRequest,
    resp: Response,
    method: str,
    body: "bytes | None",
    headers: Headers,
    url: URL,
) -> "tuple[str, bytes | None, Headers, URL] | None":
    """Next (method, body, headers, URL) for a redirect, or None if done."""
    if not req.allow_redirects or resp.status_code not in REDIRECT_CODES:
        return None
    location = resp.headers.get("location")
    if not location:
        return None
    new_url = parse_url(join_url(url, location))
    if resp.status_code == 303 and method != "HEAD":
        method, body = "GET", None
    elif resp.status_code in (301, 302) and method == "POST":
        method, body = "GET", None  # what browsers and requests do
    if new_url.origin != url.origin:  # credentials never go to another origin
        kept = [(k, v) for k, v in headers.items() if k.lower() in CROSS_ORIGIN_HEADERS]
        headers = Headers(kept)
    else:
        headers = headers.copy()
    if body is None:
        headers.pop("content-type")
        headers.pop("content-length")
    return method, body, _with_url_credentials(new_url, headers), new_url


def follow_redirects(req: PreparedRequest, send_once: "SendOnce") -> Response:
    """Run ``send_once(method, URL, headers, body)`` through at most
    ``req.max_redirects`` redirects: the one redirect policy of every
    transport (a request to another origin keeps only
    :data:`CROSS_ORIGIN_HEADERS`)."""
    method, body, url = req.method, req.body, req.parsed
    headers = _with_url_credentials(url, req.headers)
    history = []  # type: list
    while True:
        resp = send_once(method, url, headers, body)
        nxt = _redirect_target(req, resp, method, body, headers, url)
        if nxt is None:
            resp.history = history
            return resp
        if len(history) >= req.max_redirects:
            raise _error(
                WebError, "too many redirects (more than %d)" % req.max_redirects, req.parsed
            )
        history.append(resp)
        method, body, headers, url = nxt


def _too_big(limit: int, url: "URL | None") -> "Any":
    return _error(WebError, "response body larger than max_body=%d bytes" % limit, url)


# ----------------------------------------------------------------- session


def _requests_available() -> bool:
    if "requests" in sys.modules:
        return True
    try:
        from importlib.util import find_spec
    except ImportError:
        return False
    return find_spec("requests") is not None


def _transport_class(name: str) -> "Any":
    if name == "requests":
        from kcore.common._webrequests import RequestsTransport

        return RequestsTransport
    # (``from kcore.common import _webwire`` fails on MicroPython because the
    # package has a module __getattr__.)
    from kcore.common._webwire import AdafruitTransport, SocketTransport

    return AdafruitTransport if name == "adafruit" else SocketTransport


def __getattr__(name: str) -> "Any":  # noqa: N807 - a module __getattr__
    """Transports load on first use (CPython >= 3.7 and MicroPython)."""
    if name in ("RequestsTransport", "AdafruitTransport", "SocketTransport"):
        return _transport_class(name[: -len("Transport")].lower())
    raise AttributeError("module 'kcore.common.web' has no attribute '%s'" % name)


def _adafruit_module() -> "Any":
    try:
        import adafruit_requests  # type: ignore[import-not-found]

        return adafruit_requests
    except ImportError:
        return None


class Session:
    """Shared settings plus a transport.

    ``transport``: ``"requests"``, ``"adafruit"``, ``"socket"``, an object
    with ``send(PreparedRequest) -> Response`` and ``close()``, or None to
    choose on first use: ``adafruit`` when a ``socket_pool`` is given and
    adafruit_requests is installed, ``socket`` over that pool otherwise;
    without a pool, ``requests`` on CPython when installed, else ``socket``.
    """

    def __init__(
        self,
        transport: "Any" = None,
        socket_pool: "Any" = None,
        ssl_context: "Any" = None,
        timeout: "int | float" = DEFAULT_TIMEOUT,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        max_body: int = DEFAULT_MAX_BODY,
        headers: "HeaderData" = None,
    ) -> None:
        self.timeout = _check_timeout(timeout)
        self.max_redirects = int(max_redirects)
        self.max_body = int(max_body)
        self.headers = Headers(headers)
        self.socket_pool = socket_pool
        self.ssl_context = ssl_context
        self._transport = transport

    @property
    def transport(self) -> "Any":
        t = self._transport
        if t is None or isinstance(t, str):
            t = self._make_transport(t)
            self._transport = t
        return t

    def _make_transport(self, name: "str | None") -> "Any":
        pool, ctx = self.socket_pool, self.ssl_context
        if name is None:
            if pool is not None:
                name = "adafruit" if _adafruit_module() is not None else "socket"
            elif CPYTHON and _requests_available():
                name = "requests"
            else:
                name = "socket"
        if name == "requests":
            return _transport_class(name)()
        if name in ("adafruit", "socket"):
            if pool is None and (name == "adafruit" or CIRCUITPYTHON):
                pool = _board_socket_pool()
            return _transport_class(name)(pool, ctx)
        raise ValueError("unknown transport %r (use requests, adafruit or socket)" % (name,))

    def prepare(
        self,
        method: str,
        url: str,
        params: "Any" = None,
        data: "Any" = None,
        headers: "HeaderData" = None,
        json: "Any" = None,
        timeout: "int | float | None" = None,
        verify: "bool | str" = True,
        cafile: "str | None" = None,
        proxy_host: "str | None" = None,
        allow_redirects: bool = True,
        max_body: "int | None" = None,
    ) -> PreparedRequest:
        """Validate and encode a request (no I/O): the keyword arguments of
        :meth:`request`, :meth:`get`, ... are these."""
        method = str(method).upper()
        if not method.isalpha():
            raise ValueError("invalid HTTP method %r" % method[:20])
        url = add_query(url, params) if params else url
        hdrs = self.headers.copy()
        if headers:
            hdrs.update(headers)
        body = None  # type: bytes | None
        if json is not None:
            import json as json_module

            body = json_module.dumps(json).encode("utf-8")
            if "content-type" not in hdrs:
                hdrs["Content-Type"] = "application/json"
        elif data is not None:
            if isinstance(data, (bytes, bytearray)):
                body = bytes(data)
            elif isinstance(data, str):
                body = data.encode("utf-8")
            else:
                body = urlencode(data).encode("ascii")
                if "content-type" not in hdrs:
                    hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif method in ("POST", "PUT", "PATCH"):
            body = b""
        for name, value in hdrs.items():
            _check_header(name, value)
        if isinstance(verify, str):  # requests style: verify='/path/to/ca.pem'
            cafile, verify = verify, True
        return PreparedRequest(
            method,
            url,
            hdrs,
            body,
            self.timeout if timeout is None else _check_timeout(timeout),
            bool(verify),
            cafile,
            proxy_host,
            allow_redirects,
            self.max_redirects,
            self.max_body if max_body is None else int(max_body),
        )

    def request(self, method: str, url: str, **kwargs: "Any") -> Response:
        """Send a request; see :meth:`prepare` for the keyword arguments."""
        req = self.prepare(method, url, **kwargs)
        return self.transport.send(req)

    def get(self, url: str, **kwargs: "Any") -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: "Any" = None, **kwargs: "Any") -> Response:
        return self.request("POST", url, data=data, **kwargs)

    def head(self, url: str, **kwargs: "Any") -> Response:
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def close(self) -> None:
        t = self._transport
        if t is not None and not isinstance(t, str):
            t.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_timeout(timeout: object) -> "int | float":
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError("timeout must be a number of seconds > 0, not %r" % (timeout,))
    return timeout


def _board_socket_pool() -> "Any":
    """CircuitPython: the Wi-Fi radio's socket pool, if the board has one."""
    try:
        import socketpool  # type: ignore[import-not-found]
        import wifi  # type: ignore[import-not-found]
    except ImportError:
        raise _error(WebError, "no socket pool: pass Session(socket_pool=..., ssl_context=...)")
    return socketpool.SocketPool(wifi.radio)


_DEFAULT = []  # type: list


def get_default_session() -> Session:
    """The session the module-level functions use (made on first use)."""
    if not _DEFAULT:
        _DEFAULT.append(Session())
    return _DEFAULT[0]


def set_default_session(session: "Session | None") -> "Session | None":
    """Swap the session behind web_get() & co (tests, boards with a pool).
    Returns the previous one (or None)."""
    old = _DEFAULT[0] if _DEFAULT else None
    del _DEFAULT[:]
    if session is not None:
        _DEFAULT.append(session)
    return old


# --------------------------------------------------- the original's functions


def web_get(
    url: str,
    timeout: "int | float" = DEFAULT_TIMEOUT,
    get_dict: "Any" = None,
    post_dict: "Any" = None,
    verify_ssl: bool = True,
    wrap_exceptions: bool = True,
    cafile: "str | None" = None,
    proxy_host: "str | None" = None,
    session: "Session | None" = None,
) -> "Response | FakeResponse":
    """GET ``url`` (POST a form when ``post_dict`` is given) -> Response.

    ``get_dict`` is url-encoded onto the URL; ``cafile`` is a PEM CA bundle
    to verify against; ``verify_ssl=False`` skips verification for this
    call only; ``proxy_host`` is used for http URLs. Errors raise WebError,
    or with ``wrap_exceptions`` come back as a :class:`FakeResponse`.
    """
    start = monotonic_ms()
    try:
        s = session or get_default_session()
        method = "GET" if post_dict is None else "POST"
        return s.request(
            method,
            url,
            params=get_dict,
            data=post_dict,
            timeout=timeout,
            verify=verify_ssl,
            cafile=cafile,
            proxy_host=proxy_host,
        )
    except Exception as e:
        if not wrap_exceptions:
            raise
        return FakeResponse(e, url if isinstance(url, str) else repr(url), monotonic_ms() - start)


def web_get_e(url: str, *args: "Any", **kwargs: "Any") -> "Response | FakeResponse":
    """Like :func:`web_get`, also printing any error to stderr."""
    resp = web_get(url, *args, **kwargs)
    if resp.exception is not None:
        sys.stderr.write("web_get error: %s\n" % (resp.exception,))
    return resp


def read_web(
    url: str,
    timeout: "int | float" = DEFAULT_TIMEOUT,
    get_dict: "Any" = None,
    post_dict: "Any" = None,
    verify_ssl: bool = True,
    wrap_exceptions: bool = True,
    cafile: "str | None" = None,
    proxy_host: "str | None" = None,
) -> str:
    """Body text of ``url``; ``''`` on any error or non-2xx/3xx status."""
    resp = web_get(
        url, timeout, get_dict, post_dict, verify_ssl, wrap_exceptions, cafile, proxy_host
    )
    return resp.text if resp.ok else ""


def read_web_e(
    url: str,
    timeout: "int | float" = DEFAULT_TIMEOUT,
    get_dict: "Any" = None,
    post_dict: "Any" = None,
    verify_ssl: bool = True,
    wrap_exceptions: bool = True,
    cafile: "str | None" = None,
    proxy_host: "str | None" = None,
) -> str:
    """Body text if ok, else a string: ``"ERROR: [<code>] <text>"`` for an
    HTTP error status, ``"ERROR: <what failed>"`` when no response came."""
    resp = web_get(
        url, timeout, get_dict, post_dict, verify_ssl, wrap_exceptions, cafile, proxy_host
    )
    if resp.ok:
        return resp.text
    if resp.exception is not None:
        return "ERROR: %s" % (resp.exception,)
    return "ERROR: [%s] %s" % (resp.status_code, resp.text)


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_TIMEOUT",
    "FakeResponse",
    "Headers",
    "InvalidHeader",
    "InvalidURL",
    "PreparedRequest",
    "Response",
    "Session",
    "URL",
    "WebConnectionError",
    "WebError",
    "WebSSLError",
    "WebTimeout",
    "get_default_session",
    "parse_url",
    "read_web",
    "read_web_e",
    "set_default_session",
    "web_get",
    "web_get_e",
]
