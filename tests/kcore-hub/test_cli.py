"""The `kcore-hub` command as a real process: start, SIGTERM, restart, refusals."""

from __future__ import annotations

import shutil
import subprocess
import sys

import ktest

CONFIG = """
hardware: {gpio: simulation, led: 27}
tags:
  /room/temp: {default: 19, unit: degC, public: true}
"""


def run_cli(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "kcore.hub", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_console_script_is_installed():
    exe = shutil.which("kcore-hub")
    assert exe is not None
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("kcore-hub ")


def test_print_and_check_config(tmp_path):
    r = run_cli("--print-default-config")
    assert r.returncode == 0 and "state_machines:" in r.stdout
    copy = tmp_path / "hub.yaml"
    copy.write_text(r.stdout)
    assert run_cli("--check-config", "--config", str(copy)).returncode == 0
    copy.write_text("tags:\n  /a: {max: high}\n")
    bad = run_cli("--check-config", "--config", str(copy))
    assert bad.returncode == 2
    assert "%s:2: tags./a.max: must be a number" % copy in bad.stderr


def test_bad_port(tmp_path):
    r = run_cli("--port", "99999", "--data", str(tmp_path))
    assert r.returncode == 2 and "--port" in r.stderr


def test_sigterm_stops_cleanly_and_state_survives(hub_process, tmp_path):
    hub = hub_process(CONFIG, name="life")
    log = hub.log()
    assert "serving http://127.0.0.1:%d/" % hub.port in log
    assert "created user 'admin' with password: " in log
    assert hub.api.put_tag("/room/temp", 21.5).status_code == 200
    assert hub.api.put_tag("/system/gpio/27", 1).status_code == 200
    assert hub.terminate() == 0
    assert "kcore-hub: stopped" in hub.log()
    assert not (hub.data / "hub.pid").exists()
    again = hub_process(CONFIG, name="life")
    assert again.api.tag("/room/temp")["value"] == 21.5
    assert again.api.get("/api/devices").json()["led"]["lit"] is True
    assert again.log().count("with password: ") == 1  # printed on the first start only


def test_second_hub_on_the_same_data_refuses(hub_process, tmp_path):
    first = hub_process(CONFIG, name="one")
    r = run_cli("--data", str(first.data), "--port", str(ktest.free_port()), timeout=60)
    assert r.returncode == 3
    assert "data directory %s is in use by another kcore-hub (pid " % first.data in r.stderr
    assert first.api.get("/healthz").text == "ok"


def test_port_in_use_is_a_clear_error(hub_process, tmp_path):
    first = hub_process(CONFIG, name="busy")
    r = run_cli("--data", str(tmp_path / "other"), "--port", str(first.port))
    assert r.returncode == 1
    assert "cannot listen on 127.0.0.1:%d" % first.port in r.stderr


def test_missing_hardware_is_a_clear_error(tmp_path):
    import os

    config = tmp_path / "hub.yaml"
    config.write_text("hardware: {gpio: auto, button: 17}\n")
    r = subprocess.run(
        [sys.executable, "-m", "kcore.hub", "--config", str(config), "--data", str(tmp_path / "d"),
         "--port", "0"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "KCORE_GPIO_BACKEND": "gpiozero"},  # "a Pi", but with no pins
    )  # fmt: skip
    assert r.returncode == 1
    assert "kcore-hub: error: hardware: cannot use the button on GPIO 17" in r.stderr
    assert "hardware.gpio: simulation" in r.stderr
