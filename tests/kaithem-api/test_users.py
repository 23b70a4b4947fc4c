"""kaithem.users: scrypt password hashes, login errors without secrets,
groups and permissions with the original's rules, 0600 users file."""

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

import kcore.kaithem as kk
from kcore.kaithem import Kaithem
from kcore.kaithem import persist as kpersist
from kcore.kaithem import users as U

PW = "correct horse battery staple"


@pytest.fixture
def k(tmp_path):
    inst = Kaithem(vardir=str(tmp_path / "var"))
    yield inst
    inst.close()


def _wait_for(cond, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)


# -- hashing -------------------------------------------------------------------


def test_hash_format_random_salt_and_verify():
    h1 = U.hash_password(PW)
    h2 = U.hash_password(PW)
    assert h1.startswith("$scrypt$ln=14,r=8,p=1$")
    assert h1 != h2  # random salt
    assert PW not in h1
    assert U.verify_password(PW, h1)
    assert U.verify_password(PW, h2)
    assert not U.verify_password(PW + "x", h1)
    assert not U.verify_password("", h1)


def test_hash_matches_hashlib_scrypt():
    import base64
    import hashlib

    h = U.hash_password("pw", log2_n=10)
    _, _, params, salt, digest = h.split("$")
    assert params == "ln=10,r=8,p=1"
    unb = lambda s: base64.b64decode(s + "=" * (-len(s) % 4))
    assert unb(digest) == hashlib.scrypt(b"pw", salt=unb(salt), n=1024, r=8, p=1, dklen=32)
    assert len(unb(salt)) == 16


def test_verify_uses_constant_time_compare(monkeypatch):
    calls = []
    real = U.hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(U.hmac, "compare_digest", spy)
    assert U.verify_password("pw", U.hash_password("pw", log2_n=10))
    assert calls == [(32, 32)]


@pytest.mark.parametrize(
    "stored",
    [
        "plaintext",
        "$md5$ln=10,r=8,p=1$AAAA$AAAA",
        "$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,  # would need 128 GiB
        "$scrypt$ln=10,r=8$AAAA$AAAA",
        "$scrypt$ln=10,r=8,p=1$!!!!$AAAA",
    ],
)
def test_malformed_or_dangerous_stored_hashes_are_refused(stored):
    with pytest.raises(U.UsersError):
        U.verify_password("pw", stored)


SALT = "A" * 22  # 16 bytes
DIGEST = "A" * 43  # 32 bytes


@pytest.mark.parametrize(
    "params",
    [
        "ln=20,r=8,p=1",  # 1 GiB
        "ln=16,r=8,p=1",  # 64 MiB: just over the bound
        "ln=14,r=8,p=16",  # 16 MiB, but 16 times the CPU
        "ln=14,r=32,p=1",  # 64 MiB
        "ln=17,r=1,p=1",  # 16 MiB, but not what this library writes
        "ln=9,r=8,p=1",  # weaker than this library writes
    ],
)
def test_costly_or_foreign_scrypt_parameters_are_refused_at_once(params):
    stored = "$scrypt$%s$%s$%s" % (params, SALT, DIGEST)
    t0 = time.monotonic()
    with pytest.raises(U.UsersError, match="does not accept"):
        U.verify_password("pw", stored)
    assert time.monotonic() - t0 < 0.05  # refused before any scrypt work


def test_accepted_parameters_stay_within_the_memory_bound():
    assert U.MAX_SCRYPT_MEMORY == 32 * 1024 * 1024
    for log2_n in U.SCRYPT_LOG2_N_RANGE:
        assert 128 * U.SCRYPT_R * (1 << log2_n) <= U.MAX_SCRYPT_MEMORY
        if log2_n <= 11:  # the cheap ones: check they really verify
            assert U.verify_password("pw", U.hash_password("pw", log2_n=log2_n))
    with pytest.raises(ValueError):
        U.hash_password("pw", log2_n=16)
    with pytest.raises(ValueError):
        U.hash_password("pw", log2_n=20)


def test_tampered_users_file_cannot_make_a_login_costly(tmp_path):
    from kcore.kaithem import Kaithem

    with Kaithem(vardir=str(tmp_path)) as k:
        k.users.add_user("bob", "secret")
        path = k.users.filename
    db = json.loads(open(path).read())
    db["users"]["bob"]["password"] = "$scrypt$ln=17,r=8,p=4$%s$%s" % (SALT, DIGEST)
    with open(path, "w") as f:
        json.dump(db, f)
    with Kaithem(vardir=str(tmp_path)) as k:
        t0 = time.monotonic()
        with pytest.raises(U.UsersError):
            k.users.authenticate("bob", "secret")
        assert time.monotonic() - t0 < 0.5


