"""kcore.common.urls: byte-identical to urllib.parse for every input, in the
pure-Python versions (used on boards) and the public names."""

import importlib
import sys
import urllib.parse as up

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcore.common import urls

platform = importlib.import_module("kcore.common.platform")

# Text that hits the interesting cases often: escapes (valid, malformed,
# partial UTF-8), reserved characters, non-ASCII and astral characters.
escape = st.builds(
    lambda a, b: "%" + a + b,
    st.sampled_from("0123456789abcdefABCDEFgz%+ "),
    st.sampled_from("0123456789abcdefABCDEFgz%+ "),
)
utf8_escape = st.binary(min_size=1, max_size=4).map(lambda b: "".join("%%%02X" % x for x in b))
piece = st.one_of(
    st.text(max_size=5),
    escape,
    utf8_escape,
    st.sampled_from(["%", "&", "?", "#", "+", "=", "/", " ", "~", "é", "😀", "%C3", "%A9"]),
)
urlish = st.lists(piece, max_size=12).map("".join)
safe_text = st.text(alphabet=st.characters(max_codepoint=200), max_size=6)
PAIRS = ["quote", "quote_plus", "unquote", "unquote_plus"]


def both(name, *args, **kwargs):
    """(urllib result or exception type, pure result or exception type)."""
    out = []
    for fn in (getattr(up, name), getattr(urls, "py_" + name)):
        try:
            out.append(fn(*args, **kwargs))
        except Exception as e:  # compare error types too
            out.append(type(e))
    return out


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.text())
def test_pure_equals_urllib_for_any_text(s):
    for name in PAIRS:
        ref, pure = both(name, s)
        assert ref == pure, name


@settings(max_examples=600, deadline=None, derandomize=True)
@given(urlish)
def test_pure_unquote_equals_urllib_on_escape_heavy_text(s):
    for name in PAIRS:
        ref, pure = both(name, s)
        assert ref == pure, name


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(), safe_text)
def test_pure_quote_with_safe_equals_urllib(s, safe):
    for name in ("quote", "quote_plus"):
        ref, pure = both(name, s, safe=safe)
        assert ref == pure, name
    safe_b = safe.encode("utf-8")
    assert up.quote(s, safe=safe_b) == urls.py_quote(s, safe=safe_b)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(), safe_text)
def test_board_quoting_without_tables_equals_urllib(s, safe):
    """Boards format each byte instead of building 256-entry tables (heap)."""
    saved = dict(urls._QUOTE_TABLES)
    urls._QUOTE_TABLES.clear()
    urls._USE_TABLES = False
    try:
        assert urls.py_quote(s, safe=safe) == up.quote(s, safe=safe)
        assert urls.py_quote_plus(s) == up.quote_plus(s)
        assert all(entry[1] is None for entry in urls._QUOTE_TABLES.values())
        assert len(urls._QUOTE_TABLES) <= 4
    finally:
        urls._USE_TABLES = True
        urls._QUOTE_TABLES.clear()
        urls._QUOTE_TABLES.update(saved)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary())
def test_bytes_inputs_equal_urllib(b):
    assert up.quote(b) == urls.py_quote(b)
    assert up.quote_plus(b) == urls.py_quote_plus(b)
    assert up.quote_from_bytes(b, "") == urls.py_quote_from_bytes(b, "")
    assert up.unquote_to_bytes(b) == urls.py_unquote_to_bytes(b)
    assert up.unquote(b) == urls.py_unquote(b)


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(st.binary(max_size=12))
def test_utf8_replace_decoder_equals_cpython(b):
    assert urls.decode_utf8_replace(b) == b.decode("utf-8", "replace")


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(st.binary(max_size=12))
def test_utf8_replace_decoder_board_path_equals_cpython(b):
    """The board path validates every byte itself (MicroPython's decoder lets
    encoded surrogates through): force it and compare with CPython."""
    old = urls._STRICT_DECODE_VALIDATES
    urls._STRICT_DECODE_VALIDATES = False
    try:
        assert urls.decode_utf8_replace(b) == b.decode("utf-8", "replace")
    finally:
        urls._STRICT_DECODE_VALIDATES = old


@settings(max_examples=300, deadline=None, derandomize=True)
@given(urlish)
def test_pure_unquote_to_bytes_equals_urllib(s):
    assert up.unquote_to_bytes(s) == urls.py_unquote_to_bytes(s)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(), urlish)
