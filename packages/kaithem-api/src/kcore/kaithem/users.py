"""``kaithem.users``: users, groups and permissions.

A user belongs to groups; a group grants permissions (free-form strings
such as ``"/admin/settings.edit"``). :meth:`Namespace.check_permission`
follows the original's rules, except that it denies by default:

* ``__never__`` is never granted and ``__guest__`` always is (to users that
  exist);
* a user with ``__all_permissions__`` has every permission;
* whatever the ``__guest__`` account has, every user has;
* an unknown user has nothing.

Passwords are stored as scrypt hashes (``hashlib.scrypt``, 16-byte random
salt, parameters kept with each hash) and compared in constant time. Only
the parameters this module writes are accepted (r=8, p=1, N = 2^10 to
2^15): checking one password costs at most :data:`MAX_SCRYPT_MEMORY`
(32 MiB) and a fraction of a second; a stored hash asking for more is
refused at once with :class:`UsersError`, never a MemoryError or seconds of
CPU. The
users file, ``<vardir>/users/users.json`` (or ``config["users_file"]``),
is written through ``kaithem.persist`` atomically and created 0600; it is
read on first use, not at import. When a user loses a permission,
``/system/permissions/rmfromuser`` is posted with ``[user, permission]``
(the original's topic and message), so open sessions can be cut.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from typing import Any, Callable

from kcore.common.platform import KcoreError
from kcore.kaithem._support import default_namespace

__all__ = [
    "ALL_PERMISSIONS",
    "GUEST",
    "NEVER",
    "LoginError",
    "LoginThrottled",
    "Namespace",
    "UnknownGroup",
    "UnknownUser",
    "UsersError",
    "WrongPassword",
    "check_permission",
    "hash_password",
    "verify_password",
]

GUEST = "__guest__"
NEVER = "__never__"
ALL_PERMISSIONS = "__all_permissions__"

FILE_VERSION = 1
SCRYPT_LOG2_N = 14  # N = 16384, r = 8: 16 MiB and some 50 ms per hash
SCRYPT_R = 8
SCRYPT_P = 1
#: the only scrypt costs written or accepted: log2(N) in this range, r=8, p=1
SCRYPT_LOG2_N_RANGE = range(10, 16)
#: scrypt needs 128 * r * N bytes: at most 32 MiB for a hash this module accepts
MAX_SCRYPT_MEMORY = 128 * SCRYPT_R * (1 << max(SCRYPT_LOG2_N_RANGE))
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PASSWORD = 1024  # bytes of UTF-8; bounds the work an attacker can ask for
MAX_NAME = 128


class UsersError(KcoreError):
    """Root of the errors raised on purpose by ``kaithem.users``."""


class _KeyMessage:
    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""  # type: ignore[attr-defined]


class LoginError(UsersError, PermissionError):
    """Authentication failed. Messages never contain the password."""


class UnknownUser(_KeyMessage, LoginError, KeyError):
    """No user of that name."""


class WrongPassword(LoginError):
    """The password does not match."""


class LoginThrottled(LoginError):
    """Too many failed logins for this user or address lately: try again in
    ``retry_after`` seconds. Raised before the password is even checked."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnknownGroup(_KeyMessage, UsersError, KeyError):
    """No group of that name."""


