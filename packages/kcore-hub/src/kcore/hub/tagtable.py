"""What the hub knows about each tag point besides its value: type, unit,
permissions, where the last value came from and when (wall clock).

Kaithem tags stamp values with the monotonic clock, which means nothing on
another machine or after a restart. The hub stamps every change with the
wall clock as well: values written through the hub carry an :class:`Origin`
annotation with that time (an MQTT message keeps its sender's time, a value
restored from disk its saved time); any other write is stamped when it
happens. Listeners (persistence, the MQTT bridge) hear every change with its
origin, so a value that came from MQTT is never sent back.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, List, Optional

from kcore.common import logger as _logger
from kcore.hub.config import TagSpec


class Origin:
    """Where a value came from: ``kind`` (``api``, ``mqtt``, ``restore``,
    ``config``, ``device``), ``source`` (a user, a hub id, ...) and ``wall``,
    the wall-clock time the value was made. Passed as the tag annotation."""

    __slots__ = ("kind", "source", "wall")

    def __init__(self, kind: str, source: str = "", wall: Optional[float] = None) -> None:
        self.kind = kind
        self.source = source
        self.wall = time.time() if wall is None else float(wall)

    def __repr__(self) -> str:
        return "Origin(%r, %r, %.3f)" % (self.kind, self.source, self.wall)


Listener = Callable[[str, Any, float, Optional[Origin]], None]


class TagTable:
    """The hub's view of the tags of one Kaithem instance.

    :meth:`watch` attaches the hub's subscriber to a tag (done for every tag
    that exists at start and, through the bus, for every tag created later);
    :meth:`add_listener` registers ``f(name, value, wall, origin)`` called on
    every change of a watched tag, in the writing thread.
    """

    def __init__(self, kaithem: Any) -> None:
        self.kaithem = kaithem
        self.specs: Dict[str, TagSpec] = {}
        self.wall: Dict[str, float] = {}
        self.origins: Dict[str, Optional[Origin]] = {}
        self._subscribers: Dict[str, Callable[..., None]] = {}
        self._listeners: List[Listener] = []
        self._lock = threading.Lock()
        self._closed = False
        self._created_sub: Any = None

    # -- specs -----------------------------------------------------------

    def spec(self, name: str) -> TagSpec:
        """The tag's spec (a private, writable default for unconfigured tags)."""
        spec = self.specs.get(name)
        if spec is None:
            tag = self.kaithem.tags.get(name)
            kind = "number"
            if tag is not None and tag.type != "number":
                kind = "string" if tag.type == "string" else "object"
            spec = TagSpec(name=name, type=kind)
        return spec

    def set_spec(self, spec: TagSpec) -> None:
        self.specs[spec.name] = spec

    # -- watching --------------------------------------------------------------

    def start(self) -> None:
        """Watch every existing tag and every tag created from now on."""
        from kcore.kaithem.tags import CREATED_TOPIC

        self._created_sub = self.kaithem.message.subscribe(CREATED_TOPIC, self._created)
        for name in list(self.kaithem.tags):
            self.watch(name)

    def _created(self, name: Any) -> None:
        if isinstance(name, str):
            self.watch(name)

    def watch(self, name: str) -> None:
        tag = self.kaithem.tags.get(name)
        if tag is None:
            return
        with self._lock:
            if self._closed or name in self._subscribers:
                return

            def changed(value: Any, ts: float, annotation: Any, name: str = name) -> None:
                self._changed(name, value, ts, annotation)

            self._subscribers[name] = changed
        tag.subscribe(changed)
        if tag.timestamp and name not in self.wall:  # written before we were watching
            self._changed(name, tag.value, tag.timestamp, tag.annotation)

    def add_listener(self, f: Listener) -> None:
        self._listeners = [*self._listeners, f]  # copied: writers iterate without a lock

    def remove_listener(self, f: Listener) -> None:
        self._listeners = [x for x in self._listeners if x is not f]

    def _changed(self, name: str, value: Any, ts: float, annotation: Any) -> None:
        origin = annotation if isinstance(annotation, Origin) else None
        if origin is not None:
            wall = origin.wall
        else:  # convert the monotonic stamp to wall time
            wall = time.time() - max(0.0, time.monotonic() - ts) if ts else time.time()
        self.wall[name] = wall
        self.origins[name] = origin
        for f in self._listeners:
            try:
                f(name, value, wall, origin)
            except Exception as e:  # one listener must not stop the others
                _logger.log_error("hub: tag listener %r failed for %s: %r" % (f, name, e))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            subs, self._subscribers = self._subscribers, {}
        if self._created_sub is not None:
            self._created_sub.unsubscribe()
        for name, f in subs.items():
            tag = self.kaithem.tags.get(name)
            if tag is not None:
                tag.unsubscribe(f)

    # -- reading ---------------------------------------------------------------

    def describe(self, name: str) -> Optional[Dict[str, Any]]:
        """``{"name", "value", "unit", "timestamp", "type"}`` (JSON-ready), or None."""
        tag = self.kaithem.tags.get(name)
        if tag is None:
            return None
        value = tag.value
        if isinstance(value, (bytes, bytearray)):
            value = value.hex()
        spec = self.spec(name)
        unit = getattr(tag, "unit", "") or spec.unit
        ts = self.wall.get(name)
        if ts is None and tag.timestamp:
            ts = time.time() - max(0.0, time.monotonic() - tag.timestamp)
        if not ts:  # never written, or only the configured default (timestamp 0)
            ts = None
        return {
            "name": name,
            "value": value,
            "unit": unit,
            "timestamp": ts,
            "type": spec.type if tag.type != "binary" else "binary",
        }

    def names(self) -> List[str]:
        return sorted(self.kaithem.tags)
