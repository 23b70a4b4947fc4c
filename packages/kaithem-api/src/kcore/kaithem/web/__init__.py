"""``kaithem.web``: serve pages, controllers, logins and widgets.

``kaithem.web.serve()`` starts a :class:`kcore.webserver.WebServer` for the
instance: the widget client at ``/static/widget.js``, the widget socket at
``/widgets/ws``, ``/login`` and ``/logout``, and every path mounted in
``kaithem.web.controllers``. Page handlers run with a per-request context,
so ``user()``, ``has_permission()``, ``goto()``, ``go_back()`` and
``serve_file()`` work inside them.

Safe by default: sessions are random tokens in ``HttpOnly`` ``SameSite=Lax``
cookies (``Secure`` under TLS); POST/PUT/PATCH/DELETE need a CSRF token
(``csrf_field()`` in forms) and a same-site ``Origin``; redirects stay on the
site unless explicitly allowed; logins are throttled; passwords travel over
plain HTTP only from loopback addresses unless configured otherwise.
"""

from __future__ import annotations

import os
import secrets
import threading
import weakref
from typing import Any, Callable

from kcore.html import Markup, escape
from kcore.kaithem._sessions import CSRF_COOKIE, Session, SessionStore, cookie_header
from kcore.kaithem._support import default_namespace
from kcore.kaithem.web import _context as C
from kcore.kaithem.web._context import (
    HTTPError,
    NoRequestError,
    Redirect,
    ServeFile,
    UnsafeRedirect,
    WebError,
)
from kcore.kaithem.web._controllers import ControllerMap, expose

__all__ = [
    "HTTPError",
    "NoRequestError",
    "Namespace",
    "Redirect",
    "ServeFile",
    "UnsafeRedirect",
    "WebError",
    "expose",
    "go_back",
    "goto",
    "has_permission",
    "serveFile",
    "serve_file",
    "user",
]

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "static")


