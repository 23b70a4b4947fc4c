"""Portable tests of kcore.common.urls (pytest on CPython, and the micropython
binary). Expected values were produced by CPython's urllib.parse; on CPython
the same inputs are also checked against urllib.parse live."""

from kcore.common import urls

try:
    import urllib.parse as _up
except ImportError:  # boards
    _up = None

QUOTE = [
    # (input, quote, quote_plus, quote(safe=''))
    (
        "a b&c=d?e#f+g%h/i",
        "a%20b%26c%3Dd%3Fe%23f%2Bg%25h/i",
        "a+b%26c%3Dd%3Fe%23f%2Bg%25h%2Fi",
        "a%20b%26c%3Dd%3Fe%23f%2Bg%25h%2Fi",
    ),
    (
        "\u00e9\U0001f600~-._",
        "%C3%A9%F0%9F%98%80~-._",
        "%C3%A9%F0%9F%98%80~-._",
        "%C3%A9%F0%9F%98%80~-._",
    ),
    ("", "", "", ""),
    ("plain-text_1.0~", "plain-text_1.0~", "plain-text_1.0~", "plain-text_1.0~"),
]

UNQUOTE = [
    # (input, unquote, unquote_plus)
    ("%C3%A9%F0%9F%98%80", "\u00e9\U0001f600", "\u00e9\U0001f600"),
    ("%zz%4%", "%zz%4%", "%zz%4%"),  # malformed escapes stay as they are
    ("%C3", "\ufffd", "\ufffd"),
    ("a+b%2Bc", "a+b+c", "a b+c"),
    ("%e2%82%ac%E2%82", "\u20ac\ufffd", "\u20ac\ufffd"),
    ("%ED%A0%80x", "\ufffd\ufffd\ufffdx", "\ufffd\ufffd\ufffdx"),  # no surrogates
    ("%F4%90%80%80", "\ufffd" * 4, "\ufffd" * 4),  # beyond U+10FFFF
    ("%C0%AF", "\ufffd\ufffd", "\ufffd\ufffd"),  # overlong
    ("\u00e9%41\u00fc%C3", "\u00e9A\u00fc\ufffd", "\u00e9A\u00fc\ufffd"),
    ("no escapes", "no escapes", "no escapes"),
]


def test_quote_vectors():
    for s, q, qp, q_nosafe in QUOTE:
        assert urls.quote(s) == q, s
        assert urls.quote_plus(s) == qp, s
        assert urls.quote(s, safe="") == q_nosafe, s
        assert urls.py_quote(s) == q, s
        assert urls.poor_mans_quote_plus(s) == qp, s
        if _up is not None:
            assert _up.quote(s) == q and _up.quote_plus(s) == qp


def test_unquote_vectors():
    for s, u, up_ in UNQUOTE:
        assert urls.unquote(s) == u, s
        assert urls.unquote_plus(s) == up_, s
        assert urls.py_unquote(s) == u, s
        assert urls.poor_mans_unquote_plus(s) == up_, s
        if _up is not None:
            assert _up.unquote(s) == u and _up.unquote_plus(s) == up_


def test_round_trip_every_latin1_and_some_more():
    chars = "".join([chr(i) for i in range(1, 0x180)]) + "\u20ac\U0001f600\uffff"
    assert urls.unquote(urls.quote(chars)) == chars
    assert urls.unquote_plus(urls.quote_plus(chars)) == chars
    for ch in chars:
        assert urls.unquote_plus(urls.quote_plus(ch)) == ch


def test_bytes_in_and_out():
    assert urls.quote(b"\xff /") == "%FF%20/"
    assert urls.quote_plus(b"\xff /") == "%FF+%2F"
    assert urls.py_unquote_to_bytes("%FF%zz") == b"\xff%zz"
    assert urls.py_unquote(b"%C3%A9") == "\u00e9"


def test_decode_utf8_replace():
    assert urls.decode_utf8_replace(b"a\xffb") == "a\ufffdb"
    assert urls.decode_utf8_replace(b"\xe2\x82") == "\ufffd"
    assert urls.decode_utf8_replace(b"\xf0\x9f\x98") == "\ufffd"
    assert urls.decode_utf8_replace(b"\xf0\x9f\x98\x80") == "\U0001f600"
    assert urls.decode_utf8_replace(b"\xc2") == "\ufffd"
    assert urls.decode_utf8_replace(b"\x80\x80") == "\ufffd\ufffd"
    assert urls.decode_utf8_replace(b"") == ""


def test_urlencode():
    assert urls.urlencode({"q": "a b"}) == "q=a+b"
    pairs = [("q", "a b"), ("n", 1), ("\u00e9", "&")]
    assert urls.urlencode(pairs) == "q=a+b&n=1&%C3%A9=%26"
    assert urls.urlencode([["k", "v"]]) == "k=v"
    assert urls.urlencode([("k", ["a", "b"]), ("z", b"\xff")], doseq=True) == "k=a&k=b&z=%FF"
    assert urls.poor_mans_urlencode({"x": "?#"}) == "x=%3F%23"
    assert urls.urlencode({}) == ""
    try:
        urls.urlencode("a=b")
        raise AssertionError("no TypeError")
    except TypeError:
        pass


def test_unquote_replacements_table():
    assert len(urls.UNQUOTE_REPLACEMENTS) == 14
    for code in urls.UNQUOTE_REPLACEMENTS:
        assert urls.unquote(code) == urls.UNQUOTE_REPLACEMENTS[code]
