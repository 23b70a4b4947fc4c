"""Tags and bus messages across machines, through an MQTT broker (paho-mqtt).

Topics under the configured ``prefix``:

* ``<prefix>/tags/<tag name>``: a tag's value, retained, QoS 1, as JSON
  ``{"value": ..., "timestamp": <wall clock>, "origin": <hub id>}``;
* ``<prefix>/bus/<topic>``: a bus message, QoS 1, ``{"message", "timestamp", "origin"}``;
* ``<prefix>/hubs/<hub id>/status``: ``{"state": "online"|"offline", ...}``,
  retained; the will message says ``offline`` with reason ``connection lost``
  and a clean stop publishes ``offline`` with reason ``shutdown`` itself (a
  broker sends the will only when a client vanishes).

``tags`` and ``topics`` are glob patterns (``*`` matches across ``/``); a
pattern only matches names under ``/system/`` when it starts with
``system/`` itself, so ``"*"`` never bridges a hub's own system tags.

Consistency: the last writer wins, by wall-clock timestamp. A received
value is applied only when it is newer than the local one; configured
defaults have timestamp 0, so they never overwrite anything. After every
(re)connection, once the retained values have arrived, the hub publishes each
bridged tag whose local value is newer than what the broker holds (values
written while the broker was away, or lost by it). Values that came from
MQTT are never sent back, and a hub ignores its own messages.

The connection is made in the background and retried with exponential
backoff (1 s up to ``reconnect_max``); received messages are applied in
order by one worker at a time, through a bounded queue.
"""

from __future__ import annotations

import fnmatch
import json
import math
import threading
import time
from collections import deque
from typing import Any, Callable, Dict, List, Optional

from kcore import varz
from kcore.common import logger as _logger
from kcore.hub.config import MqttSpec, TagSpec
from kcore.hub.tagtable import Origin, TagTable

CONNECTED_TAG = "/system/mqtt/connected"
STATE_TAG = "/system/mqtt/state"
MAX_PAYLOAD = 65536
INBOX_SIZE = 10000
RECONCILE_DELAY = 0.3  # seconds after SUBACK for the broker's retained values to arrive


class GlobSet:
    """Glob patterns over tag names or topics (leading ``/`` optional)."""

    def __init__(self, patterns: List[str]) -> None:
        self.patterns = [p.lstrip("/") for p in patterns]

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __call__(self, name: str) -> bool:
        rel = name.lstrip("/")
        system = rel.startswith("system/")
        for p in self.patterns:
            if system and not p.startswith("system/"):
                continue
            if fnmatch.fnmatchcase(rel, p):
                return True
        return False

    def bus_patterns(self) -> List[str]:
        """Kaithem bus subscriptions that cover every pattern."""
        bases = []
        for p in self.patterns:
            cut = min([i for i in (p.find(c) for c in "*?[") if i >= 0] or [len(p)])
            base = p[:cut]
            if cut < len(p):  # a wildcard: subscribe from the last whole level before it
                base = base[: base.rfind("/")] if "/" in base else ""
            bases.append("/" + base if base else "")
        bases.sort(key=len)
        out: List[str] = []
        for b in bases:
            if not any(b == o or b.startswith(o + "/") or o == "" for o in out):
                out.append(b)
        return [b + "/#" for b in out]