def test_password_rules():
    with pytest.raises(ValueError, match="empty"):
        U.hash_password("")
    with pytest.raises(TypeError):
        U.hash_password(b"bytes")
    with pytest.raises(ValueError, match="at most"):
        U.hash_password("x" * (U.MAX_PASSWORD + 1))


# -- users and login -------------------------------------------------------------


def test_add_user_and_authenticate(k):
    k.users.add_user("alice", PW)
    assert k.users.authenticate("alice", PW) == "alice"
    assert k.users.check_password("alice", PW)
    assert not k.users.check_password("alice", "wrong")
    assert not k.users.check_password("bob", PW)
    assert k.users.users() == ["__guest__", "alice"]


def test_wrong_password_error_is_clear_and_secret_free(k):
    k.users.add_user("alice", PW)
    with pytest.raises(U.WrongPassword) as ei:
        k.users.authenticate("alice", "hunter2")
    e = ei.value
    assert isinstance(e, U.LoginError) and isinstance(e, PermissionError)
    assert str(e) == "wrong password for user 'alice'"
    assert "hunter2" not in repr(e.args) and PW not in repr(e.args)


def test_unknown_user_error_is_clear_and_secret_free(k):
    with pytest.raises(U.UnknownUser) as ei:
        k.users.authenticate("mallory", "hunter2")
    e = ei.value
    assert isinstance(e, KeyError) and isinstance(e, U.LoginError)
    assert str(e) == "no user named 'mallory'"
    assert "hunter2" not in repr(e.args)


def test_unknown_user_costs_a_hash_too(k, monkeypatch):
    k.users.add_user("alice", PW)
    calls = []
    real = U.hashlib.scrypt

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(U.hashlib, "scrypt", counting)
    assert not k.users.check_password("alice", "bad")
    n_known = len(calls)
    del calls[:]
    assert not k.users.check_password("nobody", "bad")
    n_unknown = len(calls)
    del calls[:]
    assert not k.users.check_password("nobody", "bad")
    assert n_known == 1 and len(calls) == 1 and n_unknown >= 1


def test_guest_account_cannot_log_in_or_be_removed(k):
    with pytest.raises(U.WrongPassword, match="cannot log in"):
        k.users.authenticate("__guest__", "")
    with pytest.raises(U.UsersError):
        k.users.remove_user("__guest__")
    with pytest.raises(U.UsersError):
        k.users.set_password("__guest__", "x")


def test_set_password(k):
    k.users.add_user("alice", "old-pass")
    k.users.set_password("alice", "new-pass")
    assert k.users.check_password("alice", "new-pass")
    assert not k.users.check_password("alice", "old-pass")
    with pytest.raises(U.UnknownUser):
        k.users.set_password("bob", "x")


def test_duplicate_and_invalid_names(k):
    k.users.add_user("alice", PW)
    with pytest.raises(U.UsersError, match="already exists"):
        k.users.add_user("alice", "other")
    for bad in ["", " alice", "a\nb", "x" * 200, 7]:
        with pytest.raises(U.InvalidName):
            k.users.add_user(bad, PW)
    with pytest.raises(U.UnknownGroup) as ei:
        k.users.add_user("carol", PW, groups=["nogroup"])
    assert str(ei.value) == "no group named 'nogroup'"
    assert "carol" not in k.users.users()


# -- storage ---------------------------------------------------------------------


def test_users_file_is_private_and_holds_no_plaintext(k, tmp_path):
    old_umask = os.umask(0)
    try:
        k.users.add_group("admins", ["__all_permissions__"])
        k.users.add_user("alice", PW, groups=["admins"])
    finally:
        os.umask(old_umask)
    path = str(tmp_path / "var" / "users" / "users.json")
    assert k.users.filename == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    raw = Path(path).read_text()
    assert PW not in raw
    db = json.loads(raw)
    assert db["users"]["alice"]["groups"] == ["admins"]
    assert db["users"]["alice"]["password"].startswith("$scrypt$")
    assert db["groups"]["admins"]["permissions"] == ["__all_permissions__"]


def test_users_persist_across_instances(tmp_path):
    vardir = str(tmp_path / "v")
    with Kaithem(vardir=vardir) as a:
        a.users.add_group("g", ["p.read"])
        a.users.add_user("alice", PW, groups=["g"])
    with Kaithem(vardir=vardir) as b:
        assert b.users.authenticate("alice", PW) == "alice"
        assert b.users.check_permission("alice", "p.read")