class InvalidName(UsersError, ValueError):
    """A user, group or permission name is not acceptable."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _password_bytes(password: Any) -> bytes:
    if not isinstance(password, str):
        raise TypeError("a password must be a str, not %s" % type(password).__name__)
    raw = password.encode("utf-8")
    if not raw:
        raise ValueError("a password must not be empty")
    if len(raw) > MAX_PASSWORD:
        raise ValueError("a password must be at most %d bytes of UTF-8" % MAX_PASSWORD)
    return raw


def _scrypt(
    password: bytes, salt: bytes, log2_n: int, r: int, p: int, dklen: int = HASH_BYTES
) -> bytes:
    return hashlib.scrypt(
        password,
        salt=salt,
        n=1 << log2_n,
        r=r,
        p=p,
        maxmem=2 * MAX_SCRYPT_MEMORY,
        dklen=dklen,
    )


def hash_password(password: str, *, log2_n: int = SCRYPT_LOG2_N) -> str:
    """``$scrypt$ln=14,r=8,p=1$<salt>$<hash>`` for ``password`` with a fresh
    random salt (base64 without padding)."""
    raw = _password_bytes(password)
    if log2_n not in SCRYPT_LOG2_N_RANGE:
        raise ValueError(
            "scrypt log2_n must be in %d..%d"
            % (SCRYPT_LOG2_N_RANGE.start, SCRYPT_LOG2_N_RANGE.stop - 1)
        )
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(raw, salt, log2_n, SCRYPT_R, SCRYPT_P)
    return "$scrypt$ln=%d,r=%d,p=%d$%s$%s" % (log2_n, SCRYPT_R, SCRYPT_P, _b64(salt), _b64(digest))


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    try:
        empty, scheme, params, salt, digest = stored.split("$")
        fields = dict(item.split("=", 1) for item in params.split(","))
        log2_n, r, p = int(fields["ln"]), int(fields["r"]), int(fields["p"])
        salt_b, digest_b = _unb64(salt), _unb64(digest)
    except (ValueError, KeyError, AttributeError):
        raise UsersError("a stored password hash is malformed") from None
    if empty or scheme != "scrypt":
        raise UsersError("a stored password hash is not an scrypt hash")
    # Only what hash_password() writes, so a tampered file cannot make a
    # login use gigabytes of memory or seconds of CPU.
    if not (
        log2_n in SCRYPT_LOG2_N_RANGE
        and r == SCRYPT_R
        and p == SCRYPT_P
        and 8 <= len(salt_b) <= 64
        and 16 <= len(digest_b) <= 64
    ):
        raise UsersError(
            "a stored password hash has scrypt parameters this library does not accept "
            "(ln=%d..%d, r=%d, p=%d)"
            % (SCRYPT_LOG2_N_RANGE.start, SCRYPT_LOG2_N_RANGE.stop - 1, SCRYPT_R, SCRYPT_P)
        )
    return log2_n, r, p, salt_b, digest_b


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches hash ``stored`` (constant-time compare)."""
    log2_n, r, p, salt, digest = _parse_hash(stored)
    try:
        raw = _password_bytes(password)
    except ValueError:
        return False
    candidate = _scrypt(raw, salt, log2_n, r, p, len(digest))
    return hmac.compare_digest(candidate, digest)


def _check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise InvalidName("a %s name must be a str of 1 to %d characters" % (kind, MAX_NAME))
    if name != name.strip() or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise InvalidName(
            "a %s name must not have control characters or surrounding spaces: %r" % (kind, name)
        )
    return name


