"""Small file and console helpers that turn errors into a False return value
(if asked to), plus an atomic file writer for files that must never be seen
half-written or with too-open permissions.

Error reporting with ``wrap_exceptions=True``: the helpers return False, as
existing callers expect, and the exception is kept: :func:`last_error` returns the
most recent one (process-wide), and it is logged at DEBUG as
``"<function>: cannot ... <filename>: <ExceptionType> errno <n>"`` (never the
data). Pass ``wrap_exceptions=False`` to get the exception raised instead.
"""

import os
import sys

from kcore.common import platform
from kcore.common.logger import log_debug as _log_debug

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable

_LAST_ERROR = [None]  # type: list


def last_error() -> "BaseException | None":
    """The exception most recently absorbed by a ``wrap_exceptions=True``
    call of this module (None if none yet). Process-wide, best-effort."""
    return _LAST_ERROR[0]


def _absorb(what: str, filename: object, e: BaseException) -> None:
    _LAST_ERROR[0] = e
    _log_debug(
        "%s: cannot %s: %s errno %s"
        % (
            what,
            filename if isinstance(filename, str) else repr(filename),
            type(e).__name__,
            getattr(e, "errno", None),
        )
    )


# ------------------------------------------------------------------ console


def get_input(prompt: str = "") -> str:
    """Show ``prompt`` on stdout and return one line from stdin, stripped.
    Raises EOFError at end of input."""
    return input(prompt).strip()


def raw_print(s: object) -> None:
    """Write ``s`` to stdout without a newline, and flush."""
    sys.stdout.write(str(s))
    _flush(sys.stdout)


def stderr(msg: object) -> None:
    """Write ``msg`` and a newline to stderr."""
    sys.stderr.write(str(msg) + "\n")
    _flush(sys.stderr)


def _flush(stream: "Any") -> None:
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()


# ---------------------------------------------------------------- reading


def _read(filename: str) -> str:
    if filename == "-":
        return sys.stdin.read()
    if platform.CPYTHON:
        with open(filename, encoding="utf-8") as f:
            return f.read()
    with open(filename) as f:
        return f.read()


def read_file(
    filename: str, list_of_lines: bool = False, strip: bool = False, wrap_exceptions: bool = True
) -> "str | list[str] | bool":
    """Return the text of ``filename`` (``'-'`` = stdin), read as UTF-8.

    ``list_of_lines``: a list split on ``\\n`` (a trailing newline gives a
    final ``''``); with ``strip`` lines that are exactly ``''`` are dropped,
    then each line is stripped. Without ``list_of_lines``, ``strip`` strips
    the whole text. On any error: False if ``wrap_exceptions`` (see
    :func:`last_error`), else the exception propagates.
    """
    try:
        data = _read(filename)
    except Exception as e:
        if not wrap_exceptions:
            raise
        _absorb("read_file", "read " + str(filename), e)
        return False
    if list_of_lines:
        lines = data.split("\n")
        if strip:
            lines = [line.strip() for line in lines if line != ""]
        return lines
    return data.strip() if strip else data


# ---------------------------------------------------------------- writing


def _as_bytes(data: object) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    raise TypeError("data must be str or bytes, not %s" % type(data).__name__)


def _to_stdout(payload: bytes) -> None:
    buf = getattr(sys.stdout, "buffer", None)
    if buf is not None:
        _flush(sys.stdout)
        buf.write(payload)
        _flush(buf)
    else:
        sys.stdout.write(payload.decode("utf-8"))
        _flush(sys.stdout)


def write_file(filename: str, data: "str | bytes", wrap_exceptions: bool = True) -> bool:
    """Write ``data`` (str, as UTF-8, or bytes) to ``filename``, replacing
    its content (``'-'`` = stdout, written as is). Not atomic: see
    :func:`write_file_atomic`. True on success; on error False if
    ``wrap_exceptions`` (see :func:`last_error`), else the exception."""
    return _reported("write_file", filename, wrap_exceptions, _write_plain, filename, data)


def _write_plain(filename: str, data: "str | bytes") -> None:
    payload = _as_bytes(data)
    if filename == "-":
        _to_stdout(payload)
    else:
        with open(filename, "wb") as f:
            f.write(payload)


def _reported(
    what: str, filename: object, wrap_exceptions: bool, fn: "Callable[..., None]", *args: "Any"
) -> bool:
    """``fn(*args)``, then True; an exception is raised, or with
    ``wrap_exceptions`` kept for :func:`last_error` and turned into False."""
    try:
        fn(*args)
        return True
    except Exception as e:
        if not wrap_exceptions:
            raise
        _absorb(what, "write " + str(filename), e)
        return False


def _split_path(filename: str) -> "tuple[str, str]":
    cut = filename.rfind("/")
    if os.sep != "/":
        cut = max(cut, filename.rfind(os.sep))
    if cut < 0:
        return "", filename
    return filename[: cut + 1], filename[cut + 1 :]


def _token() -> str:
    try:
        raw = os.urandom(6)
    except (AttributeError, NotImplementedError, OSError):
        raw = str(platform.monotonic_ms()).encode()
    return "".join(["%02x" % b for b in raw])


def _existing_mode(filename: str) -> int:
    try:
        return os.stat(filename)[0] & 0o777
    except OSError:
        return 0o666


