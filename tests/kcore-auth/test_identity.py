"""Machine identity: never silently empty or constant; fails loudly in containers; cached."""

from __future__ import annotations

import os

import pytest

import kcore.auth as auth
from kcore.auth import identity

MID1 = "3d1219c7c4c5404aaa1f6d2a48adfda4"
MID2 = "0123456789abcdef0123456789abcdef"


def fake_root(tmp_path, files=None, container=False, mounts=()):
    root = tmp_path / "root"
    for rel, content in (files or {}).items():
        p = root / rel.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    if container:
        (root / ".dockerenv").parent.mkdir(parents=True, exist_ok=True)
        (root / ".dockerenv").write_text("")
    info = root / "proc/self/mountinfo"
    info.parent.mkdir(parents=True, exist_ok=True)
    info.write_text("".join("1 2 0:1 / %s ro - ext4 /dev/x ro\n" % m for m in mounts))
    return str(root)


def test_puid_is_used_verbatim_and_empty_puid_fails():
    assert identity.read_machine_identity("/nonexistent", {"PUID": "abc"}) == ("abc", "$PUID")
    with pytest.raises(auth.MachineIdentityError, match="set but empty"):
        identity.read_machine_identity("/nonexistent", {"PUID": "  "})


def test_machine_id_is_hashed_and_distinguishes_machines(tmp_path):
    r1 = fake_root(tmp_path / "1", {"/etc/machine-id": MID1 + "\n"})
    r2 = fake_root(tmp_path / "2", {"/etc/machine-id": MID2 + "\n"})
    id1, src = identity.read_machine_identity(r1, {})
    id2, _ = identity.read_machine_identity(r2, {})
    assert src == "/etc/machine-id"
    assert id1.startswith("v3p:mid:") and MID1 not in id1
    assert id1 != id2
    assert identity.read_machine_identity(r1, {})[0] == id1  # stable


def test_dbus_machine_id_is_the_fallback(tmp_path):
    root = fake_root(tmp_path, {"/etc/machine-id": "", "/var/lib/dbus/machine-id": MID2})
    assert identity.read_machine_identity(root, {})[1] == "/var/lib/dbus/machine-id"


@pytest.mark.parametrize("bad", ["", "0" * 32, "f" * 32, "uninitialized", "xyz"])
def test_empty_or_constant_ids_are_never_used(tmp_path, bad):
    root = fake_root(tmp_path, {"/etc/machine-id": bad})
    with pytest.raises(auth.MachineIdentityError, match="not a valid machine id"):
        identity.read_machine_identity(root, {})


def test_container_image_machine_id_fails_loudly(tmp_path):
    root = fake_root(tmp_path, {"/etc/machine-id": MID1}, container=True)
    with pytest.raises(auth.MachineIdentityError) as ei:
        identity.read_machine_identity(root, {})
    msg = str(ei.value)
    assert "inside a container" in msg and "PUID" in msg and "container image" in msg
    assert MID1 not in msg


def test_container_detection_by_env_and_cgroup(tmp_path):
    root = fake_root(tmp_path, {"/etc/machine-id": MID1, "/proc/1/cgroup": "0::/kubepods/x\n"})
    assert identity.in_container(root, {})
    with pytest.raises(auth.MachineIdentityError, match="inside a container"):
        identity.read_machine_identity(root, {})
    plain = fake_root(tmp_path / "p", {"/etc/machine-id": MID1})
    assert not identity.in_container(plain, {})
    assert identity.in_container(plain, {"container": "podman"})


def test_container_with_bind_mounted_host_id_works(tmp_path):
    root = fake_root(
        tmp_path, {"/etc/machine-id": MID1}, container=True, mounts=["/etc/machine-id"]
    )
    assert identity.read_machine_identity(root, {})[1] == "/etc/machine-id"


def test_dmi_uuid_only_when_world_readable(tmp_path):
    uuid = "4c4c4544-0042-3510-8052-b4c04f4d4e32"
    root = fake_root(tmp_path, {"/sys/class/dmi/id/product_uuid": uuid}, container=True)
    dmi = os.path.join(root, "sys/class/dmi/id/product_uuid")
    os.chmod(dmi, 0o400)
    with pytest.raises(auth.MachineIdentityError, match="not world-readable"):
        identity.read_machine_identity(root, {})
    os.chmod(dmi, 0o444)
    ident, src = identity.read_machine_identity(root, {})
    assert src.endswith("product_uuid") and ident.startswith("v3p:dpu:") and uuid not in ident
    with open(dmi, "w") as f:
        f.write("00000000-0000-0000-0000-000000000000")
    with pytest.raises(auth.MachineIdentityError, match="not a usable UUID"):
        identity.read_machine_identity(root, {})


def test_raspberry_pi_serial(tmp_path):
    cpu = "processor\t: 0\nHardware\t: BCM2835\nSerial\t\t: 00000000a1b2c3d4\nModel\t: Pi\n"
    root = fake_root(tmp_path, {"/proc/cpuinfo": cpu}, container=True)
    ident, src = identity.read_machine_identity(root, {})
    assert src == "/proc/cpuinfo Serial" and ident.startswith("v3p:csn:")
    zero = fake_root(tmp_path / "z", {"/proc/cpuinfo": "Serial\t: 0000000000000000\n"})
    with pytest.raises(auth.MachineIdentityError, match="no usable Serial"):
        identity.read_machine_identity(zero, {})


def test_nothing_found_names_what_was_tried(tmp_path):
    with pytest.raises(auth.MachineIdentityError) as ei:
        identity.read_machine_identity(fake_root(tmp_path), {})
    for what in ("/etc/machine-id", "product_uuid", "cpuinfo", "PUID"):
        assert what in str(ei.value)


def test_hardware_identity_is_read_once_and_cached(monkeypatch):
    calls = []

    def fake_read(root, environ):
        calls.append(1)
        return ("v3p:test:x", "fake")

    monkeypatch.delenv("PUID")
    monkeypatch.setattr(identity, "_read_hardware_identity", fake_read)
    identity.reset_machine_identity_cache()
    for _ in range(100):
        assert auth.get_machine_private_data() == "v3p:test:x"
    assert len(calls) == 1
    auth.generate_token("cmd", "u", "pw", "h")
    auth.generate_token("cmd", "u", "pw", "h")
    assert len(calls) == 1


def test_puid_is_read_again_at_every_secret_derivation(monkeypatch, machines):
    a, b = machines
    monkeypatch.setenv("PUID", a)
    on_a = auth.generate_shared_secret("u", "pw", "h")
    monkeypatch.setenv("PUID", b)  # no cache reset: the original read $PUID every time
    on_b = auth.generate_shared_secret("u", "pw", "h")
    assert on_a.secret != on_b.secret
    assert on_b == auth.generate_shared_secret("u", "pw", "h", machine_data=b)
    assert auth.get_machine_identity() == (b, "$PUID")
    monkeypatch.setenv("PUID", a)
    assert auth.generate_shared_secret("u", "pw", "h") == on_a
    token = auth.generate_token("cmd", "u", "pw", "h")
    assert auth.verify_token_given_shared_secret(token, "cmd", on_a).ok


def test_generate_fails_loudly_without_identity(monkeypatch):
    def none(root, environ):
        raise auth.MachineIdentityError("no machine identity found")

    monkeypatch.delenv("PUID")
    monkeypatch.setattr(identity, "_read_hardware_identity", none)
    identity.reset_machine_identity_cache()
    with pytest.raises(auth.MachineIdentityError):
        auth.generate_token("cmd", "u", "pw", "h")
