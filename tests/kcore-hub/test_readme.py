"""The README's program example runs as written and prints what its comments say."""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "packages" / "kcore-hub" / "README.md"


def block(after, lang):
    section = README.read_text().split(after, 1)[1]
    return re.search(r"```%s\n(.*?)```" % lang, section, re.S).group(1)


def test_program_example_runs():
    proc = subprocess.run(
        [sys.executable, "-c", block("## In a program", "python")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    tag = ast.literal_eval(lines[0])
    assert tag["name"] == "/greenhouse/temp" and tag["value"] == 21.5 and tag["unit"] == "degC"
    assert lines[1] == "tripped"
    assert lines[2] == "True"


def test_script_example_is_valid_python():
    compile(block("## Scripts", "python"), "README script", "exec")
