"""``kaithem.message``: the internal publish/subscribe message bus.

Topics are ``/``-separated paths; ``foo`` and ``/foo`` are the same topic
(surrounding whitespace is stripped, a leading ``/`` added; trailing slashes
and case are significant, as in MQTT). Subscriptions follow MQTT rules: ``+``
matches exactly one level, a final ``#`` matches any number of levels
including none (``/foo/#`` matches ``/foo`` and ``/foo/a/b``).

Callbacks take 1 (``message``), 2 (``topic, message``) or 4 (``topic,
message, timestamp, annotation``) arguments (0 is accepted too), chosen from
the signature at subscribe time: the largest of 4, 2, 1 that lies between the
callback's required and total positional parameters, so ``def cb(topic, msg,
extra=default)`` (the loop-capture idiom) takes 2 and ``def cb(*args)`` 4.

Delivery: each subscription has its own bounded FIFO queue, drained by the
worker pool; one subscription never runs two deliveries at once and sees the
messages in the order they were posted. **Overflow policy: drop-oldest** --
when a subscription's queue is full (``queue_size``, default 10000) its oldest
undelivered message is discarded, ``Subscription.dropped`` counts it and a
notice goes to ``/system/errors/messagebus`` (at most once a second per
subscription). ``post(..., synchronous=True)`` delivers in the posting thread
before returning, still in order with earlier asynchronous messages.

Callbacks are held strongly: ``subscribe()`` returns a :class:`Subscription`
whose ``unsubscribe()`` (or ``message.unsubscribe(topic, callback)``) ends it;
``weak=True`` opts in to the original's auto-unsubscribe on garbage collection.
A callback's exception is logged and posted to ``/system/errors/messagebus``.
"""

from __future__ import annotations

import inspect
import threading
import time
import weakref
from collections import deque
from threading import get_ident
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError
from kcore.kaithem._clock import SYSTEM_CLOCK, Clock
from kcore.kaithem._support import default_namespace, weak_callable
from kcore.kaithem._workers import WorkerPool

ERROR_TOPIC = "/system/errors/messagebus"
_ERROR_PREFIX = "/system/errors/"
#: default bound of the per-bus cache of routes (posted topic -> subscribers)
ROUTE_CACHE_BYTES = 1 << 20
_ROUTE_OVERHEAD = 400  # bytes a cached route costs beyond its topic strings
_ROUTE_PER_SUB = 120  # and per subscriber in it


class TopicError(KcoreError, ValueError):
    """A topic or subscription pattern is malformed."""


def normalize_topic(topic: Any) -> str:
    """Strip whitespace and add a leading ``/``; non-strings are a TypeError."""
    if not isinstance(topic, str):
        raise TypeError("message topic must be a str, got %s" % type(topic).__name__)
    topic = topic.strip()
    if not topic.startswith("/"):
        topic = "/" + topic
    return topic


def _check_pattern(pattern: str) -> bool:
    """Validate a subscription pattern; True when it holds wildcards."""
    if "+" not in pattern and "#" not in pattern:
        return False
    levels = pattern.split("/")
    for i, level in enumerate(levels):
        if ("#" in level or "+" in level) and len(level) != 1:
            raise TopicError(
                "wildcards must fill a whole topic level, got %r in %r" % (level, pattern)
            )
        if level == "#" and i != len(levels) - 1:
            raise TopicError("'#' must be the last level of the pattern, got %r" % (pattern,))
    return True


def topic_matches(pattern: str, topic: str) -> bool:
    """True when subscription ``pattern`` matches the posted ``topic``."""
    p = normalize_topic(pattern).split("/")
    t = normalize_topic(topic).split("/")
    for i, level in enumerate(p):
        if level == "#":
            return True
        if i >= len(t):
            return False
        if level != "+" and level != t[i]:
            return False
    return len(p) == len(t)


