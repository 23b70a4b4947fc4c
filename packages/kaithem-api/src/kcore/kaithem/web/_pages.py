"""The server's own pages: ``/`` (index), ``/login`` and ``/logout``."""

from __future__ import annotations

import ipaddress
from typing import Any

from kcore.html import escape
from kcore.kaithem import users as _users
from kcore.kaithem._sessions import SESSION_COOKIE, cookie_header
from kcore.kaithem.web import _context as C
from kcore.kaithem.web._handling import HTML, form_field, strip_port
from kcore.webserver import Response


def is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, (tuple, list)) and address else address
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def index(ns: Any, ctx: C.RequestContext) -> Any:
    who = (
        "Logged in as <b>%s</b>." % escape(ctx.user)
        if ctx.user
        else 'Not logged in. <a href="/login">Log in</a>'
    )
    return ns.page("<h1>Kaithem</h1>\n<p>%s</p>" % who, title="Kaithem")


def _login_form(ns: Any, go: str, message: str = "") -> str:
    note = '<p class="kw-error" role="alert">%s</p>' % escape(message) if message else ""
    return ns.page(
        """<h1>Log in</h1>%s
<form method="post" action="/login" class="kw-login">
<input type="hidden" name="__csrf" value="%s">
<input type="hidden" name="go" value="%s">
<label>User <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required>
</label>
<button type="submit">Log in</button>
</form>"""
        % (note, escape(ns.csrf_token()), escape(go)),
        title="Log in",
    )


def login(ns: Any, ctx: C.RequestContext) -> Any:
    request = ctx.request
    go = C.same_site(form_field(request, "go") or "/", ctx.host) or "/"
    host_labels = strip_port(ctx.host).split(".")
    if "__nologin__" in host_labels:
        raise C.HTTPError(403, "logging in is not allowed on this host name")
    if request.method != "POST":
        return _login_form(ns, go)
    if not ctx.secure and not is_loopback(request.remote_address):
        if not ns._kaithem.config.get("web-allow-insecure-login", False):
            raise C.HTTPError(403, "log in over HTTPS: passwords are not sent in clear text")
    username = form_field(request, "username") or ""
    password = form_field(request, "password") or ""
    source = request.remote_address[0] if request.remote_address else None
    try:
        ns._kaithem.users.login(username, password, source=source)
    except _users.LoginThrottled as e:
        page = _login_form(ns, go, "Too many failed logins: try again later.")
        return Response(
            page, 429, extra_headers={"Retry-After": str(int(e.retry_after) + 1)}, msg_type=HTML
        )
    except (_users.LoginError, TypeError, ValueError):
        return Response(_login_form(ns, go, "Wrong user name or password."), 401, msg_type=HTML)
    old = ctx.cookies.get(SESSION_COOKIE)
    if old:
        ns.sessions.drop(old)  # never keep a token chosen before the login
    token, _session = ns.sessions.create(username)
    ctx.set_cookie = cookie_header(SESSION_COOKIE, token, secure=ctx.secure)
    return Response("", 303, extra_headers={"Location": go}, msg_type=HTML)


def logout(ns: Any, ctx: C.RequestContext) -> Any:
    if ctx.request.method != "POST":
        if not ctx.user:
            raise C.Redirect("/")
        return ns.page(
            """<h1>Log out</h1>
<form method="post" action="/logout"><input type="hidden" name="__csrf" value="%s">
<button type="submit">Log out %s</button></form>"""
            % (escape(ns.csrf_token()), escape(ctx.user)),
            title="Log out",
        )
    token = ctx.cookies.get(SESSION_COOKIE)
    if ctx.session is not None:
        ns._session_ended(ctx.session)
    ns.sessions.drop(token)
    ctx.set_cookie = cookie_header(SESSION_COOKIE, "", secure=ctx.secure, max_age=0)
    raise C.Redirect("/login")
