"""Tiny HTML builders (pages, tables, select boxes, redirects) that escape by default.

Any data that reaches a page (a varz value, a logged path, a flag) may come
from an attacker, and pasted in verbatim it could inject script. So every value
is text and gets escaped, unless the caller marks it as already-safe HTML with
:func:`raw` (or it is a :class:`Markup`, which every builder returns, so
builders nest without double escaping).

Formats (whitespace, skeleton, attribute order) are the original's, so pages
look the same. CircuitPython/MicroPython-safe: no imports beyond kcore.common.

MicroPython note: ``"text" + markup`` works (``Markup.__radd__`` escapes the
text), but ``"".join([...markup...])`` does not accept str subclasses there:
use ``Markup("").join(...)`` or ``str(markup)``.
"""

from kcore.common.platform import error_class

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Iterable

__version__ = "0.1.0"

HtmlError = error_class(
    "HtmlError",
    ValueError,
    doc="An argument cannot be turned into safe HTML (bad tag name, unsafe URL or attribute).",
    module=__name__,
)


# ---------------------------------------------------------------- escaping


def escape(s: str, quote: bool = True) -> str:
    """Escape ``&``, ``<``, ``>`` (and, with ``quote``, ``"`` and ``'``).

    Same result as the stdlib's ``html.escape``, character for character;
    written out because boards have no ``html`` module. Always escapes, also a
    :class:`Markup`: use :meth:`Markup.escape` for "escape unless safe".
    """
    if not isinstance(s, str):
        raise TypeError("escape() needs a str, got %s" % type(s).__name__)
    s = s.replace("&", "&amp;")
    s = s.replace("<", "&lt;")
    s = s.replace(">", "&gt;")
    if quote:
        s = s.replace('"', "&quot;")
        s = s.replace("'", "&#x27;")
    return s


def _h(value: object) -> str:
    """Any value as a plain str of safe HTML: Markup (or anything with
    ``__html__``, e.g. markupsafe) as is, everything else via str() and escaped."""
    if isinstance(value, Markup):
        return str(value)
    html_method = getattr(value, "__html__", None)
    if html_method is not None and not isinstance(value, type):
        return str(html_method())
    if not isinstance(value, str):
        value = str(value)
    return escape(value)


