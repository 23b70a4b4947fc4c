"""Portable tests of kcore.html: plain asserts, run by pytest and the real micropython binary."""

from mtest import raises

from kcore import html as H

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
EVIL = '<script>alert("x")</script>'


def test_escape_table():
    assert H.escape("") == ""
    assert H.escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&#x27;f"
    assert H.escape("a&b<c>d\"e'f", False) == "a&amp;b&lt;c&gt;d\"e'f"
    assert H.escape("&amp;") == "&amp;amp;"
    assert H.escape("\u00e9\u4e2d<") == "\u00e9\u4e2d&lt;"
    assert H.escape(H.raw("<")) == "&lt;"
    raises(TypeError, H.escape, 5)


def test_markup_operations():
    b = H.raw("<b>")
    assert isinstance(b, str) and isinstance(b, H.Markup)
    assert str(b + "<i>") == "<b>&lt;i&gt;"
    assert isinstance(b + "<i>", H.Markup)
    assert str("<i>" + b) == "&lt;i&gt;<b>"
    assert isinstance("<i>" + b, H.Markup)
    assert str(b + H.raw("<i>")) == "<b><i>"
    assert str(H.raw("<p>%s %d</p>") % ("<x>", 5)) == "<p>&lt;x&gt; 5</p>"
    assert str(H.raw("<p>%s</p>") % "&") == "<p>&amp;</p>"
    assert str(H.Markup("<br>").join(["<", H.raw("<hr>")])) == "&lt;<br><hr>"
    assert str(H.Markup.escape("<")) == "&lt;"
    assert str(H.Markup.escape(b)) == "<b>"
    assert H.raw(b) is b
    assert str(H.raw(7)) == "7"


def test_page_skeleton():
    assert str(H.html_page_wrap("")) == (
        "<html>\n <head>\n  " + VIEWPORT + "\n </head>\n <body>\n </body>\n</html>\n"
    )
    page = H.html_page_wrap(H.raw("<p>x</p>\n"), "T", css=["a.css"], other_heads=[])
    assert str(page) == (
        "<html>\n <head>\n  <title>T</title>\n"
        '  <link href="a.css" rel="stylesheet"> </head>\n <body>\n<p>x</p>\n </body>\n</html>\n'
    )


def test_varz_page_format():
    assert str(H.dict_to_page({"b": 2, "a": "<1>"}, "varz")) == (
        "<html>\n <head>\n  <title>varz</title>\n  " + VIEWPORT + "\n </head>\n <body>\n"
        "<table border=1 cellpadding=2>\n"
        "<tr><td>a</td><td>&lt;1&gt;</td></tr>\n"
        "<tr><td>b</td><td>2</td></tr>\n"
        "</table>\n </body>\n</html>\n"
    )


def test_rows_and_wraps():
    assert str(H.table_row(["a", "<"])) == "<tr><td>a</td><td>&lt;</td></tr>\n"
    assert str(H.table_row(["h"], "th")) == "<tr><th>h</th></tr>\n"
    assert str(H.two_col_row(1, None)) == "<tr><td>1</td><td>None</td></tr>\n"
    assert str(H.wrap("<m>", "code")) == "<code>&lt;m&gt;</code>\n"
    assert str(H.wrap_("m", "b")) == "<b>m</b>"
    assert str(H.table_row([H.wrap_("x", "b")])) == "<tr><td><b>x</b></td></tr>\n"


def test_table_and_select():
    t = H.list_to_table([[1, 2], "x"], header_list=["h"], title="T")
    assert str(t) == (
        "<table border=1 cellpadding=2>\n<caption>T</caption>\n<tr><th>h</th></tr>\n"
        "<tr><td>1</td><td>2</td></tr>\n<tr><td>x</td></tr>\n</table>\n"
    )
    s = H.list_to_select_input("n", [1, 2], ["a", "<b>"], selected=2, id="i", autofocus=True)
    assert str(s) == (
        '<select name="n" id="i" autofocus>\n  <option value="1">a</option>\n'
        '  <option value="2" selected>&lt;b&gt;</option>\n</select>\n'
    )
    raises(ValueError, H.list_to_select_input, "n", [1, 2], ["x"])
    raises(TypeError, H.list_to_table, "abc")


def test_everything_escaped():
    outs = [
        H.html_page_wrap(EVIL, EVIL, css=["x.css?<script>"], other_heads=[EVIL]),
        H.list_to_select_input(EVIL, [EVIL], [EVIL], id=EVIL, indent=EVIL),
        H.list_to_table({EVIL: EVIL}, header_list=[EVIL], title=EVIL),
        H.dict_to_page({EVIL: EVIL}, EVIL),
        H.redirect("/a", 0, EVIL),
        H.wrap(EVIL, "p"),
        H.two_col_row(EVIL, EVIL),
    ]
    for out in outs:
        assert "<script" not in str(out).lower()


def test_redirect():
    page = str(H.redirect("/x?a=1&b=2", 3))
    assert '<meta http-equiv="refresh" content="3; url=/x?a=1&amp;b=2">' in page
    assert "url=https://e.org/" in str(H.redirect("https://e.org/"))
    assert "url=?q=javascript:x" in str(H.redirect("?q=javascript:x"))
    for bad in (
        "javascript:alert(1)",
        " JavaScript:x",
        "java\tscript:x",
        "data:x",
        "vbscript:x",
        "'javascript:x'",
        H.raw("javascript:x"),
    ):
        e = raises(ValueError, H.redirect, bad)
        assert "redirect target" in str(e)
    for bad_delay in (-1, "0; url=javascript:x", True, None):
        raises(ValueError, H.redirect, "/x", bad_delay)


def test_tags_and_attributes_are_checked():
    for bad in ("", "1a", "td onclick=x", "td>"):
        raises(ValueError, H.wrap, "x", bad)
        raises(ValueError, H.table_row, ["x"], bad)
    raises(ValueError, H.wrap, "alert(1)", "script")
    assert str(H.wrap(H.raw("a<b"), "script")) == "<script>a<b</script>\n"
    for bad in (
        "onclick=x",
        "border=1><script>",
        'a="1" onload="x"',
        "href=javascript:x",
        'title="<x>"',
        'style="x',
    ):
        raises(ValueError, H.list_to_table, [], bad)
    assert str(H.list_to_table([], 'class="a b" id=x')).startswith('<table class="a b" id=x>\n')
    assert str(H.list_to_table([], H.raw('onclick="ok()"'))).startswith('<table onclick="ok()">')


def test_arguments_not_mutated():
    values, rows, d = [1, 2], [[1], "x"], {"b": [1], "a": 2}
    H.list_to_select_input("n", values)
    H.list_to_table(rows, header_list=["h"])
    H.dict_to_page(d)
    assert values == [1, 2] and rows == [[1], "x"] and d == {"b": [1], "a": 2}
