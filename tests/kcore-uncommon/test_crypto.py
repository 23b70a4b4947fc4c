"""kcrypt1 encryption: random salt per message, authenticated, clear errors; pcrypt1 opt-in."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kcore.uncommon as u
import kcore.uncommon.crypto as crypto
from kcore.common.platform import KcoreError

FAST = {"log2_n": 10, "r": 8, "p": 1}  # cheap KDF cost for property tests


def test_round_trip_with_default_cost():
    enc = u.encrypt("the launch codes", "correct horse")
    assert enc.startswith("kcrypt1:15.8.1:")
    assert "launch" not in enc
    assert u.decrypt(enc, "correct horse") == "the launch codes"


def test_every_message_gets_a_fresh_salt_and_nonce():
    a, b = u.encrypt("same", "pw", **FAST), u.encrypt("same", "pw", **FAST)
    assert a != b
    assert a.split(":")[2] != b.split(":")[2]  # salt differs


@pytest.mark.parametrize("wrong", ["wrong", "correct horsE", "correct horse "])
def test_wrong_password_is_a_clear_error_that_leaks_nothing(wrong):
    enc = u.encrypt("top secret plaintext", "correct horse", **FAST)
    with pytest.raises(u.DecryptionError) as ei:
        u.decrypt(enc, wrong)
    msg = str(ei.value)
    assert "invalid password" in msg
    for secret in ("correct horse", wrong, "top secret plaintext"):
        assert secret not in msg and secret not in repr(ei.value)
    assert isinstance(ei.value, ValueError) and isinstance(ei.value, KcoreError)
    assert ei.value.__cause__ is None and ei.value.__suppress_context__


def test_tampering_truncation_and_garbage_are_detected():
    enc = u.encrypt("payload", "pw", **FAST)
    head, body = enc.rsplit(":", 1)
    flipped = head + ":" + ("A" if body[5] != "A" else "B").join([body[:5], body[6:]])
    cases = [
        flipped,
        enc[:-4],
        enc[:20],
        head + ":",
        "kcrypt1:garbage",
        enc + "!!",
        enc.replace("kcrypt1:10.8.1:", "kcrypt1:11.8.1:"),  # header is authenticated
        "plain text",
    ]
    for bad in cases:
        with pytest.raises(u.DecryptionError):
            u.decrypt(bad, "pw")


def test_absurd_kdf_cost_is_refused_before_any_work():
    enc = u.encrypt("x", "pw", **FAST)
    evil = enc.replace("kcrypt1:10.8.1:", "kcrypt1:30.32.16:")
    with pytest.raises(u.DecryptionError, match="unsupported KDF cost"):
        u.decrypt(evil, "pw")
    with pytest.raises(ValueError, match="scrypt cost"):
        u.encrypt("x", "pw", log2_n=25)


@pytest.mark.parametrize(
    "cost",
    ["16.8.1", "18.8.1", "15.8.2", "15.8.16", "15.16.1", "10.1.1", "9.8.1", "15.9.1"],
)
def test_only_the_costs_this_library_writes_are_accepted(monkeypatch, cost):
    """A ciphertext naming a costlier scrypt (more memory, more rounds, more lanes)
    is a DecryptionError before the KDF runs: its header is not authenticated
    until the key is known."""
    enc = u.encrypt("x", "pw", **FAST)
    evil = enc.replace("kcrypt1:10.8.1:", "kcrypt1:%s:" % cost)

    def kdf_must_not_run(*args, **kwargs):
        raise AssertionError("the KDF ran for cost %s" % cost)

    monkeypatch.setattr(crypto, "derive_key", kdf_must_not_run)
    with pytest.raises(u.DecryptionError, match="unsupported KDF cost"):
        u.decrypt(evil, "pw")
    with pytest.raises(ValueError, match="not supported"):
        u.encrypt("x", "pw", **dict(zip(("log2_n", "r", "p"), map(int, cost.split(".")))))


def test_every_accepted_cost_round_trips():
    for log2_n in range(crypto.MIN_LOG2_N, crypto.MAX_LOG2_N + 1):
        assert u.decrypt(u.encrypt("x", "pw", log2_n=log2_n), "pw") == "x"


def test_empty_password_and_wrong_types():
    with pytest.raises(ValueError, match="empty password"):
        u.encrypt("x", "")
    with pytest.raises(TypeError):
        u.encrypt(123, "pw")  # type: ignore[arg-type]


def test_extra_salt_must_match():
    enc = u.encrypt("x", "pw", salt="app-1", **FAST)
    assert u.decrypt(enc, "pw", salt="app-1") == "x"
    with pytest.raises(u.DecryptionError):
        u.decrypt(enc, "pw", salt="app-2")
    with pytest.raises(u.DecryptionError):
        u.decrypt(enc, "pw")


def test_bytes_round_trip_and_non_utf8():
    data = bytes(range(256))
    enc = u.encrypt(data, b"pw", **FAST)
    assert u.decrypt_bytes(enc, "pw") == data
    with pytest.raises(u.DecryptionError, match="decrypt_bytes"):
        u.decrypt(enc, "pw")


def _pcrypt1(plaintext, password, salt=b"its-bland-without-salt"):
    """The original format, built from the spec (3.13) with cryptography directly."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=150_000)
    key = base64.urlsafe_b64encode(kdf.derive(password.encode()))
    return "pcrypt1:" + Fernet(key).encrypt(plaintext.encode()).decode()


def test_legacy_pcrypt1_is_decrypt_only_and_opt_in():
    old = _pcrypt1("old data", "pw")
    with pytest.raises(u.DecryptionError, match="legacy=True"):
        u.decrypt(old, "pw")
    assert u.decrypt(old, "pw", legacy=True) == "old data"
    assert u.symmetric_crypt(old, "pw", legacy=True) == "old data"
    with pytest.raises(u.DecryptionError, match="invalid password"):
        u.decrypt(old, "nope", legacy=True)
    custom = _pcrypt1("salted", "pw", salt=b"my-salt")
    assert u.decrypt(custom, "pw", salt="my-salt", legacy=True) == "salted"
    with pytest.raises(u.DecryptionError):
        u.decrypt(custom, "pw", legacy=True)


def test_symmetric_crypt_autodetects():
    enc = u.symmetric_crypt("hello", "pw")
    assert enc.startswith(u.ENCRYPTION_PREFIX) and u.is_encrypted(enc)
    assert u.symmetric_crypt(enc, "pw") == "hello"
    assert u.symmetric_crypt(enc, "pw", decrypt=True) == "hello"
    assert not u.is_encrypted("hello")


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=200), st.text(min_size=1, max_size=40))
def test_property_round_trip(plaintext, password):
    assert u.decrypt(u.encrypt(plaintext, password, **FAST), password) == plaintext


def test_import_does_not_load_cryptography():
    code = (
        "import sys, kcore.uncommon; "
        "assert 'cryptography' not in sys.modules, 'cryptography imported'; "
        "import threading; assert threading.active_count() == 1"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
