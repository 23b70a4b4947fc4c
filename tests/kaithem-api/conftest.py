"""Shared fixtures for the kaithem-api tests: isolated Kaithem instances,
test audio made by sox, and ktest's deadline-based polling (tests never sleep
a fixed time to wait for a result)."""

import shutil
import subprocess

import ktest
import pytest

import kcore.kaithem as kk
from kcore.kaithem import Kaithem


@pytest.fixture
def kai(tmp_path):
    """A fresh Kaithem instance with its own runtime, closed after the test."""
    inst = Kaithem(vardir=str(tmp_path))
    yield inst
    inst.close()


@pytest.fixture
def default_kai(tmp_path):
    """A fresh instance installed as the process default (module-level functions)."""
    inst = Kaithem(vardir=str(tmp_path / "default"))
    previous = kk.set_default(inst)
    yield inst
    kk.set_default(previous)
    inst.close()


@pytest.fixture
def wait_until():
    """ktest.wait_until with a 5 s deadline: True once the predicate holds."""

    def _wait_until(predicate, timeout=5.0, interval=0.002):
        return ktest.wait_until(predicate, timeout=timeout, interval=interval)

    return _wait_until


@pytest.fixture
def tone(tmp_path):
    """make(seconds, hz, name="tone.wav", amplitude=0.5) -> path of a mono
    44.1 kHz sine made by the real sox (Debian package sox)."""
    sox = shutil.which("sox")
    if not sox:
        pytest.skip("sox (Debian package sox) is not installed")

    def make(seconds=5.0, hz=440.0, name="tone.wav", amplitude=0.5):
        path = tmp_path / name
        subprocess.run(
            [sox, "-n", "-r", "44100", "-c", "1", "-b", "16", str(path), "synth", str(seconds),
             "sine", str(hz), "vol", str(amplitude)],
            check=True, capture_output=True,
        )  # fmt: skip
        return str(path)

    return make
