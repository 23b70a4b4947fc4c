"""One browser's widget WebSocket: the protocol. Sending goes through the
socket's :class:`~kcore.kaithem.widget._outbox.Outbox` (bounded, coalescing,
never blocking the writer)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from kcore.common import logger as _logger
from kcore.kaithem.widget._outbox import Outbox

TIMESYNC = "_ws_timesync_channel"
ERROR_ID = "__WIDGETERROR__"
_ids = itertools.count(1)


def encode(entry: list) -> str:
    """One wire entry as JSON (compact; NaN and infinities refused)."""
    return json.dumps(entry, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


class Connection:
    """A widget socket: ``user`` (``""`` when anonymous), ``session``,
    ``id``, ``subscriptions``, ``outbox``; ``frames`` and ``coalesced`` count."""

    def __init__(self, hub: Any, ws: Any, user: str, session: Any) -> None:
        self.hub = hub
        self.ws = ws
        self.user = user
        self.session = session
        self.id = "c%d" % next(_ids)
        self.subscriptions: set[str] = set()
        self.wrote: set[str] = set()
        self.url: str | None = None
        self.outbox = Outbox(ws, hub.senders, hub.stream_limit, name=self.id)
        self._tokens = float(hub.rate_burst)
        self._refilled = time.monotonic()
        self._rate_warned = 0.0

    @property
    def effective_user(self) -> str:
        return self.user or "__guest__"

    # -- sending (any thread, never blocking) -----------------------------------------

    def offer(self, wid: str, fragment: str) -> None:
        """Queue a widget's latest value (replaces an unsent older one)."""
        self.outbox.offer(wid, fragment)

    def offer_stream(self, fragment: str) -> None:
        """Queue an entry that must arrive, in order."""
        self.outbox.offer_stream(fragment)

    def drop_pending(self, wid: str) -> None:
        self.outbox.drop(wid)

    def error(self, message: str, wid: str | None = None) -> None:
        """Show ``message`` to the user (the client displays it as text)."""
        self.offer_stream(encode([ERROR_ID, {"id": wid, "error": message}]))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close soon, from any thread, without blocking: unsent data is dropped."""
        self.outbox.close(code, reason)

    @property
    def closed(self) -> bool:
        return self.outbox.closing

    @property
    def coalesced(self) -> int:
        return self.outbox.coalesced

    @property
    def frames(self) -> int:
        return self.outbox.frames

    # -- receiving (the socket's own thread) -----------------------------------------

    def run(self) -> None:
        """Serve the socket until it closes."""
        ws = self.ws
        try:
            while not self.closed:
                message = ws.recv()
                if message is None:
                    break
                self.receive(message)
        finally:
            self.close()
            self.hub.forget(self)

    def _allow_message(self) -> bool:
        now = time.monotonic()
        hub = self.hub
        self._tokens = min(hub.rate_burst, self._tokens + (now - self._refilled) * hub.rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        if now - self._rate_warned > 1.0:
            self._rate_warned = now
            self.error("too many messages: some of your changes were dropped")
        return False

    def receive(self, message: Any) -> None:
        """Handle one client frame: a JSON object with optional ``upd`` (list
        of ``[id, value]``), ``subsc`` and ``unsub`` (lists of ids), processed
        in that order."""
        if not isinstance(message, str):
            self.error("binary frames are not understood: send JSON text")
            return
        if not self._allow_message():
            return
        try:
            data = json.loads(message)
        except ValueError:
            self.error("malformed message: not JSON")
            return
        if not isinstance(data, dict):
            self.error("malformed message: expected a JSON object")
            return
        lists = [data.get(k, []) for k in ("upd", "subsc", "unsub")]
        if not all(isinstance(x, list) for x in lists):
            self.error("malformed message: upd, subsc and unsub must be lists")
            return
        upd, subsc, unsub = lists
        for entry in upd:
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):
                self._update(entry[0], entry[1])
            else:
                self.error("malformed update: expected [id, value]")
        for wid in subsc:
            if isinstance(wid, str):
                self._subscribe(wid)
        for wid in unsub:
            if isinstance(wid, str):
                self.unsubscribe(wid)

    def _subscribe(self, wid: str) -> None:
        if wid in self.subscriptions or wid.startswith("__") or wid == TIMESYNC:
            return
        hub = self.hub
        widget = hub.get(wid)
        if widget is None:
            self.error("this widget no longer exists on the server: reload the page", wid)
            return
        if len(self.subscriptions) >= hub.max_subscriptions:
            self.error("too many widgets on one page (%d at most)" % hub.max_subscriptions, wid)
            return
        if not hub.can(self.effective_user, widget.read_permissions):
            self.error("permission denied: you may not see this widget", wid)
            return
        self.subscriptions.add(wid)
        widget._add_subscriber(self)

    def unsubscribe(self, wid: str, message: str | None = None) -> None:
        """Stop pushes of ``wid`` to this socket at once (pending value dropped)."""
        if wid not in self.subscriptions:
            return
        self.subscriptions.discard(wid)
        self.hub.remove_subscriber(wid, self)
        self.drop_pending(wid)
        if message:
            self.error(message, wid)

    def _update(self, wid: str, value: Any) -> None:
        if wid == TIMESYNC:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.offer_stream(encode([TIMESYNC, [value, time.time() * 1000.0]]))
            return
        if wid == "__url__":
            self.url = str(value)[:2048]
            return
        if wid == "__ERROR__":
            self.hub.client_error(self, value)
            return
        if wid.startswith("__"):
            return  # browser telemetry (battery, idle, geolocation) is not collected
        hub = self.hub
        widget = hub.get(wid)
        if widget is None:
            self.error("this widget no longer exists on the server: reload the page", wid)
            return
        user = self.effective_user
        allowed = hub.can(user, widget.read_permissions) and hub.can(
            user, widget.write_permissions
        )
        if not allowed:
            self.error("permission denied: you may not change this widget", wid)
            self._restore(widget)
            return
        self.wrote.add(wid)
        from kcore.kaithem.widget._base import WidgetError

        try:
            widget._client_write(user, value, self.id)
        except WidgetError as e:
            self.error(str(e), wid)
            self._restore(widget)
        except Exception as e:  # a bad callback must not kill the socket
            _logger.log_error("widget %s: handling a browser change failed: %r" % (wid, e))
            self.error("the server could not handle this change", wid)

    def _restore(self, widget: Any) -> None:
        """After a refused change: show this browser the real value again."""
        if widget.id in self.subscriptions and not widget.no_on_connect_data:
            try:
                widget._snapshot(self)
            except Exception as e:  # a broken on_request must not kill the socket
                _logger.log_error("widget %s: on_request failed: %r" % (widget.id, e))

    def still_allowed(self) -> bool:
        """Whether the user may still read what it subscribed to and write
        what it wrote (after a permission change)."""
        hub = self.hub
        user = self.effective_user
        for wid in list(self.subscriptions):
            w = hub.get(wid)
            if w is not None and not hub.can(user, w.read_permissions):
                return False
        for wid in list(self.wrote):
            w = hub.get(wid)
            if w is not None and not (
                hub.can(user, w.read_permissions) and hub.can(user, w.write_permissions)
            ):
                return False
        return True

    def __repr__(self) -> str:
        return "<widget Connection %s user=%r %d subscriptions>" % (
            self.id,
            self.user,
            len(self.subscriptions),
        )
