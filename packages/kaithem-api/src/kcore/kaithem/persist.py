"""``kaithem.persist``: load and save files in a format chosen by extension.

Formats: ``.json``, ``.toml``, ``.yaml``, ``.txt`` (also ``.md``, ``.rst``) and
``.bin``, each optionally compressed as ``.gz`` or ``.bz2`` (``foo.json.gz``).

Relative names resolve under ``<vardir>/data`` of the owning :class:`Kaithem`
instance, as Kaithem's help page documents.
A name that leaves ``<vardir>/data`` once normalised (``../x``, ``/etc/x``,
``~/x``) is refused with :class:`PathError`, unless it lies under one of the
directories of config ``persist-roots`` (an explicit opt-in); nothing is
ever read or written through a symbolic link below those roots.
Every save is atomic (temp file, fsync, rename, fsync of the directory);
with ``backup=True`` the previous content is kept as ``<name>~``, so a file
damaged later can be recovered. ``private=True`` files are created 0600 (and
their new directories 0700).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from typing import Any, Callable, Iterator

from kcore.common.platform import KcoreError
from kcore.kaithem import _safefs
from kcore.kaithem._support import default_namespace

__all__ = [
    "FORMATS",
    "CorruptFileError",
    "DataError",
    "FormatError",
    "Namespace",
    "PathError",
    "PersistError",
    "default_vardir",
    "load",
    "save",
]

TEXT_EXTENSIONS = (".txt", ".md", ".rst")
FORMATS = (".json", ".toml", ".yaml", *TEXT_EXTENSIONS, ".bin")
COMPRESSIONS = (".gz", ".bz2")


class PersistError(KcoreError):
    """Root of the errors raised on purpose by ``kaithem.persist``."""


class FormatError(PersistError, ValueError):
    """The file name has no supported extension."""


class DataError(PersistError, TypeError):
    """The data cannot be written in the format the extension asks for."""


class CorruptFileError(PersistError, ValueError):
    """The file exists but its content cannot be decoded. Nothing was changed;
    ``backup`` is the path of the previous version, if one exists."""

    def __init__(self, message: str, filename: str, backup: str | None) -> None:
        super().__init__(message)
        self.filename = filename
        self.backup = backup


class PathError(PersistError, RuntimeError):
    """The path is refused: it leaves ``<vardir>/data`` (and every configured
    ``persist-roots``), goes through a symbolic link, or cannot hold a file
    (it is a directory, or a parent is a file)."""


def default_vardir() -> str:
    """Where an instance created without ``vardir`` keeps its data:
    ``$XDG_DATA_HOME/kaithem`` (default ``~/.local/share/kaithem``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "kaithem")


def vardir_of(kaithem: Any) -> str:
    """The var dir of a Kaithem instance (its ``vardir`` or the default)."""
    vardir = getattr(kaithem, "vardir", None)
    return os.fspath(vardir) if vardir else default_vardir()


# ------------------------------------------------------------------ formats


def split_format(filename: str) -> tuple[str, str]:
    """``(format extension, compression extension or '')`` of a file name;
    :class:`FormatError` if the format is not supported. A trailing ``~``
    (a backup made by :func:`save`) is ignored, so backups load directly."""
    base = filename[:-1] if filename.endswith("~") else filename
    compression = ""
    for ext in COMPRESSIONS:
        if base.endswith(ext):
            compression = ext
            base = base[: -len(ext)]
            break
    for ext in FORMATS:
        if base.endswith(ext):
            return ext, compression
    raise FormatError(
        "%r: unsupported file type; the name must end in one of %s, optionally followed by %s"
        % (filename, ", ".join(FORMATS), " or ".join(COMPRESSIONS))
    )


def _toml_loads(text: str) -> Any:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python < 3.11
        try:
            import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            raise ImportError(
                "reading .toml files on Python < 3.11 needs: pip install tomli"
            ) from None
    return tomllib.loads(text)


def _toml_dumps(data: Any) -> str:
    try:
        import tomli_w  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise ImportError("writing .toml files needs: pip install tomli-w") from None
    if not isinstance(data, dict):
        raise TypeError("TOML can only store a dict at the top level")
    return tomli_w.dumps(data)


