"""kcore.varz_prom: every varz value, exported to Prometheus.

Importing this module is what turns the export on: it registers one
:class:`VarzCollector` with prometheus_client's default registry (set the
environment variable ``KCORE_VARZ_PROM_AUTOINSTALL=0`` before importing to
skip that, then call :func:`install` with your own registry). That
registration is the module's only side effect. Without prometheus_client
(the ``prometheus`` extra) the import registers nothing, and :func:`install`
and :func:`render` raise an ImportError saying what to install.

The original's API is here too: :func:`init` puts ``/metrics`` on a web
server, ``get``/``bump``/``inc``/``set``/``stamp``/``reset`` act on
:mod:`kcore.varz`, and :func:`metrics_handler` is the ``/metrics`` handler.

The collector uses prometheus_client's public custom-collector API: on each
scrape it reads the varz store and yields metric families, so nothing is
mirrored on every write and values set through callables are exported too.

Mapping (metric names ``varz_<name>`` with every character outside
``[A-Za-z0-9_:]`` turned into ``_``; names starting with ``healthz`` keep no
prefix, and a leading ``_`` means no prefix; every sample has the label
``program``, which is ``sys.argv[0]``):

* counters (``inc``/``bump``) -> Counter (``varz_<name>_total``);
* stamps -> Counter of the number of stamps (``varz_<name>_total``, with
  ``varz_<name>_created`` the time of the first), or with
  ``install(stamps="gauge")`` a Gauge holding the time of the last one;
* ``set`` with a number -> Gauge;
* ``set`` with anything else -> Info (``varz_<name>_info{value="..."} 1``);
* ``None`` values (after ``reset(name)``) are left out.
"""

import re
import sys
import threading

from kcore import varz
from kcore.common import platform as _platform

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Iterable, Iterator, Optional

#: The ``program`` label of every sample: how the program was started.
PROGRAM_NAME = (getattr(sys, "argv", None) or [""])[0] or varz.PROGRAM_NAME
INFO_VALUE_MAX = 256
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_:]")

_state_lock = threading.Lock()
COLLECTOR: "Optional[VarzCollector]" = None  # the installed collector, if any
REGISTRY_IN_USE: "Any" = None  # the registry it was installed into

#: The /healthz handler :func:`init` found on its web server (exported as healthz_*).
HEALTHZ_HANDLER: "Optional[Callable[[Any], Any]]" = None

#: Metric objects made by :func:`get_prom_instance`, by varz name.
METRIC_INSTANCES: "dict" = {}

_NEED = "kcore.varz_prom needs prometheus_client: pip install 'kcore-varz[prometheus]'"


def _prom() -> "tuple[Any, Any, Any]":
    """prometheus_client's pieces, imported on first use."""
    try:
        import prometheus_client
        from prometheus_client import core, exposition
    except ImportError:
        raise ImportError(_NEED)
    return prometheus_client, core, exposition


def available() -> bool:
    """True if prometheus_client can be imported."""
    try:
        _prom()
    except ImportError:
        return False
    return True


def get_prom_name(name: str, prefix: str = "varz_") -> str:
    """The Prometheus metric name for a varz key."""
    if name[:1] == "_":
        return _BAD_CHARS.sub("_", name[1:])
    clean = _BAD_CHARS.sub("_", name)
    if clean.startswith("healthz"):
        return clean
    return prefix + clean


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float))


STAMP_KINDS = ("counter", "gauge")


