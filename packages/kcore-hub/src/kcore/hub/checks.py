"""Typed reading of YAML data for configuration files: each reader returns the
value or raises an error naming the file, the line and the key path
(``hub.yaml:12: tags./demo/temp.min: must be a number, got 'cold'``)."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

from kcore.hub import yamlmarks


class Checker:
    """Typed readers over YAML data whose errors name ``source:line: key.path:``."""

    def __init__(
        self,
        source: str,
        lines: Dict[yamlmarks.Path, int],
        error: Callable[[str], Exception] = ValueError,
    ) -> None:
        self.error = error
        self.source = source
        self.lines = lines
        self.base = os.path.dirname(os.path.abspath(source)) if os.sep in source else os.getcwd()

    # -- error reporting ----------------------------------------------------

    def fail(self, path: yamlmarks.Path, message: str) -> Exception:
        line = None
        for i in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:i]))
            if line is not None:
                break
        key = ".".join(str(p) for p in path) or "(top level)"
        where = "%s:%d" % (self.source, line) if line else self.source
        return self.error("%s: %s: %s" % (where, key, message))

    # -- typed readers --------------------------------------------------------

    def mapping(self, value: Any, path: yamlmarks.Path, allowed: Tuple[str, ...] = ()) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, "must be a mapping, got %s" % _kind(value))
        for k in value:
            if not isinstance(k, str):
                raise self.fail((*path, k), "keys must be text, got %r" % (k,))
            if allowed and k not in allowed:
                raise self.fail(
                    (*path, k), "unknown key (expected one of: %s)" % ", ".join(allowed)
                )
        return value

    def listing(self, value: Any, path: yamlmarks.Path) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, "must be a list, got %s" % _kind(value))
        return value

    def text(self, value: Any, path: yamlmarks.Path, default: Any = None) -> Any:
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(path, "must be text, got %s" % _kind(value))
        return value

    def number(
        self,
        value: Any,
        path: yamlmarks.Path,
        default: Any = None,
        lo: Optional[float] = None,
        hi: Optional[float] = None,
    ) -> Any:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise self.fail(path, "must be a number, got %s" % _kind(value))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.fail(path, "must be between %s and %s, got %r" % (lo, hi, value))
        return value

    def integer(self, value: Any, path: yamlmarks.Path, default: Any, lo: int, hi: int) -> Any:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, "must be a whole number, got %s" % _kind(value))
        if not lo <= value <= hi:
            raise self.fail(path, "must be between %d and %d, got %d" % (lo, hi, value))
        return value

    def boolean(self, value: Any, path: yamlmarks.Path, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(path, "must be true or false, got %s" % _kind(value))
        return value

    def choice(
        self, value: Any, path: yamlmarks.Path, options: Tuple[str, ...], default: str
    ) -> str:
        value = self.text(value, path, default)
        if value not in options:
            raise self.fail(path, "must be one of %s, got %r" % (", ".join(options), value))
        return str(value)

    def file_path(self, value: Any, path: yamlmarks.Path) -> Optional[str]:
        value = self.text(value, path)
        if value is None:
            return None
        if not value.strip():
            raise self.fail(path, "must not be empty")
        return os.path.join(self.base, os.path.expanduser(value))

    def tag_name(self, value: Any, path: yamlmarks.Path) -> str:
        from kcore.kaithem.tags import TagError, normalize_tag_name

        try:
            return normalize_tag_name(value)
        except TagError as e:
            raise self.fail(path, str(e)) from None

    def text_list(self, value: Any, path: yamlmarks.Path) -> List[str]:
        out = []
        for i, v in enumerate(self.listing(value, path)):
            item = self.text(v, (*path, i))
            if not item:
                raise self.fail((*path, i), "must be non-empty text")
            out.append(item)
        return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "%s (true/false)" % str(value).lower()
    if isinstance(value, (dict, list)):
        return "a %s" % ("mapping" if isinstance(value, dict) else "list")
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
