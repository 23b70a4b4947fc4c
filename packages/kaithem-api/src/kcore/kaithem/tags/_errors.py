"""The errors of :mod:`kcore.kaithem.tags` and tag-name validation (import the
names from there)."""

from __future__ import annotations

from typing import Any

from kcore.common.platform import KcoreError

# The errors' module as tracebacks show it: where users import them from.
_HOME = "kcore.kaithem.tags"
_ILLEGAL = set("{}|\\<>,?-=+)(*&^%$#@!~`\r\n\t\x00")


class TagError(KcoreError, ValueError):
    """Bad tag name, value, claim or setting."""

    __module__ = _HOME


class TagTypeError(KcoreError, TypeError):
    """A tag exists under that name with another type, or a value has the wrong type."""

    __module__ = _HOME


class TagExistsError(KcoreError, RuntimeError):
    """Constructing a tag class directly for a name that already exists."""

    __module__ = _HOME


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
