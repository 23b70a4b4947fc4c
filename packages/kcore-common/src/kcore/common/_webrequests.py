"""The CPython ``requests`` transport of :mod:`kcore.common.web`.

CPython only (threads, warnings, requests). Import :mod:`kcore.common.web`,
not this module; it loads this on the first request.
"""

from kcore.common._webwire import classify_os_error
from kcore.common.platform import monotonic_ms
from kcore.common.web import (
    Headers,
    InvalidHeader,
    InvalidURL,
    Response,
    WebConnectionError,
    WebError,
    WebSSLError,
    WebTimeout,
    _error,
    _too_big,
    follow_redirects,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable

    from kcore.common.web import URL, PreparedRequest

# ---------------------------------------------------------------- requests


class RequestsTransport:
    """CPython ``requests`` (imported on first use), one session per thread."""

    name = "requests"

    def __init__(self) -> None:
        try:
            import threading

            import requests
        except ImportError:
            raise _error(WebError, "the requests transport needs: pip install requests")
        self._requests = requests
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all = []  # type: list

    def _session(self) -> "Any":
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._requests.Session()
            self._local.session = s
            with self._lock:
                self._all.append(s)
        return s

    def send(self, req: "PreparedRequest") -> Response:
        # Redirects: kcore's loop, the same policy on every transport (requests
        # would forward X-Api-Key and friends to another origin).
        return follow_redirects(
            req, lambda method, url, headers, body: self._once(req, method, url, headers, body)
        )

    def _once(
        self,
        req: "PreparedRequest",
        method: str,
        url: "URL",
        headers: Headers,
        body: "bytes | None",
    ) -> Response:
        start = monotonic_ms()
        s = self._session()
        verify = (req.cafile or True) if req.verify else False
        kwargs = {
            "headers": dict(headers.items()),
            "data": body,
            "timeout": req.timeout,
            "allow_redirects": False,
            "stream": True,
            "verify": verify,
        }  # type: dict
        if req.proxy_host:
            kwargs["proxies"] = {"http": req.proxy_host}
        err = None
        resp = None
        try:
            if verify is False:
                resp = _insecure_call(s.request, method, url.geturl(), **kwargs)
            else:
                resp = s.request(method, url.geturl(), **kwargs)
            cl = resp.headers.get("content-length", "")
            if cl.isdigit() and int(cl) > req.max_body and "content-encoding" not in resp.headers:
                raise _too_big(req.max_body, url)
            chunks = []
            have = 0
            for chunk in resp.iter_content(65536):
                have += len(chunk)
                if have > req.max_body:
                    raise _too_big(req.max_body, url)
                chunks.append(chunk)
            out = Response(
                resp.status_code,
                Headers(resp.headers),
                b"".join(chunks),
                resp.url,
                monotonic_ms() - start,
                resp.reason or "",
                resp,
            )
        except Exception as e:
            err = _translate_requests_error(self._requests, e, url, req)
        if resp is not None:
            resp.close()
        if err is not None:
            raise err  # raised outside the except block: no chained query/credentials
        return out

    def close(self) -> None:
        with self._lock:
            sessions, self._all = self._all, []
        for s in sessions:
            s.close()


_INSECURE_LOCK = []  # type: list


def _insecure_call(fn: "Callable[..., Any]", *args: "Any", **kwargs: "Any") -> "Any":
    """Call ``fn`` with urllib3's InsecureRequestWarning silenced for this
    call only: the filter is restored afterwards, and insecure calls are
    serialised so overlapping calls cannot restore each other's filters."""
    import warnings

    try:
        from urllib3.exceptions import InsecureRequestWarning
    except ImportError:  # pragma: no cover - requests always brings urllib3
        return fn(*args, **kwargs)
    if not _INSECURE_LOCK:
        import threading

        _INSECURE_LOCK.append(threading.Lock())
    with _INSECURE_LOCK[0], warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRequestWarning)
        return fn(*args, **kwargs)


def _chain(exc: BaseException) -> "list[Any]":
    """The exception and the exceptions it wraps (cause/context/args)."""
    seen = []  # type: list
    todo = [exc]  # type: list
    while todo and len(seen) < 12:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo.append(getattr(e, "__cause__", None))
        todo.append(getattr(e, "__context__", None))
        todo.append(getattr(e, "reason", None) if isinstance(e, BaseException) else None)
        for a in getattr(e, "args", ()):
            if isinstance(a, BaseException):
                todo.append(a)
    return seen


def _translate_requests_error(
    rq: "Any", exc: BaseException, url: "URL", req: "PreparedRequest"
) -> BaseException:
    ex = rq.exceptions
    if isinstance(exc, WebError):
        return exc
    chain = _chain(exc)
    names = [type(e).__name__ for e in chain]
    if isinstance(exc, ex.SSLError):
        reason = "TLS handshake failed"
        for e in chain:
            if type(e).__name__ == "SSLCertVerificationError":
                reason = "TLS certificate verify failed (unknown CA? pass cafile=...): %s" % (
                    getattr(e, "verify_message", "") or "verification error"
                )
        return _error(WebSSLError, reason, url)
    if isinstance(exc, ex.Timeout) or "ReadTimeoutError" in names or "timeout" in names:
        during = "connecting" if isinstance(exc, ex.ConnectTimeout) else "reading"
        return _error(WebTimeout, "timed out after %ss while %s" % (req.timeout, during), url)
    if isinstance(exc, ex.TooManyRedirects):
        return _error(WebError, "too many redirects (more than %d)" % req.max_redirects, url)
    if isinstance(exc, (ex.InvalidURL, ex.MissingSchema, ex.InvalidSchema)):
        return _error(InvalidURL, "requests rejected the URL (%s)" % type(exc).__name__, url)
    if isinstance(exc, ex.InvalidHeader):
        return _error(InvalidHeader, "invalid header", url)
    if isinstance(exc, ex.ConnectionError):
        if "ConnectionRefusedError" in names:
            return _error(WebConnectionError, "connection refused", url)
        if "NameResolutionError" in names or "gaierror" in names:
            return _error(WebConnectionError, "cannot resolve host", url)
        if "ProxyError" in names:
            return _error(WebConnectionError, "proxy failed", url)
        if "ProtocolError" in names:
            return _error(WebConnectionError, "connection broken (%s)" % names[-1], url)
        return _error(WebConnectionError, "connection failed (%s)" % names[-1], url)
    if isinstance(exc, (ex.ChunkedEncodingError, ex.ContentDecodingError)):
        return _error(WebError, "malformed response body (%s)" % type(exc).__name__, url)
    if isinstance(exc, ex.RequestException):
        return _error(WebError, "request failed (%s)" % type(exc).__name__, url)
    if isinstance(exc, OSError):
        return classify_os_error(exc, url, "requesting", req.timeout)
    return exc
