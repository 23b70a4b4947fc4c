"""The machine's identity, mixed into every client secret.

Sources, first valid one wins:

1. ``$PUID`` (verbatim; the documented override for containers and tests),
   read again at every use, as existing setups expect;
2. ``/etc/machine-id``, then ``/var/lib/dbus/machine-id`` — inside a
   container only if bind-mounted from the host (an image's copy is shared by
   every container started from it, so it identifies nothing);
3. ``/sys/class/dmi/id/product_uuid`` if world-readable (so root and users agree);
4. the CPU serial number of a Raspberry Pi (``/proc/cpuinfo`` ``Serial``,
   ``/proc/device-tree/serial-number``).

The hardware sources (2-4) are read once per process and cached (never a
command per token). Values that are empty, all zeros/ones, or known firmware
placeholders are skipped. Nothing found raises :class:`MachineIdentityError`
naming what was tried: a silent fallback to a constant would give every
container the same identity.

The raw id never leaves this module: the identity is a keyed SHA-256 of it
(``v3p:<source>:<32 hex>``), as machine-id(5) recommends.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from typing import List, Mapping, Optional, Tuple

from kcore.auth.errors import MachineIdentityError

PUID_ENV = "PUID"
_HEX32 = re.compile(r"^[0-9a-f]{32}\Z")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_SERIAL = re.compile(r"^Serial\s*:\s*([0-9a-fA-F]{8,32})\s*$", re.M)
_PLACEHOLDER_UUIDS = {
    "03000200-0400-0500-0006-000700080009",  # common AMI BIOS placeholder
}
_CONTAINER_CGROUP = re.compile(r"docker|kubepods|containerd|libpod|lxc")

_lock = threading.Lock()
_cached: Optional[Tuple[str, str]] = None


def _path(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _read(root: str, path: str, limit: int = 65536) -> Optional[str]:
    try:
        with open(_path(root, path), "rb") as f:
            return f.read(limit).replace(b"\0", b"").decode("ascii", "replace").strip()
    except OSError:
        return None


def _boring(value: str) -> bool:
    digits = value.replace("-", "").lower()
    return not digits or set(digits) <= {"0"} or set(digits) <= {"f"}


def in_container(root: str = "/", environ: Optional[Mapping[str, str]] = None) -> bool:
    """Best-effort: docker/podman marker files, ``$container``, or PID 1's cgroup."""
    env = os.environ if environ is None else environ
    if env.get("container"):
        return True
    for marker in ("/.dockerenv", "/run/.containerenv"):
        if os.path.exists(_path(root, marker)):
            return True
    cgroup = _read(root, "/proc/1/cgroup") or ""
    return bool(_CONTAINER_CGROUP.search(cgroup))


def _is_mountpoint(root: str, path: str) -> bool:
    """True if ``path`` is itself a mount point (e.g. bind-mounted from the host)."""
    info = _read(root, "/proc/self/mountinfo", limit=1 << 20) or ""
    for line in info.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == path:
            return True
    return False


def _identity(kind: str, raw: str) -> str:
    digest = hashlib.sha256(
        ("kcore-auth machine identity:%s:%s" % (kind, raw)).encode()
    ).hexdigest()
    return "v3p:%s:%s" % (kind, digest[:32])


def read_machine_identity(
    root: str = "/", environ: Optional[Mapping[str, str]] = None
) -> Tuple[str, str]:
    """Find the identity now (uncached): returns ``(identity, where it came from)``.

    ``root`` and ``environ`` are injectable so tests can fake a machine.
    """
    env = os.environ if environ is None else environ
    from_env = _puid(env)
    if from_env is not None:
        return from_env
    return _read_hardware_identity(root, env)


def _puid(env: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    puid = env.get(PUID_ENV)
    if puid is None:
        return None
    if not puid.strip():
        raise MachineIdentityError(
            "$%s is set but empty: unset it or give it a per-machine secret" % PUID_ENV
        )
    return puid, "$" + PUID_ENV


def _read_hardware_identity(root: str, env: Mapping[str, str]) -> Tuple[str, str]:
    container = in_container(root, env)
    tried: List[str] = []
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        value = _read(root, path)
        if value is None:
            tried.append("%s: missing or unreadable" % path)
        elif not _HEX32.match(value) or _boring(value):
            tried.append("%s: not a valid machine id" % path)
        elif container and not _is_mountpoint(root, path):
            tried.append(
                "%s: comes with the container image (shared by every container made from it)"
                % path
            )
        else:
            return _identity("mid", value), path
    dmi = "/sys/class/dmi/id/product_uuid"
    try:
        world_readable = bool(os.stat(_path(root, dmi)).st_mode & stat.S_IROTH)
    except OSError:
        world_readable = False
        tried.append("%s: missing" % dmi)
    else:
        value = _read(root, dmi) if world_readable else None
        if not world_readable:
            tried.append("%s: not world-readable (chmod o+r it at boot)" % dmi)
        elif (
            value is None
            or not _UUID.match(value)
            or _boring(value)
            or value.lower() in _PLACEHOLDER_UUIDS
        ):
            tried.append("%s: not a usable UUID" % dmi)
        else:
            return _identity("dpu", value.lower()), dmi
    cpuinfo = _read(root, "/proc/cpuinfo", limit=1 << 20) or ""
    m = _SERIAL.search(cpuinfo)
    if m and not _boring(m.group(1)):
        return _identity("csn", m.group(1).lower().lstrip("0")), "/proc/cpuinfo Serial"
    tried.append("/proc/cpuinfo: no usable Serial line")
    value = _read(root, "/proc/device-tree/serial-number")
    if value and re.match(r"^[0-9a-fA-F]{8,32}$", value) and not _boring(value):
        return _identity("csn", value.lower().lstrip("0")), "/proc/device-tree/serial-number"
    tried.append("/proc/device-tree/serial-number: missing or unusable")
    where = " inside a container" if container else ""
    raise MachineIdentityError(
        "no machine identity found%s. Tried: %s. Fix: bind-mount the host's id "
        "(docker run -v /etc/machine-id:/etc/machine-id:ro), or set $%s to a per-machine "
        "secret (k_auth -s SECRET)" % (where, "; ".join(tried), PUID_ENV)
    )


def get_machine_identity() -> Tuple[str, str]:
    """``(identity, source)``: ``$PUID`` as it is now, else the hardware identity
    (looked up once per process)."""
    global _cached
    from_env = _puid(os.environ)
    if from_env is not None:
        return from_env
    with _lock:
        if _cached is None:
            _cached = _read_hardware_identity("/", os.environ)
        return _cached


def get_machine_private_data() -> str:
    """The machine identity mixed into client secrets (original name)."""
    return get_machine_identity()[0]


def reset_machine_identity_cache() -> None:
    """Forget the cached hardware identity (tests; a changed ``$PUID`` needs no reset)."""
    global _cached
    with _lock:
        _cached = None
