"""URL percent-encoding that is right for every character, on every platform.

The functions here give the same results as ``urllib.parse`` on CPython,
byte for byte (including non-ASCII text, which is UTF-8 encoded, and
malformed escapes, which ``unquote`` leaves alone). They are written in
pure Python so they also work on CircuitPython/MicroPython boards, which
have no ``urllib``. On CPython ``unquote`` is ``urllib.parse.unquote``,
which measured faster there (``tools/bench/bench_common_urls.py``); our
quoting measured faster than urllib's and is used everywhere. The pure
versions stay importable as ``py_quote`` and friends and are tested
against ``urllib.parse``.

The names of the older table-driven helpers are kept, as aliases of these
functions, for programs written for the original kcore.
"""

from kcore.common import platform

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any

_ALWAYS_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
_HEXDIGITS = "0123456789ABCDEFabcdef"

# --------------------------------------------------------------- quoting

_QUOTE_TABLES = {}  # type: dict
# safe (as given) -> (all-safe bytes, 256-entry list of strings or None)
_QUOTE_TABLES_MAX = 32  # callers with ever-changing `safe` must not grow memory
# A lookup table is the fast way on CPython but costs ~14 KB of heap per
# `safe` value on a board, where each byte is formatted as needed instead.
_USE_TABLES = platform.CPYTHON


def _quote_table(safe: "str | bytes") -> "tuple[bytes, list | None]":
    if isinstance(safe, str):
        # Like urllib: non-ASCII characters in `safe` are ignored.
        safe_bytes = bytes([ord(ch) for ch in safe if ord(ch) < 128])
    else:
        safe_bytes = bytes([b for b in safe if b < 128])
        safe = bytes(safe)  # hashable key for a bytearray
    allowed = _ALWAYS_SAFE + safe_bytes
    table = None
    if _USE_TABLES:
        table = []
        for b in range(256):
            table.append(chr(b) if b in allowed else "%%%02X" % b)
    if len(_QUOTE_TABLES) >= (_QUOTE_TABLES_MAX if _USE_TABLES else 4):
        _QUOTE_TABLES.clear()
    entry = _QUOTE_TABLES[safe] = (allowed, table)
    return entry


def _table_for(safe: "str | bytes") -> "tuple[bytes, list | None]":
    """The cached (allowed bytes, table) entry for ``safe``, made on first use."""
    try:
        entry = _QUOTE_TABLES.get(safe)
    except TypeError:  # unhashable, e.g. a bytearray
        entry = None
    return entry if entry is not None else _quote_table(safe)


def _quote_bytes(data: "bytes | bytearray", entry: "tuple[bytes, list | None]") -> str:
    allowed, table = entry
    if not data.rstrip(allowed):
        return data.decode("utf-8")
    if table is not None:
        return "".join([table[b] for b in data])
    out = []
    for b in data:
        out.append(chr(b) if b in allowed else "%%%02X" % b)
    return "".join(out)


def py_quote_from_bytes(bs: "bytes | bytearray", safe: "str | bytes" = "/") -> str:
    """Percent-encode the bytes ``bs``; bytes in ``safe`` or in the RFC 3986
    unreserved set are kept. Same as ``urllib.parse.quote_from_bytes``."""
    if not isinstance(bs, (bytes, bytearray)):
        raise TypeError("quote_from_bytes() expected bytes")
    if not bs:
        return ""
    return _quote_bytes(bs, _table_for(safe))


def _encode(string: str, encoding: "str | None", errors: "str | None") -> bytes:
    if encoding is None or encoding in ("utf-8", "utf8", "UTF-8"):
        if errors is None or errors == "strict":
            return string.encode("utf-8")
        return string.encode("utf-8", errors)
    return string.encode(encoding, "strict" if errors is None else errors)


def py_quote(
    string: "str | bytes",
    safe: "str | bytes" = "/",
    encoding: "str | None" = None,
    errors: "str | None" = None,
) -> str:
    """``quote('abc def') -> 'abc%20def'``: percent-encode a URL component.

    ``string`` may be str (encoded with ``encoding``, default UTF-8) or
    bytes; characters in ``safe`` (default ``/``) and ``A-Za-z0-9_.-~`` are
    kept. Same results as ``urllib.parse.quote``.
    """
    if isinstance(string, str):
        if not string:
            return string
        if encoding is None and errors is None:
            data = string.encode("utf-8")
        else:
            data = _encode(string, encoding, errors)
    elif encoding is not None:
        raise TypeError("quote() doesn't support 'encoding' for bytes")
    elif errors is not None:
        raise TypeError("quote() doesn't support 'errors' for bytes")
    elif not isinstance(string, (bytes, bytearray)):
        raise TypeError("quote_from_bytes() expected bytes")
    else:
        data = string
    if not data:
        return ""
    return _quote_bytes(data, _table_for(safe))


