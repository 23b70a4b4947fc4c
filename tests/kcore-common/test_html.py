"""kcore.html on CPython: exact formats, escaping everywhere, Markup, URL and
attribute checks, plus hypothesis properties (escape == html.escape; data never
produces markup)."""

import html as stdlib_html
import inspect
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcore import html as H
from kcore.common.platform import KcoreError

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
EVIL = '<script>alert("x")</script>'

# ------------------------------------------------------------------ escape


@settings(max_examples=500)
@given(st.text(st.characters(exclude_categories=())), st.booleans())
def test_escape_is_identical_to_stdlib(s, quote):
    assert H.escape(s, quote) == stdlib_html.escape(s, quote)
    assert H.escape(s) == stdlib_html.escape(s)
    assert type(H.escape(s, quote)) is str


@given(st.text(alphabet="<>&\"'ab \x00\u00e9\ud800"))
def test_escape_identical_on_special_characters(s):
    assert H.escape(s) == stdlib_html.escape(s)
    assert H.escape(s, quote=False) == stdlib_html.escape(s, quote=False)


def test_escape_markup_input_still_escapes_like_stdlib():
    m = H.raw("<b>")
    assert H.escape(m) == stdlib_html.escape(m) == "&lt;b&gt;"
    assert type(H.escape(m)) is str


def test_escape_rejects_non_str():
    with pytest.raises(TypeError, match="int"):
        H.escape(5)


# ------------------------------------------------------------------ Markup


def test_markup_add_radd_mod_join_escape_the_text_side():
    b = H.raw("<b>")
    assert b + "<i>" == "<b>&lt;i&gt;" and isinstance(b + "<i>", H.Markup)
    assert "<i>" + b == "&lt;i&gt;<b>" and isinstance("<i>" + b, H.Markup)
    assert b + H.raw("<i>") == "<b><i>"
    assert H.raw("<p>%s %d</p>") % ("<x>", 5) == "<p>&lt;x&gt; 5</p>"
    assert H.raw("<p>%(a)s</p>") % {"a": "&"} == "<p>&amp;</p>"
    assert H.raw("<p>%s</p>") % "'" == "<p>&#x27;</p>"
    assert H.Markup("<br>").join(["<", H.raw("<hr>")]) == "&lt;<br><hr>"
    assert H.Markup.escape("<") == "&lt;" and H.Markup.escape(b) is not None
    assert H.Markup.escape(b) == "<b>"
    assert repr(b) == "Markup('<b>')"
    assert b.__html__() is b


def test_objects_with_dunder_html_count_as_safe():
    class Safe:
        def __html__(self):
            return "<em>ok</em>"

    assert H.wrap(Safe(), "p") == "<p><em>ok</em></p>\n"
    assert H.raw(Safe()) == "<em>ok</em>"
    assert H.table_row([Safe(), "<"]) == "<tr><td><em>ok</em></td><td>&lt;</td></tr>\n"


def test_raw_of_non_str_and_identity():
    assert H.raw(5) == "5" and isinstance(H.raw(5), H.Markup)
    m = H.raw("x")
    assert H.raw(m) is m


# ------------------------------------------------------------------ exact formats


def test_dict_to_page_is_the_original_varz_page():
    page = H.dict_to_page({"b": 2, "a": "1"}, "varz")
    assert page == (
        "<html>\n <head>\n  <title>varz</title>\n  " + VIEWPORT + "\n </head>\n <body>\n"
        "<table border=1 cellpadding=2>\n"
        "<tr><td>a</td><td>1</td></tr>\n"
        "<tr><td>b</td><td>2</td></tr>\n"
        "</table>\n </body>\n</html>\n"
    )
    assert isinstance(page, H.Markup)


def test_html_page_wrap_skeleton():
    assert H.html_page_wrap("") == (
        "<html>\n <head>\n  " + VIEWPORT + "\n </head>\n <body>\n </body>\n</html>\n"
    )
    page = H.html_page_wrap(
        H.raw("<p>x</p>\n"), "T", css=["a.css", "/b.css"], other_heads=[H.raw("<meta x>")]
    )
    assert page == (
        "<html>\n <head>\n  <title>T</title>\n"
        '  <link href="a.css" rel="stylesheet">  <link href="/b.css" rel="stylesheet">'
        "  <meta x>\n </head>\n <body>\n<p>x</p>\n </body>\n</html>\n"
    )
    assert H.html_page_wrap("x", other_heads=()) == (
        "<html>\n <head>\n </head>\n <body>\nx </body>\n</html>\n"
    )
    assert H.html_page_wrap(None, other_heads=[]).count("None") == 0