def _positional_counts(callback: Callable[..., Any]) -> Tuple[int, float]:
    """(required, total) positional parameters of ``callback``; total is
    infinite with ``*args``. Keyword-only parameters without a default make
    the callback uncallable by the bus (TypeError)."""
    fn: Any = callback
    skip = 0
    if inspect.ismethod(fn):
        fn, skip = fn.__func__, 1
    code = getattr(fn, "__code__", None)
    if code is not None and inspect.isfunction(fn):
        total = code.co_argcount
        required = total - len(fn.__defaults__ or ())
        kw_required = code.co_kwonlyargcount - len(fn.__kwdefaults__ or {})
        varargs = bool(code.co_flags & inspect.CO_VARARGS)
        required, total = max(0, required - skip), total - skip
    else:
        try:
            sig = inspect.signature(callback)
        except (TypeError, ValueError):
            raise TypeError("cannot read the signature of callback %r" % (callback,)) from None
        params = list(sig.parameters.values())
        pos = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        empty = inspect.Parameter.empty
        total = sum(1 for p in params if p.kind in pos)
        required = sum(1 for p in params if p.kind in pos and p.default is empty)
        kw_required = sum(
            1 for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is empty
        )
        varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    if kw_required:
        raise TypeError(
            "message bus callback %r has required keyword-only parameters" % (callback,)
        )
    return required, (float("inf") if varargs else total)


def callback_arity(callback: Callable[..., Any]) -> int:
    """How many arguments the bus passes to ``callback``: the largest of 4,
    2 and 1 it can take (between its required and total positional
    parameters), or 0 for a function of no parameters."""
    required, total = _positional_counts(callback)
    for n in (4, 2, 1):
        if required <= n <= total:
            return n
    if total == 0:
        return 0
    raise TypeError(
        "message bus callbacks take 1 (message), 2 (topic, message) or 4 "
        "(topic, message, timestamp, annotation) arguments; %r needs %d" % (callback, required)
    )


# (topic, message, timestamp, annotation, event set once delivered or None)
Item = Tuple[str, Any, float, Any, Optional[threading.Event]]

# The one place that knows how each arity is called.
Caller = Callable[[Callable[..., Any], str, Any, float, Any], Any]


def _call0(fn: Callable[..., Any], topic: str, message: Any, ts: float, ann: Any) -> Any:
    return fn()


def _call1(fn: Callable[..., Any], topic: str, message: Any, ts: float, ann: Any) -> Any:
    return fn(message)


def _call2(fn: Callable[..., Any], topic: str, message: Any, ts: float, ann: Any) -> Any:
    return fn(topic, message)


def _call4(fn: Callable[..., Any], topic: str, message: Any, ts: float, ann: Any) -> Any:
    return fn(topic, message, ts, ann)


CALLERS: Dict[int, Caller] = {0: _call0, 1: _call1, 2: _call2, 4: _call4}


class Subscription:
    """One callback subscribed to one pattern; a handle to end it.

    ``dropped`` counts messages discarded by the drop-oldest overflow policy;
    ``errors`` counts exceptions raised by the callback.
    """

    __slots__ = (
        "__weakref__",
        "_call",
        "_fn",
        "_last_drop_report",
        "_queue",
        "_runner",
        "_token",
        "_weak",
        "active",
        "arity",
        "bus",
        "dropped",
        "errors",
        "topic",
    )

    def __init__(
        self, bus: MessageBus, topic: str, callback: Callable[..., Any], weak: bool
    ) -> None:
        self.bus = bus
        self.topic = topic
        self.arity = callback_arity(callback)
        self._call = CALLERS[self.arity]
        self._weak = weak
        if weak:
            me = weakref.ref(self)
            born = time.monotonic()

            def _gone(_ref: Any, me: Any = me) -> None:
                sub = me()
                if sub is not None:
                    age = time.monotonic() - born
                    if age < 0.5:  # the original's check was inverted
                        _logger.log_warning(
                            "weak message bus subscriber on %r was garbage collected %.3fs "
                            "after subscribing; keep a reference or subscribe strongly"
                            % (sub.topic, age)
                        )
                    sub.unsubscribe()

            self._fn: Any = weak_callable(callback, _gone)
        else:
            self._fn = callback
        self._queue: Deque[Item] = deque()
        # The delivery token: ``[True]`` when free, ``[]`` while someone
        # delivers. list.pop()/append() are atomic and ~5x cheaper than a
        # Lock's acquire/release, which matters on the synchronous path.
        self._token: List[bool] = [True]
        self._runner: Optional[int] = None  # thread ident of that deliverer
        self.dropped = 0
        self.errors = 0
        self._last_drop_report = -1e9
        self.active = True

    @property
    def callback(self) -> Optional[Callable[..., Any]]:
        return self._fn() if self._weak else self._fn

    @property
    def pending(self) -> int:
        return len(self._queue)

    def unsubscribe(self) -> None:
        """Stop deliveries (messages already queued are discarded)."""
        self.bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unsubscribe()

    def __repr__(self) -> str:
        return "<Subscription %r -> %r>" % (self.topic, self.callback)

    # -- delivery ----------------------------------------------------------

    def _enqueue(self, item: Item) -> None:
        q = self._queue
        if len(q) >= self.bus.queue_size:
            try:
                old = q.popleft()
            except IndexError:
                pass
            else:
                if old[4] is not None:  # a synchronous poster waits on it
                    old[4].set()
                self.dropped += 1
                self.bus._report_drop(self, item[0])
        q.append(item)
        self._kick()

    def _kick(self) -> None:
        """Start a drain if messages wait and nobody holds the token."""
        token = self._token
        if self._queue and token:
            try:
                token.pop()
            except IndexError:
                return  # somebody else took it (and will see our item)
            self.bus.workers.submit(self._drain)

    def _drain(self) -> None:
        # Runs holding the token (taken by whoever scheduled this drain):
        # one delivery of this subscription at a time.
        q = self._queue
        deliver = self._deliver
        me = get_ident()
        self._runner = me
        while True:
            try:
                while True:
                    deliver(q.popleft())
            except IndexError:
                pass
            # Hand the token back, then re-check: a post that raced with the
            # empty check either gets the token (and schedules a drain) or
            # its item is seen here and this drainer takes the token back.
            self._runner = None
            self._token.append(True)
            if not q:
                return
            try:
                self._token.pop()
            except IndexError:
                return
            self._runner = me

    def _deliver(self, item: Item) -> None:
        topic, message, timestamp, annotation, done = item
        if self.active:
            fn = self._fn() if self._weak else self._fn
            if fn is not None:
                try:
                    self._call(fn, topic, message, timestamp, annotation)
                except Exception as exc:  # noqa: BLE001 - subscriber errors are reported
                    self.errors += 1
                    self.bus._report_error(self, topic, exc)
        if done is not None:
            done.set()

    def _deliver_sync(self, item: Item, me: int) -> None:
        """Synchronous delivery while another delivery holds the token."""
        if self._runner == me:
            self._deliver(item)  # posted from inside this subscriber's own callback
            return
        done = threading.Event()
        self._enqueue((*item[:4], done))
        if not done.wait(self.bus.sync_timeout):
            _logger.log_warning(
                "synchronous post to %r: subscriber %r still busy after %gs"
                % (item[0], self.callback, self.bus.sync_timeout)
            )


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
                    except Exception as exc:  # noqa: BLE001
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


