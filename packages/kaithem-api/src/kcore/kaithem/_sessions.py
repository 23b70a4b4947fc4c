"""Login sessions of ``kaithem.web``: random tokens held in memory.

The browser keeps the token in a ``HttpOnly``, ``SameSite=Lax`` cookie
(``Secure`` under TLS). The store is keyed by the token's SHA-256, so a
lookup never compares secrets character by character. Each session carries
its own random CSRF token. Sessions end on logout, after ``idle`` seconds
without a request, after ``lifetime`` seconds in any case, when the user's
password changes or the user is removed; at most ``max_sessions`` exist (the
least recently used goes first). They live in memory only: a restart logs
everybody out.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict

SESSION_COOKIE = "kaithem_session"
CSRF_COOKIE = "kaithem_csrf"  # anonymous visitors: double-submit token


def _key(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


class Session:
    """One login: ``user``, ``csrf`` token, ``created`` and ``last_seen``
    (monotonic seconds)."""

    __slots__ = ("created", "csrf", "key", "last_seen", "user")

    def __init__(self, user: str, key: bytes) -> None:
        self.user = user
        self.key = key
        self.csrf = secrets.token_urlsafe(32)
        self.created = self.last_seen = time.monotonic()

    def __repr__(self) -> str:  # never the token
        return "<Session user=%r>" % (self.user,)


class SessionStore:
    """Sessions by token. ``create(user)`` returns ``(token, session)``;
    ``get(token)`` the live session or None; ``drop(token)``,
    ``drop_user(user)``."""

    def __init__(
        self,
        idle: float = 7 * 86400.0,
        lifetime: float = 30 * 86400.0,
        max_sessions: int = 10000,
    ) -> None:
        if idle <= 0 or lifetime <= 0 or max_sessions < 1:
            raise ValueError("session idle, lifetime and max_sessions must be positive")
        self.idle = float(idle)
        self.lifetime = float(lifetime)
        self.max_sessions = int(max_sessions)
        self._sessions: OrderedDict[bytes, Session] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, user: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        key = _key(token)
        session = Session(user, key)
        with self._lock:
            self._sessions[key] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 200:
            return None
        key = _key(token)
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if now - session.last_seen > self.idle or now - session.created > self.lifetime:
                del self._sessions[key]
                return None
            session.last_seen = now
            self._sessions.move_to_end(key)
        return session

    def drop(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(_key(token), None)

    def drop_user(self, user: str) -> int:
        """End every session of ``user``; how many there were."""
        with self._lock:
            keys = [k for k, s in self._sessions.items() if s.user == user]
            for k in keys:
                del self._sessions[k]
        return len(keys)

    def __len__(self) -> int:
        return len(self._sessions)


def parse_cookies(header: str | None) -> dict[str, str]:
    """``Cookie:`` header -> {name: value} (first occurrence wins; no
    unquoting beyond stripping one pair of double quotes)."""
    out: dict[str, str] = {}
    if not header:
        return out
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep or not name or name in out:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out[name] = value
    return out


def cookie_header(
    name: str, value: str, *, secure: bool, max_age: int | None = None, same_site: str = "Lax"
) -> str:
    """A ``Set-Cookie`` value: ``Path=/; HttpOnly; SameSite=...`` (+ ``Secure``)."""
    parts = ["%s=%s" % (name, value), "Path=/", "HttpOnly", "SameSite=%s" % same_site]
    if max_age is not None:
        parts.append("Max-Age=%d" % max_age)
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
