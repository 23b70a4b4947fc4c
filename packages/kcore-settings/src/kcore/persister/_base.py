"""The generic :class:`Persister`: one value, its file, freshness, locks, encryption."""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import os
import sys
import threading
import warnings
from typing import Any, Iterator, Optional, Tuple

from kcore.common.platform import KcoreError
from kcore.persister._literal import LiteralError, repr_to_json, write_literal

CRYPTO_HINT = "pip install 'kcore-settings[crypto]'"
FILE_FORMATS = ("repr", "json")
Signature = Tuple[int, int, int]


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


ENC = _make_encoder()


class PersisterError(KcoreError, ValueError):
    """A persister file that cannot be read or a value that cannot be written.

    Messages name the file (and the line where one is known); they never
    contain the password or decrypted data.
    """


def crypto() -> Any:
    """kcore.uncommon (the optional ``crypto`` extra), or an ImportError naming it."""
    try:
        import kcore.uncommon as uncommon
    except ImportError:
        raise ImportError(
            "kcore.persister encryption needs kcore-uncommon: %s" % CRYPTO_HINT
        ) from None
    return uncommon


def check_file_format(file_format: str) -> str:
    if file_format not in FILE_FORMATS:
        raise ValueError(
            "file_format must be one of %s, not %r" % (", ".join(FILE_FORMATS), file_format)
        )
    return file_format


def _signature(st: os.stat_result) -> Signature:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def json_lines(data: Any) -> str:
    """JSON with one top-level entry per line: readable and diff-friendly."""
    if isinstance(data, dict) and data:
        return "{\n" + ",\n".join(ENC(k) + ": " + ENC(v) for k, v in data.items()) + "\n}\n"
    if isinstance(data, list) and data:
        return "[\n" + ",\n".join(ENC(v) for v in data) + "\n]\n"
    return ENC(data) + "\n"


