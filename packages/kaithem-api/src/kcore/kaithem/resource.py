"""``kaithem.resource``: read-only, dict-like access to resources by
``(module, resource)`` tuple.

In Kaithem, modules hold named resources (pages, events, files, ...).
Here the host application publishes them with :meth:`Namespace.add` (or
:meth:`Namespace.update`) and user code reads them like a dict::

    kaithem.resource.add("lights", "kitchen", kitchen_config)
    kaithem.resource["lights", "kitchen"]        # -> kitchen_config
    ("lights", "kitchen") in kaithem.resource    # -> True
    kaithem.resource.module("lights")            # -> {"kitchen": ...}

References are strong: a resource stays until removed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Iterator, Tuple

from kcore.common.platform import KcoreError

__all__ = ["Namespace", "ResourceError"]

Key = Tuple[str, str]


class ResourceError(KcoreError, KeyError):
    """No resource with that ``(module, resource)`` key."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


def _key(key: Any) -> Key:
    if (
        not isinstance(key, tuple)
        or len(key) != 2
        or not all(isinstance(part, str) and part for part in key)
    ):
        raise TypeError(
            "resource keys are (module, resource) tuples of non-empty str, not %r" % (key,)
        )
    return key


class Namespace(Mapping):  # type: ignore[type-arg]
    """``kaithem.resource`` of one Kaithem instance: a read-only mapping for
    user code, filled by the host with :meth:`add`/:meth:`remove`."""

    def __init__(self, kaithem: Any = None) -> None:
        self._lock = threading.RLock()
        self._items: dict[Key, Any] = {}

    # -- read side (Mapping) --------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        k = _key(key)
        with self._lock:
            try:
                return self._items[k]
            except KeyError:
                raise ResourceError("no resource %r in module %r" % (k[1], k[0])) from None

    def __contains__(self, key: object) -> bool:
        try:
            k = _key(key)
        except TypeError:
            return False
        with self._lock:
            return k in self._items

    def __iter__(self) -> Iterator[Key]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def modules(self) -> list[str]:
        """Names of the modules that have at least one resource."""
        with self._lock:
            return sorted({m for m, _ in self._items})

    def module(self, module: str) -> dict[str, Any]:
        """``{resource name: resource}`` of one module (empty if unknown)."""
        with self._lock:
            return {r: v for (m, r), v in self._items.items() if m == module}

    # -- host side -------------------------------------------------------------

    def add(self, module: str, resource: str, value: Any) -> None:
        """Publish (or replace) resource ``(module, resource)``."""
        k = _key((module, resource))
        with self._lock:
            self._items[k] = value

    def update(self, resources: Mapping[Key, Any]) -> None:
        """Publish several resources from a ``{(module, resource): value}`` map."""
        checked = {_key(k): v for k, v in resources.items()}
        with self._lock:
            self._items.update(checked)

    def remove(self, module: str, resource: str | None = None) -> None:
        """Remove one resource, or all of a module when ``resource`` is None.
        :class:`ResourceError` if nothing matched."""
        with self._lock:
            if resource is None:
                keys = [k for k in self._items if k[0] == module]
                if not keys:
                    raise ResourceError("no resources in module %r" % (module,))
            else:
                keys = [_key((module, resource))]
                if keys[0] not in self._items:
                    raise ResourceError("no resource %r in module %r" % (resource, module))
            for k in keys:
                del self._items[k]

    def close(self) -> None:
        """Drop every resource."""
        with self._lock:
            self._items.clear()

    def __repr__(self) -> str:
        return "<kaithem.resource: %d resources>" % len(self)
