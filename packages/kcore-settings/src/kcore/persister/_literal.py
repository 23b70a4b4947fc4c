"""A safe reader for Python-literal text, e.g. ``Rec(name='x', n=datetime.date(2030, 1, 2))``.

Why: the original persister files are dataclass ``repr()`` lines that it read
with ``eval``. This reader walks the syntax tree itself and only ever builds
literals (str, bytes, numbers, True/False/None, list, tuple, set, dict) and
calls an explicit allow-list of constructors (the dataclass types of the
schema and the ``datetime`` types) with literal arguments. Nothing is looked
up in any namespace and no attribute is ever read from an object.
"""

from __future__ import annotations

import ast
import datetime
from typing import Any, Dict, Optional

MAX_NODES = 100_000

SAFE_CONSTRUCTORS: Dict[str, Any] = {
    "datetime.datetime": datetime.datetime,
    "datetime.date": datetime.date,
    "datetime.time": datetime.time,
    "datetime.timedelta": datetime.timedelta,
    "datetime.timezone": datetime.timezone,
    "datetime.timezone.utc": datetime.timezone.utc,
    "set": set,
    "frozenset": frozenset,
}


class LiteralError(ValueError):
    """Text that is not an allowed literal; ``lineno`` is 1-based (or None)."""

    def __init__(self, msg: str, lineno: Optional[int] = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.lineno = lineno


def _dotted(node: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class SafeEval:
    """Evaluate literal text, calling only the allowed constructors."""

    def __init__(self, constructors: Optional[Dict[str, Any]] = None) -> None:
        self.constructors = dict(SAFE_CONSTRUCTORS)
        self.constructors.update(constructors or {})
        self._nodes = 0

    def __call__(self, text: str) -> Any:
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as e:
            raise LiteralError("not a valid literal: %s" % e.msg, e.lineno) from None
        except (ValueError, MemoryError, RecursionError):
            raise LiteralError("not a valid literal (too deep or contains NUL)") from None
        self._nodes = 0
        try:
            return self._eval(tree.body)
        except RecursionError:
            raise LiteralError("value nested too deeply") from None

    def _eval(self, node: ast.AST) -> Any:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise LiteralError("value too large (more than %d syntax nodes)" % MAX_NODES)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List):
            return [self._eval(e) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self._eval(e) for e in node.elts)
        if isinstance(node, ast.Set):
            return {self._eval(e) for e in node.elts}
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise LiteralError("'**' is not allowed in a literal", node.lineno)
            return {self._eval(k): self._eval(v) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self._eval(node.operand)
            if isinstance(v, (int, float, complex)) and not isinstance(v, bool):
                return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            left, right = self._eval(node.left), self._eval(node.right)  # complex: 1+2j
            if isinstance(left, (int, float)) and isinstance(right, complex):
                return left + right if isinstance(node.op, ast.Add) else left - right
        if isinstance(node, (ast.Attribute, ast.Name)):
            name = _dotted(node)
            if name == "datetime.timezone.utc":
                return datetime.timezone.utc
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            ctor = self.constructors.get(name) if name else None
            if ctor is None:
                raise LiteralError(
                    "calling %s is not allowed (only the dataclass types and datetime)"
                    % (name or "an expression"),
                    getattr(node, "lineno", None),
                )
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                raise LiteralError("'*' and '**' are not allowed in a literal", node.lineno)
            args = [self._eval(a) for a in node.args]
            kwargs = {str(k.arg): self._eval(k.value) for k in node.keywords}
            try:
                return ctor(*args, **kwargs)
            except (TypeError, ValueError) as e:
                raise LiteralError("cannot build %s: %s" % (name, e), node.lineno) from None
        raise LiteralError(
            "%s is not allowed in a literal" % type(node).__name__, getattr(node, "lineno", None)
        )