def literal_eval(text: str) -> Any:
    """``ast.literal_eval`` without the SyntaxWarning a stray backslash escape gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.literal_eval(text)


class Persister:
    """A cached copy of one value (str, numbers, lists, dicts, ...) and its file.

    ``filename=None`` keeps the value in memory only; ``'-'`` reads stdin and
    writes stdout. ``filename`` can be set later: the next save writes there
    (and :meth:`get_data` loads that file first if it exists). Attributes
    ``cache`` (the value) and ``cache_mtime`` (the file signature the cache was
    read from or written to) are public.

    ``file_format='repr'`` (the default) writes ``repr()`` text, the original
    kcore's format, so existing files and tools keep working; ``'json'``
    writes JSON where the value allows it. Both are read back whatever the
    setting, and neither is ever evaluated.
    """

    def __init__(
        self,
        filename: Optional[str] = None,
        default_value: Any = None,
        password: Optional[str] = None,
        *,
        file_format: str = "repr",
        legacy_crypto: bool = False,
        lock_timeout: Optional[float] = None,
    ) -> None:
        self.file_format = check_file_format(file_format)
        self.default_value = default_value
        if password is not None and not isinstance(password, str):
            raise TypeError("password must be a str")
        if password:
            crypto()  # fail now, naming the extra, rather than at the first save
        self.password = password or None
        self.legacy_crypto = legacy_crypto
        self.lock_timeout = lock_timeout
        self.thread_lock = threading.RLock()
        self.file_lock: Any = None
        self._file_lock_owner: Optional[int] = None
        self._stdin_read = False
        self._filename: Optional[str] = None
        self.cache = None
        self.cache_mtime: Optional[Signature] = None
        self._set_filename(filename)
        if self._filename:
            self.load_from_file()
        else:
            self.cache = self.get_default_value()

    # ------------------------------------------------------------ the file name

    @property
    def filename(self) -> Optional[str]:
        return self._filename

    @filename.setter
    def filename(self, value: Optional[str]) -> None:
        """Point at another file: the cache stays, the next save writes there."""
        with self.thread_lock:
            if self._file_lock_owner is not None:
                raise PersisterError(
                    "%s: cannot change the filename inside get_rw_locked_file()" % self._name()
                )
            self._set_filename(value)
            self.cache_mtime = None  # fresh if the new file is missing; loaded if it exists
            self._stdin_read = False

    def _set_filename(self, filename: Any) -> None:
        if filename is not None and not isinstance(filename, (str, os.PathLike)):
            raise TypeError("filename must be a str or None, not %s" % type(filename).__name__)
        self._filename = os.fspath(filename) if filename is not None else None
        self.file_lock = None
        if self._filename and self._filename != "-":
            from kcore.common import FileLock

            self.file_lock = FileLock(self._filename + ".lock", timeout=self.lock_timeout)

    # ------------------------------------------------------------ overridables

    def get_default_value(self) -> Any:
        """A fresh copy of ``default_value`` (deep: edits never leak into it)."""
        return copy.deepcopy(self.default_value)

    def serialize(self, data: Any) -> str:
        """``repr()`` text (or JSON with ``file_format='json'``), checked to read back exactly."""
        if self.file_format == "json":
            try:
                text = json_lines(data)
                if json.loads(text) == data:
                    return text
            except (TypeError, ValueError, RecursionError):
                pass
        text = repr(data)
        try:
            if repr_to_json(text) == data:  # the common case, checked at C speed
                return text + "\n"
        except (ValueError, RecursionError):
            pass
        try:
            write_literal(data, {})  # raises for anything without an exact literal form
        except (LiteralError, RecursionError):
            raise PersisterError(
                "%s: cannot save a %s: only str, bytes, numbers, bool, None, lists, tuples, "
                "sets and dicts of them can be stored (use PersisterDictOfDC/PersisterListOfDC "
                "for dataclasses)" % (self._name(), type(data).__name__)
            ) from None
        return text + "\n"

    def deserialize(self, serialized: str) -> Any:
        """Parse what :meth:`serialize` wrote (in either format, or an original kcore file)."""
        text = serialized.strip()
        if not text:
            return self.get_default_value()
        try:
            return json.loads(text)
        except ValueError as e:
            json_err = e
        try:
            return repr_to_json(text)
        except ValueError:
            pass
        try:
            return literal_eval(text)
        except SyntaxError as e:
            raise PersisterError(
                "%s, line %s: neither a Python literal (%s) nor JSON (%s)"
                % (self._name(), e.lineno, e.msg, json_err)
            ) from None
        except (ValueError, TypeError, MemoryError, RecursionError):
            line = getattr(json_err, "lineno", None)
            raise PersisterError(
                "%s, line %s: not a valid value (only literals: str, numbers, lists, dicts, "
                "...)" % (self._name(), line)
            ) from None

    # ------------------------------------------------------------ file helpers

    def _name(self) -> str:
        return self._filename or "<memory>"

    def _on_disk(self) -> bool:
        return bool(self._filename) and self._filename != "-"

    def get_file_signature(self) -> Optional[Signature]:
        """(mtime_ns, size, inode) of the file, or None if it does not exist."""
        if not self._on_disk():
            return None
        try:
            return _signature(os.stat(self._filename))  # type: ignore[arg-type]
        except FileNotFoundError:
            return None

    def get_file_mtime(self) -> Optional[float]:
        """The file's mtime in seconds (None if missing); freshness uses the signature."""
        if not self._on_disk():
            return None
        try:
            return os.stat(self._filename).st_mtime  # type: ignore[arg-type]
        except FileNotFoundError:
            return None

    def is_cache_fresh(self) -> bool:
        if not self._on_disk():
            return True
        return self.get_file_signature() == self.cache_mtime

    def _read_text(self) -> Tuple[Optional[str], Optional[Signature]]:
        if self._filename == "-":
            if self._stdin_read:
                return None, None
            self._stdin_read = True
            return sys.stdin.read(), None
        assert self._filename is not None
        try:
            fd = os.open(self._filename, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None, None
        except OSError as e:
            raise PersisterError("%s: cannot read: %s" % (self._filename, e.strerror)) from None
        with os.fdopen(fd, "rb") as f:
            sig = _signature(os.fstat(fd))  # the inode we actually read
            raw = f.read()
        try:
            return raw.decode("utf-8"), sig
        except UnicodeDecodeError as e:
            raise PersisterError(
                "%s: not UTF-8 text (byte %d)" % (self._filename, e.start)
            ) from None

    def _decrypt(self, text: str) -> str:
        uncommon = crypto()
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
        if not self._filename:
            return False
        with self.thread_lock:
            text, sig = self._read_text()
            if text is None:
                if self._filename != "-" or self.cache is None:
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
        if not self._filename:
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
                payload = (crypto().encrypt(payload, self.password) + "\n").encode("ascii")
                mode = 0o600
            write_file_atomic(self._filename, payload, mode=mode)
            self.cache_mtime = self.get_file_signature()
        return True

    # ------------------------------------------------------------ data access

    def get_data(self) -> Any:
        """The cached value, reloaded first if the file changed."""
        with self.thread_lock:
            if not self.is_cache_fresh():
                self.load_from_file()
            return self.cache

    def set_data(self, data: Any = None) -> None:
        """Replace the value (None: keep the cache) and save it.

        Falsy values such as ``0``, ``''``, ``[]`` and ``{}`` are stored.
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
            lock = self.file_lock
            take = lock is not None and self._file_lock_owner != me
            if take:
                lock.acquire()
                self._file_lock_owner = me
            try:
                data = self.get_data()
                yield data
                self.set_data(data)
            finally:
                if take:
                    self._file_lock_owner = None
                    lock.release()
