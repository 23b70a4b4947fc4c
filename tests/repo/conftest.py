"""Fixtures for the repository-level tests: the tools folder and built wheels."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def built_wheels(tmp_path_factory) -> pathlib.Path:
    """Every distribution built into a fresh folder (once per test session)."""
    import workspace

    out = tmp_path_factory.mktemp("wheels")
    for d in workspace.dists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "uv",
                "build",
                "--wheel",
                "--quiet",
                "--out-dir",
                str(out),
                str(workspace.dist_path(d)),
            ],
            check=True,
            env={**os.environ, "UV_NO_PROGRESS": "1"},
        )
    return out