class VarzCollector:
    """A prometheus_client custom collector over a :class:`kcore.varz.Store`
    (default: the global one). ``stamps``: ``"counter"`` (the number of
    stamps, as the original exported them) or ``"gauge"`` (the time of the
    last one)."""

    def __init__(
        self,
        program: "Optional[str]" = None,
        prefix: str = "varz_",
        store: "Optional[varz.Store]" = None,
        stamps: str = "counter",
    ) -> None:
        if stamps not in STAMP_KINDS:
            raise ValueError("stamps must be one of %s, got %r" % (STAMP_KINDS, stamps))
        self.program = PROGRAM_NAME if program is None else str(program)
        self.prefix = prefix
        self.store = varz.DEFAULT_STORE if store is None else store
        self.stamps = stamps

    def describe(self) -> "list[Any]":
        # Names change at run time; describing nothing keeps registration
        # free of a collect() call and of false duplicate-name clashes.
        return []

    def collect(self) -> "Iterator[Any]":
        store = self.store
        values = store.get_dict()
        kinds = store.get_kinds()
        stamps = store.get_stamps()
        seen: dict = {}
        for key in sorted(values):
            value = values[key]
            if value is None:
                continue
            name = get_prom_name(key, self.prefix)
            if name in seen:  # two keys that sanitize alike: first one wins
                continue
            seen[name] = True
            family = self._family(key, name, value, kinds.get(key), stamps.get(key))
            if family is not None:
                yield family

    def _family(
        self, key: str, name: str, value: object, kind: "Optional[str]", stamp: "Any"
    ) -> "Any":
        _pc, core, _ex = _prom()
        doc = "kcore varz %s" % key
        labels = ["program"]
        if kind == "stamp" and stamp is not None and self.stamps == "counter":
            counter = core.CounterMetricFamily(name, doc, labels=labels)
            counter.add_metric([self.program], float(stamp[0]), created=float(stamp[1]))
            return counter
        if _is_number(value):
            number = float(value)  # type: ignore[arg-type]
            if kind == "counter" and number >= 0:
                counter = core.CounterMetricFamily(name, doc, labels=labels)
                counter.add_metric([self.program], number)
                return counter
            gauge = core.GaugeMetricFamily(name, doc, labels=labels)
            gauge.add_metric([self.program], number)
            return gauge
        text = str(value)
        if len(text) > INFO_VALUE_MAX:
            text = text[: INFO_VALUE_MAX - 3] + "..."
        info = core.InfoMetricFamily(name, doc, labels=labels)
        info.add_metric([self.program], {"value": text})
        return info


def install(
    registry: "Any" = None,
    program: "Optional[str]" = None,
    prefix: str = "varz_",
    store: "Optional[varz.Store]" = None,
    stamps: str = "counter",
) -> VarzCollector:
    """Register a :class:`VarzCollector` with ``registry`` (default: the
    prometheus_client default registry), replacing one installed earlier."""
    global COLLECTOR, REGISTRY_IN_USE
    prometheus_client, _core, _ex = _prom()
    registry = prometheus_client.REGISTRY if registry is None else registry
    collector = VarzCollector(program=program, prefix=prefix, store=store, stamps=stamps)
    with _state_lock:
        _uninstall_locked()
        registry.register(collector)
        COLLECTOR, REGISTRY_IN_USE = collector, registry
    return collector


def uninstall() -> None:
    """Remove the installed collector (no-op if none)."""
    with _state_lock:
        _uninstall_locked()


def _uninstall_locked() -> None:
    global COLLECTOR, REGISTRY_IN_USE
    if COLLECTOR is not None and REGISTRY_IN_USE is not None:
        try:
            REGISTRY_IN_USE.unregister(COLLECTOR)
        except KeyError:
            pass
    COLLECTOR = REGISTRY_IN_USE = None


def healthz_status(healthz_text: str) -> int:
    """0 if a /healthz text says ok (starts with ``ok`` or contains ``all ok``), else 1."""
    lowered = str(healthz_text).strip().lower()
    return 0 if (lowered.startswith("ok") or "all ok" in lowered) else 1