def test_table_row_wrap_two_col():
    assert H.table_row(["a", "b"]) == "<tr><td>a</td><td>b</td></tr>\n"
    assert H.table_row(("a",), "th") == "<tr><th>a</th></tr>\n"
    assert H.table_row("ab") == "<tr><td>ab</td></tr>\n"  # a str is one cell, not chars
    assert H.two_col_row(1, None) == "<tr><td>1</td><td>None</td></tr>\n"
    assert H.wrap("m", "code") == "<code>m</code>\n"
    assert H.wrap("m", "code", eol=False) == H.wrap_("m", "code") == "<code>m</code>"


def test_list_to_table_shapes():
    t = H.list_to_table([[1, 2], "x", (3,)], header_list=["h1", "h2"], title="T")
    assert t == (
        "<table border=1 cellpadding=2>\n<caption>T</caption>\n"
        "<tr><th>h1</th><th>h2</th></tr>\n"
        "<tr><td>1</td><td>2</td></tr>\n<tr><td>x</td></tr>\n<tr><td>3</td></tr>\n"
        "</table>\n"
    )
    flat = H.list_to_table([[1, 2]], autoexpand=False, table_fmt="")
    assert flat == "<table>\n<tr><td>[1, 2]</td></tr>\n</table>\n"
    assert H.list_to_table({"k": "v"}) == (
        "<table border=1 cellpadding=2>\n<tr><td>k</td><td>v</td></tr>\n</table>\n"
    )
    with pytest.raises(TypeError):
        H.list_to_table("abc")


def test_select_input():
    s = H.list_to_select_input(
        "n", [1, 2], prompts=["one", "<two>"], selected=2, id="i", autofocus=True
    )
    assert s == (
        '<select name="n" id="i" autofocus>\n'
        '  <option value="1">one</option>\n'
        '  <option value="2" selected>&lt;two&gt;</option>\n'
        "</select>\n"
    )
    assert H.list_to_select_input("n", ["a"], indent="") == (
        '<select name="n">\n<option value="a">a</option>\n</select>\n'
    )
    with pytest.raises(ValueError, match="prompts"):
        H.list_to_select_input("n", [1, 2], prompts=["x"])


def test_redirect_page():
    page = H.redirect("/x?a=1&b=2", 3, H.raw("<p>moved</p>"))
    assert page == (
        '<html>\n <head>\n  <meta http-equiv="refresh" content="3; url=/x?a=1&amp;b=2">\n'
        " </head>\n <body>\n<p>moved</p> </body>\n</html>\n"
    )
    assert 'content="0; url=https://e.org/"' in H.redirect("https://e.org/")


# ------------------------------------------------------------------ escaping everywhere


def test_every_text_argument_is_escaped():
    page = H.html_page_wrap(EVIL, EVIL, css=["x.css?<script>"], other_heads=[EVIL])
    assert "<script" not in page
    sel = H.list_to_select_input(EVIL, [EVIL], prompts=[EVIL], id=EVIL, indent=EVIL)
    assert "<script" not in sel and '"x"' not in sel
    tab = H.list_to_table({EVIL: [EVIL]}, header_list=[EVIL], title=EVIL)
    assert "<script" not in tab
    assert "<script" not in H.dict_to_page({EVIL: EVIL}, EVIL)
    assert "<script" not in H.redirect("/a", content=EVIL)
    assert "<script" not in H.wrap(EVIL, "p") + H.wrap_(EVIL, "b") + H.two_col_row(EVIL, EVIL)
    assert "&lt;script&gt;" in H.wrap(EVIL, "p")


def test_nesting_does_not_double_escape():
    inner = H.list_to_table([["<a>"]])
    page = H.html_page_wrap(inner, "t")
    assert "<table border=1 cellpadding=2>" in page and "&lt;a&gt;" in page
    assert "&amp;lt;" not in page
    cell = H.table_row([H.wrap("x", "b")])
    assert cell == "<tr><td><b>x</b>\n</td></tr>\n"


# ------------------------------------------------------------------ URLs, tags, attributes

BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "vbscript:x",
    "data:text/html,<script>",
    "file:///etc/passwd",
    "'javascript:alert(1)'",
    '"x',
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_redirect_rejects_unsafe_urls(url):
    with pytest.raises(ValueError) as info:
        H.redirect(url)
    assert isinstance(info.value, KcoreError)
    assert "redirect target" in str(info.value)


@pytest.mark.parametrize(
    "url", ["/a", "a/b", "http://x/", "HTTPS://x/y?z#w", "?q=javascript:x", "/p:q", "//host/x", ""]
)
def test_redirect_accepts_http_and_relative(url):
    assert "url=" + stdlib_html.escape(url) + '"' in H.redirect(url)


