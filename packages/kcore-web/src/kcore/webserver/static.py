"""Static files for kcore.webserver, with no way out of the served directory.

A request path is percent-decoded strictly, split into segments, and refused
(404) if any segment is empty-dot, ``..``, hidden (starts with ``.``) or
contains a NUL or a backslash; the resolved real path (symlinks followed)
must still lie inside the real served directory. Directories are never
listed. Only regular files are served: a FIFO, a device or a socket under
the directory is refused (404) without being opened (opening a FIFO would
block, opening a device may act on it). Files are sent as the client takes
them (a :class:`~kcore.webserver._writer.FileBody`), so a large file costs
no memory and a slow reader no thread.
"""

import mimetypes
import os
import stat

from kcore.webserver._writer import FileBody
from kcore.webserver_base import TEXT_PLAIN, HttpError, Request, Response, percent_decode

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Optional

# Opening never blocks (a FIFO swapped in after the check) nor follows a
# symlink swapped in after resolve().
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _not_found() -> Response:
    return Response("file not found\n", 404, msg_type=TEXT_PLAIN)


def resolve(root: str, rel_path: str) -> "Optional[str]":
    """The real file path for URL path ``rel_path`` under ``root``, or None."""
    try:
        rel = percent_decode(rel_path).decode("utf-8")
    except (HttpError, UnicodeError):
        return None
    parts = []
    for seg in rel.split("/"):
        if seg == "":
            continue
        if seg.startswith(".") or "\x00" in seg or "\\" in seg:
            return None
        parts.append(seg)
    real_root = os.path.realpath(root)
    candidate = os.path.realpath(os.path.join(real_root, *parts))
    if candidate != real_root and not candidate.startswith(real_root + os.sep):
        return None
    return candidate


def open_regular(path: str) -> "Optional[Any]":
    """The file at ``path`` opened for reading if it is a regular file, else
    None (missing, a directory, a FIFO, a device, a socket): checked before
    opening, and again on the open file."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except OSError:
        os.close(fd)
        return None


def static_handler(directory: str, index: str = "index.html") -> "Callable[[Request], Response]":
    """A handler serving files under ``directory``; the route's first group
    is the path relative to it."""
    root = os.path.realpath(directory)
    if not os.path.isdir(root):
        raise ValueError("static directory %r does not exist" % (directory,))

    def handler(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(
                "method not allowed\n",
                405,
                extra_headers={"Allow": "GET, HEAD"},
                msg_type=TEXT_PLAIN,
            )
        groups = request.route_match_groups
        rel = groups[0] if groups else request.path
        path = resolve(root, rel or "")
        if path is None:
            return _not_found()
        if os.path.isdir(path):
            if not index:
                return _not_found()
            path = os.path.join(path, index)
        f = open_regular(path)
        if f is None:
            return _not_found()
        try:
            size = os.fstat(f.fileno()).st_size
        except OSError:
            f.close()
            return _not_found()
        ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
            ctype += "; charset=utf-8"
        return Response(
            FileBody(f, size),
            msg_type=ctype,
            extra_headers={"Content-Length": str(size), "X-Content-Type-Options": "nosniff"},
            binary=True,
        )

    return handler
