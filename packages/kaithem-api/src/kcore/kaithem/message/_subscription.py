"""One subscription of :mod:`kcore.kaithem.message` (import the names from
there): how its callback is called (by arity), its FIFO queue, and delivery
that never runs two of its callbacks at once."""

from __future__ import annotations

import inspect
import threading
import time
import weakref
from collections import deque
from threading import get_ident
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Optional, Tuple

from kcore.common import logger as _logger
from kcore.kaithem._support import weak_callable

if TYPE_CHECKING:
    from kcore.kaithem.message._bus import MessageBus


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
                    if age < 0.5:  # collected this soon: the caller kept no reference
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
                except Exception as exc:  # subscriber errors are reported
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
