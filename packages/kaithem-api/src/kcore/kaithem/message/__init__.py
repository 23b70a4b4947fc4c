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

The parts live in private modules (import every name from here): ``_topics``
(topic syntax and matching), ``_subscription`` (:class:`Subscription`, callback
arity) and ``_bus`` (:class:`MessageBus`). This module holds :class:`Namespace`
and the functions on the default instance.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from kcore.kaithem._support import default_namespace
from kcore.kaithem.message._bus import (  # noqa: F401 - re-exported
    ERROR_TOPIC,
    ROUTE_CACHE_BYTES,
    MessageBus,
    PlanEntry,
    Route,
)
from kcore.kaithem.message._subscription import (  # noqa: F401 - re-exported
    CALLERS,
    Caller,
    Item,
    Subscription,
    callback_arity,
)
from kcore.kaithem.message._topics import (  # noqa: F401 - re-exported
    TopicError,
    normalize_topic,
    topic_matches,
)

_Subscription = Subscription
_MessageBus = MessageBus


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
