"""The README's tour runs as written and prints what its comments promise."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "packages" / "kaithem-api" / "README.md"


def test_tour_runs():
    text = README.read_text()
    tour = text.split("## A tour", 1)[1]
    code = re.search(r"```python\n(.*?)```", tour, re.S).group(1)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert abs(float(lines[0]) - 212.0) < 1e-9
    assert lines[1] == "[('/home/kitchen/temp', 21.5)]"
    assert [float(lines[2]), float(lines[3])] == [25.0, 20.0]
    assert lines[4] == "on"
    assert lines[5] == "1.23M 1h 2m"
    assert lines[-1] == "{'on': True}"