def py_quote_plus(
    string: "str | bytes",
    safe: "str | bytes" = "",
    encoding: "str | None" = None,
    errors: "str | None" = None,
) -> str:
    """Like :func:`py_quote` but spaces become ``+`` (HTML form encoding) and
    ``/`` is not safe by default. Same results as ``urllib.parse.quote_plus``."""
    if (isinstance(string, str) and " " not in string) or (
        isinstance(string, bytes) and b" " not in string
    ):
        return py_quote(string, safe, encoding, errors)
    if isinstance(safe, str):
        safe = safe + " "
    else:
        safe = bytes(safe) + b" "
    return py_quote(string, safe, encoding, errors).replace(" ", "+")


# ------------------------------------------------------------- unquoting


def py_unquote_to_bytes(string: "str | bytes") -> bytes:
    """``unquote_to_bytes('abc%20def') -> b'abc def'``; malformed escapes are
    kept as they are. Same as ``urllib.parse.unquote_to_bytes``."""
    if not string:
        string.split  # noqa: B018 - same TypeError as urllib for non-strings
        return b""
    if isinstance(string, str):
        string = string.encode("utf-8")
    bits = bytes(string).split(b"%")
    if len(bits) == 1:
        return bytes(string)
    res = bytearray(bits[0])
    hexdigits = b"0123456789ABCDEFabcdef"
    for item in bits[1:]:
        if len(item) >= 2 and item[0] in hexdigits and item[1] in hexdigits:
            res.append(int(item[:2], 16))
            res.extend(item[2:])
        else:
            res.append(37)  # '%'
            res.extend(item)
    return bytes(res)


def _cont(b: int) -> bool:
    return 0x80 <= b <= 0xBF


# CPython's strict UTF-8 decoder rejects every ill-formed sequence; the
# MicroPython/CircuitPython one lets some through (e.g. encoded surrogates),
# so there every byte is checked here.
_STRICT_DECODE_VALIDATES = platform.CPYTHON


def decode_utf8_replace(data: "bytes | bytearray") -> str:
    """``data.decode('utf-8', 'replace')`` in pure Python.

    Boards' ``bytes.decode`` has no error handlers (and does not reject
    every ill-formed sequence), so this validates by itself: each maximal
    ill-formed subpart becomes one U+FFFD, exactly as CPython does it
    (Unicode's recommended practice).
    """
    if _STRICT_DECODE_VALIDATES:
        try:
            return bytes(data).decode("utf-8")
        except UnicodeError:
            pass
    out = []
    n = len(data)
    i = 0
    start = 0  # start of the current run of well-formed bytes
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        need = 0
        lo, hi = 0x80, 0xBF
        if 0xC2 <= b <= 0xDF:
            need = 1
        elif 0xE0 <= b <= 0xEF:
            need = 2
            if b == 0xE0:
                lo = 0xA0
            elif b == 0xED:
                hi = 0x9F
        elif 0xF0 <= b <= 0xF4:
            need = 3
            if b == 0xF0:
                lo = 0x90
            elif b == 0xF4:
                hi = 0x8F
        if need == 0:  # 0x80-0xC1, 0xF5-0xFF never start a character
            bad = 1
        else:
            bad = 0
            j = 1
            while j <= need:
                if i + j >= n:
                    bad = j
                    break
                nb = data[i + j]
                if j == 1:
                    ok = lo <= nb <= hi
                else:
                    ok = _cont(nb)
                if not ok:
                    bad = j
                    break
                j += 1
        if bad:
            if start < i:
                out.append(bytes(data[start:i]).decode("utf-8"))
            out.append("\ufffd")
            i += bad
            start = i
        else:
            i += need + 1
    if start < n:
        out.append(bytes(data[start:n]).decode("utf-8"))
    return "".join(out)


def _decode(data: bytes, encoding: str, errors: str) -> str:
    if encoding in ("utf-8", "utf8", "UTF-8") and errors == "replace":
        return decode_utf8_replace(data)
    return data.decode(encoding, errors)