def test_public_names_equal_urllib(s, u):
    assert urls.quote(s) == up.quote(s)
    assert urls.quote_plus(s) == up.quote_plus(s)
    assert urls.unquote(u) == up.unquote(u)
    assert urls.unquote_plus(u) == up.unquote_plus(u)
    assert urls.unquote(urls.quote(s)) == s
    assert urls.unquote_plus(urls.quote_plus(s)) == s
    assert urls.poor_mans_quote_plus(s) == up.quote_plus(s)
    assert urls.poor_mans_unquote_plus(u) == up.unquote_plus(u)


scalar = st.one_of(st.text(max_size=8), st.integers(), st.binary(max_size=6), st.booleans())
value = st.one_of(scalar, st.lists(scalar, max_size=3), st.tuples(scalar, scalar))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=8), value, max_size=5), st.booleans(), safe_text)
def test_urlencode_dict_equals_urllib(d, doseq, safe):
    assert urls.urlencode(d, doseq=doseq, safe=safe) == up.urlencode(d, doseq=doseq, safe=safe)
    assert urls.py_urlencode(d, doseq=doseq, safe=safe) == up.urlencode(d, doseq=doseq, safe=safe)
    assert urls.poor_mans_urlencode(d, doseq) == up.urlencode(d, doseq)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.one_of(st.text(max_size=8), st.binary(max_size=4)), value)))
def test_urlencode_pairs_equal_urllib(pairs):
    for doseq in (False, True):
        expected = up.urlencode(pairs, doseq=doseq)
        assert urls.urlencode(pairs, doseq=doseq) == expected
        assert urls.urlencode([list(p) for p in pairs], doseq=doseq) == expected  # lists too
        assert urls.py_urlencode(pairs, doseq=doseq) == expected
        assert urls.urlencode(pairs, doseq=doseq, quote_via=up.quote) == up.urlencode(
            pairs, doseq=doseq, quote_via=up.quote
        )


def test_reserved_and_special_characters():
    assert urls.quote_plus("a b&c=d?e#f+g%h/i") == "a+b%26c%3Dd%3Fe%23f%2Bg%25h%2Fi"
    assert urls.quote("a b&c=d?e#f+g%h/i") == "a%20b%26c%3Dd%3Fe%23f%2Bg%25h/i"
    assert urls.quote("-._~") == "-._~"  # unreserved: not escaped (the original escaped -._)
    assert urls.quote("é😀") == "%C3%A9%F0%9F%98%80"
    assert urls.unquote("%C3%A9%F0%9F%98%80") == "é😀"
    assert urls.unquote("%zz%4%") == "%zz%4%"  # malformed: left as is
    assert urls.unquote("%C3") == "\ufffd"
    assert urls.unquote_plus("a+b%2Bc") == "a b+c"
    assert urls.quote("") == "" and urls.unquote("") == ""


@pytest.mark.parametrize("s", ["\udc80%41", "a\ud800%C3%A9\udfff+%", "%\udc80"])
def test_lone_surrogates_pass_through_unquote_like_urllib(s):
    for name in ("unquote", "unquote_plus"):
        ref, pure = both(name, s)
        assert ref == pure, name


def test_urlencode_returns_str_and_fixes_original_crash():
    assert urls.urlencode({"q": "a b", "n": 1}) == "q=a+b&n=1"
    assert urls.poor_mans_urlencode({"x": "&"}) == "x=%26"
    assert urls.urlencode([["k", "v"], ("k2", "v2")]) == "k=v&k2=v2"
    assert urls.urlencode({"k": ["a", "b"]}, doseq=True) == "k=a&k=b"
    assert urls.urlencode([]) == "" and urls.urlencode({}) == ""


def test_urlencode_bad_input_is_a_clear_type_error():
    with pytest.raises(TypeError, match="mapping"):
        urls.urlencode("a=b")
    with pytest.raises(TypeError, match="pairs"):
        urls.urlencode(["ab"])
    with pytest.raises(TypeError, match="pairs"):
        urls.urlencode([("a", "b", "c")])
    with pytest.raises(TypeError):
        urls.urlencode(5)


def test_error_types_match_urllib():
    for fn in (urls.py_quote, up.quote):
        with pytest.raises(TypeError):
            fn(5)
        with pytest.raises(TypeError):
            fn(b"x", encoding="utf-8")
        with pytest.raises(TypeError):
            fn(b"x", errors="strict")
        with pytest.raises(UnicodeEncodeError):
            fn("\udc80")
    for fn in (urls.py_unquote, up.unquote):
        with pytest.raises((TypeError, AttributeError)):
            fn(5)


