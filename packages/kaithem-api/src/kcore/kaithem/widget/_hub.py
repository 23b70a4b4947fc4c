"""The widget registry and socket hub of one Kaithem instance.

Widgets are registered by id and held weakly, as in the original: a widget
lives as long as the program keeps it; when it is collected (or closed) its
subscribers receive the deletion entry ``[id]``. Subscriptions are
copy-on-write tuples per widget, so pushing a value walks a tuple without a
lock and never waits for a browser.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from typing import Any

from kcore.common import logger as _logger
from kcore.kaithem._support import report
from kcore.kaithem.widget._outbox import SenderPool
from kcore.kaithem.widget._socket import Connection, encode

ERROR_TOPIC = "/system/errors/widgets"


class Hub:
    """Registry, subscriptions and sockets. Configuration (``Kaithem(config=...)``):
    ``widget-max-subscriptions`` per socket (1024), ``widget-queue-size`` (stream
    entries waiting per socket, 1000), ``widget-max-messages-per-second`` per
    socket (200, bursts of twice that), ``widget-sender-threads`` (1, see
    ``_outbox``)."""

    def __init__(self, kaithem: Any) -> None:
        self.kaithem = kaithem
        config = kaithem.config
        self.max_subscriptions = int(config.get("widget-max-subscriptions", 1024))
        self.stream_limit = int(config.get("widget-queue-size", 1000))
        self.rate = float(config.get("widget-max-messages-per-second", 200))
        self.rate_burst = 2 * self.rate
        self.senders = SenderPool(
            int(config.get("widget-sender-threads", 1)),
            float(config.get("widget-frame-interval", 0.005)),
        )
        self._widgets: dict[str, weakref.ref] = {}
        self._subs: dict[str, tuple[Connection, ...]] = {}
        self._conns: set[Connection] = set()
        self._lock = threading.RLock()
        self._listening = False
        self._client_error_at = 0.0
        self._closed = False

    # -- registry ------------------------------------------------------------------

    def register(self, widget: Any) -> None:
        wid = widget.id
        with self._lock:
            old = self._widgets.get(wid)
            if old is not None and old() is not None:
                from kcore.kaithem.widget._base import WidgetError

                raise WidgetError("a widget with id %r exists already" % (wid,))
            callback = functools.partial(_collected, weakref.ref(self), wid)
            self._widgets[wid] = weakref.ref(widget, callback)

    def get(self, wid: str) -> Any:
        ref = self._widgets.get(wid)
        return None if ref is None else ref()

    def widgets(self) -> list[Any]:
        return [w for w in (r() for r in list(self._widgets.values())) if w is not None]

    def unregister(self, wid: str, ref: Any = None) -> None:
        """Forget a widget; its subscribers get the deletion entry ``[id]``."""
        with self._lock:
            current = self._widgets.get(wid)
            if current is None or (ref is not None and current is not ref):
                return
            del self._widgets[wid]
            subs = self._subs.pop(wid, ())
        fragment = encode([wid])
        for conn in subs:
            conn.subscriptions.discard(wid)
            conn.drop_pending(wid)
            conn.offer_stream(fragment)

    # -- permissions ---------------------------------------------------------------

    def can(self, user: str, permissions: Any) -> bool:
        if not permissions:
            return True
        check = self.kaithem.users.check_permission
        return all(check(user, p) for p in permissions)

    def _ensure_listening(self) -> None:
        if not self._listening:
            self._listening = True
            self.kaithem.users.add_listener(self._users_changed)

    def _users_changed(self, user: str, lost: set[str], reason: str) -> None:
        """Close the sockets that relied on what was revoked."""
        for conn in list(self._conns):
            if reason == "password" and conn.user == user:
                conn.close(1008, "your password changed: log in again")
            elif (conn.user or "__guest__") == user or user == "__guest__":
                if not conn.still_allowed():
                    conn.close(1008, "permission revoked")

    def _session_ended(self, session: Any) -> None:
        for conn in list(self._conns):
            if conn.session is session:
                conn.close(1008, "logged out")

    def recheck(self, widget: Any) -> None:
        """After a widget's read permissions changed: unsubscribe those who
        may no longer read it."""
        for conn in self._subs.get(widget.id, ()):
            if not self.can(conn.effective_user, widget.read_permissions):
                conn.unsubscribe(widget.id, "permission denied: you may no longer see this widget")

    # -- subscriptions -----------------------------------------------------------------

    def add_subscriber(self, wid: str, conn: Connection) -> None:
        with self._lock:
            subs = self._subs.get(wid, ())
            if conn not in subs:
                self._subs[wid] = (*subs, conn)

    def remove_subscriber(self, wid: str, conn: Connection) -> None:
        with self._lock:
            subs = self._subs.get(wid, ())
            if conn in subs:
                rest = tuple(c for c in subs if c is not conn)
                if rest:
                    self._subs[wid] = rest
                else:
                    del self._subs[wid]

    def subscribers(self, wid: str) -> tuple[Connection, ...]:
        return self._subs.get(wid, ())

    def fanout(self, wid: str, fragment: str) -> None:
        for conn in self._subs.get(wid, ()):
            conn.outbox.offer(wid, fragment)

    def fanout_stream(self, wid: str, fragment: str) -> None:
        for conn in self._subs.get(wid, ()):
            conn.offer_stream(fragment)

    # -- sockets -------------------------------------------------------------------------

    def mount(self, server: Any) -> None:
        """Serve the widget socket at ``/widgets/ws`` on a kcore WebServer."""
        server.add_websocket_handler("/widgets/ws", self.handle_socket, accept=self.accept)
        self.kaithem.web.add_session_listener(self._session_ended)
        self._ensure_listening()

    def accept(self, request: Any) -> bool:
        """Before the upgrade: a page of another site (``Origin``) gets a 403,
        so its scripts never hold a socket with the visitor's cookies."""
        from kcore.kaithem.web._handling import origin_allowed

        web = self.kaithem.web
        return not self._closed and origin_allowed(web, request, web._tls)

    def handle_socket(self, ws: Any) -> None:
        """The WebSocket handler: identify, serve."""
        if self._closed:
            ws.close(1001, "closing")
            return
        user, session = self.kaithem.web.identify(ws.request)
        conn = Connection(self, ws, user, session)
        with self._lock:
            self._conns.add(conn)
        conn.run()

    def forget(self, conn: Connection) -> None:
        with self._lock:
            self._conns.discard(conn)
            for wid in list(conn.subscriptions):
                self.remove_subscriber(wid, conn)

    @property
    def connections(self) -> list[Connection]:
        return list(self._conns)

    def client_error(self, conn: Connection, value: Any) -> None:
        now = time.monotonic()
        if now - self._client_error_at < 1.0:
            return  # at most one browser error logged per second
        self._client_error_at = now
        _logger.log_warning("browser error on %s: %s" % (conn.url or "?", str(value)[:500]))

    def report(self, what: str, exc: BaseException) -> None:
        """Log a failure and post it on ``/system/errors/widgets``."""
        report(
            "widget %s failed: %r" % (what, exc),
            self.kaithem.message.post,
            ERROR_TOPIC,
            {"widget": what, "error": repr(exc)},
        )

    def close(self) -> None:
        self._closed = True
        for conn in list(self._conns):
            conn.close(1001, "server shutting down")
        self.senders.close()
        if self._listening:
            users = self.kaithem.__dict__.get("users")
            if users is not None:
                users.remove_listener(self._users_changed)


def _collected(me: Any, wid: str, ref: Any) -> None:
    hub = me()
    if hub is not None:
        hub.unregister(wid, ref)
