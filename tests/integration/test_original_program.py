"""A program written against the original kcore API runs unchanged, end to end:
logging to a file, settings from YAML and the environment, a persister round
trip across two runs, a time queue, a simulated button and LED, and a web
server with a handler and /varz."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import ktest

PROGRAM = pathlib.Path(__file__).parent / "original_program" / "homelab.py"


def _run(workdir, env):
    proc = subprocess.run(
        [sys.executable, str(PROGRAM)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(line.split(": ", 1) for line in proc.stdout.splitlines())


def test_original_program_runs_unchanged(tmp_path):
    port = ktest.free_port()
    (tmp_path / "homelab.yaml").write_text("port: %d\nsite: the shed\n" % port)
    env = dict(os.environ, HOMELAB_SENSORS="t1;t2")
    out = _run(tmp_path, env)
    assert out["site"] == "the shed"  # from the YAML file
    assert out["sensors"] == "['t1', 't2']"  # from the environment, split on ';'
    assert out["greeting"] == "hello from the shed"  # %{site} substituted
    assert out["readings"] == "[('t1', 1), ('t2', 1)]"
    assert out["fired before 6:30"] == "0"
    assert out["fired at 6:31"] == "1 ['wake-up']"
    assert out["fired"] == "['wake-up', 'now']"
    assert out["led after one press"] == "True"
    assert out["page"] == "hello from the shed, sam"
    assert out["hellos on /varz"] == "1"
    assert out["presses on /varz"] == "1"
    assert out["healthz"] == "ok"
    assert out["errors counted"] == "1"
    assert out["server stopped"] == "True"
    assert re.fullmatch(r"homelab: \d+-\d+-\d+ \d+:\d+:\d+: INFO: done", out["last log line"])

    # The original's file formats: the log file's line order, the persister's repr lines.
    log = (tmp_path / "homelab.log").read_text().splitlines()
    assert re.fullmatch(r"INFO:homelab:\d+-\d+-\d+ \d+:\d+:\d+: starting up", log[0])
    assert any(re.fullmatch(r"ERROR:homelab:[-\d: ]+: a test error", line) for line in log)
    assert any(line.endswith(": button 17 pressed") for line in log)
    assert (tmp_path / "readings.data").read_text() == (
        "'t1': Reading(sensor='t1', value=21.5, count=1)\n"
        "'t2': Reading(sensor='t2', value=21.5, count=1)\n"
    )

    # A second run finds its readings again and appends to the same log.
    out = _run(tmp_path, env)
    assert out["readings"] == "[('t1', 2), ('t2', 2)]"
    assert len((tmp_path / "homelab.log").read_text().splitlines()) == 2 * len(log)