def test_encoding_and_errors_parameters():
    assert urls.py_quote("é", encoding="latin-1") == up.quote("é", encoding="latin-1")
    assert urls.py_quote("é€", encoding="latin-1", errors="replace") == up.quote(
        "é€", encoding="latin-1", errors="replace"
    )
    assert urls.py_quote("\udc80", errors="surrogateescape") == up.quote(
        "\udc80", errors="surrogateescape"
    )
    assert urls.py_unquote("%E9", encoding="latin-1") == up.unquote("%E9", encoding="latin-1")
    assert urls.py_unquote("%E9", errors="ignore") == up.unquote("%E9", errors="ignore")
    assert urls.py_unquote("%E9", encoding=None, errors=None) == up.unquote("%E9", None, None)
    assert urls.py_quote("x y", safe=bytearray(b" ")) == up.quote("x y", safe=bytearray(b" "))
    assert urls.py_quote_plus("x y", safe=b"/") == up.quote_plus("x y", safe=b"/")
    assert urls.py_unquote(bytearray(b"%41")) == "A"


def test_quote_table_cache_is_bounded():
    for i in range(200):
        urls.py_quote("x y", safe=chr(33 + i % 90) + str(i))
    assert len(urls._QUOTE_TABLES) <= urls._QUOTE_TABLES_MAX


def test_unquote_replacements_table_kept_and_consistent():
    assert len(urls.UNQUOTE_REPLACEMENTS) == 14
    for code, ch in urls.UNQUOTE_REPLACEMENTS.items():
        assert urls.unquote(code) == ch
        assert urls.unquote(code.lower()) == ch


def test_board_branch_binds_pure_functions(monkeypatch):
    """With the platform flags of a board, the public names are the pure ones."""
    monkeypatch.setattr(platform, "CPYTHON", False)
    monkeypatch.setattr(platform, "MICROPYTHON", True)
    try:
        board = importlib.reload(urls)
        assert board.unquote is board.py_unquote
        assert board.quote is board.py_quote
        assert board.quote_plus is board.py_quote_plus
        assert "urllib.parse" not in board.unquote.__module__
        assert board.unquote_plus("%C3%A9+x") == "é x"
        assert board.urlencode({"é": "a b"}) == "%C3%A9=a+b"
    finally:
        monkeypatch.undo()
        importlib.reload(urls)
    # CPython uses the pure versions too: urllib.parse costs ~10 ms to import.
    assert urls.unquote is urls.py_unquote


def test_importing_urls_does_not_import_urllib():
    import subprocess
    import sys

    code = "import sys, kcore.common.urls; print('urllib.parse' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_board_decoder_path_without_error_handlers(monkeypatch):
    """Boards' bytes.decode has no 'replace': the pure decoder must not need it."""

    class StrictBytes(bytes):
        def decode(self, encoding="utf-8", errors="strict"):
            if errors != "strict":
                raise AssertionError("error handler used")
            return bytes.decode(self, encoding)

    monkeypatch.setattr(urls, "_STRICT_DECODE_VALIDATES", False)
    assert urls.decode_utf8_replace(StrictBytes(b"a\xffb\xe2\x82")) == "a\ufffdb\ufffd"
    assert urls.decode_utf8_replace(StrictBytes(b"\xed\xa0\x80")) == "\ufffd" * 3


def test_import_does_not_need_urllib_on_boards(monkeypatch):
    monkeypatch.setattr(platform, "CPYTHON", False)
    monkeypatch.setitem(sys.modules, "urllib.parse", None)
    monkeypatch.setitem(sys.modules, "urllib", None)
    try:
        board = importlib.reload(urls)
        assert board.unquote("%41") == "A"
    finally:
        monkeypatch.undo()
        importlib.reload(urls)


def test_quote_from_bytes_edge_cases():
    with pytest.raises(TypeError, match="expected bytes"):
        urls.py_quote_from_bytes("text")
    assert urls.py_quote_from_bytes(b"") == up.quote_from_bytes(b"") == ""
    for safe in ("/", b"/", bytearray(b"/ "), "é/"):
        assert urls.py_quote_from_bytes(b"a b/\xff", safe) == up.quote_from_bytes(
            b"a b/\xff", safe
        )
    assert urls.py_quote("a\udc80", errors="surrogatepass") == up.quote(
        "a\udc80", errors="surrogatepass"
    )
