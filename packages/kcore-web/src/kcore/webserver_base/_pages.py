"""The standard pages of every kcore server, in one place: ``/healthz``,
``/favicon.ico``, and the introspection pages ``/varz``, ``/logz``,
``/flagz`` and ``/metrics`` (with the process facts the CPython server adds
to ``/varz``).

Every value shown is HTML-escaped; ``/flagz`` redacts flags whose names look
secret and, in every value, what looks like a credential (see
:func:`mask_credentials`); ``/varz?NAME`` is always text/plain (a value
could be markup).
"""

from kcore import html as H
from kcore.common import platform as _platform
from kcore.common.urls import unquote_plus
from kcore.varz import DEFAULT_STORE
from kcore.webserver_base._forms import parse_query
from kcore.webserver_base._messages import Response
from kcore.webserver_base._wire import TEXT_PLAIN

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any

    from kcore.webserver_base._messages import Request

#: Pages guarded by a server's ``introspection_auth``.
INTROSPECTION_PATHS = ("/varz", "/logz", "/flagz", "/metrics")

#: /flagz shows this instead of the value of a flag whose name looks secret.
REDACTED = "(redacted)"
SECRET_WORDS = ("pass", "secret", "token", "credential", "private", "apikey", "api_key")


def _looks_secret(name: str, words: "tuple" = SECRET_WORDS) -> bool:
    name = name.lower()
    for word in words:
        if word in name:
            return True
    return False


# ---------------------------------------------------------------- credentials in values

#: Names of ``name=value`` / ``name: value`` pairs whose value is masked.
_PAIR_WORDS = SECRET_WORDS + ("key", "pwd", "auth")  # noqa: RUF005 - no (*a, b) on boards
#: Authorization schemes whose next word is a credential.
_AUTH_SCHEMES = ("bearer", "basic", "digest")
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
_VALUE_ENDS = " \t\r\n&;,)]}<>\"'"


def mask_credentials(text: str) -> str:
    """``text`` with what looks like a credential replaced by ``(redacted)``:
    the password of a URL (``mqtt://user:(redacted)@host``), the credential
    after ``Bearer``/``Basic``/``Digest``, and the value of a ``name=value``
    or ``name: value`` pair whose name looks secret (``password``, ``key``,
    ``token``, ``secret``, ``auth``, ...), quoted or not. Errs on the side
    of masking."""
    if not text or ("=" not in text and ":" not in text and " " not in text):
        return text
    text = _mask_url_passwords(text)
    text = _mask_auth_schemes(text)
    return _mask_pairs(text)


def _ascii_lower(text: str) -> str:
    # str.lower() may change the length of non-ASCII text; indexes must match.
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join([c.lower() if "A" <= c <= "Z" else c for c in text])


def _mask_url_passwords(text: str) -> str:
    out = []
    pos = 0
    while True:
        i = text.find("://", pos)
        if i < 0:
            break
        start = i + 3
        end = start
        while end < len(text) and text[end] not in "/?#" and text[end] not in _VALUE_ENDS:
            end += 1
        at = text.rfind("@", start, end)
        colon = text.find(":", start, at) if at > 0 else -1
        if colon >= 0 and colon + 1 < at:
            out.append(text[pos : colon + 1])
            out.append(REDACTED)
            pos = at
        else:
            out.append(text[pos:start])
            pos = start
    out.append(text[pos:])
    return "".join(out)


def _mask_auth_schemes(text: str) -> str:
    low = _ascii_lower(text)
    spans = []
    for scheme in _AUTH_SCHEMES:
        pos = 0
        while True:
            i = low.find(scheme, pos)
            if i < 0:
                break
            pos = i + len(scheme)
            if i > 0 and text[i - 1] in _NAME_CHARS:
                continue  # part of a longer word
            j = pos
            while j < len(text) and text[j] in " \t":
                j += 1
            if j == pos:
                continue
            k = j
            while k < len(text) and text[k] not in _VALUE_ENDS:
                k += 1
            if k > j and text[j:k] != REDACTED:
                spans.append((j, k))
    return _replace_spans(text, spans)


def _mask_pairs(text: str) -> str:
    spans = []
    n = len(text)
    for i in range(n):
        if text[i] != "=" and text[i] != ":":
            continue
        # the name just before the separator (maybe quoted, maybe spaced)
        j = i
        while j > 0 and text[j - 1] in " \t\"'":
            j -= 1
        k = j
        while k > 0 and text[k - 1] in _NAME_CHARS:
            k -= 1
        if k == j or not _looks_secret(text[k:j], _PAIR_WORDS):
            continue
        if text[i] == ":" and text[i + 1 : i + 3] == "//":
            continue  # a URL, handled above
        # the value just after it
        v = i + 1
        while v < n and text[v] in " \t":
            v += 1
        if v < n and text[v] in "\"'":
            quote = text[v]
            v += 1
            e = text.find(quote, v)
            e = n if e < 0 else e
        else:
            e = v
            while e < n and text[e] not in _VALUE_ENDS:
                e += 1
        value = text[v:e]
        if value and value != REDACTED and _ascii_lower(value) not in _AUTH_SCHEMES:
            spans.append((v, e))
    return _replace_spans(text, spans)


