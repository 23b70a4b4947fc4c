"""The README's examples run as written (each in a fresh interpreter)."""

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "packages" / "kcore-hw" / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _run(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_simulation_example():
    out = _run(_blocks()[0])
    lines = out.splitlines()
    assert lines[0] == "long press on 17"
    assert lines[1].startswith("[17] [('press', 17, ") and "'long_press'" in lines[1]
    assert lines[2] == "0.25"
    assert lines[3] == "(255, 0, 0) (127, 0, 0)"
    assert lines[4] == "[(0, 0, 0), (0, 255, 0), (0, 255, 0), (0, 255, 0)]"


def test_mock_factory_example():
    code = "from kcore import gpio\n" + _blocks()[1]
    assert _run(code).strip() == "17"
