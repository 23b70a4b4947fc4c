"""The README's varz example runs as written, in a fresh interpreter."""

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "packages" / "kcore-varz" / "README.md"


def test_varz_example():
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    first, rest = proc.stdout.split(" ", 1)
    assert first == "1"
    assert "'bytes-in': 512" in rest and "'mode': 'eco'" in rest
    assert "'queue-len': 0" in rest
