"""Claims, the value sources of a tag point (import the names from
:mod:`kcore.kaithem.tags`): a constant or a getter, a priority, a timestamp,
and optional expiration."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable

from kcore.kaithem.tags._errors import TagError

if TYPE_CHECKING:
    from kcore.kaithem.tags._point import GenericTagPointClass

DEFAULT_PRIORITY = 50
_PROPERTY_ANNOTATION = "kaithem.tag.value"  # marks writes made through tag.value
_BIG = 1e18


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
            except Exception as exc:  # reading a tag never raises
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

    setPriority = set_priority  # the original's name

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

    setExpiration = set_expiration  # the original's name

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

    setAs = set_as  # the original's name