_Subscription = Subscription
_MessageBus = MessageBus
PlanEntry = Tuple[
    Subscription,
    Callable[[], bool],
    Callable[[bool], None],
    Optional[Callable[..., Any]],
    Caller,
    Deque[Item],
]
Route = Tuple[str, Tuple[PlanEntry, ...]]


class Namespace:
    """``kaithem.message`` bound to one Kaithem instance."""

    ERROR_TOPIC = ERROR_TOPIC
    MessageBus = MessageBus
    Subscription = Subscription
    TopicError = TopicError

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem

    @property
    def bus(self) -> _MessageBus:
        return self._kaithem.runtime.bus

    def post(
        self,
        topic: str,
        message: Any,
        timestamp: float | None = None,
        annotation: Any = None,
        synchronous: bool = False,
    ) -> None:
        self._kaithem.runtime.bus.post(topic, message, timestamp, annotation, synchronous)

    def subscribe(
        self, topic: str, callback: Callable[..., Any], *, weak: bool = False
    ) -> _Subscription:
        return self._kaithem.runtime.bus.subscribe(topic, callback, weak=weak)

    def unsubscribe(self, topic: str, callback: Callable[..., Any]) -> bool:
        return self._kaithem.runtime.bus.unsubscribe(topic, callback)

    def history(self, topic: Optional[str] = None) -> List[Tuple[float, str, Any]]:
        return self._kaithem.runtime.bus.history(topic)


def _ns() -> Namespace:
    ns: Namespace = default_namespace("message")
    return ns


def post(
    topic: str,
    message: Any,
    timestamp: float | None = None,
    annotation: Any = None,
    synchronous: bool = False,
) -> None:
    """Post on the default instance's bus (see :meth:`MessageBus.post`)."""
    _ns().post(topic, message, timestamp, annotation, synchronous)


def subscribe(topic: str, callback: Callable[..., Any], *, weak: bool = False) -> Subscription:
    """Subscribe on the default instance's bus (see :meth:`MessageBus.subscribe`)."""
    return _ns().subscribe(topic, callback, weak=weak)


def unsubscribe(topic: str, callback: Callable[..., Any]) -> bool:
    """Unsubscribe on the default instance's bus."""
    return _ns().unsubscribe(topic, callback)
