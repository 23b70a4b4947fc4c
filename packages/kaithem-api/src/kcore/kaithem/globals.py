"""``kaithem.globals``: a place for user code to hang shared attributes.

One per :class:`~kcore.kaithem.Kaithem` instance, so separate instances and
tests do not see each other's values. Any attribute name is free for users:
the object itself has no public attributes or methods apart from dunders.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Namespace"]


class Namespace:
    """An empty object: ``kaithem.globals.counter = 0``."""

    def __init__(self, kaithem: Any = None) -> None:
        # keep nothing: every attribute name belongs to the user
        pass

    def __repr__(self) -> str:
        names = ", ".join(sorted(vars(self)))
        return "<kaithem.globals: %s>" % (names or "empty")


def __getattr__(name: str) -> Any:
    """``kcore.kaithem.globals.x`` reads ``x`` from the default instance."""
    if name.startswith("__"):
        raise AttributeError(name)
    from kcore.kaithem import default

    return getattr(default().globals, name)
