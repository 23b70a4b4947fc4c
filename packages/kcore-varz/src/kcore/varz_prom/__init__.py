"""kcore.varz_prom: every varz value, exported to Prometheus.

Importing this module is what turns the export on: it registers one
:class:`VarzCollector` with prometheus_client's default registry (set the
environment variable ``KCORE_VARZ_PROM_AUTOINSTALL=0`` before importing to
skip that, then call :func:`install` with your own registry). That
registration is the module's only side effect. Without prometheus_client
(the ``prometheus`` extra) the import registers nothing, and :func:`install`
and :func:`render` raise an ImportError saying what to install.

The collector uses prometheus_client's public custom-collector API: on each
scrape it reads :func:`kcore.varz.get_dict` and yields metric families, so
nothing is mirrored on every write (the original wrapped each ``bump``) and
values set through callables are exported too.

Mapping (metric names ``varz_<name>`` with every character outside
``[A-Za-z0-9_:]`` turned into ``_``; names starting with ``healthz`` keep no
prefix, as in the original; every sample has the label ``program``):

* counters (``inc``/``bump``) -> Counter (``varz_<name>_total``);
* ``set`` with a number, ``stamp`` -> Gauge (stamps are epoch seconds);
* ``set`` with anything else -> Info (``varz_<name>_info{value="..."} 1``);
* ``None`` values (after ``reset(name)``) are left out.
"""

import re
import threading

from kcore import varz
from kcore.common import platform as _platform

__version__ = "0.1.0"

PROGRAM_NAME = varz.PROGRAM_NAME
INFO_VALUE_MAX = 256
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_:]")

_state_lock = threading.Lock()
COLLECTOR = None  # the installed collector, if any
REGISTRY_IN_USE = None  # the registry it was installed into


_NEED = "kcore.varz_prom needs prometheus_client: pip install 'kcore-varz[prometheus]'"


def _prom():
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
    clean = _BAD_CHARS.sub("_", name)
    if clean.startswith("healthz"):
        return clean
    return prefix + clean


def _is_number(value) -> bool:
    return isinstance(value, (int, float))


class VarzCollector:
    """A prometheus_client custom collector over :mod:`kcore.varz`.

    ``source`` and ``kinds`` are injectable (zero-argument callables returning
    dicts) so tests and embedders can export another store.
    """

    def __init__(self, program=None, prefix="varz_", source=None, kinds=None):
        self.program = PROGRAM_NAME if program is None else str(program)
        self.prefix = prefix
        self._source = source or varz.get_dict
        self._kinds = kinds or varz.get_kinds

    def describe(self):
        # Names change at run time; describing nothing keeps registration
        # free of a collect() call and of false duplicate-name clashes.
        return []

    def collect(self):
        values = self._source()
        kinds = self._kinds()
        seen = {}
        for key in sorted(values):
            value = values[key]
            if value is None:
                continue
            name = get_prom_name(key, self.prefix)
            if name in seen:  # two keys that sanitize alike: first one wins
                continue
            seen[name] = True
            family = self._family(key, name, value, kinds.get(key))
            if family is not None:
                yield family

    def _family(self, key, name, value, kind):
        _pc, core, _ex = _prom()
        CounterMetricFamily = core.CounterMetricFamily  # noqa: N806
        GaugeMetricFamily = core.GaugeMetricFamily  # noqa: N806
        InfoMetricFamily = core.InfoMetricFamily  # noqa: N806
        doc = "kcore varz %s" % key
        labels = ["program"]
        if _is_number(value):
            if kind == "counter" and value >= 0:
                counter = CounterMetricFamily(name, doc, labels=labels)
                counter.add_metric([self.program], float(value))
                return counter
            gauge = GaugeMetricFamily(name, doc, labels=labels)
            gauge.add_metric([self.program], float(value))
            return gauge
        text = str(value)
        if len(text) > INFO_VALUE_MAX:
            text = text[: INFO_VALUE_MAX - 3] + "..."
        info = InfoMetricFamily(name, doc, labels=labels)
        info.add_metric([self.program], {"value": text})
        return info