class Namespace:
    """``kaithem.web`` of one Kaithem instance.

    Configuration (``Kaithem(config={...})``): ``web-domains`` (main domain
    names for subdomain mounts), ``web-allowed-origins`` (extra origins
    allowed to post forms and open widget sockets), ``web-allow-insecure-login``
    (passwords over plain HTTP from non-loopback addresses), ``web-session-idle``
    (seconds, 7 days), ``web-session-lifetime`` (30 days), ``web-max-sessions``,
    ``web-log-requests`` (log every request; False).
    """

    expose = staticmethod(expose)
    HTTPError = HTTPError
    Redirect = Redirect
    ServeFile = ServeFile
    NoRequestError = NoRequestError
    UnsafeRedirect = UnsafeRedirect

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        config = kaithem.config
        self.controllers = ControllerMap()
        self.nav_bar_plugins: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self.sessions = SessionStore(
            idle=float(config.get("web-session-idle", 7 * 86400)),
            lifetime=float(config.get("web-session-lifetime", 30 * 86400)),
            max_sessions=int(config.get("web-max-sessions", 10000)),
        )
        self._server: Any = None
        self._tls = False
        self._host = "127.0.0.1"
        self._lock = threading.Lock()
        self._session_listeners: list[Callable[[Session], Any]] = []
        kaithem.users.add_listener(self._users_changed)

    # -- serving -------------------------------------------------------------------

    def serve(
        self, host: str = "127.0.0.1", port: int = 0, tls: Any = None, **server_options: Any
    ) -> Any:
        """Start a web server for this instance and return it (a
        :class:`kcore.webserver.WebServer`). ``tls`` is ``(cert_file,
        key_file)`` or a dict with ``cert``, ``key`` and optional ``password``.
        ``server_options`` go to ``WebServer`` (e.g. ``max_websockets``, 256
        here). ``kaithem.close()`` stops it."""
        from kcore.kaithem.web import _handling, _pages
        from kcore.webserver import WebServer

        cert = key = password = None
        if tls is not None:
            if isinstance(tls, dict):
                cert, key, password = tls.get("cert"), tls.get("key"), tls.get("password")
            elif isinstance(tls, (tuple, list)) and len(tls) == 2:
                cert, key = tls
            else:
                raise TypeError("tls must be (cert_file, key_file) or a dict with cert and key")
            if not cert or not key:
                raise ValueError("tls needs both a certificate and a key file")
        with self._lock:
            if self._server is not None:
                raise RuntimeError("kaithem.web is already serving at %s" % self.url)
            options = {
                "max_websockets": 256,
                "introspection_auth": self._introspection_auth,
                "logging_adapter": self._logging_adapter(),
            }
            options.update(server_options)
            server = WebServer(**options)

            def page(fn: Callable[..., Any], csrf: bool = True) -> Callable[[Any], Any]:
                return lambda request: _handling.run(
                    self, request, lambda ctx: fn(self, ctx), csrf
                )

            server.add_static("/static", STATIC_DIR)
            server.add_handler("/login", page(_pages.login))
            server.add_handler("/logout", page(_pages.logout))
            server.add_handler("/", page(_pages.index))
            server.add_handler(
                None, lambda request: _handling.run(self, request, self._dispatch, False)
            )
            self._kaithem.widget._hub.mount(server)
            server.start(
                port=port,
                listen=host,
                tls_cert_file=cert,
                tls_key_file=key,
                tls_key_password=password,
            )
            self._server = server
            self._tls = tls is not None
            self._host = host
        return server

    def _logging_adapter(self) -> Any:
        from kcore.webserver import default_logging_adapter

        adapter = default_logging_adapter()
        if not self._kaithem.config.get("web-log-requests", False):
            adapter.log_request = None  # one line per request is noise on a home server
        return adapter

    @property
    def server(self) -> Any:
        """The running WebServer, or None."""
        return self._server

    @property
    def url(self) -> str:
        """Base URL of the running server (``http://127.0.0.1:8080``)."""
        server = self._server
        if server is None:
            raise RuntimeError("kaithem.web is not serving: call kaithem.web.serve() first")
        host = self._host
        if host in ("0.0.0.0", ""):  # noqa: S104 - naming the wildcard, not binding it
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = "[%s]" % host
        return "%s://%s:%d" % ("https" if self._tls else "http", host, server.port)

    def close(self) -> None:
        """Stop the server (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        users = self._kaithem.__dict__.get("users")
        if users is not None:
            users.remove_listener(self._users_changed)

    # -- identity ----------------------------------------------------------------------

    def _identify(self, token: str | None) -> tuple[str, Session | None]:
        session = self.sessions.get(token)
        if session is None:
            return "", None
        if not self._kaithem.users.check_permission(session.user, "__guest__"):
            self.sessions.drop(token)  # the user no longer exists
            return "", None
        return session.user, session

    def identify(self, request: Any) -> tuple[str, Session | None]:
        """(user, session) of a request from its session cookie; ``""`` and
        None when not logged in."""
        from kcore.kaithem._sessions import SESSION_COOKIE, parse_cookies

        return self._identify(parse_cookies(request.headers.get("cookie")).get(SESSION_COOKIE))

    def _users_changed(self, user: str, lost: set[str], reason: str) -> None:
        if reason == "password" or not self._kaithem.users.check_permission(user, "__guest__"):
            self.sessions.drop_user(user)

    def add_session_listener(self, f: Callable[[Session], Any]) -> None:
        """Call ``f(session)`` when a session ends by logout (widget sockets
        opened with it close)."""
        self._session_listeners.append(f)

    def _session_ended(self, session: Session) -> None:
        for f in list(self._session_listeners):
            f(session)

    def check_csrf(self, request: Any) -> None:
        """Raise :class:`HTTPError` (403) unless a state-changing ``request``
        comes from this site (``Origin``/``Sec-Fetch-Site``, or an origin in
        config ``web-allowed-origins``) with the right CSRF token (header
        ``X-CSRF-Token`` or form field ``__csrf``: the session's when logged in).
        Handlers mounted outside ``controllers`` use it for their own writes."""
        from kcore.kaithem.web import _handling

        _handling.check_csrf(self, _handling.make_context(self, request))

    def _allowed_origins(self) -> list[str]:
        return list(self._kaithem.config.get("web-allowed-origins", ()))

    def _introspection_auth(self, request: Any) -> bool:
        user, _ = self.identify(request)
        return self._kaithem.users.check_permission(user or "__guest__", "/admin/settings.view")

    # -- dispatch --------------------------------------------------------------------

    def _dispatch(self, ctx: C.RequestContext) -> Any:
        from urllib.parse import unquote

        from kcore.kaithem.web import _controllers, _handling

        request = ctx.request
        try:
            segments = [unquote(s, errors="strict") for s in request.path.split("/") if s]
        except UnicodeDecodeError:
            raise HTTPError(400, "the path is not valid UTF-8") from None
        found = self.controllers.resolve(self._subdomains(ctx.host), segments)
        if found is None:
            raise HTTPError(404, "page not found")
        controller, rest = found
        if isinstance(controller, BaseException):
            raise controller.with_traceback(None)  # raised again and again: no growing traceback
        method, args = _controllers.find_method(controller, rest)
        if getattr(method, "_kaithem_csrf", True) and request.method in _handling.UNSAFE_METHODS:
            _handling.check_csrf(self, ctx)
        permission = getattr(method, "_kaithem_permission", None)
        if permission:
            self.require(permission)
        kwargs: dict[str, Any] = {}
        for source in (request.get_params, request.post_params):
            for name, value in source.items():
                if name != _handling.CSRF_FIELD:
                    kwargs[name] = value
        _controllers.check_call(method, args, kwargs)
        return method(*args, **kwargs)

    def _subdomains(self, host: str) -> tuple[str, ...]:
        import ipaddress

        from kcore.kaithem.web._handling import strip_port

        name = strip_port(host).rstrip(".")
        if not name or "." not in name:
            return ()
        try:
            ipaddress.ip_address(name)
            return ()
        except ValueError:
            pass
        for domain in self._kaithem.config.get("web-domains", ()):
            domain = domain.lower().strip(".")
            if name == domain:
                return ()
            if name.endswith("." + domain):
                return tuple(reversed(name[: -len(domain) - 1].split(".")))
        labels = name.split(".")
        keep = 1 if labels[-1] == "localhost" else 2
        return tuple(reversed(labels[:-keep]))

    # -- per-request API ---------------------------------------------------------------

    def user(self) -> str:
        """The logged-in user of the current request, ``""`` if anonymous."""
        return C.require_current("user").user

    def has_permission(self, permission: str) -> bool:
        """Whether the current request's user (or the guest) has ``permission``."""
        ctx = C.require_current("has_permission")
        return self._kaithem.users.check_permission(ctx.effective_user, permission)

    def require(self, permission: str) -> None:
        """Stop the page unless the visitor has ``permission``: anonymous
        visitors go to the login page, others get a 403."""
        if self.has_permission(permission):
            return
        if not self.user():
            raise C.LoginRequired()
        raise HTTPError(403, "you do not have the permission %s" % permission)

    def goto(self, url: str, *, allow_external: bool = False) -> None:
        """Redirect the browser to ``url`` (stops the page). Only to this site
        unless ``allow_external=True`` (no open redirects): raises
        :class:`UnsafeRedirect` otherwise."""
        ctx = C.require_current("goto")
        target = C.same_site(url, ctx.host)
        if target is None:
            if not allow_external:
                raise UnsafeRedirect("goto(%r): not on this site; pass allow_external=True" % url)
            if not isinstance(url, str) or any(ord(c) < 32 for c in url):
                raise UnsafeRedirect("goto(): not a URL: %r" % (url,))
            target = url
        raise Redirect(target)

    def go_back(self) -> None:
        """Redirect to the previous page (the ``Referer``), or to ``/`` when
        there is none or it is another site."""
        ctx = C.require_current("go_back")
        referer = ctx.request.headers.get("referer")
        raise Redirect(C.same_site(referer, ctx.host) or "/")

    def serve_file(self, path: Any, contenttype: str = "", name: str | None = None) -> None:
        """Answer the current request with a file (a path, or an object with
        ``read()``) instead of the page; the MIME type is guessed when empty;
        ``name`` makes it a download with that file name."""
        C.require_current("serve_file")
        raise ServeFile(path, contenttype, name)

    serveFile = serve_file  # the original's name

    def csrf_token(self) -> str:
        """The CSRF token forms of this visitor must send (field ``__csrf``,
        or header ``X-CSRF-Token``)."""
        ctx = C.require_current("csrf_token")
        if ctx.session is not None:
            return ctx.session.csrf
        token = ctx.cookies.get(CSRF_COOKIE)
        if not token or len(token) < 20:
            token = secrets.token_urlsafe(32)
            ctx.cookies[CSRF_COOKIE] = token
            ctx.set_cookie = cookie_header(
                CSRF_COOKIE, token, secure=ctx.secure, same_site="Strict"
            )
        return token

    def csrf_field(self) -> Markup:
        """``<input type="hidden" name="__csrf" ...>`` for a form."""
        return Markup('<input type="hidden" name="__csrf" value="%s">' % escape(self.csrf_token()))

    # -- pages -------------------------------------------------------------------------

    def nav_bar(self) -> Markup:
        """The navigation bar: ``nav_bar_plugins`` items (HTML from the
        program, sorted by their order), then the login state."""
        items = []
        for key, fn in list(self.nav_bar_plugins.items()):
            try:
                item = fn()
            except Exception as exc:  # a broken plugin must not break pages
                from kcore.common import logger

                logger.log_error("nav bar plugin %r failed: %r" % (key, exc))
                continue
            if item is not None:
                items.append((item[0], str(key), str(item[1])))
        items.sort(key=lambda t: (t[0], t[1]))
        parts = ['<span class="kw-nav-item">%s</span>' % html for _, _, html in items]
        ctx = C.current()
        if ctx is not None and ctx.user:
            parts.append(
                '<form class="kw-nav-user" method="post" action="/logout">%s '
                '<input type="hidden" name="__csrf" value="%s">'
                '<button type="submit">Log out</button></form>'
                % (escape(ctx.user), escape(ctx.session.csrf if ctx.session else ""))
            )
        elif ctx is not None:
            parts.append('<a class="kw-nav-user" href="/login">Log in</a>')
        return Markup('<nav class="kw-nav">%s</nav>' % "".join(parts))

    def page(self, body: str, title: str = "", head: str = "") -> Markup:
        """A whole HTML page around ``body`` (the program's HTML, e.g. widget
        renders) with the widget client, its stylesheet and the nav bar.
        ``title`` is text; ``head`` is extra HTML for ``<head>``."""
        return Markup(
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>%s</title>"
            '<link rel="stylesheet" href="/static/widget.css">'
            '<script src="/static/widget.js"></script>%s</head>\n'
            "<body>%s\n<main>%s</main>\n</body></html>\n"
            % (escape(title), head, self.nav_bar(), body)
        )


def _ns() -> Namespace:
    ns: Namespace = default_namespace("web")
    return ns


def user() -> str:
    return _ns().user()


def has_permission(permission: str) -> bool:
    return _ns().has_permission(permission)


def goto(url: str, *, allow_external: bool = False) -> None:
    _ns().goto(url, allow_external=allow_external)


def go_back() -> None:
    _ns().go_back()


def serve_file(path: Any, contenttype: str = "", name: str | None = None) -> None:
    _ns().serve_file(path, contenttype, name)


serveFile = serve_file  # the original's name
