"""Fixtures for the kcore-auth tests: an injected machine identity, a DB
file in a temp dir, and helpers to make registrations and tokens."""

from __future__ import annotations

import pathlib
import shutil
import sys

import pytest

import kcore.auth as auth
from kcore.auth import identity, tokens

DB_PASSWORD = "db-pass-Xyz"
MACHINE_A = "v3p:test:machine-A-0123456789abcdef"
MACHINE_B = "v3p:test:machine-B-fedcba9876543210"


@pytest.fixture(autouse=True)
def _clean_state(monkeypatch):
    """Every test starts with a known identity and empty process-wide state."""
    monkeypatch.setenv("PUID", MACHINE_A)
    identity.reset_machine_identity_cache()
    auth.REPLAY_GUARD.clear()
    auth.REGISTRATION_DB.clear()
    yield
    identity.reset_machine_identity_cache()
    auth.REPLAY_GUARD.clear()
    auth.REGISTRATION_DB.clear()


@pytest.fixture
def db_file(tmp_path) -> str:
    return str(tmp_path / "auth_db.json")


@pytest.fixture(scope="session")
def secret_a() -> auth.SharedSecret:
    """alice@client1 on machine A (scrypt runs once per session)."""
    return auth.generate_shared_secret("alice", "alice-pw", "client1", machine_data=MACHINE_A)


@pytest.fixture(scope="session")
def secret_b() -> auth.SharedSecret:
    """The same user and password on machine B."""
    return auth.generate_shared_secret("alice", "alice-pw", "client1", machine_data=MACHINE_B)


@pytest.fixture
def registered_db(db_file, secret_a) -> str:
    assert auth.register(str(secret_a), DB_PASSWORD, db_file)
    return db_file


@pytest.fixture
def make_token(secret_a):
    def make(command="open-door", t=None, ss=None):
        return auth.generate_token_given_shared_secret(command, ss or secret_a, override_time=t)

    return make


@pytest.fixture
def guard() -> tokens.ReplayGuard:
    return tokens.ReplayGuard()


@pytest.fixture(scope="session")
def k_auth_exe() -> str:
    """The installed console script (next to the venv's python)."""
    exe = pathlib.Path(sys.executable).with_name("k_auth")
    found = str(exe) if exe.exists() else shutil.which("k_auth")
    if not found:
        pytest.fail("the k_auth console script is not installed in this environment")
    return found


@pytest.fixture
def machines() -> tuple:
    """(identity of machine A, identity of machine B); A is the default $PUID."""
    return MACHINE_A, MACHINE_B
