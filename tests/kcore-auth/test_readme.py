"""The README's example runs as written (with its DB in a temporary directory)."""

import os
import pathlib
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "packages/kcore-auth/README.md"


def test_readme_example_runs(tmp_path, machines):
    code = README.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("/tmp/demo_auth_db.json", str(tmp_path / "db.json"))
    env = dict(os.environ, PUID=machines[0])
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("SharedSecret(version_tag='v3', hostname=")
    assert lines[1] == "True ok"
    assert lines[2].startswith("False Received token is not later than a previous token")
