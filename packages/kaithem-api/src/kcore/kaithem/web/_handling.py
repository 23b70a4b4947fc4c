"""Running one request of ``kaithem.web``: identify the visitor, check CSRF,
call the handler inside its context, turn interrupts (redirects, files,
errors) into responses, add the security headers."""

from __future__ import annotations

import hmac
import mimetypes
import os
from typing import Any, Callable
from urllib.parse import quote, urlsplit

from kcore.html import escape
from kcore.kaithem._sessions import CSRF_COOKIE, SESSION_COOKIE, parse_cookies
from kcore.kaithem.web import _context as C
from kcore.webserver import Response

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CSRF_FIELD = "__csrf"
CSRF_HEADER = "x-csrf-token"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
CHUNK = 65536

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}


def form_field(request: Any, name: str) -> str | None:
    """A form or query field as one str (multipart gives lists: first item)."""
    for source in (request.post_params, request.get_params):
        value = source.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str):
            return value
    return None


def strip_port(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def same_origin(origin: str, host: str, secure: bool) -> bool:
    """Whether an ``Origin`` header names this very site (scheme and host:port)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    scheme = "https" if secure else "http"
    return parts.scheme == scheme and bool(host) and parts.netloc.lower() == host.lower()


def origin_allowed(ns: Any, request: Any, secure: bool) -> bool:
    """The ``Origin`` check shared by forms and the widget socket: absent
    (not a browser) or this site or one of config ``web-allowed-origins``."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") != "cross-site"
    if same_origin(origin, str(request.headers.get("host", "")), secure):
        return True
    return origin in ns._allowed_origins()


def check_csrf(ns: Any, ctx: C.RequestContext) -> None:
    """Refuse a state-changing request that another site could have forged:
    a foreign ``Origin`` or ``Sec-Fetch-Site: cross-site``, or a missing or
    wrong token (form field ``__csrf`` or header ``X-CSRF-Token``; the
    session's token when logged in, else the ``kaithem_csrf`` cookie)."""
    request = ctx.request
    if not origin_allowed(ns, request, ctx.secure):
        raise C.HTTPError(403, "cross-site request refused")
    sent = request.headers.get(CSRF_HEADER) or form_field(request, CSRF_FIELD)
    if ctx.session is not None:
        expected = ctx.session.csrf
    else:
        expected = ctx.cookies.get(CSRF_COOKIE)
        if expected is not None and len(expected) < 20:
            expected = None
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise C.HTTPError(403, "CSRF token missing or wrong: reload the page and try again")


def make_context(ns: Any, request: Any) -> C.RequestContext:
    cookies = parse_cookies(request.headers.get("cookie"))
    user, session = ns._identify(cookies.get(SESSION_COOKIE))
    return C.RequestContext(request, user, session, ns._tls, cookies)


def run(ns: Any, request: Any, handler: Callable[[C.RequestContext], Any], csrf: bool) -> Any:
    """Run ``handler(ctx)`` for ``request`` and return a Response."""
    ctx = make_context(ns, request)
    token = C.enter(ctx)
    try:
        try:
            if csrf and request.method in UNSAFE_METHODS:
                check_csrf(ns, ctx)
            response = as_response(handler(ctx))
        except C.Redirect as r:
            response = Response("", r.status, extra_headers={"Location": r.location})
        except C.ServeFile as f:
            response = file_response(f)
        except C.LoginRequired:
            target = request.full_path if request.method == "GET" else "/"
            response = Response(
                "", 303, extra_headers={"Location": "/login?go=" + quote(target, safe="/")}
            )
        except C.HTTPError as e:
            response = error_page(ns, e.status, e.message)
    finally:
        C.leave(token)
    headers = response.extra_headers
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if response.msg_type.startswith("text/html"):
        headers.setdefault("Cache-Control", "no-store")
    if ctx.set_cookie:
        headers["Set-Cookie"] = ctx.set_cookie
    return response


def as_response(result: Any) -> Any:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response("", 200, msg_type=HTML)
    if isinstance(result, (bytes, bytearray)):
        return Response(bytes(result))
    if isinstance(result, str):
        return Response(result, msg_type=HTML)
    if hasattr(result, "__next__"):
        return Response(result, msg_type=HTML)
    raise TypeError(
        "a page handler must return str, bytes, an iterator, a Response or None, got %s"
        % type(result).__name__
    )


def error_page(ns: Any, status: int, message: str) -> Any:
    title = {403: "Forbidden", 404: "Not found", 429: "Too many requests"}.get(status, "Error")
    body = "<h1>%s</h1>\n<p>%s</p>" % (escape(title), escape(message or title))
    return Response(ns.page(body, title=title), status, msg_type=HTML)


def _disposition(kind: str, name: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name)
    return "%s; filename=\"%s\"; filename*=UTF-8''%s" % (kind, ascii_name, quote(name, safe=""))


class _Chunks:
    """Iterator over a file object's bytes; closes it at the end or on close()."""

    def __init__(self, f: Any, close: bool) -> None:
        self.f = f
        self._close = close

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> bytes:
        data = self.f.read(CHUNK)
        if not data:
            self.close()
            raise StopIteration
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def close(self) -> None:
        if self._close:
            self.f.close()


def file_response(f: C.ServeFile) -> Any:
    source = f.source
    headers: dict[str, str] = {}
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            fh = open(path, "rb")  # closed by the stream
            size = os.fstat(fh.fileno()).st_size
        except OSError:
            return Response("file not found\n", 404, msg_type=TEXT)
        name = f.name or os.path.basename(path)
        headers["Content-Length"] = str(size)
        stream = _Chunks(fh, close=True)
    else:
        if not hasattr(source, "read"):
            raise TypeError("serve_file() needs a path or an object with read()")
        name = f.name or os.path.basename(str(getattr(source, "name", "") or "download"))
        stream = _Chunks(source, close=False)
    ctype = f.contenttype or mimetypes.guess_type(name)[0] or "application/octet-stream"
    kind = "attachment" if f.name else "inline"
    headers["Content-Disposition"] = _disposition(kind, name)
    return Response(stream, msg_type=ctype, extra_headers=headers, binary=True)
