"""The hub's page at ``/status``: a plain HTML page without JavaScript
(escaped throughout by kcore.html) with the tags the caller may read, alerts,
state machines, today's sun times, scripts and the MQTT link. It reloads
itself every few seconds. (The live dashboard at ``/`` is :mod:`kcore.hub.dashboard`.)
"""

from __future__ import annotations

import time
from typing import Any, Callable, List, Optional

from kcore import html as H
from kcore.webserver import Request, Response

REFRESH_SECONDS = 5


def when(ts: Optional[float], tz: Optional[str] = None, fmt: str = "%H:%M:%S") -> str:
    if ts is None:
        return "-"
    if tz:
        from kcore.kaithem.time import format_time

        return str(format_time(ts, fmt, tz))
    return time.strftime(fmt, time.localtime(ts))


def _value(d: dict) -> str:
    v = d["value"]
    text = ("%g" % v) if isinstance(v, float) else str(v)
    return (text + " " + d["unit"]).strip() if d.get("unit") else text


def status_page(hub: Any) -> Callable[[Request], Response]:
    from kcore.hub.config import SCRIPTS_PERMISSION
    from kcore.hub.web import ApiError, Caller, _loopback, can_read, identify

    def handler(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("use GET\n", 405, {"Allow": "GET, HEAD"}, msg_type="text/plain")
        try:
            caller: Caller = identify(hub, request)
        except ApiError as e:
            return Response(e.message + "\n", e.status, e.headers, msg_type="text/plain")
        trusted = caller.can(SCRIPTS_PERMISSION) or _loopback(request.remote_address)
        parts: List[Any] = [H.wrap(hub.config.title, "h1")]
        problem = hub.health()
        parts.append(H.wrap("status: " + ("ok" if problem is None else problem), "p"))
        parts += _tags(hub, caller, can_read)
        parts += _alerts(hub, caller)
        parts += _machines(hub, caller)
        parts += _sun(hub)
        parts += _scripts(hub, trusted)
        parts.append(
            H.wrap(
                "hub %s, up since %s; JSON at /api/tags; /healthz /varz /logz /metrics"
                % (hub.hub_id, when(hub.started_at, fmt="%Y-%m-%d %H:%M:%S")),
                "p",
            )
        )
        refresh = H.raw('<meta http-equiv="refresh" content="%d">' % REFRESH_SECONDS)
        page = H.html_page_wrap(
            H.Markup("").join(parts), hub.config.title, other_heads=(H.VIEWPORT_META, refresh)
        )
        return Response(str(page), msg_type="text/html; charset=utf-8")

    return handler


def _tags(hub: Any, caller: Any, can_read: Callable[..., bool]) -> List[Any]:
    rows = []
    for name in hub.table.names():
        if not can_read(hub, caller, name):
            continue
        d = hub.table.describe(name)
        if d is not None:
            rows.append([name, _value(d), when(d["timestamp"])])
    if not rows:
        return [H.wrap("tags", "h2"), H.wrap("no tags you may read", "p")]
    table = H.list_to_table(rows, header_list=["tag", "value", "updated"])
    return [H.wrap("tags", "h2"), table]


def _alerts(hub: Any, caller: Any) -> List[Any]:
    from kcore.hub.web import alert_permissions

    alerts = hub.kaithem.alerts
    visible = alerts.visible(alert_permissions(caller))
    out: List[Any] = [H.wrap("alerts (level: %s)" % alerts.level(), "h2")]
    if not visible:
        return [*out, H.wrap("no active alerts", "p")]
    rows = [[a["name"], a["priority"], a["state"], a["message"]] for a in visible.values()]
    return [*out, H.list_to_table(rows, header_list=["alert", "priority", "state", "message"])]


def _machines(hub: Any, caller: Any) -> List[Any]:
    rows = []
    for name, sm in hub.automation.machines.items():
        spec = hub.config.machines[name]
        if spec.public or not caller.is_guest:
            rows.append([name, sm.state, spec.description])
    if not rows:
        return []
    return [
        H.wrap("state machines", "h2"),
        H.list_to_table(rows, header_list=["machine", "state", ""]),
    ]


def _sun(hub: Any) -> List[Any]:
    sun = hub.sun()
    if sun is None:
        return []
    tz = hub.config.location.timezone
    rows = [[k, when(sun[k], tz, "%H:%M")] for k in ("dawn", "sunrise", "sunset", "dusk")]
    title = "sun today%s" % (" at " + sun["location"] if sun["location"] else "")
    return [H.wrap(title, "h2"), H.list_to_table(rows)]


def _scripts(hub: Any, trusted: bool) -> List[Any]:
    info = hub.scripts.info()
    if not info:
        return []
    rows = []
    for s in info:
        detail = s["error"] if trusted and s["error"] else ""
        rows.append([s["name"], s["status"], detail])
    return [H.wrap("scripts", "h2"), H.list_to_table(rows, header_list=["script", "status", ""])]
