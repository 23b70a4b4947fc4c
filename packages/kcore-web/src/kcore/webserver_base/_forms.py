"""Query strings and form bodies: ``a=1&b=2``, url-encoded and multipart POSTs."""

from kcore.common.urls import unquote_plus
from kcore.webserver_base._wire import HttpError, parse_request_head


def parse_get_params(full_path: str) -> dict:
    """Query parameters as a dict: ``+`` and ``%xx`` unquoted, the value split
    at the first ``=``, a name without ``=`` gets ``''``, the last duplicate wins."""
    i = full_path.find("?")
    if i < 0:
        return {}
    return parse_query(full_path[i + 1 :])


def parse_query(query: str, multi: bool = False) -> dict:
    """``a=1&b=2`` -> ``{'a': '1', 'b': '2'}`` (lists of values with ``multi``)."""
    out = {}  # type: dict
    for pair in query.split("&"):
        if not pair:
            continue
        i = pair.find("=")
        if i < 0:
            name, value = pair, ""
        else:
            name, value = pair[:i], pair[i + 1 :]
        name, value = unquote_plus(name), unquote_plus(value)
        if multi:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def header_param(value: str, key: str) -> "str | None":
    """A parameter of a header value: ``'multipart/form-data; boundary="x"'``
    gives ``x`` for key ``boundary`` (None if absent)."""
    for piece in value.split(";")[1:]:
        piece = piece.strip()
        i = piece.find("=")
        if i > 0 and piece[:i].strip().lower() == key:
            v = piece[i + 1 :].strip()
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                v = v[1:-1]
            return v
    return None


class UploadedFile:
    """One file part of a multipart form: ``filename``, ``content_type``, ``data`` (bytes)."""

    def __init__(self, filename: str, content_type: str, data: bytes) -> None:
        self.filename = filename
        self.content_type = content_type
        self.data = data

    def __repr__(self) -> str:
        return "UploadedFile(%r, %r, %d bytes)" % (
            self.filename,
            self.content_type,
            len(self.data),
        )


def parse_form(
    content_type: "str | None", body: "bytes | None", max_parts: int = 1000
) -> "tuple[dict, dict]":
    """Decode a POST body. Returns ``(post_params, files)``.

    ``application/x-www-form-urlencoded`` -> ``{name: first value}`` (the
    original's format); ``multipart/form-data`` -> ``{name: [values]}`` and
    ``files`` -> ``{name: [UploadedFile]}``; anything else -> ``({}, {})``.
    Raises HttpError 400 for a malformed multipart body.
    """
    if not content_type or body is None:
        return {}, {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeError:
            raise HttpError(400, "form body is not valid UTF-8")
        multi = parse_query(text, multi=True)
        return {k: v[0] for k, v in multi.items()}, {}
    if ctype == "multipart/form-data":
        boundary = header_param(content_type, "boundary")
        if not boundary or len(boundary) > 200:
            raise HttpError(400, "multipart form without a valid boundary")
        return _parse_multipart(body, boundary.encode("latin-1"), max_parts)
    return {}, {}


def _parse_multipart(body: bytes, boundary: bytes, max_parts: int) -> "tuple[dict, dict]":
    delim = b"--" + boundary
    params = {}  # type: dict
    files = {}  # type: dict
    start = body.find(delim)
    if start < 0:
        raise HttpError(400, "multipart body without its boundary")
    pos = start + len(delim)
    n = 0
    while True:
        if body[pos : pos + 2] == b"--":
            return params, files
        if body[pos : pos + 2] != b"\r\n":
            raise HttpError(400, "malformed multipart boundary line")
        pos += 2
        end = body.find(b"\r\n" + delim, pos)
        if end < 0:
            raise HttpError(400, "unterminated multipart part")
        part = body[pos:end]
        pos = end + 2 + len(delim)
        n += 1
        if n > max_parts:
            raise HttpError(413, "too many multipart parts")
        hend = part.find(b"\r\n\r\n")
        if hend < 0:
            raise HttpError(400, "multipart part without headers")
        try:
            _m, _t, _v, pheaders = parse_request_head(b"X / HTTP/1.1\r\n" + part[:hend], 50)
        except HttpError:
            raise HttpError(400, "malformed multipart part headers")
        data = part[hend + 4 :]
        disp = pheaders.get("content-disposition", "") or ""
        name = header_param(disp, "name")
        if name is None:
            continue
        filename = header_param(disp, "filename")
        if filename is not None:
            ptype = pheaders.get("content-type", "application/octet-stream") or ""
            files.setdefault(name, []).append(UploadedFile(filename, ptype, data))
        else:
            try:
                value = data.decode("utf-8")
            except UnicodeError:
                raise HttpError(400, "form field is not valid UTF-8")
            params.setdefault(name, []).append(value)