def test_nothing_is_read_before_use(tmp_path):
    path = tmp_path / "var" / "users" / "users.json"
    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    with Kaithem(vardir=str(tmp_path / "var")) as inst:
        ns = inst.users  # creating the namespace reads nothing
        with pytest.raises(kpersist.CorruptFileError) as ei:
            ns.users()
        assert str(path) in str(ei.value)
    assert path.read_text() == "{broken"  # and nothing was overwritten


def test_wrong_shape_users_file(tmp_path):
    path = tmp_path / "u.json"
    path.write_text('{"users": []}')
    with Kaithem(vardir=str(tmp_path), config={"users_file": str(path)}) as inst:
        with pytest.raises(U.UsersError, match="not a users file"):
            inst.users.users()


# -- groups and permissions ------------------------------------------------------


def test_check_permission_rules(k):
    k.users.add_group("viewers", ["/tags.view"])
    k.users.add_group("admins", ["__all_permissions__"])
    k.users.add_user("alice", PW, groups=["admins"])
    k.users.add_user("bob", PW, groups=["viewers"])
    k.users.add_user("carol", PW)
    cp = k.users.check_permission
    assert cp("bob", "/tags.view")
    assert not cp("bob", "/tags.edit")
    assert not cp("carol", "/tags.view")
    assert cp("alice", "/anything.at.all")  # __all_permissions__
    assert not cp("alice", "__never__")  # never, even with everything
    assert cp("carol", "__guest__")  # everybody who exists
    assert not cp("nobody", "__guest__")  # unknown user: False (original: guest rights)
    assert not cp("", "/tags.view")
    assert not cp(None, "/tags.view")
    # whatever the guest account has, every user has
    k.users.add_group("public", ["/public.view"])
    k.users.add_user_to_group("__guest__", "public")
    assert cp("carol", "/public.view")
    assert cp("__guest__", "/public.view")
    assert not cp("nobody", "/public.view")
    assert k.users.user_permissions("carol") == {"/public.view"}


def test_group_management(k):
    k.users.add_group("g", ["a"])
    k.users.add_user("u", PW, groups=["g"])
    k.users.add_group_permission("g", "b")
    k.users.add_group_permission("g", "b")  # idempotent
    assert k.users.group_permissions("g") == ["a", "b"]
    assert k.users.check_permission("u", "b")
    k.users.remove_group_permission("g", "a")
    assert not k.users.check_permission("u", "a")
    k.users.remove_user_from_group("u", "g")
    assert k.users.user_groups("u") == []
    k.users.add_user_to_group("u", "g")
    assert k.users.user_groups("u") == ["g"]
    k.users.remove_group("g")
    assert k.users.groups() == []
    assert k.users.user_groups("u") == []
    assert not k.users.check_permission("u", "b")
    with pytest.raises(U.UnknownGroup):
        k.users.add_user_to_group("u", "g")
    with pytest.raises(U.UsersError, match="already exists"):
        k.users.add_group("h")
        k.users.add_group("h")
    k.users.remove_user("u")
    assert "u" not in k.users.users()
    with pytest.raises(U.UnknownUser):
        k.users.user_groups("u")


def test_losing_a_permission_is_posted_on_the_bus(k):
    got = []
    lock = threading.Lock()

    def on_revoke(topic, message):
        with lock:
            got.append(tuple(message))

    k.message.subscribe("/system/permissions/rmfromuser", on_revoke)
    k.users.add_group("g", ["p1", "p2"])
    k.users.add_user("u", PW, groups=["g"])
    k.users.remove_group_permission("g", "p1")
    _wait_for(lambda: ("u", "p1") in got, what="rmfromuser u p1")
    k.users.remove_user_from_group("u", "g")
    _wait_for(lambda: ("u", "p2") in got, what="rmfromuser u p2")
    with lock:
        assert sorted(got) == [("u", "p1"), ("u", "p2")]


def test_module_check_permission_uses_default_instance(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    previous = kk.set_default(inst)
    try:
        inst.users.add_group("g", ["x"])
        inst.users.add_user("u", PW, groups=["g"])
        assert U.check_permission("u", "x")
        assert not U.check_permission("u", "y")
        assert not U.check_permission("ghost", "x")
    finally:
        kk.set_default(previous)
        inst.close()


def test_concurrent_user_creation(k):
    errors = []

    def make(i):
        try:
            k.users.add_user("user%d" % i, "pw%d" % i)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with Kaithem(vardir=k.vardir) as again:
        assert len(again.users.users()) == 9
        assert again.users.check_password("user5", "pw5")