def _exists(path: str) -> bool:
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _create_temp(directory: str, base: str, mode: int) -> "tuple[str, Any]":
    """Create and open a new temp file next to the target, exclusively, with
    ``mode`` applied at creation. Returns (path, fd or file object)."""
    excl = getattr(os, "open", None) is not None
    for _attempt in range(8):
        tmp = "%s.%s.%s.tmp" % (directory, base, _token())
        if excl:
            flags = (
                os.O_CREAT
                | os.O_EXCL
                | os.O_WRONLY
                | getattr(os, "O_BINARY", 0)
                | getattr(os, "O_CLOEXEC", 0)
            )
            try:
                return tmp, os.open(tmp, flags, mode)
            except OSError as e:
                if getattr(e, "errno", None) == 17:  # EEXIST: pick another name
                    continue
                raise
        # Boards: no os.open and no permission bits; check, then create.
        if _exists(tmp):
            continue
        return tmp, open(tmp, "wb")  # closed by the caller
    raise OSError(17, "could not create a unique temp file next to %r" % (directory + base))


def _write_fd(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(directory: str) -> None:
    """Make the rename durable (POSIX CPython); best effort elsewhere."""
    if not platform.CPYTHON or os.name == "nt":
        return
    try:
        dfd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass  # some filesystems refuse fsync on directories
    finally:
        os.close(dfd)


def _replace(tmp: str, filename: str) -> None:
    replace = getattr(os, "replace", None)
    if replace is not None:  # CPython: atomic, also over an existing file
        replace(tmp, filename)
        return
    try:
        os.rename(tmp, filename)
        return
    except OSError as e:
        # FAT on boards refuses to rename over an existing file (EEXIST):
        # the only way left is remove + rename (a short window without it).
        if getattr(e, "errno", None) != 17 or not _exists(filename):
            raise
    os.remove(filename)
    os.rename(tmp, filename)


def _write_atomic(filename: str, data: "str | bytes", mode: "int | None") -> None:
    if not isinstance(filename, str) or not filename:
        raise ValueError("filename must be a non-empty str, not %r" % (filename,))
    if mode is not None and (isinstance(mode, bool) or not isinstance(mode, int)):
        raise ValueError("mode must be an int such as 0o600, not %r" % (mode,))
    payload = _as_bytes(data)
    if filename == "-":
        _to_stdout(payload)
        return
    if platform.CPYTHON:
        filename = os.path.realpath(filename)  # write through symlinks, not over them
    directory, base = _split_path(filename)
    had_target = _exists(filename)
    if mode is None:
        mode = _existing_mode(filename) if had_target else 0o666
    tmp, handle = _create_temp(directory, base, mode)
    try:
        if isinstance(handle, int):
            try:
                _write_fd(handle, payload)
                if getattr(os, "fsync", None) is not None:
                    os.fsync(handle)
            finally:
                os.close(handle)
        else:
            try:
                handle.write(payload)
                handle.flush()
            finally:
                handle.close()
            sync = getattr(os, "sync", None)  # CircuitPython: flush the filesystem
            if sync is not None:
                sync()
        _replace(tmp, filename)
    except BaseException:
        if had_target and not _exists(filename):
            # Only on boards: the old file was removed and the rename failed;
            # the temp file holds the only copy of the data, so keep it.
            raise OSError(5, "%r lost during replace; new content kept in %r" % (filename, tmp))
        _remove_quietly(tmp)
        raise
    _fsync_dir(directory)


def write_file_atomic(
    filename: str, data: "str | bytes", mode: "int | None" = None, wrap_exceptions: bool = False
) -> bool:
    """Replace ``filename`` with ``data`` (str as UTF-8, or bytes) atomically:
    readers see the old or the new content, never a mix.

    The data goes to a new temp file in the same directory, created with
    ``os.open(O_CREAT|O_EXCL)`` and permission ``mode`` *at creation* (so a
    secret written with ``mode=0o600`` is never readable by others, not even
    briefly); ``mode=None`` keeps the existing file's permissions, or 0o666
    (less the umask) for a new file. The temp file is fsynced and renamed
    over the target, then the directory is fsynced (CPython/POSIX). On any
    failure the temp file is removed and the old file is left intact.
    On boards without ``os.open``/permissions the same steps are taken with
    ``open()``; where the filesystem cannot rename over a file the target is
    removed first. Returns True; on error raises, or returns False if
    ``wrap_exceptions`` (see :func:`last_error`).
    """
    return _reported(
        "write_file_atomic", filename, wrap_exceptions, _write_atomic, filename, data, mode
    )


# ------------------------------------------------------------- containers


def dict_to_list_of_pairs(d: dict) -> list:
    """``[[key, d[key]], ...]`` sorted by key (keys of mixed types are sorted
    by their repr instead of failing)."""
    try:
        keys = sorted(d)
    except TypeError:
        keys = sorted(d, key=repr)
    return [[k, d[k]] for k in keys]


def list_to_csv(list_in: list, field_sep: str = ", ", line_sep: str = "\n") -> str:
    """Rows (sequences of values, each turned into str) as text: fields
    joined by ``field_sep``, every row ended by ``line_sep`` (no rows: ``''``).
    ``list_in`` is not modified."""
    return "".join([field_sep.join([str(x) for x in row]) + line_sep for row in list_in])


def str_in_substring_list(haystack: str, list_of_needles: list) -> bool:
    """True if any of ``list_of_needles`` occurs in ``haystack``."""
    for needle in list_of_needles:
        if needle in haystack:
            return True
    return False
