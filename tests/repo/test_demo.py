"""The main job (README command 1): the hub starts, serves its demo, stops cleanly."""

from __future__ import annotations

import subprocess
import sys


def test_demo_smoke_run(root):
    proc = subprocess.run(
        [sys.executable, str(root / "tools" / "demo.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "GET / -> 200" in out and "GET /login -> 200" in out and "GET /status -> 200" in out
    assert "MiB RSS" in out
    assert "GET /healthz -> 200 ok" in out
    assert "exit status 0" in out


def test_demo_passes_options_through(root):
    proc = subprocess.run(
        [sys.executable, str(root / "tools" / "demo.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--api-token-file" in proc.stdout
