"""``kaithem.tags``: tag points -- named values with prioritised claims.

A tag holds several **claims** (value sources). The active claim is the one
with the greatest ``(priority, timestamp)`` among the unreleased ones, so at
equal priority the most recent writer wins. Every tag has a ``default`` claim
(priority 50, timestamp 0) that ``tag.value = v`` writes; a claim at priority
>= 50 beats it until the default is written again, a lower one never does.

A claim's value is a constant or a zero-argument getter, called at most once
per ``interval`` seconds (``None`` from a getter means "no new data"; a
getter's exception is logged and treated the same way, so reading never
raises). With ``interval > 0`` and subscribers, the tag polls its getter on
the runtime's scheduler and pushes changes by itself.

Subscribers ``f(value, timestamp, annotation)`` are called on every *change*
of the value (the first write always counts). The new value is computed under
the tag's lock; subscribers run after the lock is released, in order (a
per-tag sequence number), in the writing thread -- or, if another thread is
already notifying that tag, by that thread, still in order.

Lifetimes are explicit: the registry keeps tags until ``tags.delete(name)``,
subscribers until ``unsubscribe``, claims until ``release()``; ``weak=True``
opts in to garbage-collection semantics. Timestamps are the instance clock's
``monotonic()`` seconds; 0 means "never set".

Expression tags (names starting with ``=``) and tag alarms evaluated Python
code with ``eval`` in the original; they are deliberately not supported here
(creating one raises :class:`TagError`).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import weakref
from collections import deque
from typing import Any, Callable

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError
from kcore.kaithem._support import default_namespace, weak_callable

CREATED_TOPIC = "/system/tags/created"
DELETED_TOPIC = "/system/tags/deleted"
SUBSCRIBERS_TOPIC = "/system/tags/subscribers"  # + tag name
INTERVAL_TOPIC = "/system/tags/interval"  # + tag name
ERROR_TOPIC = "/system/errors/tags"

DEFAULT_PRIORITY = 50
_ILLEGAL = set("{}|\\<>,?-=+)(*&^%$#@!~`\r\n\t\x00")
_PROPERTY_ANNOTATION = "kaithem.tag.value"  # marks writes made through tag.value
_BIG = 1e18


class TagError(KcoreError, ValueError):
    """Bad tag name, value, claim or setting."""


class TagTypeError(KcoreError, TypeError):
    """A tag exists under that name with another type, or a value has the wrong type."""


class TagExistsError(KcoreError, RuntimeError):
    """Constructing a tag class directly for a name that already exists."""


def normalize_tag_name(name: Any) -> str:
    """Strip, validate and add the leading ``/``."""
    if not isinstance(name, str):
        raise TagError("tag name must be a str, got %r" % (name,))
    name = name.strip()
    if not name:
        raise TagError("tag name must not be empty")
    if name.lstrip("/").startswith("="):
        raise TagError(
            "expression tags (%r) are not supported: they evaluated arbitrary Python; "
            "use a getter claim instead" % (name,)
        )
    if name[0].isdigit():
        raise TagError("tag name must not start with a digit: %r" % (name,))
    bad = sorted(set(name) & _ILLEGAL)
    if bad:
        raise TagError("tag name %r contains illegal characters %r" % (name, "".join(bad)))
    if not name.startswith("/"):
        name = "/" + name
    return name


def _check_priority(priority: Any) -> float:
    if isinstance(priority, bool) or not isinstance(priority, (int, float)):
        raise TagError("claim priority must be a number, got %r" % (priority,))
    if priority > 100:
        raise TagError("claim priority must be <= 100, got %r" % (priority,))
    return priority


class Claim:
    """One value source of a tag. Use :meth:`set`, :meth:`release`,
    :meth:`set_priority`, :meth:`set_expiration`. Calling the claim is
    :meth:`set`, so a claim can subscribe to another tag."""

    def __init__(
        self,
        tag: GenericTagPointClass,
        name: str,
        value: Any,
        priority: float,
        timestamp: float,
        annotation: Any,
    ) -> None:
        self.tag = tag
        self.name = name
        self.real_priority = priority
        self.effective_priority = priority
        self.released = False
        self.expired = False
        self.expiration = 0.0
        self.expired_priority = 1.0
        self._expiry_job: Any = None
        self._getter: Callable[[], Any] | None = None
        self._value: Any = None
        self.timestamp = 0.0
        self.annotation = annotation
        self._last_fetch = -_BIG
        self._fetch_lock = threading.Lock()
        self._store(value, timestamp, annotation)

    # -- value ----------------------------------------------------------------

    def _store(self, value: Any, timestamp: float | None, annotation: Any) -> None:
        # called with the tag lock held (or during construction)
        if callable(value) and not isinstance(value, (bytes, bytearray)):
            self._getter = value
            self._value = self.tag._default_value
            self.timestamp = 0.0
            self._last_fetch = -_BIG
        else:
            self._getter = None
            self._value = self.tag._process(value)
            self.timestamp = self.tag._now() if timestamp is None else float(timestamp)
        self.annotation = annotation

    def _refresh(self, force: bool = False) -> None:
        """Call the getter if its cached value is older than the tag interval."""
        getter = self._getter
        if getter is None:
            return
        now = self.tag._now()
        if not force and now - self._last_fetch < self.tag._interval and self._last_fetch > 0:
            return
        with self._fetch_lock:
            if not force and now - self._last_fetch < self.tag._interval and self._last_fetch > 0:
                return
            self._last_fetch = now
            try:
                raw = getter()
            except Exception as exc:  # noqa: BLE001 - reading a tag never raises
                self.tag._report("getter of claim %r" % self.name, exc)
                return
            if raw is None:
                return
            try:
                processed = self.tag._process(raw)
            except (TypeError, ValueError) as exc:
                self.tag._report("getter of claim %r returned a bad value" % self.name, exc)
                return
            with self.tag.lock:
                self._value = processed
                self.timestamp = self.tag._now()
                if self.expired:
                    self._unexpire()

    @property
    def value(self) -> Any:
        self._refresh()
        return self._value

    @property
    def priority(self) -> float:
        return self.effective_priority

    def set(self, value: Any, timestamp: float | None = None, annotation: Any = None) -> None:
        """Set this claim's value (a constant or a getter); refreshes its
        timestamp, so an expired claim comes back."""
        tag = self.tag
        with tag.lock:
            self._store(value, timestamp, annotation)
            if self.released:
                self.released = False
                tag._claims[self.name] = self
                tag._released.pop(self.name, None)
            if self.expired:
                self._unexpire()
            if timestamp is None and self._getter is None:
                # Fast path: this claim now has the newest timestamp, so it
                # is active iff its priority is at least the active one's.
                active = tag._active
                if active is not self and self.effective_priority >= active.effective_priority:
                    tag._active = self
                tag._queue_push()
            else:
                tag._arbitrate()
        if tag._pending:
            tag._notify()

    def __call__(self, value: Any, timestamp: float | None = None, annotation: Any = None) -> None:
        self.set(value, timestamp, annotation)

    def release(self) -> None:
        """Withdraw this claim; the next best claim takes over."""
        if self.name == "default":
            raise TagError("the default claim of a tag cannot be released")
        tag = self.tag
        with tag.lock:
            self.released = True
            if self._expiry_job is not None:
                self._expiry_job.cancel()
                self._expiry_job = None
            if tag._claims.get(self.name) is self:
                del tag._claims[self.name]
                tag._released[self.name] = self  # weak: found again by claim(name)
            tag._arbitrate()
        tag._notify()

    def set_priority(self, priority: float) -> None:
        priority = _check_priority(priority)
        tag = self.tag
        with tag.lock:
            self.real_priority = priority
            if not self.expired:
                self.effective_priority = priority
            tag._arbitrate()
        tag._notify()

    setPriority = set_priority  # noqa: N815 - the original's name

    def set_expiration(self, seconds: float, expired_priority: float = 1) -> None:
        """When this claim's data is older than ``seconds``, drop its
        effective priority to ``expired_priority`` until new data arrives.
        ``seconds=0`` turns expiration off."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise TagError("expiration must be seconds >= 0, got %r" % (seconds,))
        tag = self.tag
        with tag.lock:
            self.expiration = float(seconds)
            self.expired_priority = _check_priority(expired_priority)
            if self._expiry_job is not None:
                self._expiry_job.cancel()
                self._expiry_job = None
            if seconds > 0:
                me = weakref.ref(self)

                def check() -> None:
                    c = me()
                    if c is not None:
                        c._check_expiry()

                period = max(0.005, self.expiration / 4)
                self._expiry_job = tag._scheduler().every(check, period)
            elif self.expired:
                self._unexpire()
                tag._arbitrate()
        tag._notify()

    setExpiration = set_expiration  # noqa: N815 - the original's name

    def _check_expiry(self) -> None:
        self._refresh()
        tag = self.tag
        with tag.lock:
            if self.released or self.expiration <= 0:
                return
            stale = self.tag._now() - self.timestamp > self.expiration
            if stale and not self.expired:
                self.expired = True
                self.effective_priority = self.expired_priority
                tag._arbitrate()
            elif not stale and self.expired:
                self._unexpire()
                tag._arbitrate()
        tag._notify()

    def _unexpire(self) -> None:
        self.expired = False
        self.effective_priority = self.real_priority

    def __repr__(self) -> str:
        return "<Claim %s on %s priority %s>" % (self.name, self.tag.name, self.effective_priority)


