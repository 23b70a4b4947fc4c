"""YAML with a line number for every key: what lets config errors name the line.

:func:`load` parses with PyYAML's *safe* node composer (no Python tags, no
``eval``), then builds plain dicts, lists and scalars while recording where
each value starts, keyed by its path (``("tags", "/demo/temp", "min")``).
Duplicate keys, non-scalar keys, custom tags and documents that expand to
more than :data:`MAX_NODES` nodes (alias bombs) are errors naming the line.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

MAX_NODES = 100_000

Path = Tuple[Any, ...]


class YamlError(ValueError):
    """The text is not YAML this loader accepts; ``line`` is 1-based (or None)."""

    def __init__(self, message: str, source: str, line: int | None) -> None:
        where = "%s:%d" % (source, line) if line else source
        super().__init__("%s: %s" % (where, message))
        self.source = source
        self.line = line
        self.problem = message


_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def load(text: str, source: str = "<config>") -> tuple[Any, Dict[Path, int]]:
    """Parse ``text``; returns ``(data, lines)`` where ``lines[path]`` is the
    1-based line of the value (or key) at ``path``."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError("not valid YAML: %s" % (e.problem or e.context), source, line) from None
    except yaml.YAMLError as e:
        raise YamlError("not valid YAML: %s" % e, source, None) from None
    lines: Dict[Path, int] = {}
    if root is None:
        return None, lines
    builder = _Builder(source, lines)
    return builder.build(root, ()), lines


class _Builder:
    def __init__(self, source: str, lines: Dict[Path, int]) -> None:
        import yaml

        self.yaml = yaml
        self.source = source
        self.lines = lines
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def _fail(self, message: str, node: Any) -> YamlError:
        return YamlError(message, self.source, node.start_mark.line + 1)

    def build(self, node: Any, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail("document too large (more than %d values)" % MAX_NODES, node)
        self.lines.setdefault(path, node.start_mark.line + 1)
        yaml = self.yaml
        if node.tag not in _STANDARD_TAGS and node.tag != "tag:yaml.org,2002:merge":
            raise self._fail("unsupported YAML tag %s" % node.tag, node)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            out: dict = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self._fail("mapping keys must be plain values", key_node)
                key = self._scalar(key_node)
                if isinstance(key, (list, dict)) or key is None:
                    raise self._fail("mapping keys must be plain values", key_node)
                if key in out:
                    raise self._fail("duplicate key %r" % (key,), key_node)
                key_path = (*path, key)
                self.lines[key_path] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, key_path)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: Any) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except self.yaml.YAMLError as e:
            raise self._fail("bad value: %s" % getattr(e, "problem", e), node) from None
