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
    return Response(varz_page(d))


def _esc(text: str) -> str:
    # kcore.html.escape, skipped for the usual text with nothing to escape.
    for ch in "&<>\"'":
        if ch in text:
            return H.escape(text)
    return text


_PAGE_SHELLS = {}  # type: dict


def varz_page(d: dict, title: str = "varz") -> str:
    """The /varz page: the same markup as ``html.dict_to_page(d, title)``,
    every key and value escaped. It is served often, so the cells are
    escaped in one pass over the joined text (with separators no cell
    contains) instead of one call per cell."""
    keys = list(d.keys())
    try:
        keys.sort()
    except TypeError:
        keys.sort(key=str)
    cells = [str(k) + "\x00" + str(d[k]) for k in keys]
    joined = "\x01".join(cells)
    if joined.count("\x00") == len(cells) and joined.count("\x01") == len(cells) - 1:
        if cells:
            joined = _esc(joined)
            joined = joined.replace("\x00", "</td><td>").replace("\x01", "</td></tr>\n<tr><td>")
            table = "<table border=1 cellpadding=2>\n<tr><td>" + joined + "</td></tr>\n</table>\n"
        else:
            table = "<table border=1 cellpadding=2>\n</table>\n"
    else:  # a key or value holds a separator character: one cell at a time
        rows = ["<table border=1 cellpadding=2>\n"]
        for k in keys:
            rows.append("<tr><td>%s</td><td>%s</td></tr>\n" % (_esc(str(k)), _esc(str(d[k]))))
        rows.append("</table>\n")
        table = "".join(rows)
    shell = _PAGE_SHELLS.get(title)
    if shell is None:
        shell = str(H.html_page_wrap(H.raw("\x00"), title)).split("\x00")
        if len(shell) != 2:  # a title holding the marker: no caching
            return str(H.html_page_wrap(H.raw(table), title))
        if len(_PAGE_SHELLS) < 16:
            _PAGE_SHELLS[title] = shell
    return shell[0] + table + shell[1]


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
