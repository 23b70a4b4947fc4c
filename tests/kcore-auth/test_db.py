"""The registration DB file: permissions, atomic 0600 writes, salt, password, replay state."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading

import ktest
import pytest

import kcore.auth as auth

NOW = 1_800_000_000
DB_PASSWORD = "db-pass-Xyz"


def test_db_created_0600_with_random_salt_and_no_clear_secrets(tmp_path, secret_a):
    files = [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    for f in files:
        assert auth.register(str(secret_a), DB_PASSWORD, f)
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    docs = [json.load(open(f)) for f in files]
    assert docs[0]["format"] == "kcore-auth-db/1"
    assert docs[0]["salt"] != docs[1]["salt"] and len(docs[0]["salt"]) == 32
    assert docs[0]["registrations"] != docs[1]["registrations"]  # fresh KDF salt per write
    for f in files:
        text = open(f).read()
        assert secret_a.secret not in text and DB_PASSWORD not in text and "alice" not in text
    assert sorted(os.listdir(tmp_path)) == ["a.json", "a.json.lock", "b.json", "b.json.lock"]


def test_verify_against_db_and_replay_is_persisted(registered_db, make_token):
    token = make_token(t=NOW)
    r = auth.verify_token(
        token, "open-door", None, DB_PASSWORD, db_filename=registered_db, now=NOW
    )
    assert r.ok, r.status
    assert json.load(open(registered_db))["replay"]  # state lives in the file...
    auth.REPLAY_GUARD.clear()  # ...not in this process
    r = auth.verify_token(
        token, "open-door", None, DB_PASSWORD, db_filename=registered_db, now=NOW
    )
    assert not r.ok and "not later" in r.status
    assert "open-door" not in open(registered_db).read()  # replay keys are salted hashes


def test_forged_token_leaves_the_db_untouched(registered_db, make_token):
    before = open(registered_db).read()
    forged = make_token(t=NOW + 60)[:-64] + "e" * 64
    r = auth.verify_token(
        forged, "open-door", None, DB_PASSWORD, db_filename=registered_db, now=NOW
    )
    assert not r.ok and r.status.startswith("Token fails to verify")
    assert open(registered_db).read() == before
    assert auth.verify_token(
        make_token(t=NOW), "open-door", None, DB_PASSWORD, db_filename=registered_db, now=NOW
    ).ok


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_db_with_loose_permissions_is_refused(registered_db, make_token, mode):
    os.chmod(registered_db, mode)
    with pytest.raises(auth.AuthDBPermissionError, match="chmod 600"):
        auth.verify_token(
            make_token(t=NOW), "open-door", None, DB_PASSWORD, db_filename=registered_db, now=NOW
        )
    with pytest.raises(PermissionError):
        auth.get_shared_secret_from_db(DB_PASSWORD, registered_db, "client1", username="alice")
    with pytest.raises(auth.AuthDBPermissionError):
        auth.register(auth.SharedSecret("v3", "h", "u", "a" * 64), DB_PASSWORD, registered_db)


def test_wrong_db_password_is_a_clear_error_without_secrets(registered_db, make_token):
    with pytest.raises(auth.AuthDBError, match="wrong DB password") as ei:
        auth.verify_token(
            make_token(t=NOW),
            "open-door",
            None,
            "not-the-password",
            db_filename=registered_db,
            now=NOW,
        )
    assert isinstance(ei.value, ValueError)
    assert "not-the-password" not in str(ei.value) and DB_PASSWORD not in str(ei.value)
    with pytest.raises(auth.AuthDBError, match="non-empty DB password"):
        auth.verify_token(make_token(t=NOW), "open-door", None, "", db_filename=registered_db)


def test_damaged_db_is_a_clear_error(registered_db, make_token):
    doc = json.load(open(registered_db))
    cases = [
        b"{not json",
        json.dumps({"format": "other"}).encode(),
        json.dumps({**doc, "salt": "xyz"}).encode(),
        json.dumps({**doc, "registrations": doc["registrations"][:-5]}).encode(),
        json.dumps({**doc, "replay": {"a": "b"}}).encode(),
    ]
    for data in cases:
        os.unlink(registered_db)
        fd = os.open(registered_db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.close(fd)
        with pytest.raises(auth.AuthDBError):
            auth.verify_token(
                make_token(t=NOW),
                "open-door",
                None,
                DB_PASSWORD,
                db_filename=registered_db,
                now=NOW,
            )


def test_unknown_client_and_lookup_order(db_file, secret_a, make_token):
    r = auth.verify_token(make_token(t=NOW), "open-door", None, DB_PASSWORD, db_filename=db_file)
    assert r.status == "could not find client registration for client1:alice"
    assert auth.register(str(secret_a), DB_PASSWORD, db_file, server_override_hostname="10.0.0.5")
    assert auth.get_shared_secret_from_db(DB_PASSWORD, db_file, "client1", "10.0.0.5", "alice")
    assert auth.get_shared_secret_from_db(DB_PASSWORD, db_file, "client1", None, "alice") is None
    r = auth.verify_token(
        make_token(t=NOW), "open-door", "10.0.0.5", DB_PASSWORD, db_filename=db_file, now=NOW
    )
    assert r.ok, r.status
    r = auth.verify_token(
        make_token(t=NOW + 1), "open-door", "10.0.0.6", DB_PASSWORD, db_filename=db_file, now=NOW
    )
    assert r.status == "could not find client registration for client1:alice"


def test_registration_count_and_replace(db_file, secret_a):
    db = auth.RegistrationDB(db_file, DB_PASSWORD)
    assert db.register(secret_a) == 1
    assert db.register(secret_a) == 1
    assert db.register(auth.SharedSecret("v3", "h2", "bob", "a" * 64)) == 2
    assert set(db.registrations()) == {"client1:alice", "h2:bob"}


def _legacy_db(path, password, lines):
    """The original's DB: pcrypt1 + Fernet(PBKDF2-SHA256 150k, fixed salt), per spec 4.1.5."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=b"its-bland-without-salt", iterations=150_000
    )
    key = base64.urlsafe_b64encode(kdf.derive(password.encode()))
    text = "pcrypt1:" + Fernet(key).encrypt("\n".join(lines).encode()).decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, text.encode())
    os.close(fd)


