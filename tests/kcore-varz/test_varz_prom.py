"""kcore.varz_prom against the real prometheus_client: collector, rendering, parsing back.

Each test exports a varz store of its own into a registry of its own, so the
global store and the default registry stay untouched.
"""

import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.parser import text_string_to_metric_families

import kcore.varz_prom as vp
from kcore import varz


@pytest.fixture
def prom(store):
    registry = CollectorRegistry()
    registry.register(vp.VarzCollector(store=store, program="testprog"))
    return store, registry


def _samples(body):
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


PROG = (("program", "testprog"),)


def test_values_exported_with_right_types(prom):
    store, registry = prom
    store.bump("requests")
    store.inc("requests", 2)
    store.set("temp-c", 21.5)
    store.set("mode", "eco <b>")
    store.set("live", lambda: 7)
    store.bump("gone")
    store.reset("gone")
    body, ctype = vp.render(registry=registry)
    assert ctype.startswith("text/plain")
    types = {f.name: f.type for f in text_string_to_metric_families(body.decode())}
    assert types["varz_requests"] == "counter"
    assert types["varz_temp_c"] == "gauge"
    s = _samples(body)
    assert s[("varz_requests_total", PROG)] == 3.0
    assert s[("varz_temp_c", PROG)] == 21.5
    assert s[("varz_live", PROG)] == 7.0
    assert s[("varz_mode_info", (("program", "testprog"), ("value", "eco <b>")))] == 1.0
    assert not any(k[0].startswith("varz_gone") for k in s)


def test_stamps_are_counters_of_stamps_with_created_time(prom):
    store, registry = prom
    store.stamp("last-backup")
    store.stamp("last-backup")
    store.stamp("last-backup")
    body, _ = vp.render(registry=registry)
    types = {f.name: f.type for f in text_string_to_metric_families(body.decode())}
    assert types["varz_last_backup"] == "counter"
    s = _samples(body)
    assert s[("varz_last_backup_total", PROG)] == 3.0
    _count, first = store.get_stamps()["last-backup"]
    assert s[("varz_last_backup_created", PROG)] == pytest.approx(first)


def test_stamps_as_gauges_on_request(store):
    registry = CollectorRegistry()
    registry.register(vp.VarzCollector(store=store, program="p", stamps="gauge"))
    store.stamp("t")
    s = _samples(vp.render(registry=registry)[0])
    assert s[("varz_t", (("program", "p"),))] == float(store.get("t"))
    with pytest.raises(ValueError, match="stamps"):
        vp.VarzCollector(stamps="clock")


def test_healthz_families_and_name_restriction(prom):
    store, registry = prom
    store.bump("a")
    store.bump("b")
    body, _ = vp.render(registry=registry, healthz="all ok here")
    s = _samples(body)
    assert s[("healthz_status", (("program", vp.PROGRAM_NAME),))] == 0.0
    assert s[("healthz_info", (("program", vp.PROGRAM_NAME), ("value", "all ok here")))] == 1.0
    body, _ = vp.render(registry=registry, healthz="db down")
    s = _samples(body)
    assert s[("healthz_status", (("program", vp.PROGRAM_NAME),))] == 1.0
    body, _ = vp.render(registry=registry, names="varz_a_total")
    s = _samples(body)
    assert [k[0] for k in s] == ["varz_a_total"]
    assert vp.healthz_status("OK") == 0
    assert vp.healthz_status("it is all ok") == 0
    assert vp.healthz_status("degraded") == 1


def test_render_a_store_directly(store):
    store.bump("only-here")
    body, _ = vp.render(store=store)
    s = _samples(body)
    assert s[("varz_only_here_total", (("program", vp.PROGRAM_NAME),))] == 1.0
    assert not any(k[0].startswith("varz_web_") for k in s)


def test_openmetrics_by_accept_header(prom):
    store, registry = prom
    store.bump("a")
    body, ctype = vp.render(
        accept="application/openmetrics-text; version=1.0.0", registry=registry
    )
    assert ctype.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")


def test_sanitized_name_clash_keeps_first(prom):
    store, registry = prom
    store.set("a-b", 1)
    store.set("a_b", 2)
    body, _ = vp.render(registry=registry)
    assert body.decode().count("varz_a_b{") == 1


def test_get_prom_name():
    assert vp.get_prom_name("web-path-x/y") == "varz_web_path_x_y"
    assert vp.get_prom_name("healthz-ok") == "healthz_ok"
    assert vp.get_prom_name("_raw-name") == "raw_name"


