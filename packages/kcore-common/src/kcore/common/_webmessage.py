"""The HTTP messages of :mod:`kcore.common.web` (import the names from there):
:class:`Headers`, :class:`PreparedRequest` (what a transport is handed),
:class:`Response` and :class:`FakeResponse` (what the wrapping functions return
instead of raising)."""

from kcore.common._weberrors import InvalidHeader, WebError, _error
from kcore.common._weburl import mask_url, parse_url
from kcore.common.urls import decode_utf8_replace

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Iterable, Iterator, Optional, Tuple, Union  # noqa: F401

    HeaderData = Union["Headers", "dict[str, Any]", Iterable[Tuple[str, Any]], None]


class Headers:
    """Case-insensitive header mapping that remembers the original case."""

    def __init__(self, data: "HeaderData" = None) -> None:
        self._d = {}  # type: dict[str, tuple[str, Any]]
        if data:
            self.update(data)

    def update(self, data: "HeaderData") -> None:
        if data is None:
            return
        items = data.items() if hasattr(data, "items") else data
        for k, v in items:
            self[k] = v

    def __setitem__(self, key: str, value: "Any") -> None:
        self._d[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> "Any":
        return self._d[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._d[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._d

    def __iter__(self) -> "Iterator[str]":
        return iter([k for k, _ in self._d.values()])

    def __len__(self) -> int:
        return len(self._d)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            other = dict(other.lower_items())
        elif hasattr(other, "items"):
            other = {k.lower(): v for k, v in other.items()}
        else:
            return False
        return dict(self.lower_items()) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    def get(self, key: str, default: "Any" = None) -> "Any":
        entry = self._d.get(key.lower())
        return default if entry is None else entry[1]

    def pop(self, key: str, default: "Any" = None) -> "Any":
        entry = self._d.pop(key.lower(), None)
        return default if entry is None else entry[1]

    def keys(self) -> "list[str]":
        return [k for k, _ in self._d.values()]

    def values(self) -> "list[Any]":
        return [v for _, v in self._d.values()]

    def items(self) -> "list[tuple[str, Any]]":
        return list(self._d.values())

    def lower_items(self) -> "list[tuple[str, Any]]":
        return [(k, kv[1]) for k, kv in self._d.items()]

    def copy(self) -> "Headers":
        return Headers(self.items())

    def __repr__(self) -> str:
        return repr(dict(self.items()))


_HEADER_NAME_PUNCTUATION = "!#$%&'*+-.^_`|~"


def _check_header(name: object, value: object) -> "tuple[str, str]":
    """``(name, value)`` as str, if every transport can send them: a name of
    token characters, a value of Latin-1 characters without CR/LF/NUL (what
    HTTP/1.1 and http.client allow). Else InvalidHeader, naming the header
    (never its value, which may be a secret)."""
    name = str(name)
    value = str(value)
    shown = repr(name[:40])
    if not name:
        raise _error(InvalidHeader, "empty header name")
    for ch in name:
        if not (ch.isalpha() or ch.isdigit() or ch in _HEADER_NAME_PUNCTUATION) or ord(ch) > 126:
            raise _error(InvalidHeader, "invalid header name %s" % shown)
    for ch in value:
        if ch in "\r\n\x00":
            raise _error(InvalidHeader, "header %s contains CR/LF/NUL" % shown)
        if ord(ch) > 255:
            raise _error(
                InvalidHeader,
                "header %s has a character HTTP cannot carry (values are Latin-1; "
                "percent- or base64-encode others)" % shown,
            )
    return name, value


def header_bytes(text: str) -> bytes:
    """A checked header line or value as bytes, Latin-1 as HTTP/1.1 sends
    it (MicroPython's ``str.encode`` knows only UTF-8)."""
    return bytes([ord(ch) for ch in text])


def _charset(content_type: "str | None") -> "str | None":
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, val = part.strip().partition("=")
        if key.strip().lower() == "charset":
            return val.strip().strip("\"'") or None
    return None


class PreparedRequest:
    """Everything a transport needs, already validated and encoded."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: "Headers",
        body: "bytes | None",
        timeout: "int | float",
        verify: bool,
        cafile: "str | None",
        proxy_host: "str | None",
        allow_redirects: bool,
        max_redirects: int,
        max_body: int,
    ) -> None:
        self.method = method
        self.url = url
        self.parsed = parse_url(url)
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.verify = verify
        self.cafile = cafile
        self.proxy_host = proxy_host
        self.allow_redirects = allow_redirects
        self.max_redirects = max_redirects
        self.max_body = max_body


# --------------------------------------------------------------- responses


class _Elapsed:
    """Stand-in for ``datetime.timedelta`` where a board has no datetime."""

    def __init__(self, ms: int) -> None:
        self.ms = ms
        self.seconds = ms // 1000
        self.microseconds = (ms % 1000) * 1000

    def total_seconds(self) -> float:
        return self.ms / 1000.0

    def __repr__(self) -> str:
        return "elapsed(%.3fs)" % self.total_seconds()


def make_elapsed(ms: int) -> "Any":
    """``datetime.timedelta`` (as requests gives) where available."""
    try:
        from datetime import timedelta
    except ImportError:  # boards
        return _Elapsed(ms)
    return timedelta(milliseconds=ms)


class Response:
    """An HTTP response, whatever transport fetched it.

    ``str(resp)`` is the body text (what the original's users expect);
    ``resp.transport_response`` is the transport's own object, and unknown
    attributes are looked up there (``history``, ``cookies``, ...).
    """

    exception = None  # type: Optional[BaseException]

    def __init__(
        self,
        status_code: "int | None",
        headers: "HeaderData" = None,
        content: bytes = b"",
        url: str = "",
        elapsed_ms: int = 0,
        reason: str = "",
        transport_response: "Any" = None,
        history: "list | None" = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.content = content
        self.url = url
        self.elapsed = make_elapsed(elapsed_ms)
        self.reason = reason
        self.transport_response = transport_response
        self.history = history if history is not None else []
        self.encoding = _charset(self.headers.get("content-type"))
        self._text = None  # type: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and self.status_code < 400

    @property
    def text(self) -> str:
        if self._text is None:
            enc = (self.encoding or "utf-8").lower()
            if enc in ("utf-8", "utf8"):
                self._text = decode_utf8_replace(self.content)
            else:
                try:
                    self._text = self.content.decode(enc, "replace")
                except (LookupError, TypeError, UnicodeError):  # unknown/unsupported charset
                    self._text = decode_utf8_replace(self.content)
        return self._text

    def json(self, **kwargs: "Any") -> "Any":
        import json

        return json.loads(self.text, **kwargs)

    def raise_for_status(self) -> None:
        if not self.ok:
            url = None
            try:
                url = parse_url(self.url)
            except Exception:  # noqa: S110 - message just names less
                pass
            raise _error(WebError, "HTTP %s %s" % (self.status_code, self.reason), url)

    def close(self) -> None:
        """Nothing to release: the body is already read and the socket closed."""

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return "<Response [%s]>" % self.status_code

    def __getattr__(self, name: str) -> "Any":
        if name.startswith("_"):
            raise AttributeError(name)
        tr = self.__dict__.get("transport_response")
        if tr is None:
            raise AttributeError("'Response' object has no attribute '%s'" % name)
        return getattr(tr, name)


def _safe_url_for_display(url: str) -> str:
    try:
        return parse_url(url).redacted()
    except Exception:
        return mask_url(url) if isinstance(url, str) else "<invalid URL>"


class FakeResponse:
    """What the wrapping functions return instead of raising.

    Fields as in the original: ``elapsed, exception, ok=False, headers={},
    status_code=None, text='', url``; ``str()`` is a one-line field dump
    (credentials and query removed from the URL).
    """

    def __init__(self, exception: BaseException, url: str = "", elapsed_ms: int = 0) -> None:
        self.elapsed = make_elapsed(elapsed_ms)
        self.exception = exception
        self.ok = False
        self.headers = Headers()
        self.status_code = None
        self.text = ""
        self.content = b""
        self.reason = ""
        self.url = url
        self.history = []  # type: list

    def json(self, **kwargs: "Any") -> "Any":
        raise self.exception

    def raise_for_status(self) -> None:
        raise self.exception

    def close(self) -> None:
        pass

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return (
            "FakeResponse(ok=False, status_code=None, url=%r, exception=%s: %s, elapsed=%.3fs)"
            % (
                _safe_url_for_display(self.url),
                type(self.exception).__name__,
                self.exception,
                self.elapsed.total_seconds(),
            )
        )

    __repr__ = __str__
