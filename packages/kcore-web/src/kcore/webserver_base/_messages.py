"""Request and Response: what handlers receive and return."""

from kcore.webserver_base._forms import parse_form, parse_query
from kcore.webserver_base._wire import (
    FORM_METHODS,
    SERVED_METHODS,
    TEXT_PLAIN,
    Headers,
    HttpError,
    check_path,
    has_control,
    is_token,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any


class Request:
    """One HTTP request as handlers see it.

    ``method``, ``full_path`` (with query), ``path`` (before ``?``),
    ``query``, ``get_params`` (dict), ``post_params`` (dict; see
    :func:`parse_form`), ``files``, ``body`` (raw bytes or None),
    ``headers`` (:class:`Headers`), ``remote_address``,
    ``route_match_groups`` (tuple of the matching route's groups),
    ``context`` (the server's context dict), ``server``, ``http_version``,
    ``tls_peer_cert`` (a verified client certificate, CPython TLS only).
    ``str(request)`` is the path.
    """

    def __init__(
        self,
        method: str,
        full_path: str,
        body: "bytes | None" = None,
        context: "dict | None" = None,
        headers: "Any" = None,
        post_params: "dict | None" = None,
        remote_address: "Any" = None,
        route_match_groups: "tuple | None" = None,
        server: "Any" = None,
        files: "dict | None" = None,
        http_version: str = "HTTP/1.1",
    ) -> None:
        self.method = method
        self.full_path = full_path
        i = full_path.find("?")
        self.path = full_path if i < 0 else full_path[:i]
        self.query = "" if i < 0 else full_path[i + 1 :]
        self.get_params = parse_query(self.query) if self.query else {}
        self.body = body
        self.context = {} if context is None else context
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.post_params = {} if post_params is None else post_params
        self.files = {} if files is None else files
        self.remote_address = remote_address
        self.route_match_groups = () if route_match_groups is None else route_match_groups
        self.server = server
        self.http_version = http_version
        self.tls_peer_cert = None  # type: Any

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return "Request(%r, %r)" % (self.method, self.full_path)


def request_from_wire(
    method: str,
    target: str,
    version: str,
    headers: Headers,
    body: "bytes | None",
    remote_address: "Any" = None,
    server: "Any" = None,
) -> Request:
    """The Request for a request read off the wire, as every server makes
    it: the method must be one handlers serve (else HttpError 501), the path
    must pass :func:`check_path` (400), a form body is parsed (400/413)."""
    if method not in SERVED_METHODS:
        raise HttpError(501, "method not implemented")
    i = target.find("?")
    path = target if i < 0 else target[:i]
    if "%" in path or "." in path or "\\" in path or "\x00" in path:
        check_path(path)  # (a path without these is valid as the parser let it through)
    request = Request(
        method,
        target,
        body=body,
        headers=headers,
        remote_address=remote_address,
        server=server,
        http_version=version,
    )
    if body and method in FORM_METHODS:
        request.post_params, request.files = parse_form(headers.get("content-type"), body)
    return request


def _is_iterator(body: object) -> bool:
    return hasattr(body, "__next__") and not isinstance(body, (str, bytes, bytearray))


class Response:
    """What a handler returns.

    ``body``: str (sent UTF-8), bytes (sent as is), an iterator of str/bytes
    chunks (streamed; chunked encoding on HTTP/1.1), or None (``''``).

    ``msg_type`` keeps the original's values: ``text/html`` for a body
    starting with ``<``, ``text`` for other text, ``?`` for an empty body,
    ``application/octet-stream`` for bytes. On the wire the short ones
    become valid MIME types (see :func:`wire_content_type`).

    ``status_code`` is 100..599, or -1 for a handler that failed (then
    ``exception`` holds what it raised; servers send a bare 500).
    ``status_msg`` is ``OK`` for 200 and ``NOTOK`` otherwise unless given;
    the reason phrase sent is the given one, else the standard one.
    ``ok`` is true for status 200.

    ``extra_headers``: a dict ``{name: value}`` (``response.extra_headers``
    is always a dict), or a list of ``(name, value)`` pairs for a name sent
    more than once; a value may also be a list, one header line each:
    ``{"Set-Cookie": ["a=1; HttpOnly", "b=2"]}``. Names must be tokens and
    values must not hold control characters (CR, LF, NUL, TAB, DEL, ...):
    ValueError otherwise (no header injection).
    """

    def __init__(
        self,
        body: object,
        status_code: int = 200,
        extra_headers: "dict | list | None" = None,
        msg_type: "str | None" = None,
        exception: "BaseException | None" = None,
        status_msg: "str | None" = None,
        binary: bool = False,
    ) -> None:
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise ValueError("status_code must be an int, got %r" % (status_code,))
        if not 100 <= status_code <= 599 and status_code != -1:
            raise ValueError("status_code must be 100..599 (or -1), got %d" % status_code)
        self.status_code = status_code
        self.stream = None  # type: Any
        if body is None:
            body = b"" if binary else ""
        if isinstance(body, (bytes, bytearray)):
            binary = True
            body = bytes(body)
        elif _is_iterator(body):
            self.stream = body
            body = b"" if binary else ""
        elif not isinstance(body, str):
            body = str(body)
        self.body = body  # type: Any
        self.binary = binary
        if msg_type is None:
            if binary:
                msg_type = "application/octet-stream"
            elif self.stream is not None:
                msg_type = "text"
            elif not body:
                msg_type = "?"
            elif body[:1] == "<":
                msg_type = "text/html"
            else:
                msg_type = "text"
        self.msg_type = _check_header_value("Content-Type", msg_type)
        self.extra_headers = _checked_headers(extra_headers) if extra_headers else {}
        self.exception = exception
        if status_msg is not None:
            status_msg = _check_header_value("status_msg", status_msg)
        self.reason = status_msg  # type: str | None  # the reason phrase to send, if given
        self.status_msg = status_msg or ("OK" if status_code == 200 else "NOTOK")

    @classmethod
    def text(cls, body: str) -> "Response":
        """``Response(body)`` for a str body, made without re-checking what
        a str cannot get wrong (handlers returning text are the usual case)."""
        r = object.__new__(cls)
        r.status_code = 200
        r.stream = None
        r.body = body
        r.binary = False
        r.msg_type = ("text/html" if body[0] == "<" else "text") if body else "?"
        r.extra_headers = {}
        r.exception = None
        r.reason = None
        r.status_msg = "OK"
        return r

    @property
    def ok(self) -> bool:
        return self.status_code == 200

    def body_bytes(self) -> bytes:
        """The (non-streamed) body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        return self.body.encode("utf-8")

    def __str__(self) -> str:
        if self.exception is not None:
            detail = str(self.exception)
        elif self.stream is not None:
            detail = "<stream>"
        else:
            text = self.body if isinstance(self.body, str) else repr(self.body)
            detail = text[:70].replace("\n", "\\n")
        return "[%d] %s" % (self.status_code, detail)


def _check_header_value(name: object, value: object) -> str:
    value = str(value)
    if has_control(value):
        raise ValueError("header %s: value contains a control character" % name)
    return value


def _checked_headers(extra_headers: "Any") -> dict:
    # A dict of checked headers from a dict or a list of pairs; a name given
    # twice (or a list value) maps to a list of values.
    out = {}  # type: dict
    items = extra_headers.items() if hasattr(extra_headers, "items") else extra_headers
    for k, v in items:
        name = str(k)
        if not is_token(name.encode()):
            raise ValueError("bad header name %r" % (k,))
        if isinstance(v, (list, tuple)):
            value = [_check_header_value(name, x) for x in v]  # type: Any
        else:
            value = _check_header_value(name, v)
        if name in out:
            old = out[name]
            old = old if isinstance(old, list) else [old]
            value = old + (value if isinstance(value, list) else [value])
        if isinstance(value, list) and name.lower() in _SINGLE_HEADERS:
            if len(value) != 1:
                raise ValueError("header %s: only one value allowed" % name)
            value = value[0]
        out[name] = value
    return out


# Headers whose repetition would make the response ambiguous.
_SINGLE_HEADERS = ("content-length", "content-type", "transfer-encoding", "location")


def error_response(status: int, message: str) -> Response:
    """A small plain-text error response (the message is text, never HTML)."""
    return Response(message + "\n", status, msg_type=TEXT_PLAIN)


def BaseHTTPRequestHandler_to_Request(  # the original's name
    b: "Any", method: str, post_params: "dict | None" = None
) -> Request:
    """A Request from a stdlib ``BaseHTTPRequestHandler`` (for programs that
    keep their own http.server)."""
    return Request(
        method,
        b.path,
        headers=list(b.headers.items()),
        post_params=post_params,
        remote_address=b.client_address,
    )
