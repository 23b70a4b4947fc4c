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

The parts live in private modules (import every name from here): ``_errors``
(errors, tag-name validation), ``_claim`` (:class:`Claim`), ``_point``
(:class:`GenericTagPointClass`) and ``_types`` (the numeric, string, object and
binary tags). This module holds the registry, :class:`Namespace`.

Expression tags (names starting with ``=``) and tag alarms would evaluate
Python code with ``eval``; they are deliberately not supported (creating one
raises :class:`TagError`).
"""

from __future__ import annotations

import threading
from typing import Any

from kcore.kaithem._support import default_namespace
from kcore.kaithem.tags._claim import DEFAULT_PRIORITY, Claim, NumericClaim  # noqa: F401
from kcore.kaithem.tags._errors import (  # re-exported
    TagError,
    TagExistsError,
    TagTypeError,
    normalize_tag_name,
)
from kcore.kaithem.tags._point import (  # noqa: F401 - re-exported
    ERROR_TOPIC,
    INTERVAL_TOPIC,
    SUBSCRIBERS_TOPIC,
    GenericTagPointClass,
)
from kcore.kaithem.tags._types import (  # re-exported
    BinaryTagPointClass,
    NumericTagPointClass,
    ObjectTagPointClass,
    StringTagPointClass,
)

CREATED_TOPIC = "/system/tags/created"
DELETED_TOPIC = "/system/tags/deleted"

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

    def NumericTag(self, name: str, min: Any = None, max: Any = None) -> _NumericTagPointClass:
        tag = self._get_or_create(name, NumericTagPointClass)
        if min is not None:
            tag.min = min
        if max is not None:
            tag.max = max
        return tag  # type: ignore[no-any-return]

    def StringTag(self, name: str) -> _StringTagPointClass:
        return self._get_or_create(name, StringTagPointClass)  # type: ignore[no-any-return]

    def ObjectTag(self, name: str) -> _ObjectTagPointClass:
        return self._get_or_create(name, ObjectTagPointClass)  # type: ignore[no-any-return]

    def BinaryTag(self, name: str) -> _BinaryTagPointClass:
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


def NumericTag(name: str, min: Any = None, max: Any = None) -> NumericTagPointClass:
    return _ns().NumericTag(name, min, max)


def StringTag(name: str) -> StringTagPointClass:
    return _ns().StringTag(name)


def ObjectTag(name: str) -> ObjectTagPointClass:
    return _ns().ObjectTag(name)


def BinaryTag(name: str) -> BinaryTagPointClass:
    return _ns().BinaryTag(name)
