"""kcore.persister: an in-memory copy of a data structure kept in sync with a file.

The file stays human-readable and hand-editable; it is never ``eval``-ed::

    from dataclasses import dataclass
    from kcore.persister import PersisterDictOfDC

    @dataclass
    class Host:
        ip: str
        port: int = 22

    hosts = PersisterDictOfDC("hosts.data", Host)
    with hosts.get_rw_locked_file() as data:   # lock, reload, modify, save
        data["pi"] = Host("10.0.0.5")

How it stays safe:

* reading: JSON (``json.loads``) or a literal parser (``ast.literal_eval``,
  or for dataclass files a tree walker that only calls the dataclass types and
  ``datetime``); dataclass fields are checked against their annotations;
* writing: temp file + fsync + rename (:func:`kcore.common.write_file_atomic`),
  so a crash leaves the old or the new file, never a torn one;
* freshness: the file's (mtime_ns, size, inode), not its mtime in seconds;
* locking: a thread lock, and an inter-process :class:`kcore.common.FileLock`
  on ``<file>.lock`` for read-modify-write;
* encryption (``password=``): scrypt + AES-GCM through ``kcore.uncommon``
  (``pip install 'kcore-settings[crypto]'``); encrypted files are created 0600.
"""

from __future__ import annotations

__version__ = "0.1.0"

import ast
import contextlib
import copy
import dataclasses
import json
import os
import sys
import threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

from kcore.common.platform import KcoreError
from kcore.persister._literal import LiteralError, SafeEval
from kcore.persister._schema import Schema, SchemaError

__all__ = [
    "DictOfDataclasses",
    "ListOfDataclasses",
    "Persister",
    "PersisterDC",
    "PersisterDictOfDC",
    "PersisterError",
    "PersisterListOfDC",
]

CRYPTO_HINT = "pip install 'kcore-settings[crypto]'"


def _make_encoder() -> Any:
    """One reusable C JSON encoder (``JSONEncoder.encode`` builds a new one per
    call, which dominates when encoding one small entry per line)."""

    def refuse(o: Any) -> Any:
        raise TypeError("%s is not JSON serializable" % type(o).__name__)

    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - pure-Python json
        c_make_encoder = None
    if c_make_encoder is None:  # pragma: no cover
        return json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False).encode
    c_enc = c_make_encoder(None, refuse, encode_basestring, None, ": ", ", ", False, False, False)

    def encode(o: Any) -> str:
        if isinstance(o, str):
            return encode_basestring(o)
        return "".join(c_enc(o, 0))

    return encode


_ENC = _make_encoder()
Signature = Tuple[int, int, int]


class PersisterError(KcoreError, ValueError):
    """A persister file that cannot be read or a value that cannot be written.

    Messages name the file (and the line where one is known); they never
    contain the password or decrypted data.
    """


def _crypto() -> Any:
    try:
        import kcore.uncommon as uncommon
    except ImportError:
        raise ImportError(
            "kcore.persister encryption needs kcore-uncommon: %s" % CRYPTO_HINT
        ) from None
    return uncommon


def _signature(st: os.stat_result) -> Signature:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _json_lines(data: Any) -> str:
    """JSON with one top-level entry per line: readable and diff-friendly."""
    if isinstance(data, dict) and data:
        return "{\n" + ",\n".join(_ENC(k) + ": " + _ENC(v) for k, v in data.items()) + "\n}\n"
    if isinstance(data, list) and data:
        return "[\n" + ",\n".join(_ENC(v) for v in data) + "\n]\n"
    return _ENC(data) + "\n"