class Namespace:
    """``kaithem.users`` of one Kaithem instance."""

    LoginError = LoginError
    UnknownUser = UnknownUser
    UnknownGroup = UnknownGroup
    WrongPassword = WrongPassword
    LoginThrottled = LoginThrottled

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        self._lock = threading.RLock()
        self._db: dict[str, Any] | None = None  # loaded on first use
        self._dummy_hash: str | None = None
        self._listeners: list[Callable[[str, set[str], str], Any]] = []
        self._failures: _FailureLog | None = None

    # -- storage --------------------------------------------------------------

    @property
    def filename(self) -> str:
        """The users file: ``config["users_file"]`` or ``<vardir>/users/users.json``."""
        configured = self._kaithem.config.get("users_file")
        if configured:
            return os.path.abspath(os.path.expanduser(os.fspath(configured)))
        from kcore.kaithem.persist import vardir_of

        return os.path.join(vardir_of(self._kaithem), "users", "users.json")

    def _root(self) -> str:
        """The trusted directory the users file lives in (links below it are refused)."""
        return os.path.dirname(os.path.dirname(self.filename)) or os.sep

    def _data(self) -> dict[str, Any]:
        if self._db is None:
            path = self.filename
            if os.path.exists(path):
                db = self._kaithem.persist.load_at(self._root(), path)
                self._db = self._validated(db, path)
            else:
                self._db = {"version": FILE_VERSION, "users": {}, "groups": {}}
            self._db["users"].setdefault(GUEST, {"password": None, "groups": []})
        return self._db

    @staticmethod
    def _validated(db: Any, path: str) -> dict[str, Any]:
        ok = (
            isinstance(db, dict)
            and isinstance(db.get("users"), dict)
            and isinstance(db.get("groups"), dict)
            and all(
                isinstance(u, dict) and isinstance(u.get("groups", []), list)
                for u in db["users"].values()
            )
            and all(
                isinstance(g, dict) and isinstance(g.get("permissions", []), list)
                for g in db["groups"].values()
            )
        )
        if not ok:
            raise UsersError("%r is not a users file (expected users and groups maps)" % path)
        for u in db["users"].values():
            u.setdefault("groups", [])
            u.setdefault("password", None)
        for g in db["groups"].values():
            g.setdefault("permissions", [])
        return db

    def _save(self) -> None:
        self._kaithem.persist.save_at(self._root(), self.filename, self._data(), private=True)

    def reload(self) -> None:
        """Forget the in-memory copy; the file is read again on next use."""
        with self._lock:
            self._db = None

    # -- users ----------------------------------------------------------------

    def users(self) -> list[str]:
        """All user names (including ``__guest__``)."""
        with self._lock:
            return sorted(self._data()["users"])

    def add_user(
        self, username: str, password: str, groups: list[str] | tuple[str, ...] = ()
    ) -> None:
        """Create a user with a password and optional groups (which must exist)."""
        _check_name("user", username)
        stored = hash_password(password)
        with self._lock:
            db = self._data()
            if username in db["users"]:
                raise UsersError("user %r already exists" % username)
            for g in groups:
                self._group(g)
            db["users"][username] = {"password": stored, "groups": sorted(set(groups))}
            self._save()

    def remove_user(self, username: str) -> None:
        """Delete a user (not ``__guest__``)."""
        with self._lock:
            if username == GUEST:
                raise UsersError("the __guest__ account cannot be removed")
            before = self.user_permissions(username)
            del self._data()["users"][username]
            self._save()
        self._announce_lost(username, before, set())

    def set_password(self, username: str, password: str) -> None:
        """Replace a user's password (``__guest__`` cannot have one)."""
        if username == GUEST:
            raise UsersError("the __guest__ account cannot have a password")
        stored = hash_password(password)
        with self._lock:
            self._user(username)["password"] = stored
            self._save()
        self._notify_change(username, set(), "password")

    change_password = set_password

    def check_password(self, username: str, password: str) -> bool:
        """Whether ``password`` is right for ``username``; False for unknown
        users and accounts without a password, after the same amount of work."""
        try:
            self.authenticate(username, password)
            return True
        except LoginError:
            return False

    def authenticate(self, username: str, password: str) -> str:
        """Return ``username`` if the password is right; otherwise raise
        :class:`UnknownUser` or :class:`WrongPassword` (both
        :class:`LoginError`). An unknown user costs one scrypt too, so timing
        does not tell which names exist."""
        with self._lock:
            user = self._data()["users"].get(username) if isinstance(username, str) else None
            stored = user.get("password") if user is not None else None
            if stored is None and self._dummy_hash is None:
                self._dummy_hash = hash_password(secrets.token_hex(8))
            dummy = self._dummy_hash
        if stored is None:
            verify_password(password if isinstance(password, str) else "x", dummy or "")
            if user is None:
                raise UnknownUser("no user named %r" % (username,))
            raise WrongPassword("user %r cannot log in with a password" % (username,))
        if not verify_password(password, stored):
            raise WrongPassword("wrong password for user %r" % (username,))
        return username

    def user_groups(self, username: str) -> list[str]:
        with self._lock:
            return list(self._user(username)["groups"])

    def user_permissions(self, username: str) -> set[str]:
        """Permissions a user holds through its groups (the guest's included)."""
        with self._lock:
            user = self._user(username)
            perms = self._permissions_of(user)
            if username != GUEST:
                perms |= self._permissions_of(self._data()["users"][GUEST])
            return perms

    def _user(self, username: str) -> dict[str, Any]:
        user = self._data()["users"].get(username) if isinstance(username, str) else None
        if user is None:
            raise UnknownUser("no user named %r" % (username,))
        return user  # type: ignore[no-any-return]

    # -- groups ---------------------------------------------------------------

    def groups(self) -> list[str]:
        with self._lock:
            return sorted(self._data()["groups"])

    def add_group(self, group: str, permissions: list[str] | tuple[str, ...] = ()) -> None:
        """Create a group, optionally with permissions."""
        _check_name("group", group)
        for p in permissions:
            _check_name("permission", p)
        with self._lock:
            db = self._data()
            if group in db["groups"]:
                raise UsersError("group %r already exists" % group)
            db["groups"][group] = {"permissions": sorted(set(permissions))}
            self._save()

    def remove_group(self, group: str) -> None:
        """Delete a group; its members lose what it granted."""
        with self._lock:
            self._group(group)
            before = self._snapshot()
            del self._data()["groups"][group]
            for user in self._data()["users"].values():
                if group in user["groups"]:
                    user["groups"].remove(group)
            self._save()
            after = self._snapshot()
        self._announce_changes(before, after)

    def group_permissions(self, group: str) -> list[str]:
        with self._lock:
            return list(self._group(group)["permissions"])

    def add_group_permission(self, group: str, permission: str) -> None:
        _check_name("permission", permission)
        with self._lock:
            perms = self._group(group)["permissions"]
            if permission not in perms:
                perms.append(permission)
                perms.sort()
                self._save()

    def remove_group_permission(self, group: str, permission: str) -> None:
        with self._lock:
            perms = self._group(group)["permissions"]
            if permission not in perms:
                return
            before = self._snapshot()
            perms.remove(permission)
            self._save()
            after = self._snapshot()
        self._announce_changes(before, after)

    def add_user_to_group(self, username: str, group: str) -> None:
        with self._lock:
            self._group(group)
            groups = self._user(username)["groups"]
            if group not in groups:
                groups.append(group)
                groups.sort()
                self._save()

    def remove_user_from_group(self, username: str, group: str) -> None:
        with self._lock:
            groups = self._user(username)["groups"]
            if group not in groups:
                return
            before = self._snapshot()
            groups.remove(group)
            self._save()
            after = self._snapshot()
        self._announce_changes(before, after)

    def _group(self, group: str) -> dict[str, Any]:
        g = self._data()["groups"].get(group) if isinstance(group, str) else None
        if g is None:
            raise UnknownGroup("no group named %r" % (group,))
        return g  # type: ignore[no-any-return]

    # -- permissions ----------------------------------------------------------

    def _permissions_of(self, user: dict[str, Any]) -> set[str]:
        groups = self._data()["groups"]
        perms: set[str] = set()
        for g in user["groups"]:
            perms.update(groups.get(g, {}).get("permissions", ()))
        return perms

    def check_permission(self, username: str, permission: str) -> bool:
        """True if ``username`` has ``permission`` (rules in the module doc);
        False for unknown users and for ``__never__``."""
        if permission == NEVER:
            return False
        with self._lock:
            users = self._data()["users"]
            if not isinstance(username, str) or username not in users:
                return False
            if permission == GUEST:
                return True
            perms = self.user_permissions(username)
        return ALL_PERMISSIONS in perms or permission in perms

    def _snapshot(self) -> dict[str, set[str]]:
        return {u: self.user_permissions(u) for u in self._data()["users"]}

    def _announce_changes(self, before: dict[str, set[str]], after: dict[str, set[str]]) -> None:
        for user, had in before.items():
            self._announce_lost(user, had, after.get(user, set()))

    def _announce_lost(self, user: str, had: set[str], has: set[str]) -> None:
        if ALL_PERMISSIONS in has:
            return  # still allowed everything: nothing to revoke
        for permission in sorted(had - has):
            self._kaithem.message.post("/system/permissions/rmfromuser", [user, permission])
        if had - has:
            self._notify_change(user, had - has, "permissions")

    # -- change listeners ----------------------------------------------------------

    def add_listener(self, f: Callable[[str, set[str], str], Any]) -> None:
        """Call ``f(user, lost_permissions, reason)`` synchronously after a
        change: ``reason`` is ``"permissions"`` (``user`` lost the permissions
        in the set, also through a group or the guest account, or was removed)
        or ``"password"`` (its password changed; the set is empty). Web
        sessions and widget sockets use it to follow revocations at once."""
        if not callable(f):
            raise TypeError("a users listener must be callable, got %r" % (f,))
        with self._lock:
            self._listeners = [*self._listeners, f]

    def remove_listener(self, f: Callable[[str, set[str], str], Any]) -> None:
        with self._lock:
            self._listeners = [g for g in self._listeners if g is not f]

    def _notify_change(self, user: str, lost: set[str], reason: str) -> None:
        for f in self._listeners:
            try:
                f(user, set(lost), reason)
            except Exception as exc:  # one listener must not stop the others
                from kcore.common import logger as _logger

                _logger.log_error("kaithem users listener %r failed: %r" % (f, exc))

    # -- throttled login -------------------------------------------------------------

    def login(self, username: str, password: str, source: str | None = None) -> str:
        """:meth:`authenticate` with throttling, for login forms: after
        ``login-max-failures`` (5) failures for one user name, or
        ``login-max-failures-per-address`` (20) from one ``source`` address,
        within ``login-failure-window`` seconds (300), further attempts raise
        :class:`LoginThrottled` without checking the password until the
        oldest failure leaves the window. A success forgets the user's failures."""
        failures = self._failure_log()
        keys = ["user:%s" % (username,)]
        if source:
            keys.append("addr:%s" % (source,))
        wait = failures.retry_after(keys)
        if wait > 0:
            raise LoginThrottled("too many failed logins; try again in %d s" % (wait + 1), wait)
        try:
            name = self.authenticate(username, password)
        except LoginError:
            failures.record(keys)
            raise
        failures.forget(keys[0])
        return name

    def _failure_log(self) -> _FailureLog:
        with self._lock:
            if self._failures is None:
                config = self._kaithem.config
                self._failures = _FailureLog(
                    window=float(config.get("login-failure-window", 300)),
                    limits={
                        "user": int(config.get("login-max-failures", 5)),
                        "addr": int(config.get("login-max-failures-per-address", 20)),
                    },
                )
            return self._failures


