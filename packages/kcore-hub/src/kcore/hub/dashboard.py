"""The dashboard at ``/``: the configured widgets the visitor may see (guests:
the public ones), live over kaithem's widget socket, with the hub's health,
its scripts and a login link (or the user and a logout button).

The page loads ``/static/widget.js`` (kaithem's widget client) and
``/hub/static/dashboard.js`` (the hub's own widgets: LED, strip, state
machine, alerts, sun, scripts). Every text is escaped; the page's Content
Security Policy allows scripts, styles and sockets from this site only. For a
logged-in user it carries the session's CSRF token (``<meta
name="csrf-token">``) for scripts that write through the JSON API.
"""

from __future__ import annotations

from typing import Any, Callable, List

from kcore.html import escape
from kcore.webserver import Request, Response

HTML = "text/html; charset=utf-8"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


def dashboard_page(hub: Any) -> Callable[[Request], Response]:
    from kcore.hub.web import ApiError, identify

    def handler(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("use GET\n", 405, {"Allow": "GET, HEAD"}, msg_type="text/plain")
        try:
            caller = identify(hub, request)
        except ApiError as e:
            return Response(e.message + "\n", e.status, e.headers, msg_type="text/plain")
        return Response(render(hub, caller), extra_headers=dict(HEADERS), msg_type=HTML)

    return handler


def render(hub: Any, caller: Any) -> str:
    """The whole page for ``caller``."""
    dash = hub.dashboard
    title = escape(hub.config.title)
    cards = dash.visible(caller)
    hidden = len(dash.cards) - len(cards)
    head = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % title,
        '<link rel="stylesheet" href="/static/widget.css">',
        '<link rel="stylesheet" href="/hub/static/dashboard.css">',
        '<script src="/static/widget.js"></script>',
        '<script src="/hub/static/dashboard.js"></script>',
    ]
    if caller.session is not None:
        head.append('<meta name="csrf-token" content="%s">' % escape(caller.session.csrf))
    body = [_top(hub, caller, title), "<main>"]
    if caller.is_guest:
        more = " and %d more widgets" % hidden if hidden else ""
        body.append(
            '<p class="hub-note">You see what guests may see. '
            '<a href="/login?go=/">Log in</a> to use the controls%s.</p>' % more
        )
    elif hidden:
        body.append(
            '<p class="hub-note">%d widgets need permissions you do not have.</p>' % hidden
        )
    if cards:
        body.append('<div class="hub-grid">%s</div>' % "".join(_card(c, caller) for c in cards))
    elif not dash.cards:
        body.append(
            '<p class="hub-note">No widgets are configured: add a <code>widgets:</code> '
            'section to the configuration. <a href="/status">The status page</a> lists the '
            "tags.</p>"
        )
    body.append(_scripts(hub, caller))
    body.append("</main>")
    body.append(_footer(hub))
    return '<!DOCTYPE html>\n<html lang="en"><head>%s</head>\n<body>%s</body></html>\n' % (
        "".join(head),
        "\n".join(body),
    )


def _top(hub: Any, caller: Any, title: str) -> str:
    health = str(hub.dashboard.health.render())
    if caller.session is not None:
        who = (
            '<form class="hub-user" method="post" action="/logout">'
            '<span class="hub-user-name">%s</span>'
            '<input type="hidden" name="__csrf" value="%s">'
            '<button type="submit">Log out</button></form>'
            % (escape(caller.name), escape(caller.session.csrf))
        )
    elif caller.everything:
        who = '<span class="hub-user">API token</span>'
    else:
        who = '<a class="hub-user hub-login" href="/login?go=/">Log in</a>'
    return (
        '<header class="hub-top"><a class="hub-title" href="/">%s</a>'
        '<span class="hub-health" data-hub-type="health">%s</span>%s</header>'
        % (title, health, who)
    )


def _card(card: Any, caller: Any) -> str:
    writable = card.writable_by(caller)
    return '<section class="hub-card hub-card-%s" id="%s"><h2>%s</h2>%s</section>' % (
        escape(card.spec["type"]),
        escape(card.id.replace(":", "-")),
        escape(card.label),
        card.html(writable),
    )


def _scripts(hub: Any, caller: Any) -> str:
    from kcore.hub.config import SCRIPTS_PERMISSION

    info = hub.scripts.info() if hub.scripts is not None else []
    if not info:
        return ""
    detail = caller.everything or caller.can(SCRIPTS_PERMISSION)
    rows: List[str] = []
    for s in info:
        rows.append(
            '<tr data-script="%s"><td>%s</td><td class="hub-script-status">%s</td>%s</tr>'
            % (
                escape(s["name"]),
                escape(s["name"]),
                escape(s["status"]),
                '<td class="hub-script-error">%s</td>' % escape(s["error"] or "")
                if detail
                else "",
            )
        )
    return (
        '<section class="hub-scripts" data-hub-type="scripts" data-hub-id="hub:scripts"%s>'
        "<h2>Scripts</h2><table>%s</table></section>"
        % (' data-hub-errors="hub:script-errors"' if detail else "", "".join(rows))
    )


def _footer(hub: Any) -> str:
    from kcore.hub.pages import when

    return (
        '<footer class="hub-footer">hub %s, up since %s &middot; <a href="/status">status</a> '
        '&middot; <a href="/api/tags">tags (JSON)</a> &middot; <a href="/healthz">healthz</a> '
        '&middot; <a href="/metrics">metrics</a></footer>'
        % (escape(hub.hub_id), escape(when(hub.started_at, fmt="%Y-%m-%d %H:%M")))
    )
