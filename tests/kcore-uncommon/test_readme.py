"""The README's example runs as written, in a fresh interpreter."""

import pathlib
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "packages/kcore-uncommon/README.md"


def test_readme_example_runs():
    code = README.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "invalid password or salt, or the data was modified",
        "[True, True, True, True, True, False, False]",
        "[1, 4, 9]",
    ]