def test_legacy_db_is_opt_in_and_upgraded_on_write(db_file):
    ss = (
        "SharedSecret(version_tag='v2', hostname='oldbox', username='carol', secret='%s', "
        "server_override_hostname=None)" % ("c" * 40)
    )
    _legacy_db(db_file, DB_PASSWORD, ["'oldbox:carol': %s" % ss])
    with pytest.raises(auth.AuthDBError, match="legacy=True"):
        auth.get_shared_secret_from_db(DB_PASSWORD, db_file, "oldbox", username="carol")
    got = auth.get_shared_secret_from_db(
        DB_PASSWORD, db_file, "oldbox", username="carol", legacy=True
    )
    assert got is not None and got.secret == "c" * 40
    with pytest.raises(auth.AuthDBError, match="wrong DB password"):
        auth.get_shared_secret_from_db("nope", db_file, "oldbox", username="carol", legacy=True)
    auth.register(
        auth.SharedSecret("v3", "new", "dave", "d" * 64), DB_PASSWORD, db_file, legacy=True
    )
    assert json.load(open(db_file))["format"] == "kcore-auth-db/1"
    db = auth.RegistrationDB(db_file, DB_PASSWORD)
    assert set(db.registrations()) == {"oldbox:carol", "new:dave"}


def test_symlinked_db_is_refused(tmp_path, registered_db):
    link = str(tmp_path / "link.json")
    os.symlink(registered_db, link)
    with pytest.raises(auth.AuthDBError, match="cannot open"):
        auth.get_shared_secret_from_db(DB_PASSWORD, link, "client1", username="alice")


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_non_regular_db_path_is_refused(tmp_path, secret_a, make_token, kind):
    path = str(tmp_path / "db")
    if kind == "directory":
        os.mkdir(path)
    elif kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    else:
        path = "/dev/null"
    token = make_token(t=NOW)
    calls = [
        lambda: auth.verify_token(
            token, "open-door", None, DB_PASSWORD, db_filename=path, now=NOW
        ),
        lambda: auth.register(str(secret_a), DB_PASSWORD, path),
        lambda: auth.get_shared_secret_from_db(DB_PASSWORD, path, "client1", username="alice"),
    ]
    outcome = []

    def attempt():
        for call in calls:
            try:
                call()
                outcome.append("no error")
            except Exception as e:
                outcome.append(e)

    threading.Thread(target=attempt, daemon=True).start()  # a hang must fail, not block
    assert ktest.wait_until(lambda: len(outcome) == 3, timeout=20), "blocked on a %s" % kind
    for e in outcome:
        assert isinstance(e, auth.AuthDBError), repr(e)
        assert "not a regular file" in str(e)
    if kind == "directory":
        assert os.listdir(path) == []
