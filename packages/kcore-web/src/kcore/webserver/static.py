"""Static files for kcore.webserver, with no way out of the served directory.

A request path is percent-decoded strictly, split into segments, and refused
(404) if any segment is empty-dot, ``..``, hidden (starts with ``.``) or
contains a NUL or a backslash; the resolved real path (symlinks followed)
must still lie inside the real served directory. Directories are never
listed. Files are streamed in 64 KiB pieces, so a large file costs no memory.
"""

import mimetypes
import os

from kcore.webserver_base import TEXT_PLAIN, HttpError, Request, Response, percent_decode

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import BinaryIO, Callable, Optional

CHUNK = 65536


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


class _FileStream:
    """Iterator over a file's bytes in CHUNK pieces; close() closes the file
    even if iteration never started (a HEAD request)."""

    def __init__(self, f: "BinaryIO", remaining: int) -> None:
        self.f = f
        self.remaining = remaining

    def __iter__(self) -> "_FileStream":
        return self

    def __next__(self) -> bytes:
        if self.remaining <= 0:
            self.close()
            raise StopIteration
        data = self.f.read(min(CHUNK, self.remaining))
        if not data:
            self.close()
            raise StopIteration
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.remaining = 0
        self.f.close()


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
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the streaming generator
        except OSError:
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
            _FileStream(f, size),
            msg_type=ctype,
            extra_headers={"Content-Length": str(size), "X-Content-Type-Options": "nosniff"},
            binary=True,
        )

    return handler
