"""Shared fixtures for the kaithem-api tests: isolated Kaithem instances and
a deadline-based poll (tests never sleep a fixed time to wait for a result)."""

import time

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


def _wait_until(predicate, timeout=5.0, interval=0.002):
    """Poll ``predicate`` until true; False once ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


@pytest.fixture
def wait_until():
    return _wait_until
