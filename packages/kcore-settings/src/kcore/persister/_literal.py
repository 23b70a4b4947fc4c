"""Python-literal text both ways, e.g. ``Rec(name='x', n=datetime.date(2030, 1, 2))``.

Why: the persister files are ``repr()`` lines (the format people already have
and edit by hand), and reading them with ``eval`` would run whatever a file
holds. Here:

* :class:`SafeEval` walks the syntax tree itself and only ever builds literals
  (str, bytes, numbers, True/False/None, list, tuple, set, dict) and calls an
  explicit allow-list of constructors (the dataclass types of the schema and
  the ``datetime`` types) with literal arguments. Nothing is looked up in any
  namespace and no attribute is ever read from an object.
* :func:`write_literal` writes only what :class:`SafeEval` reads back equal.
* :func:`simple_call` and :func:`repr_to_json` are exact fast paths for the
  common lines (plain str/number/bool/None values): a regular expression or
  the C JSON parser instead of a syntax tree, several times faster. Anything
  they do not recognise goes to :class:`SafeEval` / ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import enum
import json
import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

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


# ------------------------------------------------------------------ writing

# Dataclass type -> (name in the text, init field names).
TypeNames = Dict[type, Tuple[str, Sequence[str]]]

_REPR_TYPES = (str, int, bool, type(None), bytes)
_TIME_TYPES = (datetime.date, datetime.timedelta, datetime.timezone)


def type_names(types: Dict[str, type]) -> TypeNames:
    """The :data:`TypeNames` of dataclass types known by name (SafeEval's constructors)."""
    out: TypeNames = {}
    for name, t in types.items():
        if isinstance(t, type) and dataclasses.is_dataclass(t):
            out[t] = (name, tuple(f.name for f in dataclasses.fields(t) if f.init))
    return out


def write_literal(value: Any, names: TypeNames, enums: bool = False) -> str:
    """Python literal text for ``value`` that :class:`SafeEval` reads back equal.

    Dataclass instances are written as ``Name(field=value, ...)`` when their
    type is in ``names``; with ``enums`` an Enum member is written as its value
    (the caller's schema turns it back into the member). Anything else that has
    no exact literal form (NaN, a custom class, a datetime with a non-fixed
    timezone) raises :class:`LiteralError`.
    """
    t = type(value)
    if t in _REPR_TYPES:
        return repr(value)
    if t is float:
        if not math.isfinite(value):
            raise LiteralError("%r has no literal form" % value)
        return repr(value)
    if t is list:
        return "[" + ", ".join([write_literal(v, names, enums) for v in value]) + "]"
    if t is tuple:
        inner = ", ".join([write_literal(v, names, enums) for v in value])
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if t is dict:
        return (
            "{"
            + ", ".join(
                write_literal(k, names, enums) + ": " + write_literal(v, names, enums)
                for k, v in value.items()
            )
            + "}"
        )
    if t is set or t is frozenset:
        inner = ", ".join(sorted(write_literal(v, names, enums) for v in value))
        body = "{" + inner + "}" if value else ""
        return body if t is set and value else "%s(%s)" % (t.__name__, body)
    if t is complex:
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            raise LiteralError("%r has no literal form" % value)
        return repr(value)
    if t is datetime.datetime or t is datetime.time:
        tz = value.tzinfo
        if tz is not None and type(tz) is not datetime.timezone:
            raise LiteralError(
                "a %s with tzinfo %s has no literal form (use datetime.timezone)"
                % (t.__name__, type(tz).__name__)
            )
        return repr(value)
    if t in _TIME_TYPES:
        return repr(value)
    if enums and isinstance(value, enum.Enum):
        return write_literal(value.value, names, enums)
    known = names.get(t)
    if known is not None:
        name, fields = known
        return "%s(%s)" % (
            name,
            ", ".join(
                "%s=%s" % (f, write_literal(getattr(value, f), names, enums)) for f in fields
            ),
        )
    raise LiteralError("a %s has no literal form" % t.__name__)


# ------------------------------------------------------------------ fast readers

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_INT = r"-?(?:0|[1-9][0-9]*)"
_FLOAT = _INT + r"(?:\.[0-9]+)?(?:e[-+][0-9]+)?"  # as repr() writes it (an int matches too)
_STR_BODY = r"'([^'\\\"\n]*)'"  # a str without escapes or quotes inside; group: its text
_VALUE = r"'[^'\\\"\n]*'|%s|True|False|None" % _FLOAT
_CALL = re.compile(r"(%s)\(((?:%s=(?:%s))(?:, %s=(?:%s))*)?\)" % (_IDENT, *(_IDENT, _VALUE) * 2))
_ARG = re.compile(r"(%s)=(%s)(?:, |\Z)" % (_IDENT, _VALUE))
_CONSTANTS = {"True": True, "False": False, "None": None}
KEYED = re.compile(_STR_BODY + r": (.*)\Z")


def _is_true(text: str) -> bool:
    return text == "True"


# Exact field type -> (pattern with one group, converter of that group; None: the group itself).
_TYPED: Dict[type, Tuple[str, Any]] = {
    str: (_STR_BODY, None),
    int: ("(%s)" % _INT, int),
    float: ("(%s)" % _FLOAT, float),
    bool: ("(True|False)", _is_true),
}


class PlainCall:
    """Exact ``Name(f1=v1, f2=v2, ...)`` text for a dataclass whose fields all hold
    plain str/int/float/bool (or None) values, in field order: one ``%`` format
    to write, one regular expression to read; several times faster than the
    general writer and :class:`SafeEval` for the common case.

    ``fields`` maps each field to the exact types it may hold. When every field
    has exactly one type, what :meth:`read` returns is already type-checked
    (``exact``)."""

    def __init__(self, name: str, fields: Dict[str, Tuple[type, ...]]) -> None:
        self.name = name
        self.fields = tuple(fields)
        self._floats = [i for i, types in enumerate(fields.values()) if float in types]
        self._format = "%s(%s)" % (name, ", ".join("%s=%%r" % f for f in self.fields))
        parts, convs = [], []
        for fname, types in fields.items():
            pattern, conv = _TYPED.get(types[0], (None, None)) if len(types) == 1 else (None, None)
            if pattern is None:
                pattern, conv = "(%s)" % _VALUE, _simple_value
            parts.append("%s=%s" % (fname, pattern))
            convs.append(conv)
        self.exact = all(c is not _simple_value for c in convs)
        self._convs = convs
        call = r"%s\(%s\)" % (name, ", ".join(parts))
        self._call = re.compile(call)
        self._lines = re.compile(r"^[ \t]*%s[ \t]*$" % call, re.M)
        self._keyed_lines = re.compile(r"^[ \t]*%s: %s[ \t]*$" % (_STR_BODY, call), re.M)

    def write(self, values: Sequence[Any]) -> str:
        """``values`` in field order, already checked to be plain (str/int/float/bool/None)."""
        for i in self._floats:
            v = values[i]
            if type(v) is float and not math.isfinite(v):
                raise LiteralError("%r has no literal form" % v)
        return self._format % tuple(values)

    def _fields(self, groups: Sequence[str]) -> Dict[str, Any]:
        return dict(
            zip(self.fields, [g if c is None else c(g) for c, g in zip(self._convs, groups)])
        )

    def read(self, text: str) -> Optional[Dict[str, Any]]:
        """The fields of ``text`` if it is exactly this plain form, else None."""
        m = self._call.fullmatch(text)
        return None if m is None else self._fields(m.groups())

    def read_all(self, text: str, keyed: bool) -> Optional[List[Tuple[str, Dict[str, Any]]]]:
        """Every line of ``text`` as ``(key, fields)`` (key '' when not ``keyed``), or
        None unless every non-blank line is exactly this plain form."""
        pattern = self._keyed_lines if keyed else self._lines
        if pattern.sub("", text).strip():
            return None  # comments, other forms, junk: read line by line
        fields = self._fields
        if keyed:
            return [(g[0], fields(g[1:])) for g in pattern.findall(text)]
        return [("", fields(g if isinstance(g, tuple) else (g,))) for g in pattern.findall(text)]


def _simple_value(text: str) -> Any:
    c = text[0]
    if c == "'":
        return text[1:-1]
    if c == "T" or c == "F" or c == "N":
        return _CONSTANTS[text]
    if "." in text or "e" in text:
        return float(text)
    return int(text)


def simple_call(text: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    """``Name(field=value, ...)`` with only plain values -> (name, fields), else None."""
    m = _CALL.fullmatch(text)
    if m is None:
        return None
    args = m.group(2)
    fields: Dict[str, Any] = {}
    if args:
        for name, value in _ARG.findall(args):
            if name in fields:
                return None  # a repeated keyword: let SafeEval report it
            fields[name] = _simple_value(value)
    return m.group(1), fields


_PY_WORDS = re.compile(r"'([^']*)'|True|False|None")
_PY_STRINGS = re.compile(r"'([^']*)'")
_JSON_WORDS = {"True": "true", "False": "false", "None": "null"}


def _to_json_token(m: re.Match) -> str:
    inner = m.group(1)
    return '"' + inner + '"' if inner is not None else _JSON_WORDS[m.group(0)]


def repr_to_json(text: str) -> Any:
    """The value of literal text that uses only single-quoted strings without
    escapes, numbers, True/False/None, lists and str-keyed dicts, parsed by the C
    JSON parser; raises ValueError for anything else (then use ``ast.literal_eval``).

    Exact: with no backslash and no double quote in the text, a single-quoted
    Python string and the same characters in double quotes are the same
    string in both languages, and every other JSON token means what it means
    in Python.
    """
    if '"' in text or "\\" in text:
        raise ValueError("not a plain literal")
    inside = "\0".join(_PY_STRINGS.findall(text))
    if "True" in inside or "False" in inside or "None" in inside:
        translated = _PY_WORDS.sub(_to_json_token, text)  # words inside strings stay
    else:  # the words occur outside strings only: plain replacements are exact
        translated = (
            text.replace("'", '"')
            .replace("True", "true")
            .replace("False", "false")
            .replace("None", "null")
        )
    return json.loads(translated)