class NumericClaim(Claim):
    def set_as(
        self, value: float, unit: str, timestamp: float | None = None, annotation: Any = None
    ) -> None:
        """Set from a value in ``unit``, converted to the tag's unit."""
        tag: Any = self.tag
        self.set(tag.convert_value(value, unit, to=tag.unit), timestamp, annotation)

    setAs = set_as  # noqa: N815 - the original's name


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
        except Exception as report_exc:  # noqa: BLE001 - reporting must not recurse
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
            except Exception as exc:  # noqa: BLE001 - a subscriber must not break writers
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

    currentSource = current_source  # noqa: N815 - the original's name

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

    setHandler = set_handler  # noqa: N815 - the original's name

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


class NumericTagPointClass(GenericTagPointClass):
    """A float tag with ``min``/``max`` (clamp on read), ``hi``/``lo``
    (thresholds for display and alarms only) and a ``unit``."""

    type = "number"
    _claim_class = NumericClaim
    _default_value = 0.0

    def __init__(
        self,
        name: str,
        min: float | None = None,  # noqa: A002 - the original's name
        max: float | None = None,  # noqa: A002
        *,
        kaithem: Any = None,
    ) -> None:
        self._min: float | None = None
        self._max: float | None = None
        self._hi: float | None = None
        self._lo: float | None = None
        self._unit = ""
        self._display_units: str | None = None
        super().__init__(name, kaithem=kaithem)
        if min is not None:
            self.min = min
        if max is not None:
            self.max = max

    def _process(self, value: Any) -> float:
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise TagTypeError("numeric tag %s needs a number, got %r" % (self.name, value))

    def _read(self, value: Any) -> Any:
        lo, hi = self._min, self._max
        if lo is not None and value < lo:
            return lo
        if hi is not None and value > hi:
            return hi
        return value

    def _limit(self, attr: str, v: float | None) -> None:
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TagError("%s must be a number or None, got %r" % (attr, v))
            v = float(v)
        with self.lock:
            setattr(self, "_" + attr, v)
            if attr in ("min", "max"):
                self._queue_push()
        self._notify()

    @property
    def min(self) -> float:
        return -_BIG if self._min is None else self._min

    @min.setter
    def min(self, v: float | None) -> None:
        self._limit("min", v)

    @property
    def max(self) -> float:
        return _BIG if self._max is None else self._max

    @max.setter
    def max(self, v: float | None) -> None:
        self._limit("max", v)

    @property
    def hi(self) -> float:
        return _BIG if self._hi is None else self._hi

    @hi.setter
    def hi(self, v: float | None) -> None:
        self._limit("hi", v)

    @property
    def lo(self) -> float:
        return -_BIG if self._lo is None else self._lo

    @lo.setter
    def lo(self, v: float | None) -> None:
        self._limit("lo", v)

    @property
    def unit(self) -> str:
        return self._unit

    @unit.setter
    def unit(self, u: str) -> None:
        if not isinstance(u, str):
            raise TagError("unit must be a str, got %r" % (u,))
        if self._unit and u and u != self._unit:
            raise TagError(
                "tag %s already has unit %r; set it to '' before changing it to %r"
                % (self.name, self._unit, u)
            )
        self._unit = u

    @property
    def display_units(self) -> str | None:
        return self._display_units or self._unit or None

    @display_units.setter
    def display_units(self, v: str | None) -> None:
        self._display_units = v

    displayUnits = display_units  # noqa: N815 - the original's name

    def convert_value(self, value: float, unit: str, to: str | None = None) -> float:
        """Convert ``value`` from ``unit`` to ``to`` (default: the tag's unit)."""
        target = to or self._unit
        if not target:
            raise TagError("tag %s has no unit to convert to" % self.name)
        return float(self._kaithem.units.convert(value, unit, target))

    def convert_to(self, unit: str) -> float:
        """The current value expressed in ``unit``."""
        if not self._unit:
            raise TagError("tag %s has no unit to convert from" % self.name)
        return float(self._kaithem.units.convert(self.value, self._unit, unit))

    convertTo = convert_to  # noqa: N815 - the original's name