def install(registry=None, program=None, prefix="varz_"):
    """Register a :class:`VarzCollector` with ``registry`` (default: the
    prometheus_client default registry), replacing one installed earlier."""
    global COLLECTOR, REGISTRY_IN_USE
    prometheus_client, _core, _ex = _prom()
    registry = prometheus_client.REGISTRY if registry is None else registry
    with _state_lock:
        _uninstall_locked()
        collector = VarzCollector(program=program, prefix=prefix)
        registry.register(collector)
        COLLECTOR, REGISTRY_IN_USE = collector, registry
    return collector


def uninstall():
    """Remove the installed collector (no-op if none)."""
    with _state_lock:
        _uninstall_locked()


def _uninstall_locked():
    global COLLECTOR, REGISTRY_IN_USE
    if COLLECTOR is not None and REGISTRY_IN_USE is not None:
        try:
            REGISTRY_IN_USE.unregister(COLLECTOR)
        except KeyError:
            pass
    COLLECTOR = REGISTRY_IN_USE = None


def healthz_families(healthz_text, program=None):
    """``healthz_info{value=<text>}`` and ``healthz_status`` (0 = ok, 1 = not ok),
    the original's way of exposing a server's /healthz to Prometheus."""
    _pc, core, _ex = _prom()
    InfoMetricFamily, GaugeMetricFamily = core.InfoMetricFamily, core.GaugeMetricFamily  # noqa: N806
    program = PROGRAM_NAME if program is None else program
    text = str(healthz_text)
    lowered = text.strip().lower()
    status = 0 if (lowered.startswith("ok") or "all ok" in lowered) else 1
    info = InfoMetricFamily("healthz", "text of the /healthz page", labels=["program"])
    info.add_metric([program], {"value": text[:INFO_VALUE_MAX]})
    gauge = GaugeMetricFamily(
        "healthz_status", "0 if /healthz says ok, else 1", labels=["program"]
    )
    gauge.add_metric([program], float(status))
    return [info, gauge]


class _View:
    """A read-only registry-like object: the given registry's families,
    optionally restricted to some names, plus extra families."""

    def __init__(self, registry, names=None, extra=()):
        self.registry = registry
        self.names = names
        self.extra = list(extra)

    def _wanted(self, family):
        if not self.names:
            return True
        if family.name in self.names:
            return True
        return any(s.name in self.names for s in family.samples)

    def collect(self):
        for family in self.registry.collect():
            if self._wanted(family):
                yield family
        for family in self.extra:
            if self._wanted(family):
                yield family


def render(accept=None, names=None, healthz=None, registry=None):
    """Render the exposition for a scrape: returns ``(body_bytes, content_type)``.

    ``accept`` is the request's Accept header (picks text or OpenMetrics),
    ``names`` an optional list of metric names to restrict to, ``healthz`` an
    optional /healthz text to export as ``healthz_info``/``healthz_status``.
    """
    prometheus_client, _core, exposition = _prom()
    if registry is None:
        registry = REGISTRY_IN_USE
    if registry is None:
        registry = prometheus_client.REGISTRY
    if isinstance(names, str):  # the original passed a string where a list belongs
        names = [names]
    extra = healthz_families(healthz) if healthz is not None else ()
    encoder, content_type = exposition.choose_encoder(accept or "")
    return encoder(_View(registry, names, extra)), content_type


def metrics_handler(request):
    """A kcore web handler serving ``/metrics`` (kcore.webserver_base adds it
    by itself; this is for programs that route it explicitly)."""
    from kcore.webserver_base import metrics_response  # lazy: no import cycle

    return metrics_response(request)


if _platform.getenv("KCORE_VARZ_PROM_AUTOINSTALL", "1") != "0" and available():
    install()