def test_redirect_target_markup_is_still_escaped_and_checked():
    with pytest.raises(ValueError):
        H.redirect(H.raw("javascript:x"))
    page = H.redirect(H.raw("javascript&#58;alert(1)"))  # a relative path, shown literally
    assert "javascript&amp;#58;" in page


@pytest.mark.parametrize("delay", [-1, "0; url=javascript:x", True, float("nan"), None])
def test_redirect_rejects_bad_delay(delay):
    with pytest.raises(ValueError, match="delay"):
        H.redirect("/x", delay)


def test_css_urls_are_checked():
    with pytest.raises(ValueError, match="css"):
        H.html_page_wrap("", css=["javascript:x"])
    assert 'href="a.css?x=&quot;"' not in H.html_page_wrap("", css=["a.css?x=1&y=2"])
    assert 'href="a.css?x=1&amp;y=2"' in H.html_page_wrap("", css="a.css?x=1&y=2")


@pytest.mark.parametrize("tag", ["", "1a", "td onclick=x", "t-d", "td>", None, 5])
def test_bad_tag_names_raise(tag):
    with pytest.raises(ValueError, match="tag"):
        H.wrap("x", tag)
    with pytest.raises(ValueError, match="tag"):
        H.table_row(["x"], tag)


def test_script_and_style_need_raw_content():
    with pytest.raises(ValueError, match="raw"):
        H.wrap("alert(1)", "script")
    with pytest.raises(ValueError, match="raw"):
        H.wrap("x", "STYLE")
    assert H.wrap(H.raw("var a = 1 < 2;"), "script") == "<script>var a = 1 < 2;</script>\n"


@pytest.mark.parametrize(
    "fmt",
    [
        "onclick=alert(1)",
        "border=1 ONMOUSEOVER=x",
        "border=1><script>",
        'class="a" onmouseover="x"',
        'title="<x>"',
        "background=javascript:x",
        "background='java script:x'",
        'style="x',
        "a=",
        "=1",
        'a=b"c',
    ],
)
def test_table_fmt_rejects_unsafe_attributes(fmt):
    with pytest.raises(ValueError, match="table_fmt"):
        H.list_to_table([], table_fmt=fmt)


@pytest.mark.parametrize(
    "fmt", ["border=1 cellpadding=2", 'class="a b" id=x', "hidden", "data-x='1'", " "]
)
def test_table_fmt_accepts_plain_attributes(fmt):
    assert H.list_to_table([], table_fmt=fmt).startswith("<table " + fmt + ">\n")


def test_table_fmt_raw_is_taken_verbatim():
    out = H.list_to_table([], table_fmt=H.raw('onclick="trusted()"'))
    assert out.startswith('<table onclick="trusted()">')


# ------------------------------------------------------------ no mutation, no mutable defaults


def test_arguments_are_not_mutated():
    values, prompts, rows, heads, css = [1, 2], ["a", "b"], [[1], "x"], ["h"], ["a.css"]
    d = {"b": [1], "a": 2}
    snapshot = repr((values, prompts, rows, heads, css, d))
    H.list_to_select_input("n", values, prompts)
    H.list_to_table(rows, header_list=heads)
    H.list_to_table(d)
    H.dict_to_page(d)
    H.html_page_wrap("x", css=css, other_heads=heads)
    assert repr((values, prompts, rows, heads, css, d)) == snapshot
    assert list(d) == ["b", "a"]


def _immutable(value):
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


@pytest.mark.parametrize(
    "func",
    [
        H.html_page_wrap,
        H.list_to_select_input,
        H.list_to_table,
        H.dict_to_page,
        H.redirect,
        H.table_row,
        H.two_col_row,
        H.wrap,
        H.wrap_,
        H.escape,
    ],
)
def test_no_mutable_default_arguments(func):
    for p in inspect.signature(func).parameters.values():
        if p.default is not inspect.Parameter.empty:
            assert _immutable(p.default), (func.__name__, p.name, p.default)


def test_original_signatures_kept():
    def names(f):
        return list(inspect.signature(f).parameters)

    assert names(H.html_page_wrap) == ["body_contents", "title", "css", "other_heads"]
    assert names(H.list_to_select_input) == [
        "name",
        "values",
        "prompts",
        "selected",
        "id",
        "indent",
        "autofocus",
    ]
    assert names(H.list_to_table) == ["list_in", "table_fmt", "header_list", "autoexpand", "title"]
    assert names(H.dict_to_page) == ["d", "title"]
    assert names(H.redirect) == ["to", "delay", "content"]
    assert names(H.table_row) == ["items", "item_type"]
    assert names(H.wrap) == ["msg", "code", "eol"]
    assert names(H.wrap_) == ["msg", "code"]


