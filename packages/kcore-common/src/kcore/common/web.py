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

Import every name from here. The parts live in private modules, each small
enough for a board to compile: ``_weberrors`` (the exception tree),
``_weburl`` (URL parsing and masking), ``_webmessage`` (:class:`Headers`,
:class:`PreparedRequest`, :class:`Response`), ``_webredirect`` (the redirect
policy), and the transports ``_webwire`` (socket, adafruit) and
``_webrequests`` (requests, CPython only). This module holds the
:class:`Session` and the original's functions.
"""

import sys

from kcore.common._weberrors import (  # noqa: F401 - re-exported
    InvalidHeader,
    InvalidURL,
    WebConnectionError,
    WebError,
    WebSSLError,
    WebTimeout,
    _error,
    _too_big,
)
from kcore.common._webmessage import (  # noqa: F401 - re-exported
    FakeResponse,
    Headers,
    PreparedRequest,
    Response,
    _check_header,
    header_bytes,
    make_elapsed,
)
from kcore.common._webredirect import (  # noqa: F401 - re-exported
    CROSS_ORIGIN_HEADERS,
    REDIRECT_CODES,
    follow_redirects,
)
from kcore.common._weburl import URL, add_query, join_url, mask_url, parse_url  # noqa: F401
from kcore.common.platform import CIRCUITPYTHON, CPYTHON, monotonic_ms
from kcore.common.urls import urlencode

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any

    from kcore.common._webmessage import HeaderData

DEFAULT_TIMEOUT = 10
DEFAULT_MAX_REDIRECTS = 5
# A response body larger than this raises WebError instead of eating memory.
DEFAULT_MAX_BODY = 32 * 1024 * 1024 if CPYTHON else 64 * 1024
MAX_HEADER_LINE = 8192 if CPYTHON else 2048
MAX_HEADERS = 100
USER_AGENT = "kcore-web/0.1"

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


def __getattr__(name: str) -> "Any":  # a module __getattr__
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