def healthz_families(healthz_text: str, program: "Optional[str]" = None) -> "list[Any]":
    """``healthz_info{value=<text>}`` and ``healthz_status`` (0 = ok, 1 = not ok),
    the original's way of exposing a server's /healthz to Prometheus."""
    _pc, core, _ex = _prom()
    program = PROGRAM_NAME if program is None else program
    text = str(healthz_text)
    info = core.InfoMetricFamily("healthz", "text of the /healthz page", labels=["program"])
    info.add_metric([program], {"value": text[:INFO_VALUE_MAX]})
    gauge = core.GaugeMetricFamily(
        "healthz_status", "0 if /healthz says ok, else 1", labels=["program"]
    )
    gauge.add_metric([program], float(healthz_status(text)))
    return [info, gauge]


class _View:
    """A read-only registry-like object: the given collectors' families,
    optionally restricted to some names, plus extra families."""

    def __init__(
        self,
        sources: "list[Any]",
        names: "Optional[list[str]]" = None,
        extra: "Iterable[Any]" = (),
    ) -> None:
        self.sources = sources
        self.names = names
        self.extra = list(extra)

    def _wanted(self, family: "Any") -> bool:
        if not self.names:
            return True
        if family.name in self.names:
            return True
        return any(s.name in self.names for s in family.samples)

    def collect(self) -> "Iterator[Any]":
        for source in self.sources:
            for family in source.collect():
                if self._wanted(family):
                    yield family
        for family in self.extra:
            if self._wanted(family):
                yield family


def render(
    accept: "Optional[str]" = None,
    names: "Any" = None,
    healthz: "Optional[str]" = None,
    registry: "Any" = None,
    store: "Optional[varz.Store]" = None,
) -> "tuple[bytes, str]":
    """Render the exposition for a scrape: returns ``(body_bytes, content_type)``.

    ``accept`` is the request's Accept header (picks text or OpenMetrics),
    ``names`` an optional list of metric names to restrict to, ``healthz`` an
    optional /healthz text to export as ``healthz_info``/``healthz_status``.
    ``store``: export this varz store (and nothing else) instead of a registry.
    """
    prometheus_client, _core, exposition = _prom()
    if store is not None and store is not varz.DEFAULT_STORE:
        collector = COLLECTOR
        sources = [VarzCollector(store=store, stamps=collector.stamps if collector else "counter")]
    else:
        if registry is None:
            registry = REGISTRY_IN_USE
        if registry is None:
            registry = prometheus_client.REGISTRY
        sources = [registry]
    if isinstance(names, str):  # one name on its own, not a list of its characters
        names = [names]
    extra = healthz_families(healthz) if healthz is not None else ()
    encoder, content_type = exposition.choose_encoder(accept or "")
    return encoder(_View(sources, names, extra)), content_type


# ---------------------------------------------------------------- web handler


class MetricsPage:
    """What :func:`metrics_handler` returns: a response any kcore web server
    sends as is (it has a Response's ``body``, ``status_code``, ``msg_type``
    and ``extra_headers``), made without importing the web server."""

    def __init__(self, body: "bytes | str", msg_type: str, status_code: int = 200) -> None:
        self.body = body
        self.msg_type = msg_type
        self.status_code = status_code
        self.extra_headers: dict = {}
        self.exception = None

    def __repr__(self) -> str:
        return "MetricsPage(%d, %r)" % (self.status_code, self.msg_type)


def _body_text(value: object) -> str:
    # A handler's result (a Response-like object, str or bytes) as text.
    body = getattr(value, "body", value)
    if isinstance(body, (bytes, bytearray)):
        return bytes(body).decode("utf-8", "replace")
    return "" if body is None else str(body)


def _request_query(request: "Any") -> str:
    query = getattr(request, "query", None)
    if query is None:
        full = getattr(request, "full_path", "") or ""
        query = full.split("?", 1)[1] if "?" in full else ""
    return query


def _names_from_query(query: str) -> "Optional[list[str]]":
    from kcore.common.urls import unquote_plus

    names = []
    for pair in query.split("&"):
        name, _eq, value = pair.partition("=")
        if unquote_plus(name) == "name[]":
            names.append(unquote_plus(value))
    return names or None


