"""The tag point itself (import the names from :mod:`kcore.kaithem.tags`):
claim arbitration, ordered change notification, interval polling."""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import deque
from typing import Any, Callable

from kcore.common import logger as _logger
from kcore.kaithem._support import weak_callable
from kcore.kaithem.tags._claim import (
    _PROPERTY_ANNOTATION,
    DEFAULT_PRIORITY,
    Claim,
    _check_priority,
)
from kcore.kaithem.tags._errors import TagError, normalize_tag_name

SUBSCRIBERS_TOPIC = "/system/tags/subscribers"  # + tag name
INTERVAL_TOPIC = "/system/tags/interval"  # + tag name
ERROR_TOPIC = "/system/errors/tags"

_UNSET = object()


class GenericTagPointClass:
    """Base class of every tag point type. Use the registry
    (``kaithem.tags[name]``, ``kaithem.tags.StringTag(name)``, ...) to get one."""

    type = "object"
    _claim_class: Any = Claim
    _default_value: Any = None

    def __init__(self, name: str, *, kaithem: Any = None) -> None:
        if kaithem is None:
            from kcore.kaithem import default

            kaithem = default()
        self._kaithem = kaithem
        self._now: Callable[[], float] = kaithem.clock.monotonic
        self.name = normalize_tag_name(name)
        self.lock = threading.RLock()
        self._claims: dict[str, Claim] = {}
        self._released: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._interval = 0.0
        self._poll_job: Any = None
        self._subscribers: list[tuple[Any, bool]] = []
        self._handler: Callable[..., Any] | None = None
        self._targets: Any = ()  # handler + strong subscribers; None if any weak
        self._last_pushed: Any = _UNSET
        self._pending: deque = deque()
        self._notify_lock = threading.Lock()
        self._seq = 0
        self.description = ""
        self.default_claim = self._claim_class(
            self, "default", self._default_value, DEFAULT_PRIORITY, 0.0, _PROPERTY_ANNOTATION
        )
        self._claims["default"] = self.default_claim
        self._active: Claim = self.default_claim
        registry = kaithem.tags
        registry._register(self)

    # -- types -------------------------------------------------------------------

    def _process(self, value: Any) -> Any:
        return value

    def _read(self, value: Any) -> Any:
        return value

    # -- plumbing ------------------------------------------------------------------

    def _scheduler(self) -> Any:
        return self._kaithem.runtime.scheduler

    def _report(self, what: str, exc: BaseException) -> None:
        _logger.log_error("tag %s: %s failed: %r" % (self.name, what, exc))
        try:
            self._kaithem.runtime.bus.post(
                ERROR_TOPIC, {"tag": self.name, "what": what, "error": repr(exc)}
            )
        except Exception as report_exc:  # reporting must not recurse
            _logger.log_warning("could not report an error: %r" % (report_exc,))

    def _arbitrate(self) -> None:
        """Pick the active claim and queue a push if the value changed (lock held)."""
        best = max(self._claims.values(), key=lambda c: (c.effective_priority, c.timestamp))
        self._active = best
        self._queue_push()

    def _queue_push(self) -> None:
        c = self._active
        value = self._read(c._value)
        if self._last_pushed is not _UNSET and value == self._last_pushed:
            return
        if self._last_pushed is _UNSET and c.timestamp == 0:
            return  # still the untouched default: nothing has happened yet
        self._last_pushed = value
        self._seq += 1
        self._pending.append((self._seq, value, c.timestamp, c.annotation))

    def _notify(self) -> None:
        pending = self._pending
        while pending:
            if not self._notify_lock.acquire(blocking=False):
                return  # another thread is delivering this tag, in order
            try:
                while True:
                    try:
                        _, value, ts, ann = pending.popleft()
                    except IndexError:
                        break
                    self._deliver(value, ts, ann)
            finally:
                self._notify_lock.release()

    def _deliver(self, value: Any, ts: float, ann: Any) -> None:
        targets = self._targets
        if targets is None:  # some subscriber is weakly held: resolve now
            targets = [] if self._handler is None else [self._handler]
            for ref, weak in self._subscribers:
                f = ref() if weak else ref
                if f is not None:
                    targets.append(f)
        for f in targets:
            try:
                f(value, ts, ann)
            except Exception as exc:  # a subscriber must not break writers
                self._report("subscriber %r" % (f,), exc)

    # -- value ---------------------------------------------------------------------

    @property
    def value(self) -> Any:
        c = self._active
        if c._getter is not None:
            c._refresh()
        return self._read(c._value)

    @value.setter
    def value(self, v: Any) -> None:
        self.default_claim.set(v, None, _PROPERTY_ANNOTATION)

    def __call__(self, *args: Any) -> Any:
        """``tag()`` reads; ``tag(v[, timestamp[, annotation]])`` writes the default claim."""
        if not args:
            return self.value
        if len(args) > 3:
            raise TypeError("tag(value, timestamp=None, annotation=None) takes at most 3 args")
        self.default_claim.set(*args)
        return self.value

    @property
    def timestamp(self) -> float:
        return self._active.timestamp

    @property
    def annotation(self) -> Any:
        return self._active.annotation

    @property
    def age(self) -> float:
        return self._now() - self._active.timestamp

    @property
    def current_source(self) -> str:
        """Name of the active claim."""
        return self._active.name

    currentSource = current_source  # the original's name

    @property
    def claims(self) -> dict[str, Claim]:
        return dict(self._claims)

    def poll(self) -> None:
        """Fetch the active getter now and push a change to subscribers
        (the interval job calls this once per interval)."""
        c = self._active
        c._refresh(force=True)
        with self.lock:
            self._arbitrate()
        self._notify()

    def pull(self) -> Any:
        """Call the active getter now, push any change, return the value."""
        c = self._active
        c._refresh(force=True)
        with self.lock:
            self._arbitrate()
        self._notify()
        return self.value

    # -- claims ------------------------------------------------------------------

    def claim(
        self,
        value: Any,
        name: str | None = None,
        priority: float | None = None,
        timestamp: float | None = None,
        annotation: Any = None,
        expiration: float = 0,
    ) -> Claim:
        """Add (or update, if ``name`` exists) a claim; returns it."""
        if priority is not None:
            priority = _check_priority(priority)
        with self.lock:
            if name is None:
                name = "claim%d" % next(_claim_ids)
            elif not isinstance(name, str) or not name:
                raise TagError("claim name must be a non-empty str, got %r" % (name,))
            existing = self._claims.get(name)
            if existing is None:
                existing = self._released.pop(name, None)
                if existing is not None:
                    existing.released = False
                    self._claims[name] = existing
            if existing is not None:
                if priority is not None:
                    existing.real_priority = priority
                    if not existing.expired:
                        existing.effective_priority = priority
                c = existing
                c._store(value, timestamp, annotation)
            else:
                c = self._claim_class(
                    self,
                    name,
                    value,
                    DEFAULT_PRIORITY if priority is None else priority,
                    timestamp,
                    annotation,
                )
                self._claims[name] = c
            self._arbitrate()
        if c._getter is not None:
            c._refresh(force=True)
            with self.lock:
                self._arbitrate()
        self._notify()
        if expiration:
            c.set_expiration(expiration, 0)
        return c

    def release(self, name: str) -> None:
        c = self._claims.get(name)
        if c is None:
            raise TagError("tag %s has no claim %r" % (self.name, name))
        c.release()

    def get_claim(self, name: str) -> Claim | None:
        return self._claims.get(name)

    # -- subscribers ---------------------------------------------------------------

    def subscribe(
        self, f: Callable[[Any, float, Any], Any], immediate: bool = False, *, weak: bool = False
    ) -> None:
        """Call ``f(value, timestamp, annotation)`` on every change. Held
        strongly unless ``weak=True``; subscribing the same function twice is
        a no-op."""
        if not callable(f):
            raise TypeError("tag subscriber must be callable, got %r" % (f,))
        with self.lock:
            for ref, w in self._subscribers:
                if (ref() if w else ref) == f:
                    return
            new: Any = weak_callable(f) if weak else f
            self._subscribers = [*self._subscribers, (new, weak)]
            self._update_targets()
        self._post_subscribers()
        if immediate and self.timestamp != 0:
            f(self.value, self.timestamp, self.annotation)

    def unsubscribe(self, f: Callable[..., Any]) -> None:
        with self.lock:
            self._subscribers = [
                (r, w) for (r, w) in self._subscribers if (r() if w else r) not in (f, None)
            ]
            self._update_targets()
        self._post_subscribers()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _update_targets(self) -> None:
        if any(w for _, w in self._subscribers):
            self._targets = None
        else:
            handler = () if self._handler is None else (self._handler,)
            self._targets = handler + tuple(r for r, _ in self._subscribers)
        self._update_poller()

    def _post_subscribers(self) -> None:
        self._kaithem.runtime.bus.post(SUBSCRIBERS_TOPIC + self.name, len(self._subscribers))

    def set_handler(self, f: Callable[[Any, float, Any], Any] | None) -> None:
        """The one handler, called before the subscribers (held strongly)."""
        if f is not None and not callable(f):
            raise TypeError("handler must be callable or None, got %r" % (f,))
        with self.lock:
            self._handler = f
            self._update_targets()

    setHandler = set_handler  # the original's name

    # -- interval polling --------------------------------------------------------

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise TagError("interval must be seconds >= 0, got %r" % (seconds,))
        with self.lock:
            self._interval = float(seconds)
            if self._poll_job is not None:
                self._poll_job.cancel()
                self._poll_job = None
            self._update_poller()
        self._kaithem.runtime.bus.post(INTERVAL_TOPIC + self.name, self._interval)

    def _update_poller(self) -> None:
        want = self._interval > 0 and bool(self._subscribers or self._handler)
        if want and self._poll_job is None:
            me = weakref.ref(self)

            def tick() -> None:
                t = me()
                if t is not None:
                    t.poll()

            self._poll_job = self._scheduler().every(tick, self._interval)
        elif not want and self._poll_job is not None:
            self._poll_job.cancel()
            self._poll_job = None

    # -- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        """Stop polling and expiration jobs (the registry's ``delete`` calls this)."""
        with self.lock:
            if self._poll_job is not None:
                self._poll_job.cancel()
                self._poll_job = None
            for c in self._claims.values():
                if c._expiry_job is not None:
                    c._expiry_job.cancel()
                    c._expiry_job = None

    def __repr__(self) -> str:
        return "<%s %s = %r>" % (type(self).__name__, self.name, self._read(self._active._value))


_claim_ids = itertools.count(1)
