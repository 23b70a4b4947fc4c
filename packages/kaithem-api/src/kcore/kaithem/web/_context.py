"""The per-request context of ``kaithem.web`` and the interrupts handlers raise.

Page handlers run in the web server's threads; each request gets a
:class:`RequestContext` in a context variable, so ``kaithem.web.user()``,
``has_permission()``, ``goto()`` and friends know which request they belong
to without a global "current request".
"""

from __future__ import annotations

import contextvars
from typing import Any
from urllib.parse import urlsplit

from kcore.common.platform import KcoreError

GUEST = "__guest__"


class WebError(KcoreError):
    """Root of the errors ``kaithem.web`` raises on purpose."""


class NoRequestError(WebError, RuntimeError):
    """A per-request function was called outside a web request."""


class UnsafeRedirect(WebError, ValueError):
    """``goto()`` was asked to send the browser to another site."""


class WebInterrupt(Exception):  # an interrupt, not an error
    """Raised inside a handler to make the server answer something else."""


class Redirect(WebInterrupt):
    """Send the browser to ``location`` (already checked to be safe)."""

    def __init__(self, location: str, status: int = 303) -> None:
        super().__init__(location)
        self.location = location
        self.status = status


class HTTPError(WebInterrupt):
    """Answer ``status`` with ``message`` shown as text. Mount an instance in
    ``kaithem.web.controllers`` to answer that path with it."""

    def __init__(self, status: int = 500, message: str = "") -> None:
        super().__init__(status, message)
        self.status = int(status)
        self.message = message


class LoginRequired(WebInterrupt):
    """The visitor is not logged in and the page needs a permission."""


class ServeFile(WebInterrupt):
    """Answer with a file (a path or an object with ``read()``)."""

    def __init__(self, source: Any, contenttype: str = "", name: str | None = None) -> None:
        super().__init__(
            getattr(source, "name", source) if not isinstance(source, str) else source
        )
        self.source = source
        self.contenttype = contenttype
        self.name = name


class RequestContext:
    """What a handler's request is: ``request`` (kcore Request), ``user``
    (``""`` when not logged in), ``session``, ``secure`` (TLS), ``cookies``."""

    __slots__ = ("cookies", "request", "secure", "session", "set_cookie", "user")

    def __init__(
        self, request: Any, user: str, session: Any, secure: bool, cookies: dict[str, str]
    ) -> None:
        self.request = request
        self.user = user
        self.session = session
        self.secure = secure
        self.cookies = cookies
        self.set_cookie: str | None = None  # one Set-Cookie header for the response

    @property
    def effective_user(self) -> str:
        """The user permissions are checked for: ``__guest__`` when anonymous."""
        return self.user or GUEST

    @property
    def host(self) -> str:
        return str(self.request.headers.get("host", "") or "")


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "kaithem_web_request", default=None
)


def current() -> RequestContext | None:
    return _current.get()


def require_current(what: str) -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        raise NoRequestError("kaithem.web.%s() only works inside a web request" % what)
    return ctx


def enter(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def leave(token: contextvars.Token) -> None:
    _current.reset(token)


def same_site(url: Any, host: str) -> str | None:
    """``url`` if following it stays on this site (a relative URL, or http(s)
    to the very ``host`` of the request), else None."""
    if not isinstance(url, str) or not url or len(url) > 4096:
        return None
    if url != url.strip() or "\\" in url or any(ord(c) < 33 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme and not parts.netloc:
        if url.startswith("//"):
            return None
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if not host or parts.netloc.lower() != host.lower():
        return None
    return url
