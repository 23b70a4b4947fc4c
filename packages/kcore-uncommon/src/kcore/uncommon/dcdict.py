"""A ``dict`` of str -> dataclass instance, kept in a JSON file (no eval).

The original wrote ``'<key>': <dataclass repr>`` lines and read them back with
``eval``: a file anyone could edit ran code. Here the file is JSON with an
explicit schema check (only the dataclass's fields, simple types checked),
written atomically, optionally encrypted with :func:`kcore.uncommon.encrypt`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import typing
from typing import Any, Dict, Iterator, Optional, Type, Union

from kcore.uncommon.errors import SerializationError

FORMAT_TAG = "kcore.dict-of-dataclasses/1"
_SIMPLE = (str, int, float, bool)


def _field_checks(rhs_type: type) -> Dict[str, Any]:
    """field name -> (allowed simple types or None for 'anything', None allowed?)."""
    try:
        hints = typing.get_type_hints(rhs_type)
    except Exception:  # unresolvable string annotations: check names only
        hints = {}
    checks: Dict[str, Any] = {}
    for f in dataclasses.fields(rhs_type):
        hint = hints.get(f.name)
        allowed: Any = None
        nullable = False
        if hint in _SIMPLE:
            allowed = (hint,)
        elif typing.get_origin(hint) is Union:
            args = typing.get_args(hint)
            nullable = type(None) in args
            rest = tuple(a for a in args if a is not type(None))
            if rest and all(a in _SIMPLE for a in rest):
                allowed = rest
        checks[f.name] = (allowed, nullable)
    return checks


def _type_ok(value: Any, allowed: Any, nullable: bool) -> bool:
    if value is None:
        return nullable or allowed is None
    if allowed is None:
        return True
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int) and float in allowed:
        return True
    return isinstance(value, allowed)


def dataclass_from_dict(rhs_type: type, fields: Any, where: str = "value") -> Any:
    """Build ``rhs_type(**fields)`` after checking names and simple types."""
    if not isinstance(fields, dict):
        raise SerializationError(
            "%s: expected a JSON object, got %s" % (where, type(fields).__name__)
        )
    checks = _field_checks(rhs_type)
    for name, value in fields.items():
        if name not in checks:
            raise SerializationError(
                '%s: field "%s" not defined in @dataclass %s' % (where, name, rhs_type.__name__)
            )
        allowed, nullable = checks[name]
        if not _type_ok(value, allowed, nullable):
            raise SerializationError(
                '%s: field "%s" has type %s, expected %s'
                % (where, name, type(value).__name__, "/".join(a.__name__ for a in allowed))
            )
    try:
        return rhs_type(**fields)
    except (TypeError, ValueError) as e:
        raise SerializationError(
            "%s: cannot build %s: %s" % (where, rhs_type.__name__, e)
        ) from None


def dumps_dict_of_dataclasses(data: Dict[str, Any], rhs_type: Optional[type] = None) -> str:
    """Serialize to the JSON text :func:`loads_dict_of_dataclasses` reads."""
    out = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise SerializationError("keys must be str, got %s" % type(key).__name__)
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            raise SerializationError('value for "%s" is not a dataclass instance' % key)
        if rhs_type is not None and not isinstance(value, rhs_type):
            raise SerializationError(
                'value for "%s" is a %s, expected %s'
                % (key, type(value).__name__, rhs_type.__name__)
            )
        out[key] = dataclasses.asdict(value)
    name = rhs_type.__name__ if rhs_type is not None else None
    doc = {"format": FORMAT_TAG, "type": name, "data": out}
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def loads_dict_of_dataclasses(text: str, rhs_type: type) -> Dict[str, Any]:
    """Parse and validate; a clear :class:`SerializationError` on any mismatch."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise SerializationError("not valid JSON: %s" % e) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_TAG:
        raise SerializationError("not a %s document" % FORMAT_TAG)
    if doc.get("type") not in (None, rhs_type.__name__):
        raise SerializationError(
            "file holds %s values, expected %s" % (doc.get("type"), rhs_type.__name__)
        )
    data = doc.get("data")
    if not isinstance(data, dict):
        raise SerializationError('"data" must be a JSON object')
    return {k: dataclass_from_dict(rhs_type, v, 'key "%s"' % k) for k, v in data.items()}


class DictOfDataclasses(dict):
    """A dict that is its own cache of a file: ``load()``, ``save()``, ``locked()``.

    ``filename=None`` keeps it in memory only. With a ``password`` the file is
    one ``kcrypt1:`` line (see :func:`kcore.uncommon.encrypt`) written 0600; a
    plain JSON file keeps its permissions (new ones: 0666 less the umask).
    """

    def __init__(
        self,
        filename: Optional[str] = None,
        rhs_type: Optional[Type[Any]] = None,
        password: Optional[str] = None,
        *,
        legacy: bool = False,
        load: bool = True,
    ) -> None:
        super().__init__()
        if rhs_type is None or not dataclasses.is_dataclass(rhs_type):
            raise TypeError("rhs_type must be a @dataclass class")
        self.filename = filename
        self.rhs_type = rhs_type
        self.password = password
        self.legacy = legacy
        if load and filename:
            self.load()

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise SerializationError("keys must be str, got %s" % type(key).__name__)
        if not isinstance(value, self.rhs_type):
            raise SerializationError(
                'value for "%s" is a %s, expected %s'
                % (key, type(value).__name__, self.rhs_type.__name__)
            )
        super().__setitem__(key, value)

    def dumps(self) -> str:
        return dumps_dict_of_dataclasses(self, self.rhs_type)

    def loads(self, text: str) -> None:
        data = loads_dict_of_dataclasses(text, self.rhs_type)
        self.clear()
        self.update(data)

    def load(self) -> None:
        """Replace the contents with the file's (a missing file means empty)."""
        if not self.filename:
            return
        try:
            with open(self.filename, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            self.clear()
            return
        if self.password:
            from kcore.uncommon.crypto import decrypt

            text = decrypt(text, self.password, legacy=self.legacy)
        self.loads(text)

    def save(self) -> None:
        """Write the file atomically (temp file, fsync, rename)."""
        if not self.filename:
            return
        from kcore.common import write_file_atomic

        text = self.dumps()
        if self.password:
            from kcore.uncommon.crypto import encrypt

            text = encrypt(text, self.password) + "\n"
        write_file_atomic(self.filename, text, mode=0o600 if self.password else None)

    @contextlib.contextmanager
    def locked(self, timeout: Optional[float] = None) -> Iterator[DictOfDataclasses]:
        """Inter-process read-modify-write: lock, reload, yield, save."""
        from kcore.common import FileLock

        if not self.filename:
            yield self
            return
        with FileLock(os.fspath(self.filename) + ".lock", timeout=timeout):
            self.load()
            yield self
            self.save()