class Persister:
    """A cached copy of one value (str, numbers, lists, dicts, ...) and its file.

    ``filename=None`` keeps the value in memory only; ``'-'`` reads stdin and
    writes stdout. Attributes ``cache`` (the value) and ``cache_mtime`` (the
    file signature the cache was read from or written to) are public.
    """

    def __init__(
        self,
        filename: Optional[str] = None,
        default_value: Any = None,
        password: Optional[str] = None,
        *,
        legacy_crypto: bool = False,
        lock_timeout: Optional[float] = None,
    ) -> None:
        if filename is not None and not isinstance(filename, (str, os.PathLike)):
            raise TypeError("filename must be a str or None, not %s" % type(filename).__name__)
        self.filename: Optional[str] = os.fspath(filename) if filename is not None else None
        self.default_value = default_value
        if password is not None and not isinstance(password, str):
            raise TypeError("password must be a str")
        if password:
            _crypto()  # fail now, naming the extra, rather than at the first save
        self.password = password or None
        self.legacy_crypto = legacy_crypto
        self.cache: Any = None
        self.cache_mtime: Optional[Signature] = None
        self.thread_lock = threading.RLock()
        self.file_lock: Any = None
        if self.filename and self.filename != "-":
            from kcore.common import FileLock

            self.file_lock = FileLock(self.filename + ".lock", timeout=lock_timeout)
        self._file_lock_owner: Optional[int] = None
        self._stdin_read = False
        if self.filename:
            self.load_from_file()
        else:
            self.cache = self.get_default_value()

    # ------------------------------------------------------------ overridables

    def get_default_value(self) -> Any:
        """A fresh copy of ``default_value`` (deep: edits never leak into it)."""
        return copy.deepcopy(self.default_value)

    def serialize(self, data: Any) -> str:
        """JSON when it round-trips exactly, else a checked Python literal."""
        try:
            text = _json_lines(data)
            if json.loads(text) == data:
                return text
        except (TypeError, ValueError, RecursionError):
            pass
        text = repr(data) + "\n"
        try:
            ok = ast.literal_eval(text.strip()) == data
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            ok = False
        if not ok:
            raise PersisterError(
                "%s: cannot save a %s: only str, bytes, numbers, bool, None, lists, tuples, "
                "sets and dicts of them can be stored (use PersisterDictOfDC/PersisterListOfDC "
                "for dataclasses)" % (self._name(), type(data).__name__)
            )
        return text

    def deserialize(self, serialized: str) -> Any:
        """Parse what :meth:`serialize` wrote (or an original kcore file)."""
        text = serialized.strip()
        if not text:
            return self.get_default_value()
        try:
            return json.loads(text)
        except ValueError as e:
            json_err = e
        try:
            return ast.literal_eval(text)
        except SyntaxError as e:
            raise PersisterError(
                "%s, line %s: neither JSON (%s) nor a Python literal (%s)"
                % (self._name(), e.lineno, json_err, e.msg)
            ) from None
        except (ValueError, TypeError, MemoryError, RecursionError):
            line = getattr(json_err, "lineno", None)
            raise PersisterError(
                "%s, line %s: not a valid value: %s" % (self._name(), line, json_err)
            ) from None

    # ------------------------------------------------------------ file helpers

    def _name(self) -> str:
        return self.filename or "<memory>"

    def get_file_signature(self) -> Optional[Signature]:
        """(mtime_ns, size, inode) of the file, or None if it does not exist."""
        if not self.filename or self.filename == "-":
            return None
        try:
            return _signature(os.stat(self.filename))
        except FileNotFoundError:
            return None

    def get_file_mtime(self) -> Optional[float]:
        """The file's mtime in seconds (None if missing); freshness uses the signature."""
        if not self.filename or self.filename == "-":
            return None
        try:
            return os.stat(self.filename).st_mtime
        except FileNotFoundError:
            return None

    def is_cache_fresh(self) -> bool:
        if not self.filename or self.filename == "-":
            return True
        return self.get_file_signature() == self.cache_mtime

    def _read_text(self) -> Tuple[Optional[str], Optional[Signature]]:
        if self.filename == "-":
            if self._stdin_read:
                return None, None
            self._stdin_read = True
            return sys.stdin.read(), None
        assert self.filename is not None
        try:
            fd = os.open(self.filename, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None, None
        except OSError as e:
            raise PersisterError("%s: cannot read: %s" % (self.filename, e.strerror)) from None
        with os.fdopen(fd, "rb") as f:
            sig = _signature(os.fstat(fd))  # the inode we actually read
            raw = f.read()
        try:
            return raw.decode("utf-8"), sig
        except UnicodeDecodeError as e:
            raise PersisterError(
                "%s: not UTF-8 text (byte %d)" % (self.filename, e.start)
            ) from None

    def _decrypt(self, text: str) -> str:
        uncommon = _crypto()
        if not self.password:
            raise PersisterError("%s: the file is encrypted: pass password=" % self._name())
        try:
            return uncommon.decrypt(text, self.password, legacy=self.legacy_crypto)
        except ValueError as e:  # DecryptionError: wrong password, damaged data
            raise PersisterError("%s: %s" % (self._name(), e)) from None

    def load_from_file(self) -> bool:
        """Replace the cache with the file's contents (a missing file gives the
        default). A file that cannot be read or parsed raises
        :class:`PersisterError` and leaves the cache as it was."""
        if not self.filename:
            return False
        with self.thread_lock:
            text, sig = self._read_text()
            if text is None:
                if self.filename != "-" or self.cache is None:
                    self.cache = self.get_default_value()
                self.cache_mtime = None
                return False
            head = text.lstrip()[:8]
            if head.startswith(("kcrypt1:", "pcrypt1:")):
                text = self._decrypt(text)
            elif self.password and head:
                raise PersisterError(
                    "%s: expected an encrypted file (a password was given) but it is plain text"
                    % self._name()
                )
            self.cache = self.deserialize(text)
            self.cache_mtime = sig
            return True

    def save_to_file(self) -> bool:
        """Write the cache atomically (temp file, fsync, rename)."""
        if not self.filename:
            return False
        from kcore.common import write_file_atomic

        with self.thread_lock:
            text = self.serialize(self.cache)
            try:
                payload = text.encode("utf-8")
            except UnicodeEncodeError:
                raise PersisterError(
                    "%s: cannot save a str holding a lone surrogate (not valid Unicode)"
                    % self._name()
                ) from None
            mode = None
            if self.password:
                payload = (_crypto().encrypt(payload, self.password) + "\n").encode("ascii")
                mode = 0o600
            write_file_atomic(self.filename, payload, mode=mode)
            self.cache_mtime = self.get_file_signature()
        return True

    # ------------------------------------------------------------ data access

    def get_data(self) -> Any:
        """The cached value, reloaded first if the file changed."""
        with self.thread_lock:
            if self.filename and self.filename != "-" and not self.is_cache_fresh():
                self.load_from_file()
            return self.cache

    def set_data(self, data: Any = None) -> None:
        """Replace the value (None: keep the cache) and save it.

        Falsy values such as ``0``, ``''``, ``[]`` and ``{}`` are stored (the
        original ignored them).
        """
        with self.thread_lock:
            if data is not None:
                self.cache = data
            self.save_to_file()

    @contextlib.contextmanager
    def get_ro(self) -> Iterator[Any]:
        """The value, for reading (changes are not saved)."""
        yield self.get_data()

    @contextlib.contextmanager
    def get_rw(self) -> Iterator[Any]:
        """The value; saved after the block (not if the block raises)."""
        data = self.get_data()
        yield data
        self.set_data(data)

    @contextlib.contextmanager
    def get_rw_locked_thread(self) -> Iterator[Any]:
        """Like :meth:`get_rw`, with the thread lock held for the whole block."""
        with self.thread_lock:
            data = self.get_data()
            yield data
            self.set_data(data)

    @contextlib.contextmanager
    def get_rw_locked_file(self) -> Iterator[Any]:
        """Read-modify-write under the thread lock *and* the inter-process
        file lock (``<file>.lock``): the value is reloaded inside the lock."""
        with self.thread_lock:
            me = threading.get_ident()
            take = self.file_lock is not None and self._file_lock_owner != me
            if take:
                self.file_lock.acquire()
                self._file_lock_owner = me
            try:
                data = self.get_data()
                yield data
                self.set_data(data)
            finally:
                if take:
                    self._file_lock_owner = None
                    self.file_lock.release()


# ---------------------------------------------------------------- dataclasses


def _check_dc(dc_type: Any, what: str) -> None:
    if not (dataclasses.is_dataclass(dc_type) and isinstance(dc_type, type)):
        raise TypeError("%s must be a @dataclass class, not %r" % (what, dc_type))


def _where_entry(name: str, text: str, index: int, total: int) -> str:
    """'file, line N' for the index-th entry when the text has our one-entry-per-line
    layout, else just the file name."""
    if text.count("\n") == total + 1:
        return "%s, line %d" % (name, index + 2)
    return name


class _DataclassPersister(Persister):
    """Shared parts of the dataclass persisters: schema and legacy reader."""

    _schema: Schema
    _safe_eval: SafeEval

    def _setup_schema(self, dc_type: Any, eval_globals: Optional[Dict[str, Any]] = None) -> None:
        self._schema = Schema.for_type(dc_type)
        ctors: Dict[str, Any] = dict(self._schema.known_types())
        for name, value in (eval_globals or {}).items():
            # Only constructors that build data: dataclass types (by the name given).
            if isinstance(value, type) and dataclasses.is_dataclass(value):
                ctors[name] = value
        self._safe_eval = SafeEval(ctors)

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

    def _legacy_value(self, text: str, lineno: int) -> Any:
        try:
            value = self._safe_eval(text)
        except LiteralError as e:
            raise PersisterError("%s, line %d: %s" % (self._name(), lineno, e.msg)) from None
        return self._read_entry(value, "%s, line %d" % (self._name(), lineno))

    def _json_error(self, e: json.JSONDecodeError) -> PersisterError:
        return PersisterError("%s, line %d: not valid JSON: %s" % (self._name(), e.lineno, e.msg))


class PersisterDictOfDC(_DataclassPersister):
    """A dict of str -> dataclass instance.

    File: a JSON object, one ``"key": {fields}`` entry per line. Files in the
    original ``'key': Type(field=value, ...)`` format are read too.
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
        lines = []
        for key, value in data.items():
            if not isinstance(key, str):
                raise PersisterError(
                    "%s: keys must be str, got %s" % (self._name(), type(key).__name__)
                )
            lines.append(_ENC(key) + ": " + _ENC(self._write_entry(value, "key %r" % key)))
        if not lines:
            return "{}\n"
        return "{\n" + ",\n".join(lines) + "\n}\n"

    def deserialize(self, serialized: str) -> Any:
        text = serialized.strip()
        if not text:
            return self.get_default_value()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as e:
                raise self._json_error(e) from None
            out = {}
            read = self._schema.read
            for i, (key, value) in enumerate(raw.items()):
                try:
                    out[key] = read(value)
                except SchemaError as e:
                    where = _where_entry(self._name(), text, i, len(raw))
                    raise PersisterError("%s: key %r: %s" % (where, key, e)) from None
            return out
        return self._deserialize_legacy(serialized)

    def _deserialize_legacy(self, text: str) -> Dict[str, Any]:
        out = {}
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.replace("\t", " ").strip()
            if not line or line.startswith("#"):
                continue
            if ": " not in line:
                raise PersisterError(
                    "%s, line %d: expected 'key': Type(...), got a line without ': '"
                    % (self._name(), n)
                )
            key, value = line.split(": ", 1)
            key = key.strip().strip("'\"")
            out[key] = self._legacy_value(value.rstrip(","), n)
        return out


class PersisterListOfDC(_DataclassPersister):
    """A list of dataclass instances.

    File: a JSON array, one ``{fields}`` object per line. Files in the
    original one-``repr()``-per-line format are read too; ``eval_globals``
    may name extra dataclass types those lines use (nothing else is called).
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
        lines = [_ENC(self._write_entry(v, "item %d" % i)) for i, v in enumerate(data)]
        return "[\n" + ",\n".join(lines) + "\n]\n"

    def deserialize(self, serialized: str) -> Any:
        text = serialized.strip()
        if not text:
            return self.get_default_value()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as e:
                raise self._json_error(e) from None
            out = []
            read = self._schema.read
            for i, value in enumerate(raw):
                try:
                    out.append(read(value))
                except SchemaError as e:
                    where = _where_entry(self._name(), text, i, len(raw))
                    raise PersisterError("%s: item %d: %s" % (where, i, e)) from None
            return out
        out = []
        for n, raw_line in enumerate(serialized.splitlines(), 1):
            line = raw_line.strip()
            if line and not line.startswith("#"):
                out.append(self._legacy_value(line, n))
        return out


class PersisterDC(_DataclassPersister):
    """One dataclass instance as ``field = value`` lines (values are Python
    literals; a str field may also be written without quotes)."""

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
        lines = []
        for name, _read, _write in self._schema.fields:
            value = getattr(data, name)
            text = repr(value)
            try:
                ok = self._safe_eval(text) == value
            except LiteralError:
                ok = False
            if not ok:
                raise PersisterError(
                    "%s: cannot save field %s: a %s has no literal form"
                    % (self._name(), name, type(value).__name__)
                )
            lines.append("%s = %s" % (name, text))
        return "\n".join(lines) + "\n"

    def deserialize(self, serialized: str) -> Any:
        fields: Dict[str, Any] = {}
        seen = False
        for n, raw in enumerate(serialized.splitlines(), 1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            seen = True
            if "=" not in line:
                raise PersisterError(
                    "%s, line %d: expected 'field = value', got a line without '='"
                    % (self._name(), n)
                )
            key, value = (part.strip() for part in line.split("=", 1))
            if key not in self._schema.readers:
                raise PersisterError(
                    '%s, line %d: field "%s" not defined in @dataclass %s'
                    % (self._name(), n, key, self.dc_type.__name__)
                )
            fields[key] = self._field_value(key, value, n)
        if not seen:
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
        raise PersisterError(
            "%s, line %d: field %s: %s" % (self._name(), lineno, key, first_error.msg)
        )


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


class _SelfCached:
    """A container that is its own persister cache: edit it, then :meth:`save`."""

    persister: Any

    def _adopt(self) -> None:
        """Make this object the persister's cache, copying in what it holds."""
        raise NotImplementedError

    def load(self) -> None:
        """Reload from the file if it changed."""
        with self.persister.thread_lock:
            if not self.persister.is_cache_fresh():
                self.persister.load_from_file()
            self._adopt()

    def save(self) -> None:
        self.persister.set_data(self)

    @contextlib.contextmanager
    def get_rw_locked_file(self) -> Iterator[Any]:
        """Lock the file, reload, yield self, save."""
        with self.persister.get_rw_locked_file():
            self._adopt()
            yield self


class DictOfDataclasses(_SelfCached, dict):
    """A dict that is its own persister cache: edit it, then :meth:`save`."""

    def __init__(self, filename: Optional[str], rhs_type: Any, **kwargs: Any) -> None:
        super().__init__()
        self.persister = PersisterDictOfDC(filename, rhs_type, **kwargs)
        self._adopt()

    def _adopt(self) -> None:
        data = self.persister.cache
        if data is not self:
            self.clear()
            self.update(data or {})
            self.persister.cache = self


class ListOfDataclasses(_SelfCached, list):
    """A list that is its own persister cache: edit it, then :meth:`save`."""

    def __init__(self, filename: Optional[str], dc_type: Any, **kwargs: Any) -> None:
        super().__init__()
        self.persister = PersisterListOfDC(filename, dc_type, **kwargs)
        self._adopt()

    def _adopt(self) -> None:
        data = self.persister.cache
        if data is not self:
            self[:] = data or []
            self.persister.cache = self