def _replace_spans(text: str, spans: list) -> str:
    if not spans:
        return text
    spans.sort()
    out = []
    pos = 0
    for a, b in spans:
        if a < pos:
            continue  # overlapping: already masked
        out.append(text[pos:a])
        out.append(REDACTED)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _store_of(request: "Request") -> "Any":
    # The varz store of the server serving the request (the global one by default).
    store = getattr(request.server, "varz_store", None)
    return DEFAULT_STORE if store is None else store


# ---------------------------------------------------------------- simple pages


def healthz_page(request: "Request") -> Response:
    """/healthz: ``ok`` (programs usually route their own)."""
    return Response("ok")


def favicon_page(request: "Request") -> Response:
    """/favicon.ico: an empty page."""
    return Response("")


def flagz_page(flagz_args: "Any") -> Response:
    """/flagz: a dict or argparse Namespace as an escaped table; the values
    of flags named like secrets are redacted, and so is whatever looks like
    a credential in any value (:func:`mask_credentials`)."""
    if flagz_args is None:
        return Response("no flagz data available", 503)
    args = flagz_args if hasattr(flagz_args, "items") else vars(flagz_args)
    shown = {}
    for k, v in args.items():
        if _looks_secret(str(k)) and v not in (None, ""):
            shown[k] = REDACTED
            continue
        text = v if isinstance(v, str) else str(v)
        masked = mask_credentials(text)
        shown[k] = v if masked == text else masked
    return Response(str(H.dict_to_page(shown, "flagz")))


def logz_page(logger: "Any") -> Response:
    """/logz: the logging adapter's (already escaped) recent log lines."""
    getter = logger.get_logz_html if logger is not None else None
    if getter is None:
        return Response("no log data available", 503)
    return Response(str(H.html_page_wrap(H.raw(getter()), "logz")))


# ---------------------------------------------------------------- /varz


def varz_handler(request: "Request", extra_dict: "dict | None" = None) -> Response:
    """/varz: every varz value as an escaped HTML table sorted by key;
    ``/varz?NAME`` -> that one value as text/plain (``None`` if absent)."""
    store = _store_of(request)
    if request.query:
        name = unquote_plus(request.query.split("&")[0])
        return Response(str(store.get(name)), msg_type="text")  # never text/html
    d = store.get_dict()
    if extra_dict:
        d.update(extra_dict)
    return Response.text(varz_page(d))


def _esc(text: str) -> str:
    # kcore.html.escape, skipped for the usual text with nothing to escape.
    for ch in "&<>\"'":
        if ch in text:
            return H.escape(text)
    return text


_PAGE_SHELLS = {}  # type: dict
_PLAIN_TYPES = (int, float, str, bool, type(None))
try:  # CPython: compare rows in C (boards have no itertools/operator)
    from itertools import compress as _compress
    from operator import ne as _ne

    _PLAIN_SET = frozenset(_PLAIN_TYPES)
except ImportError:
    _compress = _ne = _PLAIN_SET = None  # type: ignore[assignment,misc]


class _PageRows:
    """The rows of the last page rendered for one title, so the next render
    redoes only the rows whose value changed (on /varz, usually just the
    request counters) as long as the keys are the same."""

    def __init__(self) -> None:
        self.keys = []  # type: list  # sorted
        self.heads = []  # type: list  # "<tr><td>key</td><td>" per key
        self.values = []  # type: list
        self.types = []  # type: list
        self.rows = []  # type: list
        self.lock = _platform.new_lock()

    def render(self, d: dict) -> "str | None":
        keys = self.keys
        if len(d) != len(keys):
            return None
        try:
            now = list(map(d.__getitem__, keys))
        except KeyError:
            return None
        rows, heads, values = self.rows, self.heads, self.values
        types = list(map(type, now))
        if _compress is not None and types == self.types and _PLAIN_SET.issuperset(types):  # type: ignore[union-attr]
            # Same plain types as last time: == says whether a row changed,
            # and the loop over unchanged rows runs in C.
            for i in _compress(range(len(keys)), map(_ne, now, values)):
                rows[i] = heads[i] + _cell(now[i])
        else:
            for i in range(len(keys)):
                v = now[i]
                old = values[i]
                # (plain values only: anything else may have changed in place)
                if v.__class__ in _PLAIN_TYPES and v.__class__ is old.__class__ and v == old:
                    continue
                rows[i] = heads[i] + _cell(v)
        self.values = now
        self.types = types
        return "".join(rows)

    def reset(self, keys: list, d: dict) -> str:
        self.keys = keys
        self.heads = ["<tr><td>%s</td><td>" % _esc(str(k)) for k in keys]
        self.values = [d[k] for k in keys]
        self.types = [type(v) for v in self.values]
        self.rows = [h + _cell(v) for h, v in zip(self.heads, self.values)]
        return "".join(self.rows)


