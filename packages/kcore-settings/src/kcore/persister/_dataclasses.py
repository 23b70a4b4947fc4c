"""Persisters of dataclasses: one instance, a dict of them, a list of them.

Files are ``repr()`` text by default, as the original wrote them (``'key':
Type(field=value, ...)`` per line, ``Type(...)`` per line, ``field = value``
per line), or JSON with ``file_format='json'``. Either is read whatever the
setting, by parsers that never evaluate code, and every field is checked
against the dataclass annotations (see :mod:`kcore.persister._schema`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Optional, Tuple

from kcore.persister._base import ENC, Persister, PersisterError, json_lines, literal_eval
from kcore.persister._literal import (
    KEYED,
    LiteralError,
    PlainCall,
    SafeEval,
    TypeNames,
    simple_call,
    type_names,
    write_literal,
)
from kcore.persister._schema import Schema, SchemaError

MAX_KEY_SPLITS = 8  # ': ' positions tried when a key is not a plain quoted string


def _check_dc(dc_type: Any, what: str) -> None:
    if not (dataclasses.is_dataclass(dc_type) and isinstance(dc_type, type)):
        raise TypeError("%s must be a @dataclass class, not %r" % (what, dc_type))


def _where_entry(name: str, text: str, index: int, total: int) -> str:
    """'file, line N' for the index-th entry when the text has the one-entry-per-line
    JSON layout, else just the file name."""
    if text.count("\n") == total + 1:
        return "%s, line %d" % (name, index + 2)
    return name


class _DataclassPersister(Persister):
    """Shared parts of the dataclass persisters: schema, literal reader and writer."""

    _schema: Schema
    _safe_eval: SafeEval
    _names: TypeNames
    _plain: Optional[PlainCall]

    def _setup_schema(self, dc_type: Any, eval_globals: Optional[Dict[str, Any]] = None) -> None:
        self._schema = Schema.for_type(dc_type)
        known = self._schema.known_types()
        ctors: Dict[str, Any] = dict(known)
        for name, value in (eval_globals or {}).items():
            # Only constructors that build data: dataclass types (by the name given).
            if isinstance(value, type) and dataclasses.is_dataclass(value):
                ctors[name] = value
        self._safe_eval = SafeEval(ctors)
        self._names = type_names(known)
        fast = self._schema.fast  # every field a plain str/int/float/bool (or Optional)
        self._plain = None
        if fast is not None:
            self._plain = PlainCall(self._schema.name, fast)

    def _read_entry(self, value: Any, where: str) -> Any:
        try:
            return self._schema.read(value)
        except SchemaError as e:
            raise PersisterError("%s: %s" % (where, e)) from None

    def _write_entry(self, value: Any, where: str) -> Any:
        try:
            return self._schema.write(value)
        except SchemaError as e:
            raise PersisterError("%s: cannot save %s: %s" % (self._name(), where, e)) from None

    def _literal(self, value: Any, where: str) -> str:
        """The repr-format text of a checked value."""
        try:
            return write_literal(value, self._names, enums=True)
        except LiteralError as e:
            raise PersisterError("%s: cannot save %s: %s" % (self._name(), where, e.msg)) from None
        except RecursionError:
            raise PersisterError("%s: cannot save %s: nested too deeply" % (self._name(), where))

    def _entry_text(self, value: Any, where: str) -> str:
        checked = self._write_entry(value, where)  # the schema check: types, unknown values
        plain = self._plain
        if plain is not None and type(value) is self._schema.type:
            try:
                return plain.write(list(checked.values()))
            except LiteralError as e:
                raise PersisterError(
                    "%s: cannot save %s: %s" % (self._name(), where, e.msg)
                ) from None
        return self._literal(value, where)

    def _where(self, lineno: int) -> str:
        return "%s, line %d" % (self._name(), lineno)

    def _literal_value(self, text: str, lineno: int) -> Any:
        try:
            return self._safe_eval(text)
        except LiteralError as e:
            raise PersisterError("%s: %s" % (self._where(lineno), e.msg)) from None

    def _read_line(self, text: str, lineno: int) -> Any:
        """One ``Type(field=value, ...)`` entry (plain values take a fast path)."""
        plain = self._plain
        fields = plain.read(text) if plain is not None else None
        if fields is None:
            simple = simple_call(text)
            if simple is not None and simple[0] == self._schema.name:
                fields = simple[1]
        if fields is not None:
            return self._read_entry(fields, self._where(lineno))
        return self._read_entry(self._literal_value(text, lineno), self._where(lineno))

    def _read_plain(self, text: str, keyed: bool) -> Optional[List[Tuple[str, Any]]]:
        """Every entry as (key, instance) when every line is a plain one, else None."""
        plain = self._plain
        rows = plain.read_all(text, keyed) if plain is not None else None
        if rows is None:
            return None
        build = self._schema.type if plain is not None and plain.exact else None
        out = []
        for key, fields in rows:
            if build is not None:
                try:
                    out.append((key, build(**fields)))
                    continue
                except (TypeError, ValueError):
                    return None  # e.g. a missing field: the line-by-line reader explains
            try:
                out.append((key, self._schema.read(fields)))
            except SchemaError:
                return None
        return out

    def _load_json(self, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise PersisterError(
                "%s: not valid JSON: %s" % (self._where(e.lineno), e.msg)
            ) from None

    def _read_json(self, text: str, kind: type) -> List[Tuple[Any, Any]]:
        """(key, instance) for every entry of a JSON object (``kind=dict``) or
        array (``kind=list``, keys are indexes), each checked by the schema."""
        raw: Any = self._load_json(text)
        if not isinstance(raw, kind):
            raise PersisterError(
                "%s: expected a JSON %s" % (self._name(), "object" if kind is dict else "array")
            )
        data: Any = raw  # an object or an array (isinstance with a variable type narrows too far)
        entries = list(data.items() if kind is dict else enumerate(data))
        read = self._schema.read
        out = []
        for i, (key, value) in enumerate(entries):
            try:
                out.append((key, read(value)))
            except SchemaError as e:
                where = _where_entry(self._name(), text, i, len(entries))
                what = "key %r" % key if kind is dict else "item %d" % key
                raise PersisterError("%s: %s: %s" % (where, what, e)) from None
        return out


class PersisterDictOfDC(_DataclassPersister):
    """A dict of str -> dataclass instance.

    File: ``'key': Type(field=value, ...)`` per line (blank lines, ``#``
    comments and lines without ``': '`` are skipped, as in the original), or
    with ``file_format='json'`` a JSON object, one ``"key": {fields}`` per line.
    """

    def __init__(
        self,
        filename: Optional[str],
        rhs_type: Any,
        default_value: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        _check_dc(rhs_type, "rhs_type")
        self.rhs_type = rhs_type
        self._setup_schema(rhs_type, kwargs.pop("eval_globals", None))
        super().__init__(filename, {} if default_value is None else default_value, **kwargs)

    def serialize(self, data: Any) -> str:
        if not isinstance(data, dict):
            raise PersisterError(
                "%s: PersisterDictOfDC holds a dict, not %s" % (self._name(), type(data).__name__)
            )
        for key in data:
            if not isinstance(key, str):
                raise PersisterError(
                    "%s: keys must be str, got %s" % (self._name(), type(key).__name__)
                )
        if not data:
            return "{}\n"
        if self.file_format == "json":
            lines = [
                ENC(k) + ": " + ENC(self._write_entry(v, "key %r" % k)) for k, v in data.items()
            ]
            return "{\n" + ",\n".join(lines) + "\n}\n"
        return "".join(
            "%r: %s\n" % (k, self._entry_text(v, "key %r" % k)) for k, v in data.items()
        )

    def deserialize(self, serialized: str) -> Any:
        text = serialized.strip()
        if not text:
            return self.get_default_value()
        if text.startswith("{"):
            return dict(self._read_json(text, dict))
        rows = self._read_plain(serialized, keyed=True)
        if rows is not None:
            return dict(rows)
        out = {}
        for n, raw_line in enumerate(serialized.splitlines(), 1):
            line = raw_line.replace("\t", " ").strip()
            if not line or line.startswith("#") or ": " not in line:
                continue
            m = KEYED.match(line)
            key, value = (m.group(1), m.group(2)) if m else _split_key(line)
            out[key] = self._read_line(value.rstrip(","), n)
        return out


def _split_key(line: str) -> Tuple[str, str]:
    """``<quoted key>: <value>`` where the key has escapes or ``': '`` inside;
    failing that, the original's reading (first ``': '``, quotes removed)."""
    start, tries = 0, 0
    while tries < MAX_KEY_SPLITS:
        i = line.find(": ", start)
        if i < 0:
            break
        start = i + 1
        if i < 2 or line[0] not in "'\"" or line[i - 1] != line[0]:
            continue
        tries += 1
        try:
            key = literal_eval(line[:i])
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(key, str):
            return key, line[i + 2 :]
    key, value = line.split(": ", 1)
    return key.replace("'", "").replace('"', "").strip(), value


