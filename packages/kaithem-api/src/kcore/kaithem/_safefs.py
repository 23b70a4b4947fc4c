"""Reading and writing files strictly below a root directory, never through
a symbolic link: every directory between the root and the file is opened
with ``O_NOFOLLOW`` relative to its parent's descriptor, and the file is
replaced atomically inside that directory (temp file, fsync, rename, fsync
of the directory). A link swapped in after a check cannot redirect the
write, since names are never resolved again from the root."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from typing import List, Optional

from kcore.common.platform import KcoreError

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class UnsafePathError(KcoreError, RuntimeError):
    """The path leaves its root, goes through a symbolic link, or cannot hold
    a file (a parent is a file, or the target is a directory)."""


def relative_parts(root: str, path: str) -> List[str]:
    """The components of ``path`` below ``root`` (both absolute and
    normalised); :class:`UnsafePathError` if it is not strictly inside."""
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if rel in (".", "") or parts[0] == os.pardir or os.path.isabs(rel):
        raise UnsafePathError("%r is not inside %r" % (path, root))
    return parts


def _open_dir(root: str, parts: List[str], create: bool, dir_mode: int) -> int:
    """A descriptor of the directory ``root/parts...`` (no component a link)."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for i, part in enumerate(parts):
            where = os.path.join(root, *parts[: i + 1])
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, dir_mode, dir_fd=fd)
                except FileExistsError:
                    pass
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise UnsafePathError("%r is a symbolic link; it is never followed" % where)
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafePathError("%r is a file, not a directory" % where)
            try:
                child = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePathError("%r changed under us (now a link)" % where) from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _check_target(dfd: int, name: str, path: str) -> Optional[os.stat_result]:
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError("%r is a symbolic link; it is never followed" % path)
    if stat.S_ISDIR(st.st_mode):
        raise UnsafePathError("cannot use %r: it is a directory" % path)
    return st


def read(root: str, path: str) -> bytes:
    """The bytes of ``path`` (below ``root``); FileNotFoundError if missing."""
    parts = relative_parts(root, path)
    try:
        dfd = _open_dir(root, parts[:-1], create=False, dir_mode=0)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path) from None
    try:
        _check_target(dfd, parts[-1], path)
        try:
            fd = os.open(parts[-1], os.O_RDONLY | _NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePathError("%r changed under us (now a link)" % path) from None
            raise
        with os.fdopen(fd, "rb") as f:
            return f.read()
    finally:
        os.close(dfd)


def read_if_exists(root: str, path: str) -> Optional[bytes]:
    try:
        return read(root, path)
    except FileNotFoundError:
        return None


def mode_of(root: str, path: str) -> Optional[int]:
    """Permission bits of ``path``, None if it does not exist."""
    parts = relative_parts(root, path)
    try:
        dfd = _open_dir(root, parts[:-1], create=False, dir_mode=0)
    except FileNotFoundError:
        return None
    try:
        st = _check_target(dfd, parts[-1], path)
        return None if st is None else st.st_mode & 0o777
    finally:
        os.close(dfd)


def write_atomic(
    root: str, path: str, data: bytes, mode: Optional[int] = None, dir_mode: int = 0o777
) -> None:
    """Replace ``path`` (below ``root``) with ``data`` atomically, creating
    missing directories with ``dir_mode``. ``mode`` is set from creation
    (None keeps an existing file's mode, else 0o666 less the umask)."""
    parts = relative_parts(root, path)
    name = parts[-1]
    os.makedirs(root, dir_mode, exist_ok=True)  # the root is trusted: links above it are fine
    dfd = _open_dir(root, parts[:-1], create=True, dir_mode=dir_mode)
    tmp = ".%s.%s.tmp" % (name, secrets.token_hex(6))
    try:
        old = _check_target(dfd, name, path)
        keep = old.st_mode & 0o777 if (mode is None and old is not None) else None
        create_mode = mode if mode is not None else (keep if keep is not None else 0o666)
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | os.O_CLOEXEC,
            create_mode,
            dir_fd=dfd,
        )
        try:
            if keep is not None:
                os.fchmod(fd, keep)  # exactly the old mode, whatever the umask
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(data)
                f.flush()
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        tmp = ""
        os.fsync(dfd)
    finally:
        if tmp:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
        os.close(dfd)