def test_dict_to_page_mixed_key_types_and_bad_input():
    page = H.dict_to_page({2: "a", "b": 1, 1: "c"})
    assert page.index("<td>1</td>") < page.index("<td>2</td>")
    with pytest.raises(TypeError):
        H.dict_to_page(["not", "a", "dict"])


# ------------------------------------------------------------------ properties

DATA = st.one_of(
    st.text(),
    st.sampled_from([EVIL, "<SCRIPT>", "<scr<script>ipt>", "\"'><script>", "<", "&lt;script"]),
    st.integers(),
    st.none(),
)
CELL = st.one_of(DATA, st.lists(DATA, max_size=3))


def _assert_no_markup_from_data(out, skeleton):
    assert "<script" not in out.lower()
    # Data adds no '<' at all: the tags are the skeleton's.
    assert out.count("<") == skeleton.count("<")


@given(DATA, DATA, st.lists(DATA, max_size=3))
def test_page_wrap_never_lets_data_make_markup(body, title, heads):
    out = H.html_page_wrap(body, title, other_heads=heads)
    skel = H.html_page_wrap(
        "b", "t" if title not in (None, "") else "", other_heads=["h"] * len(heads)
    )
    _assert_no_markup_from_data(out, skel)


@given(st.dictionaries(st.text(), DATA, max_size=5), DATA)
def test_dict_to_page_never_lets_data_make_markup(d, title):
    out = H.dict_to_page(d, title)
    skel = H.dict_to_page(
        {"k%d" % i: "v" for i in range(len(d))}, "t" if title not in (None, "") else ""
    )
    _assert_no_markup_from_data(out, skel)


@given(st.lists(CELL, max_size=5), st.lists(DATA, max_size=3), DATA, st.booleans())
def test_list_to_table_never_lets_data_make_markup(rows, headers, title, autoexpand):
    out = H.list_to_table(rows, header_list=headers, title=title, autoexpand=autoexpand)
    shaped = [["c"] * len(r) if autoexpand and isinstance(r, list) else "c" for r in rows]
    skel = H.list_to_table(
        shaped,
        header_list=["h"] * len(headers),
        title="t" if title not in (None, "") else None,
        autoexpand=autoexpand,
    )
    _assert_no_markup_from_data(out, skel)


@given(DATA, st.lists(DATA, min_size=1, max_size=4), DATA, DATA)
def test_select_never_lets_data_make_markup(name, values, id_, indent):
    out = H.list_to_select_input(name, values, id=id_, indent=indent)
    _assert_no_markup_from_data(out, H.list_to_select_input("n", ["v"] * len(values)))


@given(DATA, st.sampled_from(["td", "th", "p", "code", "b"]))
def test_wrap_and_rows_never_let_data_make_markup(msg, tag):
    _assert_no_markup_from_data(H.wrap(msg, tag), H.wrap("m", tag))
    _assert_no_markup_from_data(H.table_row([msg, msg], tag), H.table_row(["a", "b"], tag))


@given(st.text())
def test_any_table_fmt_is_rejected_or_harmless(fmt):
    try:
        out = H.list_to_table([], table_fmt=fmt)
    except ValueError:
        return
    assert out.count("<") == 2 and out.count(">") == 2


def _browser_target(page):
    """The URL a browser follows from our meta refresh (entity-decoded, trimmed)."""
    start = page.index('content="') + len('content="')
    content = stdlib_html.unescape(page[start : page.index('"', start)])
    url = content.split("url=", 1)[1]
    return "".join(ch for ch in url if ch not in "\t\n\r").strip(" \x00\x0c")


URL_TEXT = st.one_of(
    st.text(),
    st.builds(
        lambda a, b, c: a + b + c,
        st.sampled_from(["", " ", "\t", "'", '"', "&#", "/", "x"]),
        st.sampled_from(["javascript:", "JAVASCRIPT:", "java\tscript:", "data:", "http:"]),
        st.text(max_size=10),
    ),
)


@given(URL_TEXT, DATA)
def test_redirect_target_is_rejected_or_http_or_relative(to, content):
    try:
        page = H.redirect(to, 0, content)
    except ValueError:
        return
    target = _browser_target(page)
    scheme = target.split(":", 1)[0].lower() if ":" in target else ""
    ascii_alnum = string.ascii_letters + string.digits
    if (
        scheme
        and scheme[0] in string.ascii_letters
        and all(c in ascii_alnum + "+-." for c in scheme)
    ):
        assert scheme in ("http", "https"), target
    assert "<script" not in page.lower()
