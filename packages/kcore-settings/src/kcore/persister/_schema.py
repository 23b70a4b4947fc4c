"""Converters between dataclass instances and JSON values, built from the fields.

Why: ``repr()`` text read back with ``eval`` would run whatever the file holds;
here nothing is evaluated and the dataclass's own field types are the schema.
Every value read is checked against its field type (a wrong type, an unknown
field or a missing one is an error), and types JSON lacks are mapped explicitly
(datetime -> ISO text, tuple/set -> list, nested dataclass -> object, Enum ->
its value).

Readers accept both the JSON form and the native Python form of a value, so
the same converters serve the JSON files and the ``field = value`` files.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

Conv = Callable[[Any], Any]


class SchemaError(ValueError):
    """A value that does not fit its field; ``path`` says where inside the value."""

    def __init__(self, msg: str, path: Tuple[str, ...] = ()) -> None:
        super().__init__(msg)
        self.msg = msg
        self.path = path

    def within(self, step: str) -> SchemaError:
        return SchemaError(self.msg, (step, *self.path))

    def __str__(self) -> str:
        where = "".join(self.path)
        return "%s: %s" % (where, self.msg) if where else self.msg


def _ident(v: Any) -> Any:
    return v


def _tname(t: Any) -> str:
    return getattr(t, "__name__", None) or str(t).replace("typing.", "")


def _simple(t: type) -> Tuple[Conv, Conv]:
    def check(v: Any) -> Any:
        if type(v) is t or (isinstance(v, t) and not isinstance(v, bool)):
            return v
        if t is float and type(v) is int:
            return float(v)
        raise SchemaError("expected %s, got %s" % (t.__name__, type(v).__name__))

    check.simple = (t,)  # type: ignore[attr-defined]  # exact types the fast path accepts
    return check, check


def _optional(inner: Tuple[Conv, Conv]) -> Tuple[Conv, Conv]:
    fin, fout = inner

    def read(v: Any) -> Any:
        return None if v is None else fin(v)

    def write(v: Any) -> Any:
        return None if v is None else fout(v)

    simple = getattr(fin, "simple", None)
    if simple is not None:
        read.simple = (*simple, type(None))  # type: ignore[attr-defined]
    read.simple_none = True  # type: ignore[attr-defined]
    return read, write


def _seq(t: Any, inner: Tuple[Conv, Conv], kind: type) -> Tuple[Conv, Conv]:
    fin, fout = inner

    def read(v: Any) -> Any:
        if not isinstance(v, (list, tuple, set, frozenset)):
            raise SchemaError("expected a list for %s, got %s" % (_tname(t), type(v).__name__))
        out = []
        for i, x in enumerate(v):
            try:
                out.append(fin(x))
            except SchemaError as e:
                raise e.within("[%d]" % i) from None
        return out if kind is list else kind(out)

    def write(v: Any) -> Any:
        if not isinstance(v, (list, tuple, set, frozenset)):
            raise SchemaError("expected %s, got %s" % (_tname(t), type(v).__name__))
        items = v
        if isinstance(v, (set, frozenset)):
            try:
                items = sorted(v)
            except TypeError:
                items = list(v)
        return [fout(x) for x in items]

    return read, write


def _mapping(t: Any, key_t: Any, inner: Tuple[Conv, Conv]) -> Tuple[Conv, Conv]:
    fin, fout = inner
    int_keys = key_t is int

    def read(v: Any) -> Any:
        if not isinstance(v, dict):
            raise SchemaError("expected an object for %s, got %s" % (_tname(t), type(v).__name__))
        out = {}
        for k, x in v.items():
            try:
                key = int(k) if int_keys and isinstance(k, str) else k
                out[key] = fin(x)
            except (SchemaError, ValueError) as e:
                err = e if isinstance(e, SchemaError) else SchemaError("bad key %r" % (k,))
                raise err.within("[%r]" % (k,)) from None
        return out

    def write(v: Any) -> Any:
        if not isinstance(v, dict):
            raise SchemaError("expected %s, got %s" % (_tname(t), type(v).__name__))
        out = {}
        for k, x in v.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise SchemaError("dict keys must be str or int, got %s" % type(k).__name__)
            out[str(k) if int_keys or not isinstance(k, str) else k] = fout(x)
        return out

    return read, write


def _datetime_like(t: type) -> Tuple[Conv, Conv]:
    def read(v: Any) -> Any:
        if type(v) is t:
            return v
        if isinstance(v, str):
            try:
                return t.fromisoformat(v)  # type: ignore[attr-defined]
            except ValueError:
                raise SchemaError("%r is not an ISO %s" % (v, t.__name__)) from None
        raise SchemaError("expected %s (ISO text), got %s" % (t.__name__, type(v).__name__))

    def write(v: Any) -> Any:
        if not isinstance(v, t) or (t is datetime.date and isinstance(v, datetime.datetime)):
            raise SchemaError("expected %s, got %s" % (t.__name__, type(v).__name__))
        return v.isoformat()  # type: ignore[attr-defined]

    return read, write


def _timedelta() -> Tuple[Conv, Conv]:
    def read(v: Any) -> Any:
        if isinstance(v, datetime.timedelta):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return datetime.timedelta(seconds=v)
        raise SchemaError("expected timedelta (seconds), got %s" % type(v).__name__)

    def write(v: Any) -> Any:
        if not isinstance(v, datetime.timedelta):
            raise SchemaError("expected timedelta, got %s" % type(v).__name__)
        return v.total_seconds()

    return read, write


def _enum(t: Any) -> Tuple[Conv, Conv]:
    def read(v: Any) -> Any:
        if isinstance(v, t):
            return v
        try:
            return t(v)
        except ValueError:
            raise SchemaError("%r is not a %s" % (v, t.__name__)) from None

    def write(v: Any) -> Any:
        if not isinstance(v, t):
            raise SchemaError("expected %s, got %s" % (t.__name__, type(v).__name__))
        return v.value

    return read, write


_JSON_NATIVE = (str, int, float, bool, type(None))


def _any_write(v: Any) -> Any:
    """Untyped fields: JSON values only (checked, so a file stays readable)."""
    if isinstance(v, _JSON_NATIVE):
        return v
    if isinstance(v, list):
        return [_any_write(x) for x in v]
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        return {k: _any_write(x) for k, x in v.items()}
    raise SchemaError(
        "a value of type %s cannot be stored in an untyped field: annotate the field"
        % type(v).__name__
    )


def converters(t: Any, seen: Dict[type, Schema]) -> Tuple[Conv, Conv]:
    """(read, write) converters for the type annotation ``t``."""
    if t is Any or t is None or isinstance(t, (str, typing.TypeVar)):
        return _ident, _any_write
    if t is type(None):
        return _simple(type(None))
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if origin is typing.Union or type(t).__name__ == "UnionType":
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            inner = converters(rest[0], seen)
            return _optional(inner) if len(rest) < len(args) else inner
        return _ident, _any_write
    if origin in (list, tuple, set, frozenset):
        elem: Any = args[0] if args else Any
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            elem = args[0] if args and len(set(args)) == 1 else Any
        return _seq(t, converters(elem, seen), origin)
    if origin is dict:
        key_t = args[0] if args else str
        return _mapping(t, key_t, converters(args[1] if args else Any, seen))
    if origin is not None:  # Literal, Annotated, abc types ...: no check
        return _ident, _any_write
    if t in (list, tuple, set, frozenset):
        return _seq(t, (_ident, _any_write), t)
    if t is dict:
        return _mapping(t, str, (_ident, _any_write))
    if t in (str, int, float, bool):
        return _simple(t)
    if t is datetime.datetime or t is datetime.date or t is datetime.time:
        return _datetime_like(t)
    if t is datetime.timedelta:
        return _timedelta()
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return _enum(t)
    if dataclasses.is_dataclass(t) and isinstance(t, type):
        sub = Schema.for_type(t, seen)
        return sub.read_lazy, sub.write_lazy
    return _ident, _any_write


class Schema:
    """Read/write converters for one dataclass type."""

    def __init__(self, dc_type: type) -> None:
        if not (dataclasses.is_dataclass(dc_type) and isinstance(dc_type, type)):
            raise TypeError("%r is not a @dataclass class" % (dc_type,))
        self.type = dc_type
        self.name = dc_type.__name__
        self.fields: List[Tuple[str, Conv, Conv]] = []
        self.readers: Dict[str, Conv] = {}
        self.required: List[str] = []
        # field -> exact types, when every field is a plain str/int/float/bool
        # (or Optional of one): then read/write check inline, without converters.
        self.fast: Optional[Dict[str, tuple]] = None

    @classmethod
    def for_type(cls, dc_type: type, seen: Optional[Dict[type, Schema]] = None) -> Schema:
        seen = {} if seen is None else seen
        if dc_type in seen:
            return seen[dc_type]
        schema = cls(dc_type)
        seen[dc_type] = schema
        try:
            hints = typing.get_type_hints(dc_type)
        except Exception:  # unresolvable string annotations: fall back to the raw types
            hints = {}
        for f in dataclasses.fields(dc_type):
            if not f.init:
                continue
            t = hints.get(f.name, f.type)
            read, write = converters(t, seen)
            if f.default is None and not hasattr(read, "simple_none"):
                read, write = _optional((read, write))  # `x: int = None` allows None
            schema.fields.append((f.name, read, write))
            schema.readers[f.name] = read
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                schema.required.append(f.name)
        simple = {name: getattr(read, "simple", None) for name, read, _w in schema.fields}
        if all(v is not None for v in simple.values()):
            schema.fast = simple  # type: ignore[assignment]
        return schema

    def known_types(self) -> Dict[str, type]:
        """Every dataclass type this schema can build, by class name."""
        out: Dict[str, type] = {}
        todo = [self]
        while todo:
            s = todo.pop()
            if s.name in out:
                continue
            out[s.name] = s.type
            for _name, read, _w in s.fields:
                owner = getattr(read, "__self__", None)
                if isinstance(owner, Schema):
                    todo.append(owner)
        return out

    def read(self, value: Any) -> Any:
        """A JSON object (or an instance) -> an instance, checked field by field."""
        fast = self.fast
        if fast is not None and type(value) is dict:
            for name, v in value.items():
                allowed = fast.get(name)
                if allowed is None or type(v) not in allowed:
                    return self._read(value)  # conversion needed, or an error to explain
            try:
                return self.type(**value)
            except (TypeError, ValueError):
                pass
        return self._read(value)

    def _read(self, value: Any) -> Any:
        if isinstance(value, self.type):
            value = {n: getattr(value, n) for n, _r, _w in self.fields}
        if type(value) is not dict:
            raise SchemaError(
                "expected an object for %s, got %s" % (self.name, type(value).__name__)
            )
        readers = self.readers
        kwargs = {}
        for name, v in value.items():
            read = readers.get(name)
            if read is None:
                raise SchemaError('field "%s" not defined in @dataclass %s' % (name, self.name))
            try:
                kwargs[name] = read(v)
            except SchemaError as e:
                raise e.within(".%s" % name) from None
        try:
            return self.type(**kwargs)
        except (TypeError, ValueError) as e:
            missing = [n for n in self.required if n not in kwargs]
            if missing:
                raise SchemaError(
                    "%s is missing field(s) %s" % (self.name, ", ".join(missing))
                ) from None
            raise SchemaError("cannot build %s: %s" % (self.name, e)) from None

    def write(self, obj: Any) -> Dict[str, Any]:
        """An instance -> a JSON object (checked field by field)."""
        if not isinstance(obj, self.type):
            raise SchemaError("expected a %s, got %s" % (self.name, type(obj).__name__))
        fast = self.fast
        if fast is not None:
            out = {}
            for name, allowed in fast.items():
                v = getattr(obj, name)
                if type(v) not in allowed:
                    break
                out[name] = v
            else:
                return out
        out = {}
        for name, _read, write in self.fields:
            try:
                out[name] = write(getattr(obj, name))
            except SchemaError as e:
                raise e.within(".%s" % name) from None
        return out

    # Bound methods used as nested converters (known_types finds them by __self__).
    def read_lazy(self, value: Any) -> Any:
        return self.read(value)

    def write_lazy(self, value: Any) -> Any:
        return self.write(value)
