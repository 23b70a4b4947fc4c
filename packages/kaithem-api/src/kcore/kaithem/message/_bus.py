"""The message bus of :mod:`kcore.kaithem.message` (import the names from
there): routing posts to subscriptions through a cache of precompiled routes,
synchronous and asynchronous delivery, error and overflow reports."""

from __future__ import annotations

import threading
from collections import deque
from threading import get_ident
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from kcore.common import logger as _logger
from kcore.kaithem._clock import SYSTEM_CLOCK, Clock
from kcore.kaithem._workers import WorkerPool
from kcore.kaithem.message._subscription import Caller, Item, Subscription
from kcore.kaithem.message._topics import (
    TopicError,
    _check_pattern,
    normalize_topic,
    topic_matches,
)

ERROR_TOPIC = "/system/errors/messagebus"
_ERROR_PREFIX = "/system/errors/"
#: default bound of the per-bus cache of routes (posted topic -> subscribers)
ROUTE_CACHE_BYTES = 1 << 20
_ROUTE_OVERHEAD = 400  # bytes a cached route costs beyond its topic strings
_ROUTE_PER_SUB = 120  # and per subscriber in it

PlanEntry = Tuple[
    Subscription,
    Callable[[], bool],
    Callable[[bool], None],
    Optional[Callable[..., Any]],
    Caller,
    Deque[Item],
]
Route = Tuple[str, Tuple[PlanEntry, ...]]


class _Node:
    __slots__ = ("children", "subs")

    def __init__(self) -> None:
        self.children: Dict[str, _Node] = {}
        self.subs: List[Subscription] = []


