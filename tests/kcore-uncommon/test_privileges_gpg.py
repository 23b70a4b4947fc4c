"""drop_privileges (real setuid in a child process) and the isolated gpg_symmetric."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import kcore.uncommon as u

CHILD = r"""
import json, os
from kcore.uncommon import drop_privileges
first = drop_privileges("nobody", "nogroup")
second = drop_privileges("nobody", "nogroup")   # no longer root: a no-op
regain = "refused"
try:
    os.setuid(0)
    regain = "REGAINED"
except PermissionError:
    pass
print(json.dumps({"first": first, "second": second, "resuid": os.getresuid(),
                  "resgid": os.getresgid(), "groups": os.getgroups(),
                  "umask": os.umask(0o22), "regain": regain}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to test dropping root")
def test_drop_privileges_for_real_in_a_child():
    import grp
    import pwd

    r = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    assert got["first"] is True and got["second"] is False
    assert got["resuid"] == [uid] * 3 and got["resgid"] == [gid] * 3
    assert set(got["groups"]) <= {gid}
    assert got["umask"] == 0o077 and got["regain"] == "refused"


def test_drop_privileges_unknown_names_and_non_root(monkeypatch):
    if os.geteuid() == 0:
        with pytest.raises(KeyError, match="no such user"):
            u.drop_privileges("no-such-user-kcore", "nogroup")
        with pytest.raises(KeyError, match="no such group"):
            u.drop_privileges("nobody", "no-such-group-kcore")
        with pytest.raises(u.PrivilegeDropError, match="uid/gid 0"):
            u.drop_privileges("root", "nogroup")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert u.drop_privileges() is False


def test_drop_privileges_detects_a_failed_drop(monkeypatch):
    """If the kernel (or a seccomp profile) left us able to regain root, it must raise."""
    from kcore.uncommon import privileges

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(os, "setgroups", lambda g: None)
    monkeypatch.setattr(os, "setresgid", lambda *a: None)
    monkeypatch.setattr(os, "setresuid", lambda *a: None)
    monkeypatch.setattr(os, "umask", lambda m: 0o22)
    with pytest.raises(u.PrivilegeDropError, match="did not change"):
        privileges.drop_privileges("nobody", "nogroup")
    import grp
    import pwd

    uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    monkeypatch.setattr(os, "getresuid", lambda: (uid, uid, uid))
    monkeypatch.setattr(os, "getresgid", lambda: (gid, gid, gid))
    monkeypatch.setattr(os, "getgroups", lambda: [27])
    with pytest.raises(u.PrivilegeDropError, match="supplementary groups"):
        privileges.drop_privileges("nobody", "nogroup")
    monkeypatch.setattr(os, "getgroups", list)
    monkeypatch.setattr(os, "setuid", lambda i: None)  # a drop that did not stick
    with pytest.raises(u.PrivilegeDropError, match="root could be regained"):
        privileges.drop_privileges("nobody", "nogroup")
    assert isinstance(u.PrivilegeDropError("x"), PermissionError)


needs_gpg = pytest.mark.skipif(not shutil.which("gpg"), reason="gpg not installed")


@needs_gpg
def test_gpg_symmetric_round_trip_and_wrong_passphrase():
    home_before = (
        set(os.listdir(os.path.expanduser("~")))
        if os.path.isdir(os.path.expanduser("~"))
        else set()
    )
    armored = u.gpg_symmetric("gpg secret text", "pass phrase", decrypt=False)
    assert armored.startswith("-----BEGIN PGP MESSAGE-----")
    assert "gpg secret text" not in armored
    assert u.gpg_symmetric(armored, "pass phrase") == "gpg secret text"
    with pytest.raises(u.GpgError) as ei:
        u.gpg_symmetric(armored, "wrong phrase")
    assert "wrong phrase" not in str(ei.value) and "pass phrase" not in str(ei.value)
    assert u.pgrep("kgpg-") == set()  # our private agents are gone
    home_after = (
        set(os.listdir(os.path.expanduser("~")))
        if os.path.isdir(os.path.expanduser("~"))
        else set()
    )
    assert home_after - home_before <= set()  # ~/.gnupg not created


def test_gpg_symmetric_refuses_bad_passphrases():
    with pytest.raises(ValueError):
        u.gpg_symmetric("x", "")
    with pytest.raises(ValueError):
        u.gpg_symmetric("x", "two\nlines")