class PersisterListOfDC(_DataclassPersister):
    """A list of dataclass instances.

    File: one ``Type(field=value, ...)`` per line (blank and ``#`` lines
    skipped), or with ``file_format='json'`` a JSON array, one ``{fields}`` per
    line. ``eval_globals`` may name extra dataclass types the lines use
    (nothing else is ever called).
    """

    def __init__(
        self,
        filename: Optional[str],
        dc_type: Any,
        default_value: Optional[List[Any]] = None,
        eval_globals: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        _check_dc(dc_type, "dc_type")
        self.dc_type = dc_type
        self._setup_schema(dc_type, eval_globals)
        super().__init__(filename, [] if default_value is None else default_value, **kwargs)

    def serialize(self, data: Any) -> str:
        if not isinstance(data, list):
            raise PersisterError(
                "%s: PersisterListOfDC holds a list, not %s" % (self._name(), type(data).__name__)
            )
        if not data:
            return "[]\n"
        if self.file_format == "json":
            lines = [ENC(self._write_entry(v, "item %d" % i)) for i, v in enumerate(data)]
            return "[\n" + ",\n".join(lines) + "\n]\n"
        return "".join(self._entry_text(v, "item %d" % i) + "\n" for i, v in enumerate(data))

    def deserialize(self, serialized: str) -> Any:
        text = serialized.strip()
        if not text:
            return self.get_default_value()
        if text.startswith("["):
            return [value for _index, value in self._read_json(text, list)]
        rows = self._read_plain(serialized, keyed=False)
        if rows is not None:
            return [value for _key, value in rows]
        out = []
        for n, raw_line in enumerate(serialized.splitlines(), 1):
            line = raw_line.strip()
            if line and not line.startswith("#"):
                out.append(self._read_line(line, n))
        return out


class PersisterDC(_DataclassPersister):
    """One dataclass instance as ``field = value`` lines (values are Python
    literals; a str field may also be written without quotes; blank lines,
    ``#``/``;`` comments and lines without ``=`` are skipped). With
    ``file_format='json'``: a JSON object, one field per line."""

    def __init__(self, filename: Optional[str], dc_type: Any, **kwargs: Any) -> None:
        _check_dc(dc_type, "dc_type")
        self.dc_type = dc_type
        self._setup_schema(dc_type, kwargs.pop("eval_globals", None))
        default = kwargs.pop("default_value", None)
        if default is None:
            try:
                default = dc_type()
            except TypeError:
                default = None  # fields without defaults: no default instance
        super().__init__(filename, default, **kwargs)

    def serialize(self, data: Any) -> str:
        if not isinstance(data, self.dc_type):
            raise PersisterError(
                "%s: PersisterDC holds a %s, not %s"
                % (self._name(), self.dc_type.__name__, type(data).__name__)
            )
        checked = self._write_entry(data, "the value")
        if self.file_format == "json":
            return json_lines(checked)
        lines = []
        for name, _read, _write in self._schema.fields:
            lines.append("%s = %s" % (name, self._literal(getattr(data, name), "field " + name)))
        return "\n".join(lines) + "\n"

    def deserialize(self, serialized: str) -> Any:
        text = serialized.strip()
        if text.startswith("{"):
            return self._read_entry(self._load_json(text), self._name())
        fields: Dict[str, Any] = {}
        for n, raw in enumerate(serialized.splitlines(), 1):
            line = raw.strip()
            if not line or line[0] in "#;" or "=" not in line:
                continue  # comments, blank lines and junk, as in the original
            key, value = (part.strip() for part in line.split("=", 1))
            if key not in self._schema.readers:
                raise PersisterError(
                    '%s: field "%s" not defined in @dataclass %s'
                    % (self._where(n), key, self.dc_type.__name__)
                )
            fields[key] = self._field_value(key, value, n)
        if not fields:
            return self.get_default_value()
        return self._read_entry(fields, self._name())

    def _field_value(self, key: str, value: str, lineno: int) -> Any:
        try:
            return self._safe_eval(value)
        except LiteralError as e:
            first_error = e
        stripped = _strip_comment(value)
        if stripped != value:
            try:
                return self._safe_eval(stripped)
            except LiteralError:
                pass
        read = self._schema.readers[key]
        try:  # unquoted text for a str field
            return read(stripped)
        except SchemaError:
            pass
        raise PersisterError("%s: field %s: %s" % (self._where(lineno), key, first_error.msg))


def _strip_comment(value: str) -> str:
    """Cut a trailing ``# ...`` or ``; ...`` that is outside quotes and follows a space."""
    quote = None
    prev = " "
    for i, ch in enumerate(value):
        if quote:
            if ch == quote and prev != "\\":
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "#;" and prev in " \t":
            return value[:i].rstrip()
        prev = ch
    return value


class _SelfCached(Persister):
    """A container that *is* its persister's cache (as in the original): the
    whole Persister API (``get_data``, ``set_data``, ``get_ro``, ``get_rw``,
    the locked variants, a settable ``filename``) plus ``load()``/``save()``."""

    def _replace_contents(self, data: Any) -> None:
        raise NotImplementedError

    @property  # type: ignore[override]
    def cache(self) -> Any:
        return self

    @cache.setter
    def cache(self, value: Any) -> None:
        if value is not self:
            self._replace_contents(value)

    def load(self) -> None:
        """Reload from the file if it changed."""
        self.get_data()

    def save(self) -> None:
        self.set_data()

    @property
    def persister(self) -> Persister:
        """Itself (the persister and the container are one object)."""
        return self


class DictOfDataclasses(_SelfCached, PersisterDictOfDC, dict):  # type: ignore[misc]
    """A dict that is its own persister cache: edit it, then :meth:`save`."""

    def __init__(self, filename: Optional[str], rhs_type: Any, **kwargs: Any) -> None:
        super().__init__(filename, rhs_type, **kwargs)

    def _replace_contents(self, data: Any) -> None:
        self.clear()
        self.update(data or {})


class ListOfDataclasses(_SelfCached, PersisterListOfDC, list):  # type: ignore[misc]
    """A list that is its own persister cache: edit it, then :meth:`save`."""

    def __init__(self, filename: Optional[str], dc_type: Any, **kwargs: Any) -> None:
        super().__init__(filename, dc_type, **kwargs)

    def _replace_contents(self, data: Any) -> None:
        self[:] = data or []