class MessageBus:
    """A topic-routed bus with per-subscriber FIFO delivery on a worker pool.

    Matching is precompiled: exact topics live in a dict, wildcard patterns in
    a trie, and the result for each posted topic is cached until the next
    (un)subscribe, so a post costs one dict lookup per new topic.
    """

    def __init__(
        self,
        workers: Any = None,
        *,
        queue_size: int = 10000,
        log_size: int = 500,
        sync_timeout: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
        route_cache_bytes: int = ROUTE_CACHE_BYTES,
    ) -> None:
        if workers is None:
            workers = WorkerPool(name="kaithem-bus")
            self._own_workers = True
        else:
            self._own_workers = False
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1, got %r" % (queue_size,))
        self.workers = workers
        self.queue_size = int(queue_size)
        self.sync_timeout = float(sync_timeout)
        self.clock = clock
        self._now = clock.monotonic
        self._lock = threading.Lock()
        self._exact: Dict[str, List[Subscription]] = {}
        self._trie = _Node()
        self._wildcards = 0
        self._routes: Dict[str, Route] = {}
        #: what the route cache holds, estimated in bytes; it is emptied
        #: before it would pass ``route_cache_limit``
        self.route_cache_bytes = 0
        self.route_cache_limit = int(route_cache_bytes)
        self.log: Deque[Tuple[float, str, Any]] = deque(maxlen=max(0, int(log_size)))

    # -- subscribe ---------------------------------------------------------

    def subscribe(
        self, topic: str, callback: Callable[..., Any], *, weak: bool = False
    ) -> Subscription:
        """Call ``callback`` for every message matching ``topic`` (MQTT
        wildcards). Returns a :class:`Subscription` handle."""
        if not callable(callback):
            raise TypeError("callback must be callable, got %r" % (callback,))
        topic = normalize_topic(topic)
        wild = _check_pattern(topic)
        sub = Subscription(self, topic, callback, weak)
        with self._lock:
            if wild:
                node = self._trie
                for level in topic.split("/"):
                    child = node.children.get(level)
                    if child is None:
                        child = node.children[level] = _Node()
                    node = child
                node.subs = [*node.subs, sub]
                self._wildcards += 1
            else:
                self._exact[topic] = [*self._exact.get(topic, []), sub]
            self._routes = {}
            self.route_cache_bytes = 0
        return sub

    def unsubscribe(self, topic: str, callback: Callable[..., Any]) -> bool:
        """End every subscription of ``callback`` to ``topic``; True if any."""
        topic = normalize_topic(topic)
        found = [s for s in self._subs_for(topic) if s.callback == callback]
        for s in found:
            self._remove(s)
        return bool(found)

    def _subs_for(self, topic: str) -> List[Subscription]:
        if "+" in topic or "#" in topic:
            node: Optional[_Node] = self._trie
            for level in topic.split("/"):
                node = node.children.get(level) if node is not None else None
            return list(node.subs) if node is not None else []
        return list(self._exact.get(topic, ()))

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            sub.active = False
            while sub._queue:  # discard, releasing synchronous posters
                try:
                    done = sub._queue.popleft()[4]
                except IndexError:
                    break
                if done is not None:
                    done.set()
            topic = sub.topic
            if "+" in topic or "#" in topic:
                path = [self._trie]
                for level in topic.split("/"):
                    nxt = path[-1].children.get(level)
                    if nxt is None:
                        return
                    path.append(nxt)
                node = path[-1]
                if sub not in node.subs:
                    return
                node.subs = [s for s in node.subs if s is not sub]
                self._wildcards -= 1
                levels = topic.split("/")
                for i in range(len(levels) - 1, -1, -1):  # prune empty branches
                    n = path[i + 1]
                    if n.subs or n.children:
                        break
                    del path[i].children[levels[i]]
            else:
                subs = self._exact.get(topic)
                if not subs or sub not in subs:
                    return
                rest = [s for s in subs if s is not sub]
                if rest:
                    self._exact[topic] = rest
                else:
                    del self._exact[topic]
            self._routes = {}
            self.route_cache_bytes = 0

    @property
    def stalls(self) -> int:
        """Deliveries that had to wait because every worker thread was busy
        (each stall is also posted on ``/system/errors/messagebus``, at most
        once a second)."""
        return int(getattr(self.workers, "stalls", 0))

    def subscribers(self, topic: str) -> Tuple[Subscription, ...]:
        """The subscriptions a post to ``topic`` would reach."""
        return tuple(entry[0] for entry in self._route(topic)[1])

    # -- matching ------------------------------------------------------------

    def _route(self, raw: Any) -> Route:
        route = self._routes.get(raw)
        if route is not None:
            return route
        topic = normalize_topic(raw)
        if "+" in topic or "#" in topic:
            raise TopicError("cannot post to a wildcard topic: %r" % (topic,))
        with self._lock:
            found: List[Subscription] = list(self._exact.get(topic, ()))
            if self._wildcards:
                self._match(self._trie, topic.split("/"), 0, found)
            # Bound methods and attributes looked up once per route, not per post;
            # a weakly held callback is None here and dereferenced at delivery.
            plan = tuple(
                (
                    sub,
                    sub._token.pop,
                    sub._token.append,
                    None if sub._weak else sub._fn,
                    sub._call,
                    sub._queue,
                )
                for sub in found
            )
            route = (topic, plan)
            cost = _ROUTE_OVERHEAD + _ROUTE_PER_SUB * len(plan) + len(topic)
            if raw is not topic:
                cost += len(raw)
            if cost <= self.route_cache_limit:  # a route bigger than the cache is not kept
                if self.route_cache_bytes + cost > self.route_cache_limit:
                    self._routes = {}
                    self.route_cache_bytes = 0
                self._routes[raw] = route
                self.route_cache_bytes += cost
        return route

    def _match(self, node: _Node, levels: List[str], i: int, out: List[Subscription]) -> None:
        children = node.children
        hashed = children.get("#")
        if hashed is not None:
            out.extend(hashed.subs)
        if i == len(levels):
            out.extend(node.subs)
            return
        child = children.get(levels[i])
        if child is not None:
            self._match(child, levels, i + 1, out)
        child = children.get("+")
        if child is not None:
            self._match(child, levels, i + 1, out)

    # -- posting -------------------------------------------------------------

    def post(
        self,
        topic: str,
        message: Any,
        timestamp: Optional[float] = None,
        annotation: Any = None,
        synchronous: bool = False,
        errors: bool = True,
    ) -> None:
        """Deliver ``message`` to every matching subscription.

        ``timestamp`` defaults to the bus clock's ``monotonic()``. With
        ``synchronous`` every callback has run when this returns. ``errors``
        is accepted for compatibility with scullery's ``post_message``.
        """
        route = self._routes.get(topic)
        topic, plan = route if route is not None else self._route(topic)
        if timestamp is None:
            timestamp = self._now()
        log = self.log
        if log.maxlen:
            log.append((timestamp, topic, message))
        if not synchronous:
            item: Item = (topic, message, timestamp, annotation, None)
            for entry in plan:
                entry[0]._enqueue(item)
            return
        # In this thread: take each subscription's token, run its older queued
        # messages first, then this one.
        me = get_ident()
        for sub, take, give_back, fn, call, q in plan:
            try:
                take()
            except IndexError:  # busy: delivering elsewhere, or us re-entering
                sub._deliver_sync((topic, message, timestamp, annotation, None), me)
                continue
            sub._runner = me
            try:
                while q:
                    sub._deliver(q.popleft())
                # (no ``active`` check: this post began before any
                # concurrent unsubscribe, which invalidated the route)
                f = sub._fn() if fn is None else fn
                if f is not None:
                    try:
                        call(f, topic, message, timestamp, annotation)
                    except Exception as exc:
                        sub.errors += 1
                        self._report_error(sub, topic, exc)
            finally:
                sub._runner = None
                give_back(True)
            if q:
                sub._kick()

    post_message = post

    def history(self, topic: str | None = None) -> list:
        """Recent posts as ``(timestamp, topic, message)``, oldest first;
        ``topic`` may be an MQTT pattern to filter by."""
        entries = list(self.log)
        if topic is None:
            return entries
        return [e for e in entries if topic_matches(topic, e[1])]

    # -- error reporting -----------------------------------------------------

    def _report_error(self, sub: Subscription, topic: str, exc: BaseException) -> None:
        if sub.errors == 1 or sub.errors % 1000 == 0:
            _logger.log_error(
                "message bus subscriber %r on %r failed (%d errors so far): %r"
                % (sub.callback, sub.topic, sub.errors, exc)
            )
        # Never answer an error-topic failure with another error post.
        if topic.startswith(_ERROR_PREFIX):
            return
        self.post(
            ERROR_TOPIC,
            {
                "topic": topic,
                "subscription": sub.topic,
                "callback": repr(sub.callback),
                "error": repr(exc),
                "count": sub.errors,
            },
        )

    def _report_drop(self, sub: Subscription, topic: str) -> None:
        now = self._now()
        if now - sub._last_drop_report < 1.0:
            return
        sub._last_drop_report = now
        _logger.log_warning(
            "message bus subscriber %r on %r is too slow: %d messages dropped"
            % (sub.callback, sub.topic, sub.dropped)
        )
        if topic.startswith(_ERROR_PREFIX):
            return
        self.post(
            ERROR_TOPIC,
            {"topic": topic, "subscription": sub.topic, "dropped": sub.dropped},
        )

    def close(self) -> None:
        if self._own_workers:
            self.workers.close()
