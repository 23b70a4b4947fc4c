"""A real Prometheus server scrapes kcore.webserver's /metrics; its query API returns varz values.

Needs the Debian package `prometheus` (the test skips, saying so, if the binary is absent).
Everything runs on 127.0.0.1 with ephemeral ports and temporary config and storage.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="the prometheus binary is not installed (Debian: apt-get install -y prometheus)",
)


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _query(prom_port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (
        prom_port,
        urllib.parse.urlencode({"query": expr}),
    )
    with urllib.request.urlopen(url, timeout=5) as r:
        data = json.load(r)
    assert data["status"] == "success", data
    return data["data"]["result"]


def _wait_value(prom_port, expr, want, proc, timeout=90):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, "prometheus exited early"
        try:
            result = _query(prom_port, expr)
        except OSError as e:  # API not up yet
            last = e
            time.sleep(0.3)
            continue
        if result:
            last = result
            value = float(result[0]["value"][1])
            if value == want:
                return result
        time.sleep(0.3)
    log = proc.log_path.read_text(errors="replace")[-3000:]
    raise AssertionError(
        "query %r never returned %r; last answer %r; prometheus log:\n%s" % (expr, want, last, log)
    )


@pytest.fixture
def kcore_server():
    pytest.importorskip("prometheus_client")
    import kcore.varz_prom as vp
    from kcore import varz
    from kcore.webserver import LoggingAdapter, WebServer

    vp.install()  # into the default registry (other tests may have moved it)

    varz.inc("integration-hits", 5)
    varz.set("integration-temp", 21.5)
    varz.set("integration-mode", "eco")
    varz.stamp("integration-started")
    server = WebServer({"/healthz": lambda r: "all ok"}, logging_adapter=LoggingAdapter())
    server.start(port=0)
    yield server
    server.shutdown(timeout=10)
    for k in ("integration-hits", "integration-temp", "integration-mode", "integration-started"):
        varz.delete(k)


@pytest.fixture
def prometheus(kcore_server, tmp_path):
    port = _free_port()
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
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            "--config.file=%s" % config,
            "--storage.tsdb.path=%s" % storage,
            "--web.listen-address=127.0.0.1:%d" % port,
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(tmp_path),
    )
    proc.log_path = tmp_path / "prometheus.log"
    try:
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if os.environ.get("KCORE_TEST_SHOW_PROM_LOG"):
            print((tmp_path / "prometheus.log").read_text())


def test_prometheus_scrapes_varz(kcore_server, prometheus):
    from kcore import varz

    port, proc = prometheus
    _wait_value(port, 'varz_integration_hits_total{job="kcore"}', 5.0, proc)
    _wait_value(port, "varz_integration_temp", 21.5, proc)
    _wait_value(port, 'varz_integration_mode_info{value="eco"}', 1.0, proc)
    started = varz.get("integration-started")
    _wait_value(port, "varz_integration_started", float(started), proc)
    _wait_value(port, "healthz_status", 0.0, proc)
    _wait_value(port, 'up{job="kcore"}', 1.0, proc)
    # Live: a later bump shows up in a later scrape.
    varz.inc("integration-hits", 7)
    _wait_value(port, 'varz_integration_hits_total{job="kcore"}', 12.0, proc)
