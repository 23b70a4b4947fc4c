"""Automation scripts: run against the hub's kaithem, reloaded on change with
their subscriptions and timers released, errors reported without stopping the hub."""

from __future__ import annotations

import os
import textwrap

import ktest
import pytest

SCRIPT_V1 = """
from kcore.hub.script import hub, kaithem

seen = []
level = kaithem.tags["/s/level"]
double = kaithem.tags["/s/double"]
level.subscribe(lambda v, ts, a: double(v * 2, None, "v1"))
kaithem.message.subscribe("/s/ping", lambda m: kaithem.message.post("/s/pong", "v1:" + m))
claim = kaithem.tags["/s/claimed"].claim(7, "script", priority=60)
timer = kaithem.events.after(3600, lambda: None)
machine = kaithem.states.StateMachine("a")
machine.add_state("a")
machine.add_state("b")
machine.set_timer("a", 3600, "b")
alert = kaithem.alerts.Alert("script alert")
kaithem.globals.script_hub = hub.id
"""

SCRIPT_V2 = """
kaithem.tags["/s/level"].subscribe(lambda v, ts, a: kaithem.tags["/s/double"](v * 3, None, "v2"))
"""


def config(paths):
    return """
    hardware: {gpio: simulation}
    hub_id: scripted
    tags:
      /s/level: {default: 0}
      /s/double: {default: 0}
      /s/claimed: {default: 1}
    scripts: %s
    """ % (list(paths),)


def write_script(path, text):
    path.write_text(textwrap.dedent(text))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a visible change


def bus_collector(hub, topic):
    got = []
    hub.kaithem.message.subscribe(topic, lambda t, m: got.append(m))
    return got


def test_script_runs_reloads_and_releases(make_hub, tmp_path):
    script = tmp_path / "auto.py"
    write_script(script, SCRIPT_V1)
    hub = make_hub(config([str(script)]), name="scripts")
    k = hub.kaithem
    pongs = bus_collector(hub, "/s/pong")
    assert [s["status"] for s in hub.scripts.info()] == ["loaded"]
    assert k.globals.script_hub == "scripted"
    hub.api.put_tag("/s/level", 4)
    assert k.tags["/s/double"].value == 8
    assert k.tags["/s/claimed"].value == 7
    k.message.post("/s/ping", "hi")
    ktest.wait_for(lambda: pongs == ["v1:hi"], 2, what="pong")
    subscribers_before = k.tags["/s/level"].subscriber_count
    jobs_before = k.runtime.scheduler.pending
    assert len(k.alerts.all()) == 1

    write_script(script, SCRIPT_V2)
    hub.scripts.check()
    info = hub.scripts.info()[0]
    assert info["status"] == "loaded" and info["loads"] == 2
    assert k.tags["/s/level"].subscriber_count == subscribers_before  # one replaced by one
    assert k.tags["/s/claimed"].value == 1  # the claim went with the old version
    assert k.runtime.scheduler.pending < jobs_before  # timers cancelled
    assert k.alerts.all() == []
    hub.api.put_tag("/s/level", 5)
    assert k.tags["/s/double"].value == 15  # only the new version answers
    k.message.post("/s/ping", "again", synchronous=True)
    assert pongs == ["v1:hi"]


def test_the_watcher_notices_a_changed_file(make_hub, tmp_path):
    script = tmp_path / "watched.py"
    write_script(script, "kaithem.globals.version = 1\n")
    hub = make_hub(config([str(script)]), name="watched")
    write_script(script, "kaithem.globals.version = 22\n")
    ktest.wait_for(lambda: getattr(hub.kaithem.globals, "version", 0) == 22, 5, what="reload")


def test_a_failing_script_is_reported_and_the_hub_keeps_running(make_hub, tmp_path):
    good = tmp_path / "good.py"
    write_script(good, "kaithem.globals.good = True\n")
    bad = tmp_path / "bad.py"
    write_script(bad, "kaithem.tags['/s/level'].subscribe(print)\nx = 1\n1 / 0\n")
    broken = tmp_path / "broken.py"
    write_script(broken, "def f(:\n    pass\n")
    hub = make_hub(config([str(good), str(bad), str(broken), str(tmp_path / "gone.py")]))
    info = {s["name"]: s for s in hub.scripts.info()}
    assert info["good.py"]["status"] == "loaded" and hub.kaithem.globals.good
    assert info["bad.py"]["status"] == "error"
    assert info["bad.py"]["error"] == "ZeroDivisionError: division by zero (bad.py, line 3)"
    assert (
        info["broken.py"]["status"] == "error"
        and "broken.py, line 1" in info["broken.py"]["error"]
    )
    assert info["gone.py"]["status"] == "missing"
    assert hub.kaithem.tags["/s/level"].subscriber_count == 1  # the hub's own; bad.py's released
    errors = [m for _, t, m in hub.kaithem.message.history("/system/errors/scripts")]
    assert {e["script"] for e in errors} == {"bad.py", "broken.py", "gone.py"}
    health = hub.guest.get("/healthz", auth=False)
    assert health.status_code == 503 and "bad.py" in health.text
    page = hub.guest.get("/status", auth=False).text  # loopback: details shown
    assert "ZeroDivisionError: division by zero (bad.py, line 3)" in page
    assert hub.api.put_tag("/s/level", 2).status_code == 200


def test_errors_in_callbacks_are_charged_to_the_script(make_hub, tmp_path):
    script = tmp_path / "flaky.py"
    write_script(
        script,
        """
        def boom(value, timestamp, annotation):
            raise RuntimeError("sensor offline")

        kaithem.tags["/s/level"].subscribe(boom)
        kaithem.events.after(0, lambda: {}["missing"])
        """,
    )
    hub = make_hub(config([str(script)]), name="flaky")
    ktest.wait_for(lambda: hub.scripts.info()[0]["errors"] >= 1, 2, what="timer error")
    hub.api.put_tag("/s/level", 1)
    info = hub.scripts.info()[0]
    assert info["status"] == "loaded, with errors" and info["errors"] == 2
    assert "RuntimeError: sensor offline (flaky.py, line 3)" == info["error"]
    assert hub.kaithem.tags["/s/level"].value == 1


def test_script_names_only_exist_inside_scripts():
    with pytest.raises(ImportError):
        from kcore.hub.script import kaithem  # noqa: F401