class StringTagPointClass(GenericTagPointClass):
    type = "string"
    _default_value = ""

    def _process(self, value: Any) -> str:
        return value if isinstance(value, str) else str(value)


class ObjectTagPointClass(GenericTagPointClass):
    """Any JSON-compatible value; JSON strings are parsed. Values are deep
    copied on write, so later changes to the caller's object don't leak in.
    ``validate`` (optional) may transform or reject a value."""

    type = "object"
    _default_value = None

    def __init__(self, name: str, *, kaithem: Any = None) -> None:
        self.validate: Callable[[Any], Any] | None = None
        super().__init__(name, kaithem=kaithem)

    def _process(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise TagTypeError(
                    "object tag %s: strings must be JSON, got %r" % (self.name, value[:80])
                ) from None
        else:
            try:
                json.dumps(value)
            except (TypeError, ValueError) as exc:
                raise TagTypeError(
                    "object tag %s needs a JSON-serialisable value: %s" % (self.name, exc)
                ) from None
            value = copy.deepcopy(value)
        if self.validate is not None:
            value = self.validate(value)
        return value


class BinaryTagPointClass(GenericTagPointClass):
    type = "binary"
    _default_value = b""

    def _process(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise TagTypeError(
            "binary tag %s needs bytes, got %s (ints are refused: bytes(5) is five "
            "zero bytes)" % (self.name, type(value).__name__)
        )


_GenericTagPointClass = GenericTagPointClass
_NumericTagPointClass = NumericTagPointClass
_StringTagPointClass = StringTagPointClass
_ObjectTagPointClass = ObjectTagPointClass
_BinaryTagPointClass = BinaryTagPointClass


class Namespace:
    """``kaithem.tags`` of one Kaithem instance: the tag registry.

    ``tags[name]`` gets or creates a numeric tag; ``StringTag``,
    ``ObjectTag``, ``BinaryTag``, ``NumericTag`` get or create the typed ones.
    """

    GenericTagPointClass = GenericTagPointClass
    NumericTagPointClass = NumericTagPointClass
    StringTagPointClass = StringTagPointClass
    ObjectTagPointClass = ObjectTagPointClass
    BinaryTagPointClass = BinaryTagPointClass
    Claim = Claim
    TagError = TagError
    TagTypeError = TagTypeError

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        self._tags: dict[str, _GenericTagPointClass] = {}
        self._lock = threading.RLock()

    def _register(self, tag: _GenericTagPointClass) -> None:
        with self._lock:
            if tag.name in self._tags:
                raise TagExistsError(
                    "tag %s already exists; use the registry to get it" % tag.name
                )
            self._tags[tag.name] = tag
        self._kaithem.runtime.bus.post(CREATED_TOPIC, tag.name)

    def _get_or_create(self, name: str, cls: type, **kwargs: Any) -> Any:
        name = normalize_tag_name(name)
        with self._lock:
            tag = self._tags.get(name)
            if tag is None:
                return cls(name, kaithem=self._kaithem, **kwargs)
        if type(tag) is not cls:
            raise TagTypeError(
                "tag %s exists as %s, not %s" % (name, type(tag).__name__, cls.__name__)
            )
        return tag

    def __getitem__(self, name: str) -> _NumericTagPointClass:
        return self._get_or_create(name, NumericTagPointClass)  # type: ignore[no-any-return]

    def NumericTag(self, name: str, min: Any = None, max: Any = None) -> _NumericTagPointClass:  # noqa: N802, A002
        tag = self._get_or_create(name, NumericTagPointClass)
        if min is not None:
            tag.min = min
        if max is not None:
            tag.max = max
        return tag  # type: ignore[no-any-return]

    def StringTag(self, name: str) -> _StringTagPointClass:  # noqa: N802
        return self._get_or_create(name, StringTagPointClass)  # type: ignore[no-any-return]

    def ObjectTag(self, name: str) -> _ObjectTagPointClass:  # noqa: N802
        return self._get_or_create(name, ObjectTagPointClass)  # type: ignore[no-any-return]

    def BinaryTag(self, name: str) -> _BinaryTagPointClass:  # noqa: N802
        return self._get_or_create(name, BinaryTagPointClass)  # type: ignore[no-any-return]

    def get(self, name: str) -> _GenericTagPointClass | None:
        return self._tags.get(normalize_tag_name(name))

    def __contains__(self, name: object) -> bool:
        try:
            return normalize_tag_name(name) in self._tags
        except TagError:
            return False

    def __iter__(self) -> Any:
        return iter(list(self._tags))

    def __len__(self) -> int:
        return len(self._tags)

    def all(self) -> dict[str, _GenericTagPointClass]:
        return dict(self._tags)

    def delete(self, name: str) -> None:
        """Remove a tag from the registry and stop its jobs."""
        name = normalize_tag_name(name)
        with self._lock:
            tag = self._tags.pop(name, None)
        if tag is None:
            raise KeyError("no tag %s" % name)
        tag.close()
        self._kaithem.runtime.bus.post(DELETED_TOPIC, name)

    def close(self) -> None:
        for tag in list(self._tags.values()):
            tag.close()


def _ns() -> Namespace:
    ns: Namespace = default_namespace("tags")
    return ns


def get_tag(name: str) -> NumericTagPointClass:
    """``kaithem.tags[name]`` on the default instance."""
    return _ns()[name]


def NumericTag(name: str, min: Any = None, max: Any = None) -> NumericTagPointClass:  # noqa: N802, A002
    return _ns().NumericTag(name, min, max)


def StringTag(name: str) -> StringTagPointClass:  # noqa: N802
    return _ns().StringTag(name)


def ObjectTag(name: str) -> ObjectTagPointClass:  # noqa: N802
    return _ns().ObjectTag(name)


def BinaryTag(name: str) -> BinaryTagPointClass:  # noqa: N802
    return _ns().BinaryTag(name)
