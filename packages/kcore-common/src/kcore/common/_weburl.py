"""URLs for :mod:`kcore.common.web` (import the names from there): parsing,
redirect resolution, query strings, and masking for messages."""

from kcore.common._weberrors import InvalidURL, _error
from kcore.common.urls import urlencode

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any

_HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;="
_SCHEME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789+-."


def mask_url(url: str) -> str:
    """``url`` as an error message may show it, whether or not it parses:
    anything that may be credentials (from the start of the authority, or of
    the text, to the last ``@``) becomes ``***``, the query and fragment are
    cut, control characters are escaped, and it is at most 120 characters.
    Over-masks (an ``@`` in a path) rather than show a password."""
    at = url.rfind("@")
    if at >= 0:
        start = url.find("//")
        start = start + 2 if 0 <= start < at else 0
        url = url[:start] + "***" + url[at:]
    slashes = url.find("//")
    for mark in "?#":
        i = url.find(mark, slashes + 2 if slashes >= 0 else 0)
        if i >= 0:
            url = url[:i] + mark + "..."
    out = []
    for ch in url[:120]:
        out.append(ch if 0x20 <= ord(ch) != 0x7F else "\\x%02x" % ord(ch))
    return "".join(out) + ("..." if len(url) > 120 else "")


def _bad_url(url: str, what: str) -> "Any":
    """InvalidURL naming the masked URL and what is wrong with it."""
    return _error(InvalidURL, "%s: %s" % (mask_url(url), what))


class URL:
    """A parsed http(s) URL. ``target`` is the request target (path+query)."""

    def __init__(self, scheme: str, host: str, port: int, target: str, userinfo: str = "") -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
        self.userinfo = userinfo

    @property
    def default_port(self) -> int:
        return 443 if self.scheme == "https" else 80

    @property
    def hostport(self) -> str:
        """Host as it goes in a Host header (IPv6 bracketed, port if needed)."""
        host = "[%s]" % self.host if ":" in self.host else self.host
        if self.port != self.default_port:
            host = "%s:%d" % (host, self.port)
        return host

    @property
    def origin(self) -> str:
        return "%s://%s" % (self.scheme, self.hostport)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def redacted(self) -> str:
        """The URL without credentials or query: safe for messages and logs."""
        return self.origin + self.path

    def geturl(self) -> str:
        return self.origin + self.target

    def __repr__(self) -> str:
        return "URL(%r)" % self.redacted()


def parse_url(url: str) -> URL:
    """Split an ``http://`` or ``https://`` URL into a :class:`URL`.

    Raises InvalidURL for anything else: a missing or unsupported scheme, no
    host, a bad port, or control characters (which could smuggle headers).
    Spaces are percent-encoded; the fragment is dropped.
    """
    if not isinstance(url, str):
        raise _error(InvalidURL, "URL must be a str, not %s" % type(url).__name__)
    url = url.strip()
    # Every message below names the URL only through mask_url(): a password
    # can be anywhere in a URL that does not parse.
    for ch in url:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise _bad_url(url, "URL contains a control character (CR/LF/NUL/...)")
    sep = url.find("://")
    if sep <= 0:
        raise _bad_url(url, "URL has no scheme: use http:// or https://")
    scheme = url[:sep].lower()
    if scheme not in ("http", "https"):
        if len(scheme) <= 16 and not [c for c in scheme if c not in _SCHEME_CHARS]:
            what = "unsupported URL scheme '%s'" % scheme
        else:
            what = "unsupported URL scheme"
        raise _bad_url(url, what + " (use http:// or https://)")
    rest = url[sep + 3 :]
    cut = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if 0 <= i < cut:
            cut = i
    netloc, target = rest[:cut], rest[cut:].replace(" ", "%20")
    hash_at = target.find("#")
    if hash_at >= 0:
        target = target[:hash_at]
    if not target.startswith("/"):
        target = "/" + target
    userinfo = ""
    at = netloc.rfind("@")
    if at >= 0:
        userinfo, netloc = netloc[:at], netloc[at + 1 :]
    port_str = ""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise _bad_url(url, "URL has an unterminated IPv6 address")
        host = netloc[1:end]
        after = netloc[end + 1 :]
        if after:
            if not after.startswith(":"):
                raise _bad_url(url, "URL has junk after the IPv6 address")
            port_str = after[1:]
        for ch in host.lower():
            if ch not in "0123456789abcdef:.%":
                raise _bad_url(url, "URL has an invalid IPv6 address")
    else:
        colon = netloc.rfind(":")
        if colon >= 0:
            host, port_str = netloc[:colon], netloc[colon + 1 :]
        else:
            host = netloc
        for ch in host.lower():
            if ch not in _HOST_CHARS:
                raise _bad_url(url, "URL host contains an invalid character")
    host = host.lower()
    if not host:
        raise _bad_url(url, "URL has no host")
    if port_str:
        if not port_str.isdigit() or not 0 < int(port_str) < 65536:
            raise _bad_url(url, "URL has an invalid port (a number 1-65535)")
        port = int(port_str)
    else:
        port = 443 if scheme == "https" else 80
    return URL(scheme, host, port, target, userinfo)


def _normalize_path(path: str) -> str:
    out = []  # type: list
    for seg in path.split("/"):
        if seg == "..":
            if len(out) > 1:
                out.pop()
        elif seg != ".":
            out.append(seg)
    if path.endswith(("/.", "/..")):
        out.append("")
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def join_url(base: URL, location: str) -> str:
    """Resolve a redirect ``Location`` against the :class:`URL` ``base``."""
    location = location.strip()
    head = location[:12].lower()
    if head.startswith(("http://", "https://")):
        return location
    if "://" in location.split("/", 1)[0] or (":" in head and head.split(":")[0].isalpha()):
        return location  # other scheme: parse_url() will reject it clearly
    if location.startswith("//"):
        return base.scheme + ":" + location
    if location.startswith("/"):
        path, _, query = location.partition("?")
        return base.origin + _normalize_path(path) + ("?" + query if query else "")
    if location.startswith("?"):
        return base.origin + base.path + location
    directory = base.path.rsplit("/", 1)[0]
    path, _, query = location.partition("?")
    return base.origin + _normalize_path(directory + "/" + path) + ("?" + query if query else "")


def add_query(url: str, get_dict: "Any") -> str:
    """Append ``get_dict`` (dict or list of pairs), url-encoded, with ? or &."""
    if not get_dict:
        return url
    query = get_dict if isinstance(get_dict, str) else urlencode(get_dict)
    hash_at = url.find("#")
    if hash_at >= 0:
        url = url[:hash_at]
    if "?" not in url:
        return url + "?" + query
    if url.endswith(("?", "&")):
        return url + query
    return url + "&" + query
