"""The one redirect policy of every :mod:`kcore.common.web` transport, and
Basic auth from a URL's user info (import the names from kcore.common.web)."""

from kcore.common._weberrors import WebError, _error
from kcore.common._webmessage import Headers, PreparedRequest, Response
from kcore.common._weburl import URL, join_url, parse_url
from kcore.common.urls import unquote

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Callable, Optional

    SendOnce = Callable[[str, URL, Headers, Optional[bytes]], Response]

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
