"""The main job (README command 1) runs to completion and shows escaped data."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs(root):
    proc = subprocess.run(
        [sys.executable, str(root / "tools" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "GET / -> 200" in proc.stdout
    assert "healthz: ok" in proc.stdout
    assert proc.stdout.count("timequeue event") == 3
