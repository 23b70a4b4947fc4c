"""The hub's HTTP side: plain handlers (``Request -> Response``) over
kcore.webserver's public API, and :func:`install` to mount them on the
server ``kaithem.web.serve()`` started (it serves ``/login``, ``/logout``,
``/static/widget.js`` and the widget socket).

JSON API (``application/json``; errors are ``{"error": "..."}``):

* ``GET /api/tags``: the tags the caller may read, as a list of tag objects
  ``{"name", "value", "unit", "timestamp", "type"}`` (timestamp: wall clock);
* ``GET /api/tags/<name>``: one tag object;
* ``PUT /api/tags/<name>`` with ``{"value": ...}``: write it (the default claim);
* ``GET /api/alerts``, ``GET /api/machines``, ``GET /api/sun``, ``GET /api/scripts``,
  ``GET /api/devices``; ``POST /api/machines/<name>/events`` with
  ``{"event": "..."}``; ``POST /api/alerts/<id>/acknowledge``.

Callers: a guest (no credentials) reads public tags and the public parts of
the hub; ``Authorization: Bearer <token>`` (the API token file, compared in
constant time) may read and write everything writable; a user logged in on
``/login`` (the ``kaithem_session`` cookie) has the permissions of their
groups, and every write they make must carry the session's CSRF token in
``X-CSRF-Token`` and come from this site. A wrong token is a 401, never a
guest. Introspection pages (``/varz``, ``/logz``, ``/flagz``, ``/metrics``)
are open to loopback clients, to the token and to users with
``/admin/settings.view``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union
from urllib.parse import unquote

from kcore.hub.config import (
    ADMIN_VIEW_PERMISSION,
    EVENT_PERMISSION,
    READ_PERMISSION,
    SCRIPTS_PERMISSION,
)
from kcore.webserver import Request, Response

MAX_BODY = 16384
JSON = "application/json"
GUEST_NAME = "__guest__"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

Handler = Callable[[Request], Response]


class Caller:
    """Who is asking: the guest, a holder of the API token (``everything``),
    or a logged-in user (``session`` is their kaithem.web session).
    ``can(permission)`` follows kaithem.users' rules."""

    def __init__(
        self, name: str, users: Any, everything: bool = False, session: Any = None
    ) -> None:
        self.name = name
        self.users = users
        self.everything = everything
        self.session = session

    @property
    def is_guest(self) -> bool:
        return self.name == GUEST_NAME

    def can(self, permission: str) -> bool:
        if self.everything:
            return True
        return bool(self.users.check_permission(self.name, permission))


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def json_response(
    data: Any, status: int = 200, headers: Optional[Dict[str, str]] = None
) -> Response:
    body = json.dumps(_finite(data), allow_nan=False, separators=(",", ":"))
    extra = {"Cache-Control": "no-store"}
    extra.update(headers or {})
    return Response(body, status, extra_headers=extra, msg_type=JSON)


def _finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_finite(v) for v in data]
    return data


def identify(hub: Any, request: Request) -> Caller:
    """The caller of ``request``: the bearer token when one is sent (a wrong
    one raises a 401), else the logged-in user of the session cookie, else
    the guest."""
    header = request.headers.get("authorization")
    users = hub.kaithem.users
    if not header:
        user, session = hub.kaithem.web.identify(request)
        if user:
            return Caller(user, users, session=session)
        return Caller(GUEST_NAME, users)
    scheme, _, credential = header.partition(" ")
    token = hub.api_token
    if scheme.lower() != "bearer" or not credential.strip():
        raise ApiError(401, "use Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    if token is None or not hmac.compare_digest(
        credential.strip().encode("utf-8"), token.encode("utf-8")
    ):
        raise ApiError(401, "wrong API token", {"WWW-Authenticate": "Bearer"})
    return Caller("api-token", users, everything=True)


def _api(hub: Any, f: Callable[[Any, Request, Caller], Any]) -> Handler:
    """A handler from ``f(hub, request, caller) -> data``: JSON out, ApiError -> status."""

    def handler(request: Request) -> Response:
        try:
            caller = identify(hub, request)
            if caller.session is not None and request.method in UNSAFE_METHODS:
                check_csrf(hub, request)
            result = f(hub, request, caller)
        except ApiError as e:
            return json_response({"error": e.message}, e.status, e.headers)
        if isinstance(result, Response):
            return result
        return json_response(result)

    handler.__name__ = f.__name__
    return handler


def check_csrf(hub: Any, request: Request) -> None:
    """A write with a session cookie must come from this site and carry the
    session's token: the cookie alone proves nothing, a browser sends it for
    other sites too. kaithem.web's check, answered as an API error."""
    from kcore.kaithem.web import HTTPError

    try:
        hub.kaithem.web.check_csrf(request)
    except HTTPError as e:
        raise ApiError(403, e.message) from None


