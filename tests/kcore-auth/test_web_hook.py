"""The hook kcore-web plugs in: duck-typed request in, VerificationResults out."""

from __future__ import annotations

import os

import pytest

import kcore.auth as auth

DB_PASSWORD = "db-pass-Xyz"


class FakeRequest:
    def __init__(self, path, headers=None, remote_address=("127.0.0.1", 5555), get_params=None):
        self.path = path
        self.headers = headers or {}
        self.remote_address = remote_address
        self.get_params = get_params or {}


def test_hook_accepts_header_tokens_once(registered_db, secret_a):
    hook = auth.web_auth_hook(DB_PASSWORD, db_filename=registered_db, check_client_address=False)
    tok = auth.generate_token_given_shared_secret("/varz", secret_a)
    r = hook(FakeRequest("/varz", {"x-kcore-auth": tok}))
    assert r.ok and bool(r) is True, r.status
    r = hook(FakeRequest("/varz", {"X-Kcore-Auth": tok}))
    assert not r.ok and "not later" in r.status
    assert bool(r) is False  # kcore-web: falsy verdict -> 403
    tok2 = auth.generate_token_given_shared_secret("/varz", secret_a)
    assert hook(FakeRequest("/varz", {"Authorization": "kcore-auth " + tok2})).ok


def test_hook_rejects_wrong_path_missing_and_query_tokens(registered_db, secret_a):
    hook = auth.WebAuthHook(DB_PASSWORD, db_filename=registered_db, check_client_address=False)
    tok = auth.generate_token_given_shared_secret("/varz", secret_a)
    r = hook(FakeRequest("/logz", {"X-Kcore-Auth": tok}))
    assert not r.ok and r.status.startswith("Token fails to verify")
    assert hook(FakeRequest("/varz")).status == "no authN token provided"
    assert hook(FakeRequest("/varz", {"Authorization": "Basic abc"})).ok is False
    assert not hook(FakeRequest("/varz", get_params={"a": tok})).ok  # query off by default
    with_param = auth.WebAuthHook(
        DB_PASSWORD, db_filename=registered_db, param="a", check_client_address=False
    )
    assert with_param(FakeRequest("/varz", get_params={"a": tok})).ok


def test_hook_checks_the_client_address(db_file, secret_a):
    auth.register(str(secret_a), DB_PASSWORD, db_file, server_override_hostname="10.0.0.5")
    hook = auth.web_auth_hook(DB_PASSWORD, db_filename=db_file)
    tok = auth.generate_token_given_shared_secret("/healthz", secret_a)
    r = hook(FakeRequest("/healthz", {"X-Kcore-Auth": tok}, remote_address=("10.0.0.6", 1)))
    assert not r.ok
    r = hook(FakeRequest("/healthz", {"X-Kcore-Auth": tok}, remote_address=("10.0.0.5", 1)))
    assert r.ok, r.status


def test_hook_propagates_db_errors(tmp_path, secret_a):
    db = str(tmp_path / "db.json")
    auth.register(str(secret_a), DB_PASSWORD, db)
    os.chmod(db, 0o644)
    hook = auth.web_auth_hook(DB_PASSWORD, db_filename=db, check_client_address=False)
    tok = auth.generate_token_given_shared_secret("/varz", secret_a)
    with pytest.raises(auth.AuthDBPermissionError):
        hook(FakeRequest("/varz", {"X-Kcore-Auth": tok}))