def _fmt_arg(value: object) -> object:
    """A %-format argument: numbers stay numbers (so %d works), the rest is escaped."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return _h(value)


class Markup(str):
    """A str that is already-safe HTML: the builders insert it unescaped.

    Concatenation, ``%`` formatting and :meth:`join` escape the plain-text side,
    so ``Markup("<b>%s</b>") % user_text`` is safe. Other str methods return a
    plain str, which the builders would escape again (visible, never unsafe).
    """

    def __html__(self) -> "Markup":
        return self

    def __add__(self, other: object) -> "Markup":  # type: ignore[override]
        return Markup(str(self) + _h(other))

    def __radd__(self, other: object) -> "Markup":
        return Markup(_h(other) + str(self))

    def __mod__(self, args: object) -> "Markup":
        if isinstance(args, tuple):
            args = tuple([_fmt_arg(a) for a in args])
        elif isinstance(args, dict):
            args = {k: _fmt_arg(v) for k, v in args.items()}
        else:
            args = _fmt_arg(args)
        return Markup(str(self) % args)

    def join(self, seq: "Iterable[object]") -> "Markup":  # type: ignore[override]
        return Markup(str(self).join([_h(x) for x in seq]))

    def __repr__(self) -> str:
        return "Markup(%r)" % str(self)

    @classmethod
    def escape(cls, value: object) -> "Markup":
        """``value`` as Markup: escaped unless it already is safe HTML."""
        return cls(_h(value))


def raw(s: object) -> Markup:
    """Mark ``s`` as trusted HTML that must be inserted without escaping.

    Only for text the program wrote itself, never for data from outside.
    """
    if isinstance(s, Markup):
        return s
    html_method = getattr(s, "__html__", None)
    if html_method is not None and not isinstance(s, type):
        return Markup(html_method())
    return Markup(s if isinstance(s, str) else str(s))


# ---------------------------------------------------------------- validators

_ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_TAG_CHARS = _ALPHA + _DIGITS
_ATTR_NAME_CHARS = _ALPHA + _DIGITS + "-_:"
_SCHEME_CHARS = _ALPHA + _DIGITS + "+-."
_SAFE_SCHEMES = ("http", "https")
_UNSAFE_VALUE_SCHEMES = ("javascript", "vbscript", "data")
# Elements whose content the browser does not entity-decode: text in them is
# code (script) or style, so escaping data cannot make it safe.
_RAW_TEXT_TAGS = ("script", "style", "xmp", "iframe", "noembed", "noframes", "plaintext")


def _tag(name: str, content: object = None) -> str:
    """Check a tag name (``td``, ``h1``...): a tag is format, not data."""
    if not isinstance(name, str) or not name or name[0] not in _ALPHA:
        raise HtmlError("tag name must be a word like 'td' or 'h1', got %r" % (name,))
    for ch in name:
        if ch not in _TAG_CHARS:
            raise HtmlError("tag name must be letters and digits only, got %r" % (name,))
    if name.lower() in _RAW_TEXT_TAGS and not isinstance(content, Markup):
        raise HtmlError(
            "<%s> content is not escapable: wrap trusted content in raw() to use it" % name
        )
    return str(name)


def _has_control(s: str) -> bool:
    for ch in s:
        o = ord(ch)
        if o < 0x20 or o == 0x7F:
            return True
    return False


def _scheme(url: str) -> "str | None":
    """The URL scheme, lower-cased, as a browser would see it; None if relative."""
    colon = url.find(":")
    if colon <= 0 or url[0] not in _ALPHA:
        return None
    for ch in url[:colon]:
        if ch not in _SCHEME_CHARS:
            return None  # a '/', '?' or '#' before the colon: a relative URL
    return url[:colon].lower()


def _safe_url(url: object, what: str) -> str:
    """Escaped ``url`` for an attribute; only http(s) and relative URLs pass.

    A URL is data even when given as Markup: it is always escaped, so the
    browser's entity decoding cannot turn ``javascript&#58;`` into a scheme.
    """
    if not isinstance(url, str):
        raise TypeError("%s must be a str URL, got %s" % (what, type(url).__name__))
    if _has_control(url):
        raise HtmlError("%s contains control characters (tab, newline, ...)" % what)
    if '"' in url or "'" in url:
        raise HtmlError("%s contains a quote character: percent-encode it" % what)
    scheme = _scheme(str(url).strip())
    if scheme is not None and scheme not in _SAFE_SCHEMES:
        raise HtmlError("%s must be an http(s) or relative URL, not a %r: URL" % (what, scheme))
    return escape(str(url))


def _attrs(fmt: object, what: str) -> str:
    """Check a raw attribute list like ``border=1 cellpadding=2``.

    It cannot be escaped (quotes are its syntax), so it is validated instead:
    ``name`` / ``name=value`` / ``name="value"`` items, no event handlers
    (``on...``), no script URLs, nothing that could close the tag. Markup
    (``raw(...)``) is taken as is.
    """
    if isinstance(fmt, Markup):
        return str(fmt)
    if fmt is None:
        return ""
    if not isinstance(fmt, str):
        raise TypeError("%s must be a str of attributes, got %s" % (what, type(fmt).__name__))
    i, n = 0, len(fmt)
    while i < n:
        if fmt[i] in " \t\n\r\f":
            i += 1
            continue
        start = i
        while i < n and fmt[i] in _ATTR_NAME_CHARS:
            i += 1
        name = fmt[start:i]
        if not name:
            raise HtmlError("%s: bad attribute syntax at %r" % (what, fmt[start : start + 20]))
        if name.lower().startswith("on"):
            raise HtmlError("%s: event-handler attribute %r is not allowed" % (what, name))
        if i < n and fmt[i] == "=":
            i += 1
            if i < n and fmt[i] in "\"'":
                quote = fmt[i]
                end = fmt.find(quote, i + 1)
                if end < 0:
                    raise HtmlError("%s: unterminated quoted value for %r" % (what, name))
                value = fmt[i + 1 : end]
                if "<" in value or ">" in value:
                    raise HtmlError("%s: '<' or '>' in the value of %r" % (what, name))
                i = end + 1
            else:
                start = i
                while i < n and fmt[i] not in " \t\n\r\f":
                    if fmt[i] in "\"'=<>`":
                        raise HtmlError(
                            "%s: bad character %r in the value of %r" % (what, fmt[i], name)
                        )
                    i += 1
                value = fmt[start:i]
                if not value:
                    raise HtmlError("%s: missing value for %r" % (what, name))
            squashed = "".join([ch for ch in value if ord(ch) > 0x20]).lower()
            for bad in _UNSAFE_VALUE_SCHEMES:
                if squashed.startswith(bad + ":"):
                    raise HtmlError("%s: %s: URL in %r is not allowed" % (what, bad, name))
        if i < n and fmt[i] not in " \t\n\r\f":
            raise HtmlError("%s: bad attribute syntax at %r" % (what, fmt[i : i + 20]))
    return fmt


def _items(seq: "Any", what: str) -> list:
    """A list from a list/tuple/iterable argument; a lone str counts as one item."""
    if seq is None:
        return []
    if isinstance(seq, str):
        return [seq]
    try:
        return list(seq)
    except TypeError:
        raise TypeError("%s must be a list, got %s" % (what, type(seq).__name__))


# ---------------------------------------------------------------- builders

VIEWPORT_META = Markup('<meta name="viewport" content="width=device-width, initial-scale=1">')


def html_page_wrap(
    body_contents: object,
    title: object = "",
    css: "Iterable[str] | str" = (),
    other_heads: "Iterable[object] | str" = (VIEWPORT_META,),
) -> Markup:
    """A complete page in the original's fixed skeleton.

    ``body_contents`` and ``title`` are escaped unless Markup; ``css`` entries
    are stylesheet URLs (escaped, http(s)/relative only); ``other_heads`` are
    extra head lines, escaped unless Markup (wrap your own tags in raw()).
    """
    out = ["<html>\n <head>\n"]
    if title is not None and title != "":
        out.append("  <title>%s</title>\n" % _h(title))
    for href in _items(css, "css"):
        # No newline after a stylesheet link: pages stay byte for byte those that
        # programs written for the original kcore produce.
        out.append('  <link href="%s" rel="stylesheet">' % _safe_url(href, "css URL"))
    for head in _items(other_heads, "other_heads"):
        out.append("  %s\n" % _h(head))
    out.append(" </head>\n <body>\n")
    out.append("" if body_contents is None else _h(body_contents))
    out.append(" </body>\n</html>\n")
    return Markup("".join(out))


def list_to_select_input(
    name: object,
    values: "Iterable[object]",
    prompts: "Iterable[object] | None" = None,
    selected: object = None,
    id: object = None,  # the original's name
    indent: str = "  ",
    autofocus: bool = False,
) -> Markup:
    """A ``<select>`` with one ``<option>`` per value (shown as the matching prompt)."""
    values = _items(values, "values")
    prompts = values if prompts is None else _items(prompts, "prompts")
    if len(prompts) != len(values):
        raise HtmlError(
            "list_to_select_input: %d prompts for %d values" % (len(prompts), len(values))
        )
    out = ['<select name="%s"' % _h(name)]
    if id is not None and id != "":
        out.append(' id="%s"' % _h(id))
    if autofocus:
        out.append(" autofocus")
    out.append(">\n")
    pad = _h(indent)
    for i in range(len(values)):
        value = values[i]
        sel = " selected" if selected is not None and value == selected else ""
        out.append('%s<option value="%s"%s>%s</option>\n' % (pad, _h(value), sel, _h(prompts[i])))
    out.append("</select>\n")
    return Markup("".join(out))


def list_to_table(
    list_in: "Any",
    table_fmt: str = "border=1 cellpadding=2",
    header_list: "Iterable[object]" = (),
    autoexpand: bool = True,
    title: object = None,
) -> Markup:
    """A ``<table>``: a dict gives key/value rows, a list one row per item.

    With ``autoexpand`` a list/tuple item becomes one cell per element, any
    other item a one-cell row. ``title`` becomes a ``<caption>``.
    """
    attrs = _attrs(table_fmt, "table_fmt")
    out = ["<table %s>\n" % attrs if attrs else "<table>\n"]
    if title is not None and title != "":
        out.append("<caption>%s</caption>\n" % _h(title))
    headers = _items(header_list, "header_list")
    if headers:
        out.append(str(table_row(headers, "th")))
    if isinstance(list_in, dict):
        for key, value in list_in.items():
            out.append(str(two_col_row(key, value)))
    elif isinstance(list_in, (str, bytes)) or list_in is None:
        raise TypeError("list_to_table needs a list or dict, got %s" % type(list_in).__name__)
    else:
        for item in _items(list_in, "list_in"):
            if autoexpand and isinstance(item, (list, tuple)):
                out.append(str(table_row(item)))
            else:
                out.append(str(table_row([item])))
    out.append("</table>\n")
    return Markup("".join(out))


def _sorted_items(d: dict) -> list:
    items = list(d.items())
    try:
        items.sort(key=lambda kv: kv[0])
    except TypeError:  # keys of mixed types: group by type, then by text
        items.sort(key=lambda kv: (type(kv[0]).__name__, str(kv[0])))
    return items


def dict_to_page(d: dict, title: object = "") -> Markup:
    """A page with a two-column table of ``d``, sorted by key (/varz, /flagz)."""
    if not hasattr(d, "items"):
        raise TypeError("dict_to_page needs a dict, got %s" % type(d).__name__)
    rows = [[k, v] for k, v in _sorted_items(d)]
    return html_page_wrap(list_to_table(rows), title)


def redirect(to: str, delay: "int | float" = 0, content: object = None) -> Markup:
    """A page that sends the browser to ``to`` after ``delay`` seconds (meta refresh).

    ``to`` must be an http(s) or relative URL: ``javascript:``, ``data:`` and
    other schemes raise HtmlError (a ValueError).
    """
    url = _safe_url(to, "redirect target")
    if (
        isinstance(delay, bool)
        or not isinstance(delay, (int, float))
        or not (0 <= delay < 1000000000)
    ):
        raise HtmlError("redirect delay must be a number of seconds >= 0, got %r" % (delay,))
    meta = Markup('<meta http-equiv="refresh" content="%s; url=%s">' % (delay, url))
    return html_page_wrap("" if content is None else content, other_heads=(meta,))


def table_row(items: object, item_type: str = "td") -> Markup:
    """``<tr><td>a</td><td>b</td></tr>`` + newline; each item escaped unless Markup."""
    tag = _tag(item_type)
    out = ["<tr>"]
    for item in _items(items, "items"):
        out.append("<%s>%s</%s>" % (tag, _h(item), tag))
    out.append("</tr>\n")
    return Markup("".join(out))


def two_col_row(a: object, b: object) -> Markup:
    """A two-cell table row."""
    return table_row([a, b])


def wrap(msg: object, code: str, eol: bool = True) -> Markup:
    """``<code>msg</code>`` (+ newline if ``eol``); ``msg`` escaped unless Markup."""
    tag = _tag(code, msg)
    return Markup("<%s>%s</%s>%s" % (tag, _h(msg), tag, "\n" if eol else ""))


def wrap_(msg: object, code: str) -> Markup:
    """``wrap`` without the newline."""
    return wrap(msg, code, False)