def py_unquote(string: "str | bytes", encoding: str = "utf-8", errors: str = "replace") -> str:
    """``unquote('abc%20def') -> 'abc def'``: undo percent-encoding.

    Escapes are decoded as UTF-8 (invalid sequences become U+FFFD),
    malformed escapes such as ``%zz`` are left as they are, and non-ASCII
    characters pass through. Same results as ``urllib.parse.unquote``.
    """
    if encoding is None:
        encoding = "utf-8"
    if errors is None:
        errors = "replace"
    if isinstance(string, (bytes, bytearray)):
        return _decode(py_unquote_to_bytes(string), encoding, errors)
    if "%" not in string:
        string.split  # noqa: B018 - same TypeError as urllib for non-strings
        return string
    try:
        raw = string.encode("utf-8")
    except UnicodeError:  # a lone surrogate (CPython): take the general path
        raw = b""
    if len(raw) == len(string):  # all ASCII: one run
        return _decode(py_unquote_to_bytes(raw), encoding, errors)
    # Decode each run of ASCII characters on its own, as urllib does, so
    # non-ASCII text (even a lone surrogate on CPython) passes untouched.
    res = []
    n = len(string)
    i = 0
    while i < n:
        j = i
        if ord(string[i]) < 128:
            while j < n and ord(string[j]) < 128:
                j += 1
            chunk = string[i:j]
            if "%" in chunk:
                chunk = _decode(py_unquote_to_bytes(chunk), encoding, errors)
            res.append(chunk)
        else:
            while j < n and ord(string[j]) >= 128:
                j += 1
            res.append(string[i:j])
        i = j
    return "".join(res)


def py_unquote_plus(string: str, encoding: str = "utf-8", errors: str = "replace") -> str:
    """Like :func:`py_unquote` but ``+`` means space (HTML form decoding)."""
    return py_unquote(string.replace("+", " "), encoding, errors)


# -------------------------------------------------------- platform choice

# The pure versions serve on every platform. Measured with
# tools/bench/bench_common_urls.py on CPython 3.11: quote/quote_plus are ~40%
# faster than urllib.parse's; its unquote is ~10% faster than ours, but
# importing urllib.parse (re, ipaddress, ...) costs ~10 ms at startup, more
# than a program saves in a lifetime of unquoting. Results are identical.
quote = py_quote
quote_plus = py_quote_plus
unquote = py_unquote


def unquote_plus(string: str, encoding: str = "utf-8", errors: str = "replace") -> str:
    """``unquote_plus('%7e/abc+def') -> '~/abc def'`` (form decoding)."""
    return unquote(string.replace("+", " "), encoding, errors)


def _quote_item(
    x: object, safe: "str | bytes", encoding: "str | None", errors: "str | None", quote_via: "Any"
) -> str:
    if isinstance(x, bytes):  # like urllib: a bytearray goes through str()
        return quote_via(x, safe)
    return quote_via(str(x), safe, encoding, errors)


def _pairs(query: "Any") -> list:
    if hasattr(query, "items"):
        return list(query.items())
    if isinstance(query, (str, bytes, bytearray)) and query:
        raise TypeError("not a valid non-string sequence or mapping object")
    try:
        pairs = list(query)
    except TypeError:
        raise TypeError("not a valid non-string sequence or mapping object")
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(
                "urlencode() needs a mapping or a sequence of (key, value) pairs, got %s"
                % type(pair).__name__
            )
    return pairs


def urlencode(
    query: object,
    doseq: bool = False,
    safe: "str | bytes" = "",
    encoding: "str | None" = None,
    errors: "str | None" = None,
    quote_via: object = None,
) -> str:
    """Encode a dict or a sequence of (key, value) pairs as a query string.

    Same results as ``urllib.parse.urlencode`` (``doseq=True`` expands
    sequence values into repeated keys); also accepts ``[key, value]``
    lists, as :func:`dict_to_list_of_pairs` makes. Returns a str.
    """
    if quote_via is None:
        quote_via = quote_plus
    out = []
    for k, v in _pairs(query):
        k = _quote_item(k, safe, encoding, errors, quote_via)
        if not doseq or isinstance(v, (str, bytes)):
            out.append(k + "=" + _quote_item(v, safe, encoding, errors, quote_via))
            continue
        try:
            len(v)
        except TypeError:
            out.append(k + "=" + _quote_item(v, safe, encoding, errors, quote_via))
            continue
        for elt in v:
            out.append(k + "=" + _quote_item(elt, safe, encoding, errors, quote_via))
    return "&".join(out)


def py_urlencode(
    query: object,
    doseq: bool = False,
    safe: "str | bytes" = "",
    encoding: "str | None" = None,
    errors: "str | None" = None,
    quote_via: object = None,
) -> str:
    """:func:`urlencode` built on the pure-Python quoting (for tests/boards)."""
    return urlencode(query, doseq, safe, encoding, errors, quote_via or py_quote_plus)


# ----------------------------------------------- the original's old names

# The original's 14-entry unquote table, kept for code that reads it; the
# functions below do not use it (they handle every character).
UNQUOTE_REPLACEMENTS = {
    "%20": " ",
    "%22": '"',
    "%28": "(",
    "%29": ")",
    "%2B": "+",
    "%2C": ",",
    "%2D": "-",
    "%2E": ".",
    "%2F": "/",
    "%3A": ":",
    "%3D": "=",
    "%5B": "[",
    "%5D": "]",
    "%5F": "_",
}

poor_mans_quote_plus = quote_plus
poor_mans_unquote_plus = unquote_plus
poor_mans_urlencode = urlencode