def test_program_label_is_argv0():
    assert vp.PROGRAM_NAME == sys.argv[0]


def test_original_functions_forward_to_varz():
    name = "varz-prom-forwarding-test"
    assert vp.bump(name) == 1
    assert vp.inc(name, 2) == 3
    assert varz.get(name) == 3 == vp.get(name)
    vp.set(name, 5)
    assert varz.get(name) == 5
    vp.stamp(name)
    assert varz.get_kinds()[name] == "stamp"
    vp.reset(name)
    assert varz.get(name) is None
    varz.delete(name)


def test_get_prom_instance_makes_one_labelled_metric():
    made = []

    def factory(name, doc, labelnames):
        made.append(name)
        return Gauge(name, doc, labelnames=labelnames, registry=CollectorRegistry())

    g1 = vp.get_prom_instance("prom-instance-test", factory)
    g2 = vp.get_prom_instance("prom-instance-test", factory)
    assert made == ["varz_prom_instance_test"]
    g1.set(4)
    assert g2._value.get() == 4.0


class _FakeRequest:
    """What a web server hands a handler, as far as metrics_handler looks."""

    def __init__(self, query="", accept=None, server=None):
        self.query = query
        self.headers = {"accept": accept} if accept else {}
        self.server = server


class _FakeServer:
    """Any web server with add_handler/_find_handler, such as the original's."""

    def __init__(self):
        self.routes = {}

    def add_handler(self, route, func):
        self.routes[route] = func

    def _find_handler(self, path):
        func = self.routes.get(path)
        if func is None:
            return None
        route = type("Route", (), {})()
        route.func = func
        return route


def test_init_serves_metrics_and_exports_healthz_on_any_server():
    server = _FakeServer()
    assert vp.init() is None
    server.add_handler("/healthz", lambda request: "all ok")
    assert vp.init(server) is True
    assert vp.HEALTHZ_HANDLER is server.routes["/healthz"]
    varz.bump("init-test-counter")
    page = server.routes["/metrics"](_FakeRequest(query="name[]=healthz_status"))
    assert page.status_code == 200
    assert page.msg_type.startswith("text/plain")
    s = _samples(page.body)
    assert s == {("healthz_status", (("program", vp.PROGRAM_NAME),)): 0.0}
    page = vp.metrics_handler(_FakeRequest(accept="application/openmetrics-text"))
    assert page.msg_type.startswith("application/openmetrics-text")
    assert b"varz_init_test_counter_total" in page.body
    server2 = _FakeServer()
    vp.init(server2, auto_healthz=False)
    assert b"healthz" not in server2.routes["/metrics"](_FakeRequest()).body
    varz.delete("init-test-counter")


def test_promtool_accepts_exposition(prom):
    import shutil

    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    store, registry = prom
    store.bump("requests")
    store.set("mode", "x")
    store.set("temp", 3)
    store.stamp("started")
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
        "import sys, threading\n"
        "n = threading.active_count()\n"
        "from prometheus_client import REGISTRY, generate_latest\n"
        "from kcore import varz\n"
        "varz.bump('imported')\n"
        "import kcore.varz_prom as vp\n"
        "assert vp.REGISTRY_IN_USE is REGISTRY\n"
        "assert threading.active_count() == n\n"
        "vp.metrics_handler(None)\n"
        "assert not [m for m in sys.modules if m.startswith('kcore.webserver')]\n"
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


def test_install_and_reinstall_replace_the_collector():
    code = (
        "from prometheus_client import CollectorRegistry\n"
        "from kcore import varz\n"
        "import kcore.varz_prom as vp\n"
        "one, two = CollectorRegistry(), CollectorRegistry()\n"
        "vp.install(registry=one)\n"
        "vp.install(registry=two)\n"
        "assert vp.REGISTRY_IN_USE is two\n"
        "varz.bump('x')\n"
        "assert b'varz_x' not in vp.render(registry=one)[0]\n"
        "assert b'varz_x' in vp.render()[0]\n"
        "vp.uninstall()\n"
        "assert vp.COLLECTOR is None\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr


def test_without_prometheus_client_import_works_and_use_names_the_extra():
    code = (
        "import sys\n"
        "sys.modules['prometheus_client'] = None  # as if not installed\n"
        "import kcore.varz_prom as vp\n"
        "assert vp.COLLECTOR is None and not vp.available()\n"
        "page = vp.metrics_handler(None)\n"
        "assert page.status_code == 501, page\n"
        "try:\n"
        "    vp.install()\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert "pip install 'kcore-varz[prometheus]'" in r.stdout