_ROWS = {}  # type: dict  # title -> _PageRows


def _cell(v: object) -> str:
    # A value cell and the end of its row; ints need no escaping.
    if v.__class__ is int:
        return "%d</td></tr>\n" % v  # type: ignore[str-format]
    return _esc(str(v)) + "</td></tr>\n"


def _row(k: object, v: object) -> str:
    return "<tr><td>%s</td><td>" % _esc(str(k)) + _cell(v)


def varz_page(d: dict, title: str = "varz") -> str:
    """The /varz page: the same markup as ``html.dict_to_page(d, title)``,
    every key and value escaped. It is served often, so the rows of the
    previous page are reused where neither key nor value changed."""
    shell = _PAGE_SHELLS.get(title)
    if shell is None:
        shell = str(H.html_page_wrap(H.raw("\x00"), title)).split("\x00")
        if len(shell) != 2 or len(_PAGE_SHELLS) >= 16:  # a title holding the marker: no caching
            return str(H.html_page_wrap(H.raw(_table("".join(_rows(d)))), title))
        _PAGE_SHELLS[title] = shell
        _ROWS[title] = _PageRows()
    cache = _ROWS[title]
    cache.lock.acquire()
    try:
        body = cache.render(d)
        if body is None:
            body = cache.reset(_sorted_keys(d), d)
    finally:
        cache.lock.release()
    return shell[0] + _table(body) + shell[1]


def _sorted_keys(d: dict) -> list:
    keys = list(d.keys())
    try:
        keys.sort()
    except TypeError:
        keys.sort(key=str)
    return keys


def _rows(d: dict) -> list:
    return [_row(k, d[k]) for k in _sorted_keys(d)]


def _table(rows: str) -> str:
    return "<table border=1 cellpadding=2>\n" + rows + "</table>\n"


_SYS_CACHE = [-1000000, {}]  # type: list  # [monotonic ms, facts]


def sys_facts() -> dict:
    """Cheap process facts for /varz on CPython (``sys-*``), refreshed at
    most once a second (they are system calls; /varz is scraped often).
    Nothing here blocks or samples the CPU. Empty on boards."""
    if not _platform.CPYTHON:
        return {}
    now = _platform.monotonic_ms()
    if now - _SYS_CACHE[0] < 1000:
        return _SYS_CACHE[1]
    import os
    import sys
    import threading

    facts = {
        "sys-cpu-count": os.cpu_count(),
        "sys-threads": threading.active_count(),
        "sys-pid": os.getpid(),
    }  # type: dict
    try:
        facts["sys-load-avg"] = " ".join(["%.2f" % x for x in os.getloadavg()])
    except (OSError, AttributeError):
        pass
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        facts["sys-max-rss-mb"] = round(usage.ru_maxrss * 1024 / scale / 1024, 1)
        facts["sys-cpu-user-s"] = round(usage.ru_utime, 2)
        facts["sys-cpu-system-s"] = round(usage.ru_stime, 2)
    except ImportError:
        pass
    _SYS_CACHE[0], _SYS_CACHE[1] = now, facts
    return facts


def ws_varz_handler(request: "Request") -> Response:
    """/varz on CPython: varz plus cheap process facts (``sys-*``, at most a
    second old)."""
    if request.query:
        return varz_handler(request)
    return varz_handler(request, sys_facts())


# ---------------------------------------------------------------- /metrics


def prometheus_available() -> bool:
    """True if /metrics can be served (CPython with prometheus_client)."""
    if not _platform.CPYTHON:
        return False
    try:
        import importlib.util as iu

        return (
            iu.find_spec("prometheus_client") is not None
            and iu.find_spec("kcore.varz_prom") is not None
        )
    except (ImportError, ValueError):
        return False


def metrics_response(request: "Request") -> Response:
    """/metrics: the Prometheus exposition of the server's varz (text or
    OpenMetrics per the Accept header), plus this server's /healthz as
    healthz_info and healthz_status. ``?name[]=metric`` restricts the output."""
    try:
        import kcore.varz_prom as vp
    except ImportError:
        return Response(
            "prometheus export needs: pip install 'kcore-varz[prometheus]'\n",
            501,
            msg_type=TEXT_PLAIN,
        )
    server = request.server
    healthz = server.healthz_text() if hasattr(server, "healthz_text") else None
    names = parse_query(request.query, multi=True).get("name[]") if request.query else None
    body, ctype = vp.render(
        accept=request.headers.get("accept"),
        names=names,
        healthz=healthz,
        store=getattr(server, "varz_store", None),
    )
    return Response(body, msg_type=ctype)