class SerialInbox:
    """Runs submitted calls one at a time, in order, on a worker pool; at most
    ``size`` wait (the oldest is dropped and counted)."""

    def __init__(self, submit: Callable[..., None], size: int = INBOX_SIZE) -> None:
        self._submit = submit
        self._queue: deque = deque(maxlen=size)
        self._lock = threading.Lock()
        self._running = False
        self.dropped = 0

    def put(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
                varz.bump("hub-mqtt-inbox-dropped")
            self._queue.append(fn)
            if self._running:
                return
            self._running = True
        self._submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._running = False
                    return
                fn = self._queue.popleft()
            try:
                fn()
            except Exception as e:  # one bad message must not stop the rest
                _logger.log_error("hub: MQTT message handling failed: %r" % (e,))


class MqttBridge:
    """The hub's connection to one MQTT broker."""

    def __init__(self, spec: MqttSpec, hub_id: str, kaithem: Any, table: TagTable) -> None:
        self.spec = spec
        self.hub_id = hub_id
        self.kaithem = kaithem
        self.table = table
        self.tags = GlobSet(spec.tags)
        self.topics = GlobSet(spec.topics)
        self.prefix = spec.prefix
        self.status_topic = "%s/hubs/%s/status" % (self.prefix, hub_id)
        self.connected = False
        self.state = "connecting to %s:%d" % (spec.host, spec.port)
        self.remote_created = 0
        self._seen: Dict[str, float] = {}  # tag -> newest remote timestamp since connecting
        self._lock = threading.Lock()
        self._client: Any = None
        self._subs: List[Any] = []
        self._inbox = SerialInbox(kaithem.runtime.workers.submit)
        self._stopping = False

    # -- lifetime ------------------------------------------------------------

    def start(self) -> None:
        """Define the status tags, listen to tags and the bus, connect in the background."""
        import paho.mqtt.client as mqtt

        from kcore.hub.datadir import read_secret_file

        spec = self.spec
        for name, kind in ((CONNECTED_TAG, "number"), (STATE_TAG, "string")):
            self.table.set_spec(TagSpec(name=name, type=kind, writable=False, persist=False))
        self._show_state()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id="kcore-hub-%s" % self.hub_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        client.will_set(
            self.status_topic, self._status("offline", "connection lost"), qos=1, retain=True
        )
        if spec.username:
            password = None
            if spec.password_file:
                password = read_secret_file(spec.password_file, "MQTT password")
            client.username_pw_set(spec.username, password)
        if spec.tls is not None:
            client.tls_set(
                ca_certs=spec.tls.ca_file, certfile=spec.tls.cert_file, keyfile=spec.tls.key_file
            )
        client.reconnect_delay_set(1, max(1, math.ceil(spec.reconnect_max)))
        client.max_queued_messages_set(INBOX_SIZE)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        if self.tags:
            self.table.add_listener(self._tag_changed)
        if self.topics:
            for pattern in self.topics.bus_patterns():
                self._subs.append(self.kaithem.message.subscribe(pattern, self._bus_message))
        client.connect_async(spec.host, spec.port, keepalive=spec.keepalive)
        client.loop_start()

    def stop(self, timeout: float = 3.0) -> None:
        """Say ``offline`` (reason ``shutdown``), disconnect and stop the network thread."""
        self._stopping = True
        self.table.remove_listener(self._tag_changed)
        for sub in self._subs:
            sub.unsubscribe()
        self._subs = []
        client, self._client = self._client, None
        if client is None:
            return
        if self.connected:
            info = client.publish(
                self.status_topic, self._status("offline", "shutdown"), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as e:  # not queued, or the connection went
                _logger.log_warning("hub: MQTT offline notice not sent: %s" % e)
        client.disconnect()
        client.loop_stop()
        self.connected = False
        self.state = "stopped"

    def health(self) -> Optional[str]:
        """None when connected, else what is wrong."""
        return None if self.connected else "mqtt: %s" % self.state

    # -- connection events (paho's network thread) ------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._set_state(False, "the broker refused the connection: %s" % reason)
            return
        with self._lock:
            self._seen = {}
        subs = []
        if self.tags:
            subs.append(("%s/tags/#" % self.prefix, 1))
        if self.topics:
            subs.append(("%s/bus/#" % self.prefix, 1))
        if subs:
            client.subscribe(subs)
        client.publish(self.status_topic, self._status("online", "connected"), qos=1, retain=True)
        self._set_state(True, "connected to %s:%d" % (self.spec.host, self.spec.port))
        varz.bump("hub-mqtt-connects")

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        self._set_state(False, "cannot reach %s:%d, retrying" % (self.spec.host, self.spec.port))

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if self._stopping:
            return
        if self.connected:
            self._set_state(False, "disconnected (%s), reconnecting" % reason)
        elif not self.state.startswith(("the broker refused", "cannot reach")):
            # closed before a CONNACK: e.g. TLS refused our certificate
            self._set_state(False, "the broker closed the connection (%s), retrying" % reason)

    def _on_subscribe(
        self, client: Any, userdata: Any, mid: Any, reasons: Any, props: Any
    ) -> None:
        if self.tags:
            self.kaithem.runtime.scheduler.schedule(
                lambda: self._inbox.put(self._reconcile), RECONCILE_DELAY
            )

    def _set_state(self, connected: bool, state: str) -> None:
        changed = connected != self.connected or state != self.state
        self.connected = connected
        self.state = state
        if changed:
            log = _logger.log_info if connected else _logger.log_warning
            log("hub: MQTT %s" % state)
            self._show_state()

    def _show_state(self) -> None:
        origin = Origin("mqtt-bridge", self.hub_id)
        self.kaithem.tags[CONNECTED_TAG](1 if self.connected else 0, None, origin)
        self.kaithem.tags.StringTag(STATE_TAG)(self.state, None, origin)

    def _status(self, state: str, reason: str) -> bytes:
        return _json(
            {"state": state, "reason": reason, "timestamp": time.time(), "origin": self.hub_id}
        )

    # -- outgoing ---------------------------------------------------------------

    def _bridged(self, name: str) -> bool:
        return self.tags(name) and name not in (CONNECTED_TAG, STATE_TAG)

    def _tag_changed(self, name: str, value: Any, wall: float, origin: Optional[Origin]) -> None:
        if origin is not None and origin.kind == "mqtt":
            return  # came from the broker: never send it back
        if self.connected and self._bridged(name):
            self._publish_tag(name, value, wall)
        # while disconnected nothing is queued: _reconcile publishes what is newer

    def _publish_tag(self, name: str, value: Any, wall: float) -> None:
        client = self._client
        if client is None:
            return
        try:
            payload = _json({"value": value, "timestamp": wall, "origin": self.hub_id})
        except (TypeError, ValueError):
            varz.bump("hub-mqtt-unpublishable")
            return
        client.publish("%s/tags%s" % (self.prefix, name), payload, qos=1, retain=True)
        varz.bump("hub-mqtt-published")

    def _reconcile(self) -> None:
        """Publish every bridged tag whose value was made here and is newer than
        the broker's (or missing there)."""
        if not self.connected:
            return
        for name in self.table.names():
            if not self._bridged(name):
                continue
            origin = self.table.origins.get(name)
            if origin is not None and origin.kind == "mqtt":
                continue  # its origin hub restores it, not us
            wall = self.table.wall.get(name, 0.0)
            with self._lock:
                seen = self._seen.get(name, -1.0)
            tag = self.kaithem.tags.get(name)
            if tag is not None and wall > 0 and wall > seen:
                self._publish_tag(name, tag.value, wall)

    def _bus_message(self, topic: str, message: Any, timestamp: float, annotation: Any) -> None:
        if isinstance(annotation, Origin) and annotation.kind == "mqtt":
            return
        client = self._client
        if client is None or not self.connected or not self.topics(topic):
            return
        if "+" in topic or "#" in topic:
            varz.bump("hub-mqtt-unpublishable")
            return
        try:
            payload = _json({"message": message, "timestamp": time.time(), "origin": self.hub_id})
        except (TypeError, ValueError):
            varz.bump("hub-mqtt-unpublishable")
            return
        client.publish("%s/bus%s" % (self.prefix, topic), payload, qos=1)
        varz.bump("hub-mqtt-published")

    # -- incoming ---------------------------------------------------------------

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        varz.bump("hub-mqtt-received")
        topic, payload = msg.topic, msg.payload
        if len(payload) > MAX_PAYLOAD:
            varz.bump("hub-mqtt-rejected")
            return
        self._inbox.put(lambda: self._handle(topic, payload))

    def _handle(self, topic: str, payload: bytes) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            data = None
        stamp = data.get("timestamp") if isinstance(data, dict) else None
        origin = data.get("origin") if isinstance(data, dict) else None
        if (
            not isinstance(origin, str)
            or isinstance(stamp, bool)
            or not isinstance(stamp, (int, float))
            or not math.isfinite(stamp)
        ):
            varz.bump("hub-mqtt-rejected")
            return
        assert isinstance(data, dict)
        tags_prefix = "%s/tags/" % self.prefix
        bus_prefix = "%s/bus/" % self.prefix
        if topic.startswith(tags_prefix) and "value" in data:
            self._remote_tag("/" + topic[len(tags_prefix) :], data["value"], float(stamp), origin)
        elif topic.startswith(bus_prefix) and "message" in data:
            local = "/" + topic[len(bus_prefix) :]
            if origin != self.hub_id and self.topics(local):
                self.kaithem.message.post(
                    local, data["message"], annotation=Origin("mqtt", origin, float(stamp))
                )
        else:
            varz.bump("hub-mqtt-rejected")

    def _remote_tag(self, name: str, value: Any, stamp: float, origin: str) -> None:
        from kcore.hub.automation import get_or_create_tag
        from kcore.kaithem.tags import TagError, normalize_tag_name

        try:
            name = normalize_tag_name(name)
        except TagError:
            varz.bump("hub-mqtt-rejected")
            return
        if not self._bridged(name):
            return
        with self._lock:
            self._seen[name] = max(stamp, self._seen.get(name, -1.0))
        if origin == self.hub_id:
            return  # our own message, back from the broker
        if stamp <= self.table.wall.get(name, 0.0):
            return  # ours is newer (last writer wins)
        if not self.table.spec(name).writable:
            return  # a read-only tag of this hub (a button, a status) is never overwritten
        if name not in self.kaithem.tags:
            if self.remote_created >= self.spec.max_remote_tags:
                varz.bump("hub-mqtt-rejected")
                return
            self.remote_created += 1
        try:
            tag = get_or_create_tag(self.kaithem, name, value)
            tag(value, None, Origin("mqtt", origin, stamp))
        except (TypeError, ValueError) as e:
            varz.bump("hub-mqtt-rejected")
            _logger.log_warning("hub: MQTT value for %s refused: %s" % (name, e))


def _json(data: Dict[str, Any]) -> bytes:
    return json.dumps(data, allow_nan=False, separators=(",", ":")).encode("utf-8")