def _ns() -> Namespace:
    ns: Namespace = default_namespace("users")
    return ns


def check_permission(username: str, permission: str) -> bool:
    """:meth:`Namespace.check_permission` on the default instance."""
    return _ns().check_permission(username, permission)


class _FailureLog:
    """Recent failed logins per key (``user:<name>``, ``addr:<address>``):
    at most ``limits[kind]`` timestamps per key, at most ``max_keys`` keys
    (the oldest key is forgotten first), so memory stays bounded."""

    def __init__(self, window: float, limits: dict[str, int], max_keys: int = 4096) -> None:
        self.window = window
        self.limits = limits
        self.max_keys = max_keys
        self._log: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _limit(self, key: str) -> int:
        return max(1, self.limits.get(key.split(":", 1)[0], 5))

    def retry_after(self, keys: list[str]) -> float:
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._log.get(key)
                if not times:
                    continue
                while times and times[0] <= now - self.window:
                    times.popleft()
                if len(times) >= self._limit(key):
                    wait = max(wait, times[0] + self.window - now)
        return wait

    def record(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                times = self._log.pop(key, None)  # re-inserted: most recent last
                if times is None:
                    times = deque(maxlen=self._limit(key))
                times.append(now)
                self._log[key] = times
            while len(self._log) > self.max_keys:
                del self._log[next(iter(self._log))]

    def forget(self, key: str) -> None:
        with self._lock:
            self._log.pop(key, None)