def healthz_text_for(request: "Any", handler: "Any" = None) -> "Optional[str]":
    """The /healthz text to export for a scrape: ``handler`` (a /healthz
    handler) run with ``request``, else the serving web server's own
    ``healthz_text()``, else None (nothing exported)."""
    if handler is not None:
        try:
            return _body_text(handler(request))
        except Exception as e:
            return "healthz handler failed: %s" % type(e).__name__
    text_of = getattr(getattr(request, "server", None), "healthz_text", None)
    return text_of() if text_of is not None else None


def metrics_handler(request: "Any") -> MetricsPage:
    """The ``/metrics`` handler: the Prometheus exposition (text or
    OpenMetrics per the Accept header) plus the /healthz text as
    ``healthz_info``/``healthz_status``; ``?name[]=metric`` restricts the
    output. Works for any kcore web server (the request is duck-typed)."""
    return _metrics_page(request, HEALTHZ_HANDLER, True)


def _metrics_page(request: "Any", healthz_handler: "Any", with_healthz: bool) -> MetricsPage:
    try:
        _prom()
    except ImportError:
        return MetricsPage(_NEED + "\n", "text/plain; charset=utf-8", 501)
    headers = getattr(request, "headers", None)
    accept = headers.get("accept") if headers is not None else None
    query = _request_query(request)
    names = _names_from_query(query) if query else None
    healthz = healthz_text_for(request, healthz_handler) if with_healthz else None
    server = getattr(request, "server", None)
    store = getattr(server, "varz_store", None)
    body, ctype = render(accept=accept, names=names, healthz=healthz, store=store)
    return MetricsPage(body, ctype)


def init(webserver: "Any" = None, auto_healthz: bool = True) -> "Optional[bool]":
    """Serve ``/metrics`` on ``webserver`` (any object with ``add_handler``,
    such as a kcore WebServer) and make sure the collector is installed.
    With ``auto_healthz`` the server's /healthz (whatever it is when
    scraped) is exported as ``healthz_info``/``healthz_status``; /healthz
    itself keeps being served as before. Returns True, or None without a
    web server (the original API's return values)."""
    global HEALTHZ_HANDLER
    if COLLECTOR is None and available():
        install()
    if webserver is None:
        return None
    healthz_handler = None
    if auto_healthz:
        find = getattr(webserver, "_find_handler", None)
        route = find("/healthz") if find is not None else None
        healthz_handler = getattr(route, "func", None)
        if healthz_handler is None:
            healthz_handler = getattr(webserver, "standard_handlers", {}).get("/healthz")
        HEALTHZ_HANDLER = healthz_handler
    live = getattr(webserver, "healthz_text", None)

    def handler(request: "Any") -> MetricsPage:
        # A kcore server answers what its /healthz says at scrape time.
        return _metrics_page(request, None if live else healthz_handler, auto_healthz)

    webserver.add_handler("/metrics", handler)
    return True


def get_prom_instance(name: str, factory: "Callable[..., Any]") -> "Any":
    """A prometheus_client metric for varz name ``name``, made once with
    ``factory(metric_name, documentation, labelnames=['program'])`` (e.g.
    ``prometheus_client.Gauge``) and returned with its ``program`` label set."""
    with _state_lock:
        metric = METRIC_INSTANCES.get(name)
        if metric is None:
            metric = factory(get_prom_name(name), "kcore varz %s" % name, labelnames=["program"])
            METRIC_INSTANCES[name] = metric
    return metric.labels(program=PROGRAM_NAME)


# The original module's varz functions, acting on kcore.varz (the collector
# exports whatever they write).
get = varz.get
bump = varz.bump
inc = varz.inc
set = varz.set  # the original's name
stamp = varz.stamp
reset = varz.reset


if _platform.getenv("KCORE_VARZ_PROM_AUTOINSTALL", "1") != "0" and available():
    install()
