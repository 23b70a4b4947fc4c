"""The standard pages of every kcore server, in one place: ``/healthz``,
``/favicon.ico``, and the introspection pages ``/varz``, ``/logz``,
``/flagz`` and ``/metrics`` (with the process facts the CPython server adds
to ``/varz``).

Every value shown is HTML-escaped; ``/flagz`` redacts flags whose names look
secret; ``/varz?NAME`` is always text/plain (a value could be markup).
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


def _looks_secret(name: str) -> bool:
    name = name.lower()
    for word in SECRET_WORDS:
        if word in name:
            return True
    return False


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
    """/flagz: a dict or argparse Namespace as an escaped table, secrets redacted."""
    if flagz_args is None:
        return Response("no flagz data available", 503)
    args = flagz_args if hasattr(flagz_args, "items") else vars(flagz_args)
    shown = {}
    for k, v in args.items():
        shown[k] = REDACTED if _looks_secret(str(k)) and v not in (None, "") else v
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