def _yaml_dumps(data: Any) -> str:
    import yaml

    # safe_dump: what is written can always be read back by safe_load (yaml.dump
    # writes tags such as !!python/tuple, which safe_load refuses).
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _yaml_loads(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def _json_dumps(data: Any) -> str:
    import json

    return json.dumps(data)


def _json_loads(text: str) -> Any:
    import json

    return json.loads(text)


def encode(data: Any, filename: str) -> bytes:
    """The bytes :func:`save` would write for ``data`` under ``filename``
    (format and compression chosen by the name)."""
    fmt, compression = split_format(filename)
    try:
        payload = _encode_format(data, fmt)
    except (TypeError, ValueError, OverflowError) as e:
        raise DataError(
            "cannot save %s data as %s in %r: %s" % (type(data).__name__, fmt, filename, e)
        ) from None
    except Exception as e:
        if type(e).__module__.startswith("yaml"):  # yaml.representer.RepresenterError
            # its message embeds the object's repr, which may hold secrets: name the type only
            culprit = e.args[1] if len(e.args) > 1 else None
            raise DataError(
                "cannot save %s data as %s in %r: YAML cannot represent %s objects"
                % (type(data).__name__, fmt, filename, type(culprit).__name__)
            ) from None
        raise
    return _compress(payload, compression)


def _encode_format(data: Any, fmt: str) -> bytes:
    if fmt == ".bin":
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(".bin files hold bytes, bytearray or memoryview only")
        return bytes(data)
    if fmt in TEXT_EXTENSIONS:
        return str(data).encode("utf-8")
    dumps: Callable[[Any], str] = {
        ".json": _json_dumps,
        ".yaml": _yaml_dumps,
        ".toml": _toml_dumps,
    }[fmt]
    return dumps(data).encode("utf-8")


def _compress(payload: bytes, compression: str) -> bytes:
    if compression == ".gz":
        import gzip

        return gzip.compress(payload, mtime=0)  # same data, same bytes: no needless rewrite
    if compression == ".bz2":
        import bz2

        # One-shot compress() returns every block (a BZ2Compressor's flush()
        # alone returns only what compress() calls have not returned yet).
        return bz2.compress(payload)
    return payload


def _decompress(raw: bytes, compression: str) -> bytes:
    if compression == ".gz":
        import gzip

        return gzip.decompress(raw)
    if compression == ".bz2":
        import bz2

        return bz2.decompress(raw)
    return raw


def _problem(e: BaseException) -> str:
    """What went wrong and where, without quoting file content (it may hold
    secrets): exception type, message of known-safe parsers, position."""
    name = type(e).__name__
    line = getattr(e, "lineno", None)
    col = getattr(e, "colno", None)
    if name == "JSONDecodeError":
        return "not valid JSON (%s at line %s column %s)" % (getattr(e, "msg", ""), line, col)
    mark = getattr(e, "problem_mark", None)
    if mark is not None:  # yaml.MarkedYAMLError
        return "not valid YAML (%s at line %d column %d)" % (name, mark.line + 1, mark.column + 1)
    if name == "TOMLDecodeError":
        return "not valid TOML (%s)" % (str(e).splitlines() or [""])[0][:200]
    if isinstance(e, UnicodeDecodeError):
        return "not valid UTF-8 (byte offset %d)" % e.start
    return "%s while decoding" % name


def decode(raw: bytes, filename: str) -> Any:
    """The inverse of :func:`encode`; :class:`CorruptFileError` on bad content."""
    fmt, compression = split_format(filename)
    try:
        payload = _decompress(raw, compression)
        if fmt == ".bin":
            return payload
        text = payload.decode("utf-8")
        if fmt in TEXT_EXTENSIONS:
            return text
        loads = {".json": _json_loads, ".yaml": _yaml_loads, ".toml": _toml_loads}[fmt]
        return loads(text)
    except ImportError:
        raise
    except Exception as e:
        problem = _problem(e)
        if compression and type(e).__name__ in ("BadGzipFile", "OSError", "EOFError", "error"):
            problem = "not valid %s data (%s)" % (compression[1:], type(e).__name__)
        backup = filename + "~" if os.path.exists(filename + "~") else None
        message = "cannot load %r: %s; the file was left as it is" % (filename, problem)
        if backup:
            message += "; the previous version is in %r" % backup
        raise CorruptFileError(message, filename, backup) from None


# ------------------------------------------------------------------ namespace


class Namespace:
    """``kaithem.persist`` of one Kaithem instance."""

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        self._lock = threading.RLock()
        #: filename -> explanation of what is not saved yet (the UI shows an
        #: asterisk while this is non-empty). A plain dict, as in the original.
        self.unsaved: dict[str, str] = {}

    Error = PersistError
    PersistError = PersistError
    FormatError = FormatError
    DataError = DataError
    CorruptFileError = CorruptFileError
    PathError = PathError

    @property
    def data_dir(self) -> str:
        """``<vardir>/data``: where relative file names resolve."""
        return os.path.join(vardir_of(self._kaithem), "data")

    @property
    def roots(self) -> list[str]:
        """Directories files may be in: :attr:`data_dir`, then config
        ``persist-roots``."""
        extra = self._kaithem.config.get("persist-roots", ())
        if isinstance(extra, (str, os.PathLike)):
            extra = [extra]
        dirs = [self.data_dir, *(os.fspath(d) for d in extra)]
        return [os.path.normpath(os.path.abspath(os.path.expanduser(d))) for d in dirs]

    def resolve(self, filename: str | os.PathLike[str], expand: bool = True) -> str:
        """The absolute path a name refers to: ``~`` and ``$VARS`` expanded if
        ``expand``, relative names joined to :attr:`data_dir`, normalised;
        :class:`PathError` if that is not inside one of :attr:`roots`."""
        return self._locate(filename, expand)[1]

    def _locate(self, filename: str | os.PathLike[str], expand: bool) -> tuple[str, str]:
        name = os.fspath(filename)
        if not isinstance(name, str) or not name:
            raise ValueError("filename must be a non-empty str, not %r" % (filename,))
        if "\0" in name:
            raise PathError("file name %r contains a NUL character" % (name,))
        if expand:
            name = os.path.expandvars(os.path.expanduser(name))
        if not os.path.isabs(name):
            name = os.path.join(self.data_dir, name)
        path = os.path.normpath(name)
        for root in self.roots:
            if path.startswith(root + os.sep):
                return root, path
        raise PathError(
            "%r leaves %r; persist reads and writes only there (config 'persist-roots' "
            "adds directories)" % (os.fspath(filename), self.data_dir)
        )

    def load(self, filename: str | os.PathLike[str], *, expand: bool = True) -> Any:
        """Read ``filename`` and decode it by extension. A missing file raises
        FileNotFoundError; undecodable content raises :class:`CorruptFileError`
        naming the file (and its ``~`` backup, if any) and changes nothing."""
        root, path = self._locate(filename, expand)
        return self.load_at(root, path)

    def load_at(self, root: str, path: str) -> Any:
        """:meth:`load` of an absolute ``path`` below a trusted ``root``
        (for the host application, e.g. the users file)."""
        split_format(path)
        with self._lock, _path_errors():
            raw = _safefs.read(root, path)
        return decode(raw, path)

    def save(
        self,
        data: Any,
        filename: str | os.PathLike[str],
        *,
        private: bool = False,
        backup: bool = True,
        expand: bool = True,
        md5: bool = False,
        nolog: bool = False,
    ) -> str:
        """Write ``data`` to ``filename`` in the format its extension names.

        Missing directories are created. The write is atomic. If the file
        already holds exactly these bytes nothing is written. With ``backup``
        the previous content is first kept as ``<filename>~``. ``private``
        creates the file (and backup) 0600 and new directories 0700 from the
        start, never loosening an existing file. ``md5`` also writes
        ``<filename>.md5``. ``nolog`` is accepted for compatibility. The
        entries for this file are removed from :attr:`unsaved`. Returns the
        absolute path written.
        """
        root, path = self._locate(filename, expand)
        self.save_at(root, path, data, private=private, backup=backup, md5=md5)
        for key in {os.fspath(filename), path}:
            self.unsaved.pop(key, None)
        return path

    def save_at(
        self,
        root: str,
        path: str,
        data: Any,
        *,
        private: bool = False,
        backup: bool = True,
        md5: bool = False,
    ) -> None:
        """:meth:`save` to an absolute ``path`` below a trusted ``root``."""
        payload = encode(data, path)  # before touching the disk: bad data changes nothing
        mode = 0o600 if private else None
        dir_mode = 0o700 if private else 0o777
        with self._lock, _path_errors():
            old = _safefs.read_if_exists(root, path)
            old_mode = _safefs.mode_of(root, path) if old is not None else None
            if old != payload or (private and (old_mode or 0) & 0o077):
                if backup and old is not None and old != payload:
                    backup_mode = mode if private else old_mode
                    _safefs.write_atomic(root, path + "~", old, backup_mode, dir_mode)
                _safefs.write_atomic(root, path, payload, mode, dir_mode)
            if md5:
                digest = hashlib.md5(payload, usedforsecurity=False).hexdigest()
                _safefs.write_atomic(root, path + ".md5", digest.encode(), mode, dir_mode)


@contextlib.contextmanager
def _path_errors() -> Iterator[None]:
    try:
        yield
    except _safefs.UnsafePathError as exc:
        raise PathError(str(exc)) from None
    except NotADirectoryError as exc:
        raise PathError("%r: a parent is a file, not a directory" % (exc.filename,)) from None


# ------------------------------------------------------------- default instance


def _ns() -> Namespace:
    ns: Namespace = default_namespace("persist")
    return ns


def load(filename: str | os.PathLike[str], *, expand: bool = True) -> Any:
    """:meth:`Namespace.load` on the default instance."""
    return _ns().load(filename, expand=expand)


def save(
    data: Any,
    filename: str | os.PathLike[str],
    *,
    private: bool = False,
    backup: bool = True,
    expand: bool = True,
    md5: bool = False,
    nolog: bool = False,
) -> str:
    """:meth:`Namespace.save` on the default instance."""
    return _ns().save(
        data, filename, private=private, backup=backup, expand=expand, md5=md5, nolog=nolog
    )


def __getattr__(name: str) -> Any:
    if name == "unsaved":  # the default instance's dict
        return _ns().unsaved
    raise AttributeError("module 'kcore.kaithem.persist' has no attribute %r" % name)
