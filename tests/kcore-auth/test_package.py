"""Import hygiene and the public surface kept from the original."""

from __future__ import annotations

import subprocess
import sys

import kcore.auth as auth


def test_import_has_no_side_effects():
    code = (
        "import os, sys, threading\n"
        "os.environ.pop('PUID', None)\n"
        "import kcore.auth\n"
        "assert 'cryptography' not in sys.modules, 'cryptography imported'\n"
        "assert 'kcore.auth.cli' not in sys.modules, 'cli imported'\n"
        "assert threading.active_count() == 1\n"
        "from kcore.auth import identity\n"
        "assert identity._cached is None, 'identity read at import'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr


def test_original_names_are_kept():
    for name in [
        "DEBUG",
        "DEFAULT_MAX_TIME_DELTA",
        "DEFAULT_DB_FILENAME",
        "TOKEN_VERSION",
        "PY_VER",
        "SharedSecret",
        "VerificationParams",
        "VerificationResults",
        "AuthNError",
        "compare_hosts",
        "debug_msg",
        "hasher",
        "now",
        "safe_read",
        "get_machine_private_data",
        "generate_shared_secret",
        "generate_token",
        "generate_token_given_shared_secret",
        "verify_token",
        "verify_token_with_params",
        "verify_token_given_shared_secret",
        "get_shared_secret_from_db",
        "register",
        "parse_args",
        "main",
        "LAST_RECEIVED_TIMES",
        "REGISTRATION_DB",
    ]:
        assert hasattr(auth, name), name
    assert auth.DEFAULT_MAX_TIME_DELTA == 90
    assert auth.DEFAULT_DB_FILENAME == "kcore_auth_db.data.pcrypt"
    assert issubclass(auth.AuthDBError, auth.AuthNError)


def test_verify_token_with_params(registered_db, make_token):
    params = auth.VerificationParams("db-pass-Xyz", registered_db, max_time_delta=0)
    assert auth.verify_token_with_params(make_token(t=5), "open-door", None, params).ok
    assert not auth.verify_token_with_params(make_token(t=5), "open-door", None, params).ok