def _need(caller: Caller, permission: str, what: str) -> None:
    """Guests get a 401 (log in, or a token), users without ``permission`` a 403."""
    if caller.is_guest:
        raise ApiError(
            401, "%s needs a login or an API token" % what, {"WWW-Authenticate": "Bearer"}
        )
    if not caller.can(permission):
        raise ApiError(403, "%s needs the permission %s" % (what, permission))


def _methods(request: Request, *allowed: str) -> None:
    if request.method not in allowed:
        raise ApiError(405, "use %s" % " or ".join(allowed), {"Allow": ", ".join(allowed)})


def read_json(request: Request, keys: Tuple[str, ...]) -> Dict[str, Any]:
    """The request body as a JSON object with exactly ``keys``."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != JSON:
        raise ApiError(415, "send the body as application/json")
    body = request.body or b""
    if len(body) > MAX_BODY:
        raise ApiError(413, "the body is larger than %d bytes" % MAX_BODY)
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict) or set(data) != set(keys):
        raise ApiError(400, "send a JSON object with exactly: %s" % ", ".join(keys))
    return data


def _no_constant(name: str) -> Any:
    raise ValueError("%s is not a number JSON allows" % name)


# ------------------------------------------------------------------ tags


def _group(request: Request) -> str:
    groups: Any = request.route_match_groups
    return str(groups[0]) if groups else ""


def tag_name_from(request: Request) -> str:
    from kcore.kaithem.tags import TagError, normalize_tag_name

    try:
        return normalize_tag_name(unquote(_group(request), errors="strict"))
    except (TagError, UnicodeDecodeError):
        raise ApiError(404, "no such tag") from None


def can_read(hub: Any, caller: Caller, name: str) -> bool:
    spec = hub.tag_spec(name)
    return bool(spec.public or caller.can(spec.read_permission))


def tags_list(hub: Any, request: Request, caller: Caller) -> Any:
    _methods(request, "GET", "HEAD")
    out = []
    for name in hub.table.names():
        if can_read(hub, caller, name):
            d = hub.table.describe(name)
            if d is not None:
                out.append(d)
    return out


def tag_item(hub: Any, request: Request, caller: Caller) -> Any:
    _methods(request, "GET", "HEAD", "PUT")
    name = tag_name_from(request)
    if name not in hub.kaithem.tags:
        raise ApiError(404, "no tag %s" % name)
    if request.method == "PUT":
        return _write_tag(hub, request, caller, name)
    if not can_read(hub, caller, name):
        _need(caller, hub.tag_spec(name).read_permission, "reading tag %s" % name)
    return hub.table.describe(name)


def _write_tag(hub: Any, request: Request, caller: Caller, name: str) -> Any:
    from kcore.hub.tagtable import Origin

    spec = hub.tag_spec(name)
    _need(caller, spec.write_permission, "writing tag %s" % name)
    if not spec.writable:
        raise ApiError(403, "tag %s is read-only" % name)
    value = read_json(request, ("value",))["value"]
    try:
        write_tag(hub, name, value, Origin("api", caller.name))
    except (TypeError, ValueError) as e:
        raise ApiError(400, str(e)) from None
    return hub.table.describe(name)


def write_tag(hub: Any, name: str, value: Any, origin: Any) -> None:
    """Set the default claim of tag ``name`` (TypeError or ValueError when
    the tag refuses the value); the caller checked the permissions."""
    tag = hub.kaithem.tags.get(name)
    if tag is None:
        raise ValueError("there is no tag %s" % name)
    tag(value, None, origin)


# ------------------------------------------------------------------ the rest of the hub


def alerts_list(hub: Any, request: Request, caller: Caller) -> Any:
    _methods(request, "GET", "HEAD")
    perms = alert_permissions(caller)
    return {"level": hub.kaithem.alerts.level(), "alerts": hub.kaithem.alerts.visible(perms)}


def alert_permissions(caller: Caller) -> Optional[List[str]]:
    """The permissions alerts are filtered by (None: every alert). Guests see the
    alerts that need nothing beyond the view permission (the configured ones)."""
    from kcore.kaithem.alerts import VIEW_PERMISSION

    if caller.everything:
        return None
    return [VIEW_PERMISSION] if caller.is_guest or caller.can(VIEW_PERMISSION) else []


def alert_ack(hub: Any, request: Request, caller: Caller) -> Any:
    from kcore.kaithem.alerts import ACK_PERMISSION

    _methods(request, "POST")
    _need(caller, ACK_PERMISSION, "acknowledging alerts")
    alert_id = unquote(_group(request))
    if not hub.automation.acknowledge(alert_id, caller.name):
        raise ApiError(404, "no alert %s" % alert_id)
    return hub.kaithem.alerts.get(alert_id).format()


def machines_list(hub: Any, request: Request, caller: Caller) -> Any:
    _methods(request, "GET", "HEAD")
    out = {}
    for name, sm in hub.automation.machines.items():
        spec = hub.config.machines[name]
        if spec.public or not caller.is_guest:
            out[name] = {"state": sm.state, "states": list(spec.states), "since": sm.entered_state}
    return out


def machine_event(hub: Any, request: Request, caller: Caller) -> Any:
    _methods(request, "POST")
    _need(caller, EVENT_PERMISSION, "sending events")
    name = unquote(_group(request))
    sm = hub.automation.machines.get(name)
    if sm is None:
        raise ApiError(404, "no state machine %s" % name)
    event = read_json(request, ("event",))["event"]
    if not isinstance(event, str) or not event or event.startswith("__"):
        raise ApiError(400, "an event is a non-empty string not starting with __")
    return {"state": sm.event(event)}


def sun_info(hub: Any, request: Request, caller: Caller) -> Any:
    _methods(request, "GET", "HEAD")
    sun = hub.sun()
    if sun is None:
        raise ApiError(404, "no location configured")
    return sun


def scripts_list(hub: Any, request: Request, caller: Caller) -> Any:
    _methods(request, "GET", "HEAD")
    if not caller.can(SCRIPTS_PERMISSION):  # error texts name files and lines
        return [{"name": s["name"], "status": s["status"]} for s in hub.scripts.info()]
    return hub.scripts.info()


def devices_state(hub: Any, request: Request, caller: Caller) -> Any:
    _methods(request, "GET", "HEAD")
    _need(caller, READ_PERMISSION, "the devices")
    return hub.devices.state()


# ------------------------------------------------------------------ health, metrics, mounting


def healthz(hub: Any) -> Handler:
    def handler(request: Request) -> Response:
        problem = hub.health()
        if problem is None:
            return Response("ok", msg_type="text/plain")
        return Response("degraded: %s" % problem, 503, msg_type="text/plain")

    return handler


def introspection_guard(hub: Any) -> Callable[[Request], Union[bool, Response]]:
    """Loopback clients, API-token holders and users with /admin/settings.view
    may see /varz, /logz, /flagz, /metrics."""

    def allowed(request: Request) -> Union[bool, Response]:
        try:
            caller = identify(hub, request)
        except ApiError as e:
            return Response(e.message + "\n", e.status, e.headers, msg_type="text/plain")
        return caller.can(ADMIN_VIEW_PERMISSION) or _loopback(request.remote_address)

    return allowed


def _loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, (tuple, list)) and address else address
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def metrics(hub: Any) -> Handler:
    from kcore.hub.metrics import render

    guard = introspection_guard(hub)

    def handler(request: Request) -> Response:
        verdict = guard(request)
        if isinstance(verdict, Response):
            return verdict
        if not verdict:
            return Response("forbidden\n", 403, msg_type="text/plain")
        problem = hub.health()
        body, ctype = render(hub, request, "ok" if problem is None else "degraded: " + problem)
        return Response(body, msg_type=ctype)

    return handler


def routes(hub: Any) -> List[Tuple[str, Handler]]:
    """The hub's route table (regexes as kcore.webserver takes them)."""
    from kcore.hub.dashboard import dashboard_page
    from kcore.hub.pages import status_page

    return [
        ("/", dashboard_page(hub)),
        ("/status", status_page(hub)),
        ("/healthz", healthz(hub)),
        ("/metrics", metrics(hub)),
        ("/api/tags", _api(hub, tags_list)),
        ("/api/tags/(.+)", _api(hub, tag_item)),
        ("/api/alerts", _api(hub, alerts_list)),
        ("/api/alerts/([^/]+)/acknowledge", _api(hub, alert_ack)),
        ("/api/machines", _api(hub, machines_list)),
        ("/api/machines/([^/]+)/events", _api(hub, machine_event)),
        ("/api/sun", _api(hub, sun_info)),
        ("/api/scripts", _api(hub, scripts_list)),
        ("/api/devices", _api(hub, devices_state)),
    ]


def install(server: Any, hub: Any) -> None:
    """Mount the hub on the kcore.webserver ``server`` that
    ``hub.kaithem.web.serve()`` started (its own pages stay: ``/login``,
    ``/logout``, ``/static/...``, the widget socket); the dashboard replaces
    its index page at ``/``."""
    server.del_handler("/")
    server.add_handlers(routes(hub))
    server.add_static("/hub/static", STATIC_DIR)
    if server.introspection_auth is None:
        server.introspection_auth = introspection_guard(hub)
