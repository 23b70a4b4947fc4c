"""kcore.varz_prom against the real prometheus_client: collector, rendering, parsing back."""

import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from kcore import varz


@pytest.fixture
def prom(fresh_varz):
    import kcore.varz_prom as vp

    registry = CollectorRegistry()
    vp.install(registry=registry, program="testprog")
    yield vp, registry
    vp.install()  # back to the default registry, as importing left it


def _samples(body):
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_values_exported_with_right_types(prom):
    vp, registry = prom
    varz.bump("requests")
    varz.inc("requests", 2)
    varz.set("temp-c", 21.5)
    varz.set("mode", "eco <b>")
    varz.stamp("last-backup")
    varz.set("live", lambda: 7)
    varz.bump("gone")
    varz.reset("gone")
    body, ctype = vp.render(registry=registry)
    assert ctype.startswith("text/plain")
    types = {f.name: f.type for f in text_string_to_metric_families(body.decode())}
    assert types["varz_requests"] == "counter"
    assert types["varz_temp_c"] == "gauge"
    assert types["varz_last_backup"] == "gauge"
    s = _samples(body)
    prog = (("program", "testprog"),)
    assert s[("varz_requests_total", prog)] == 3.0
    assert s[("varz_temp_c", prog)] == 21.5
    assert s[("varz_live", prog)] == 7.0
    assert s[("varz_last_backup", prog)] == float(varz.get("last-backup"))
    assert s[("varz_mode_info", (("program", "testprog"), ("value", "eco <b>")))] == 1.0
    assert not any(k[0].startswith("varz_gone") for k in s)


def test_healthz_families_and_name_restriction(prom):
    vp, registry = prom
    varz.bump("a")
    varz.bump("b")
    body, _ = vp.render(registry=registry, healthz="all ok here")
    s = _samples(body)
    assert s[("healthz_status", (("program", vp.PROGRAM_NAME),))] == 0.0
    body, _ = vp.render(registry=registry, healthz="db down")
    s = _samples(body)
    assert s[("healthz_status", (("program", vp.PROGRAM_NAME),))] == 1.0
    body, _ = vp.render(registry=registry, names="varz_a_total")
    s = _samples(body)
    assert [k[0] for k in s] == ["varz_a_total"]


def test_openmetrics_by_accept_header(prom):
    vp, registry = prom
    varz.bump("a")
    body, ctype = vp.render(
        accept="application/openmetrics-text; version=1.0.0", registry=registry
    )
    assert ctype.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")


def test_sanitized_name_clash_keeps_first(prom):
    vp, registry = prom
    varz.set("a-b", 1)
    varz.set("a_b", 2)
    body, _ = vp.render(registry=registry)
    assert body.decode().count("varz_a_b{") == 1


def test_get_prom_name():
    import kcore.varz_prom as vp

    assert vp.get_prom_name("web-path-x/y") == "varz_web_path_x_y"
    assert vp.get_prom_name("healthz-ok") == "healthz_ok"


def test_promtool_accepts_exposition(prom, tmp_path):
    import shutil

    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    vp, registry = prom
    varz.bump("requests")
    varz.set("mode", "x")
    varz.set("temp", 3)
    body, _ = vp.render(registry=registry, healthz="ok")
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _run(code, env_extra=None):
    import os

    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )


def test_import_registers_with_default_registry_and_nothing_else():
    code = (
        "import threading\n"
        "n = threading.active_count()\n"
        "from prometheus_client import REGISTRY, generate_latest\n"
        "from kcore import varz\n"
        "varz.bump('imported')\n"
        "import kcore.varz_prom as vp\n"
        "assert vp.REGISTRY_IN_USE is REGISTRY\n"
        "assert threading.active_count() == n\n"
        "print(generate_latest(REGISTRY).decode())\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert "varz_imported_total" in r.stdout


def test_import_can_be_told_not_to_register():
    code = (
        "from prometheus_client import REGISTRY, generate_latest\n"
        "from kcore import varz\n"
        "varz.bump('imported')\n"
        "import kcore.varz_prom as vp\n"
        "assert vp.COLLECTOR is None\n"
        "print(generate_latest(REGISTRY).decode())\n"
    )
    r = _run(code, {"KCORE_VARZ_PROM_AUTOINSTALL": "0"})
    assert r.returncode == 0, r.stderr
    assert "varz_imported" not in r.stdout


def test_importing_varz_does_not_import_prometheus_client():
    r = _run("import sys\nimport kcore.varz\nprint('prometheus_client' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_reinstall_replaces_collector(prom):
    vp, registry = prom
    other = CollectorRegistry()
    vp.install(registry=other)
    assert vp.REGISTRY_IN_USE is other
    varz.bump("x")
    body, _ = vp.render(registry=registry)
    assert b"varz_x" not in body


def test_without_prometheus_client_import_works_and_use_names_the_extra():
    code = (
        "import sys\n"
        "sys.modules['prometheus_client'] = None  # as if not installed\n"
        "import kcore.varz_prom as vp\n"
        "assert vp.COLLECTOR is None and not vp.available()\n"
        "try:\n"
        "    vp.install()\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert "pip install 'kcore-varz[prometheus]'" in r.stdout
