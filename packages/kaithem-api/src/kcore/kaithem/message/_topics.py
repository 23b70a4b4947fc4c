"""Topics of :mod:`kcore.kaithem.message` (import the names from there):
normalising them, checking subscription patterns, MQTT wildcard matching."""

from __future__ import annotations

from typing import Any

from kcore.common.platform import KcoreError


class TopicError(KcoreError, ValueError):
    """A topic or subscription pattern is malformed."""

    __module__ = "kcore.kaithem.message"  # tracebacks name where users import it from


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
