"""Every Python example of the kaithem-api README runs as written and prints
exactly what its ``# -> `` comments say, in order."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "packages" / "kaithem-api" / "README.md"
MARK = "# -> "


def examples():
    """(heading, code) of each ```python block, headed by the nearest ## title."""
    found = []
    heading = "top"
    lines = README.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.strip() == "```python":
            j = lines.index("```", i + 1)
            found.append((heading, "\n".join(lines[i + 1 : j]) + "\n"))
            i = j
        i += 1
    return found


EXAMPLES = examples()


def expected_output(code):
    return [line.split(MARK, 1)[1] for line in code.splitlines() if MARK in line]


def test_every_example_states_its_output():
    assert len(EXAMPLES) >= 15
    for heading, code in EXAMPLES:
        assert expected_output(code), "the example under %r prints nothing checked" % heading


@pytest.mark.parametrize(
    "code", [c for _, c in EXAMPLES], ids=[re.sub(r"\W+", "-", h)[:40] for h, _ in EXAMPLES]
)
def test_example_prints_what_it_says(code, tmp_path):
    env = dict(os.environ)
    # the default instance keeps its data under a throwaway XDG data dir
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONHASHSEED="0")
    env.pop("CI", None)  # with CI set, pyfluidsynth prints where it found libfluidsynth
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(tmp_path),
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected_output(code)
