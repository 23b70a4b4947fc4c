"""Drop root for good: supplementary groups, then gid, then uid, then verify.

Order matters: once the uid is gone the process may no longer change its
groups, so a wrong order silently keeps root's groups (e.g. ``disk``). After
dropping we check every id and that ``setuid(0)`` now fails.
"""

from __future__ import annotations

import grp
import os
import pwd

from kcore.uncommon.errors import PrivilegeDropError


def drop_privileges(uid_name: str = "nobody", gid_name: str = "nogroup") -> bool:
    """Become ``uid_name``/``gid_name`` if running as root; return True if dropped.

    Not root → nothing to do, returns False. Unknown user/group → KeyError
    with a clear message. Any failure to drop, or root still reachable
    afterwards, raises :class:`PrivilegeDropError` (a PermissionError): a
    server must not carry on believing it is unprivileged.
    """
    if os.geteuid() != 0:
        return False
    try:
        uid = pwd.getpwnam(uid_name).pw_uid
    except KeyError:
        raise KeyError("drop_privileges: no such user %r" % uid_name) from None
    try:
        gid = grp.getgrnam(gid_name).gr_gid
    except KeyError:
        raise KeyError("drop_privileges: no such group %r" % gid_name) from None
    if uid == 0 or gid == 0:
        raise PrivilegeDropError("drop_privileges: refusing to 'drop' to uid/gid 0")
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as e:
        raise PrivilegeDropError("drop_privileges failed: %s" % e) from None
    os.umask(0o077)
    _verify(uid, gid)
    return True


def _verify(uid: int, gid: int) -> None:
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise PrivilegeDropError("drop_privileges: ids did not change as requested")
    if set(os.getgroups()) - {gid}:
        raise PrivilegeDropError("drop_privileges: supplementary groups remain")
    for regain in (lambda: os.setuid(0), lambda: os.seteuid(0), lambda: os.setgid(0)):
        try:
            regain()
        except PermissionError:
            continue
        raise PrivilegeDropError("drop_privileges: root could be regained after dropping")
