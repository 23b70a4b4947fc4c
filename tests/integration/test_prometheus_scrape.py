"""A real Prometheus server scrapes kcore.webserver's /metrics; its query API returns varz values.

Needs the Debian package `prometheus` (the test skips, saying so, if the binary is absent).
Everything runs on 127.0.0.1 with ephemeral ports and temporary config and storage.
"""

import json
import shutil
import urllib.parse
import urllib.request

import ktest
import pytest

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="the prometheus binary is not installed (Debian: apt-get install -y prometheus)",
)


def _query(prom_port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (
        prom_port,
        urllib.parse.urlencode({"query": expr}),
    )
    with urllib.request.urlopen(url, timeout=5) as r:
        data = json.load(r)
    assert data["status"] == "success", data
    return data["data"]["result"]


def _wait_value(prometheus, expr, want, timeout=90):
    port, server = prometheus
    last = []

    def answered():
        assert server.proc.poll() is None, "prometheus exited early"
        try:
            result = _query(port, expr)
        except OSError as e:  # API not up yet
            last[:] = [e]
            return None
        last[:] = [result]
        return result if result and float(result[0]["value"][1]) == want else None

    try:
        return ktest.wait_for(answered, timeout=timeout, interval=0.3, what=expr)
    except AssertionError:
        with open(server.log_path, errors="replace") as f:
            log = f.read()[-3000:]
        raise AssertionError(
            "query %r never returned %r; last answer %r; prometheus log:\n%s"
            % (expr, want, last, log)
        )


@pytest.fixture
def kcore_server():
    pytest.importorskip("prometheus_client")
    from kcore import varz
    from kcore.webserver import LoggingAdapter, WebServer

    store = varz.Store()  # this server's own counters, exported at its /metrics
    store.inc("integration-hits", 5)
    store.set("integration-temp", 21.5)
    store.set("integration-mode", "eco")
    store.stamp("integration-started")
    server = WebServer(
        {"/healthz": lambda r: "all ok"}, logging_adapter=LoggingAdapter(), varz=store
    )
    server.start(port=0)
    yield server
    server.shutdown(timeout=10)


@pytest.fixture
def prometheus(kcore_server, tmp_path):
    port = ktest.free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: kcore\n"
        "    scrape_interval: 1s\n"
        "    scrape_timeout: 1s\n"
        "    static_configs:\n"
        "      - targets: ['127.0.0.1:%d']\n" % kcore_server.port
    )
    storage = tmp_path / "data"
    storage.mkdir()
    server = ktest.ServerProcess(
        [
            PROMETHEUS,
            "--config.file=%s" % config,
            "--storage.tsdb.path=%s" % storage,
            "--web.listen-address=127.0.0.1:%d" % port,
            "--log.level=warn",
        ],
        ready=lambda: ktest.port_open(port),
        cwd=str(tmp_path),
        log_path=str(tmp_path / "prometheus.log"),
    )
    with server:
        yield port, server


def test_prometheus_scrapes_varz(kcore_server, prometheus):
    store = kcore_server.varz_store
    _wait_value(prometheus, 'varz_integration_hits_total{job="kcore"}', 5.0)
    _wait_value(prometheus, "varz_integration_temp", 21.5)
    _wait_value(prometheus, 'varz_integration_mode_info{value="eco"}', 1.0)
    # A stamp is a counter of stamps (with the time of the first as _created).
    _wait_value(prometheus, "varz_integration_started_total", 1.0)
    first = store.get_stamps()["integration-started"][1]
    _wait_value(prometheus, "varz_integration_started_created", float(first))
    _wait_value(prometheus, "healthz_status", 0.0)
    _wait_value(prometheus, 'up{job="kcore"}', 1.0)
    # Live: a later bump shows up in a later scrape.
    store.inc("integration-hits", 7)
    _wait_value(prometheus, 'varz_integration_hits_total{job="kcore"}', 12.0)
