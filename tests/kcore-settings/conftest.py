"""Shared fixtures for the kcore-settings tests."""

import os
import textwrap

import pytest


@pytest.fixture
def write(tmp_path):
    """write("name", "text") -> path of a file under tmp_path (dedented text)."""

    def _write(name, text, mode=None):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        if mode is not None:
            os.chmod(path, mode)
        return str(path)

    return _write


@pytest.fixture
def clean_env(monkeypatch):
    """Remove the environment variables the tests use, so the host cannot leak in."""
    for name in list(os.environ):
        if name.startswith("KST_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def crypto():
    """kcore.uncommon, or skip when the optional crypto extra is not installed."""
    return pytest.importorskip("kcore.uncommon", reason="needs kcore-settings[crypto]")
