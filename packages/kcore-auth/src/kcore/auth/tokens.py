"""Shared secrets, token generation and verification (no file I/O here).

Token (ASCII, 5 colon-separated fields)::

    v3:<hostname>:<username>:<time>:<hmac>

``time`` is epoch seconds, optionally with up to 6 decimals (so a client may
send more than one request per second per command); ``hmac`` is
HMAC-SHA256, keyed with the 32-byte shared secret, over a length-prefixed
encoding of (version, hostname, username, time, command), in lowercase hex.

The shared secret is derived on the client with scrypt from the password,
salted with (hostname, username, machine identity), so a leaked DB does not
reveal passwords cheaply and a secret only works from its machine.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import hmac
import json
import math
import re
import socket
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, NamedTuple, Optional, Tuple, Union

from kcore.auth.errors import AuthArgumentError, AuthNError, TokenRejected

TOKEN_VERSION = "v3"  # noqa: S105 - a format tag, not a password
LEGACY_TOKEN_VERSION = "v2"  # noqa: S105
DEFAULT_MAX_TIME_DELTA = 90
MAX_TOKEN_LENGTH = 1024
MAX_SECRET_STRING = 4096
CLIENT_KDF_LOG2_N = 14  # scrypt N = 16384, r = 8: 16 MiB, tens of ms, once per process
CLIENT_KDF_R = 8

_HOST = re.compile(r"^[A-Za-z0-9._-]{1,253}\Z")
_OVERRIDE = re.compile(r"^(\*|[A-Za-z0-9._:%\[\]-]{1,253})\Z")
_USER = re.compile(r"^[A-Za-z0-9._@+-]{0,128}\Z")
_TIME = re.compile(r"^([0-9]{1,12})(?:\.([0-9]{1,6}))?\Z")
_MAC = {
    TOKEN_VERSION: re.compile(r"^[0-9a-f]{64}\Z"),
    LEGACY_TOKEN_VERSION: re.compile(r"^[0-9a-f]{40}\Z"),
}
_SECRET = {
    TOKEN_VERSION: re.compile(r"^[0-9a-f]{64}\Z"),
    LEGACY_TOKEN_VERSION: re.compile(r"^[0-9a-f]{40}\Z"),
}
_FAST_V3 = re.compile(
    r"^v3:([A-Za-z0-9._-]{1,253}):([A-Za-z0-9._@+-]{0,128}):([0-9]{1,12})(?:\.([0-9]{1,6}))?"
    r":([0-9a-f]{64})\Z"
)
_SAFE = re.compile(r"^[A-Za-z0-9._:@+%*\[\]/ -]{0,100}\Z")


def _safe(text: Any) -> str:
    """Echo caller-supplied text in a status only if it is short and harmless."""
    s = str(text)
    return s if _SAFE.match(s) else "<unprintable>"


def _canonical(*parts: str) -> bytes:
    """Length-prefixed UTF-8 fields: no separator can be smuggled in a field."""
    out = []
    for p in parts:
        b = p.encode("utf-8")
        out.append(struct.pack(">I", len(b)))
        out.append(b)
    return b"".join(out)


# ---------------------------------------------------------------- shared secret


@dataclass(repr=False)
class SharedSecret:
    """A client registration. ``str()`` is the registration string to give the
    server (it contains the secret); ``repr()`` masks the secret."""

    version_tag: str
    hostname: str
    username: str
    secret: str
    server_override_hostname: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.version_tag, str) or self.version_tag not in _SECRET:
            raise AuthNError(
                'unknown registration version "%s" (expected "%s")'
                % (_safe(self.version_tag), TOKEN_VERSION)
            )
        if not isinstance(self.hostname, str) or not _HOST.match(self.hostname):
            raise AuthNError("registration hostname must be 1-253 of [A-Za-z0-9._-]")
        if not isinstance(self.username, str) or not _USER.match(self.username):
            raise AuthNError("registration username must be 0-128 of [A-Za-z0-9._@+-]")
        if not isinstance(self.secret, str) or not _SECRET[self.version_tag].match(self.secret):
            raise AuthNError(
                "registration secret is not a %s secret (wrong length or not hex)"
                % self.version_tag
            )
        o = self.server_override_hostname
        if o is not None and (not isinstance(o, str) or not _OVERRIDE.match(o)):
            raise AuthNError("server_override_hostname must be '*', a hostname or an IP address")
        self._hmac_cache: Optional[tuple] = None

    def hmac_base(self) -> Any:
        """An HMAC-SHA256 object keyed with the secret, never updated: callers
        ``.copy()`` it (cheaper than re-keying for every token)."""
        cached = self._hmac_cache
        if cached is None or cached[0] is not self.secret:
            base = hmac.new(bytes.fromhex(self.secret), digestmod=hashlib.sha256)
            cached = self._hmac_cache = (self.secret, base)
        return cached[1]

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_hmac_cache"] = None  # HMAC objects do not pickle; rebuilt on use
        return state

    def lookup_key(self) -> str:
        return "%s:%s" % (self.server_override_hostname or self.hostname, self.username)

    def __str__(self) -> str:
        return (
            "SharedSecret(version_tag=%r, hostname=%r, username=%r, secret=%r, "
            "server_override_hostname=%r)"
            % (
                self.version_tag,
                self.hostname,
                self.username,
                self.secret,
                self.server_override_hostname,
            )
        )

    def __repr__(self) -> str:
        return (
            "SharedSecret(version_tag=%r, hostname=%r, username=%r, secret='<hidden>', "
            "server_override_hostname=%r)"
            % (self.version_tag, self.hostname, self.username, self.server_override_hostname)
        )

    @staticmethod
    def from_string(src_str: str) -> SharedSecret:
        """Parse a registration string: the ``SharedSecret(...)`` form ``str()``
        prints (literals only; nothing is evaluated) or a JSON object."""
        if not isinstance(src_str, str):
            raise AuthNError("registration string must be str")
        src = src_str.strip()
        if not src or len(src) > MAX_SECRET_STRING:
            raise AuthNError("registration string is empty or too long")
        if src.startswith("{"):
            try:
                fields = json.loads(src)
            except ValueError:
                raise AuthNError("registration string is not valid JSON") from None
        else:
            fields = _parse_call(src)
        return SharedSecret.from_fields(fields)

    @staticmethod
    def from_fields(fields: Any) -> SharedSecret:
        """A registration from a dict of its fields (JSON), checked like any other."""
        if not isinstance(fields, dict):
            raise AuthNError("registration must be an object of fields")
        names = {f.name for f in dataclasses.fields(SharedSecret)}
        unknown = set(fields) - names
        if unknown:
            raise AuthNError(
                "registration has unknown field(s): %s"
                % ", ".join(sorted(_safe(u) for u in unknown))
            )
        try:
            return SharedSecret(**fields)
        except TypeError:
            raise AuthNError("registration is missing a required field") from None

    def to_fields(self) -> Dict[str, Any]:
        """The fields as a dict (what :meth:`from_fields` reads)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(SharedSecret)}

    @staticmethod
    def generate(
        username: str,
        user_password: str,
        client_override_hostname: Optional[str] = None,
        *,
        machine_data: Optional[str] = None,
    ) -> SharedSecret:
        """Derive this client's secret (see the module docstring)."""
        hostname = client_override_hostname or socket.gethostname()
        if not _HOST.match(hostname):
            raise AuthNError(
                "hostname %r cannot be used in a token: use -H NAME" % _safe(hostname)
            )
        if not _USER.match(username or ""):
            raise AuthNError("username must be 0-128 of [A-Za-z0-9._@+-]")
        if machine_data is None:
            from kcore.auth.identity import get_machine_private_data

            machine_data = get_machine_private_data()
        secret = _derive_client_secret(hostname, username or "", machine_data, user_password or "")
        return SharedSecret(TOKEN_VERSION, hostname, username or "", secret)


def _parse_call(src: str) -> Dict[str, Any]:
    try:
        tree = ast.parse(src, mode="eval")
    except (SyntaxError, ValueError):
        raise AuthNError(
            "registration string does not parse (expected SharedSecret(...))"
        ) from None
    call = tree.body
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "SharedSecret"
    ):
        raise AuthNError("registration string must look like SharedSecret(version_tag=..., ...)")
    order = [f.name for f in dataclasses.fields(SharedSecret)]
    if len(call.args) > len(order):
        raise AuthNError("registration string has too many arguments")
    fields: Dict[str, Any] = {}
    pairs = list(zip(order, call.args)) + [(kw.arg, kw.value) for kw in call.keywords]
    for name, node in pairs:
        if name is None or name in fields:
            raise AuthNError("registration string repeats or unpacks an argument")
        if not (
            isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str))
        ):
            raise AuthNError("registration string arguments must be string literals or None")
        fields[name] = node.value
    return fields


_secret_cache: OrderedDict[bytes, str] = OrderedDict()
_secret_cache_lock = threading.Lock()


def _derive_client_secret(hostname: str, username: str, machine_data: str, password: str) -> str:
    """scrypt(password, salt=(host, user, machine)); memoised per process so a
    client making many tokens pays the KDF once."""
    salt = _canonical("kcore-auth/v3 client secret", hostname, username, machine_data)
    pw = _canonical("kcore-auth/v3 password", password)  # never empty, even for ''
    key = hashlib.sha256(salt + pw).digest()
    with _secret_cache_lock:
        hit = _secret_cache.get(key)
        if hit is not None:
            _secret_cache.move_to_end(key)
            return hit
    from kcore.uncommon.crypto import derive_key

    secret = derive_key(pw, salt, 32, CLIENT_KDF_LOG2_N, CLIENT_KDF_R, 1).hex()
    with _secret_cache_lock:
        _secret_cache[key] = secret
        while len(_secret_cache) > 32:
            _secret_cache.popitem(last=False)
    return secret


def coerce_shared_secret(shared_secret: Union[SharedSecret, str]) -> SharedSecret:
    if isinstance(shared_secret, SharedSecret):
        return shared_secret
    return SharedSecret.from_string(shared_secret)


# ---------------------------------------------------------------- tokens


def _time_field(override_time: Union[int, float, None]) -> str:
    t = time.time() if override_time is None else override_time
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < 1e12:
        raise AuthNError("token time must be a number of epoch seconds in [0, 1e12)")
    if isinstance(t, int):
        return "%d" % t
    return "%.6f" % t


_V3_HEAD = _canonical("kcore-auth", TOKEN_VERSION)
_pack = struct.Struct(">I").pack


_prefixes: Dict[Tuple[str, str], bytes] = {}


def _mac_v3(base: Any, hostname: str, username: str, time_str: str, command: str) -> str:
    """HMAC-SHA256 over the canonical encoding (the bytes ``_canonical`` makes of
    "kcore-auth", version, host, user, time, command); ``base`` is
    :meth:`SharedSecret.hmac_base`. The (host, user) part is cached."""
    prefix = _prefixes.get((hostname, username))
    if prefix is None:
        if len(_prefixes) > 4096:
            _prefixes.clear()
        prefix = _prefixes[(hostname, username)] = _V3_HEAD + _canonical(hostname, username)
    t, c = time_str.encode(), command.encode("utf-8")
    mac = base.copy()
    mac.update(b"".join((prefix, _pack(len(t)), t, _pack(len(c)), c)))
    return mac.hexdigest()


def _mac_v2(ss: SharedSecret, username: str, time_str: str, command: str) -> str:
    """The original's SHA-1 over a concatenation with the dataclass repr."""
    ss_repr = (
        "SharedSecret(version_tag=%r, hostname=%r, username=%r, secret=%r, "
        "server_override_hostname=None)" % (ss.version_tag, ss.hostname, ss.username, ss.secret)
    )
    plain = "%s:%s:%s:%s:%s:%s" % (
        LEGACY_TOKEN_VERSION,
        ss.hostname,
        username,
        time_str,
        command,
        ss_repr,
    )
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()  # noqa: S324 - legacy format


def generate_token_given_shared_secret(
    command: str,
    shared_secret: Union[SharedSecret, str],
    use_hostname: Optional[str] = None,
    username: str = "",
    override_time: Union[int, float, None] = None,
) -> str:
    ss = (
        shared_secret
        if isinstance(shared_secret, SharedSecret)
        else SharedSecret.from_string(shared_secret)
    )
    if ss.version_tag != TOKEN_VERSION:
        raise AuthNError(
            "this is a %s (original format) secret: only the original client "
            "makes such tokens; re-generate the registration" % ss.version_tag
        )
    hostname = use_hostname or ss.hostname
    user = username or ss.username
    if (use_hostname or username) and not (_HOST.match(hostname) and _USER.match(user)):
        raise AuthNError("hostname/username contain characters a token cannot carry")
    if not isinstance(command, str):
        raise AuthNError("command must be str")
    time_str = _time_field(override_time)
    mac = _mac_v3(ss.hmac_base(), hostname, user, time_str, command)
    return "%s:%s:%s:%s:%s" % (TOKEN_VERSION, hostname, user, time_str, mac)


def generate_token(
    command: str,
    username: str = "",
    user_password: str = "",
    override_hostname: Optional[str] = None,
    override_time: Union[int, float, None] = None,
    *,
    machine_data: Optional[str] = None,
) -> str:
    """A token for ``command`` from this machine (secret derived once, cached)."""
    ss = SharedSecret.generate(
        username, user_password, override_hostname, machine_data=machine_data
    )
    return generate_token_given_shared_secret(command, ss, override_time=override_time)


class ParsedToken(NamedTuple):
    version: str
    hostname: str
    username: str
    time_str: str
    micros: int
    mac: str

    @property
    def sent_time(self) -> Union[int, float]:
        return self.micros // 1_000_000 if "." not in self.time_str else self.micros / 1e6


def parse_token(token: Any, legacy: bool = False) -> Union[ParsedToken, str]:
    """A :class:`ParsedToken`, or the failure status (a str) saying what is wrong."""
    if not isinstance(token, str):
        return "token fails to parse: not a string"
    fast = _FAST_V3.match(token)
    if fast is not None:
        host, user, secs, frac, mac = fast.groups()
        time_str = secs if frac is None else "%s.%s" % (secs, frac)
        micros = int(secs + (frac or "").ljust(6, "0"))
        return ParsedToken(TOKEN_VERSION, host, user, time_str, micros, mac)
    if len(token) > MAX_TOKEN_LENGTH:
        return "token fails to parse: longer than %d characters" % MAX_TOKEN_LENGTH
    parts = token.strip().split(":")
    if len(parts) != 5:
        return "token fails to parse: expected 5 colon-separated fields, got %d" % len(parts)
    version, hostname, username, time_str, mac = parts
    if version not in _MAC:
        return 'Wrong token/protocol version.   Saw "%s", expected "%s".' % (
            _safe(version[:16]),
            TOKEN_VERSION,
        )
    if version == LEGACY_TOKEN_VERSION and not legacy:
        return (
            "token uses the original v2 (SHA-1) format; verifying it needs legacy=True "
            "(k_auth --legacy)"
        )
    if not _HOST.match(hostname):
        return "token fails to parse: bad hostname field"
    if not _USER.match(username):
        return "token fails to parse: bad username field"
    m = _TIME.match(time_str)
    if not m or (version == LEGACY_TOKEN_VERSION and m.group(2)):
        return "token fails to parse: bad time field"
    if not _MAC[version].match(mac):
        return "token fails to parse: MAC field truncated or garbled"
    micros = int(m.group(1)) * 1_000_000 + int((m.group(2) or "").ljust(6, "0"))
    return ParsedToken(version, hostname, username, time_str, micros, mac)


@dataclass
class VerificationParams:
    db_passwd: str
    db_filename: Optional[str] = "kcore_auth_db.data.pcrypt"
    max_time_delta: int = DEFAULT_MAX_TIME_DELTA
    must_be_later_than_last_check: bool = True
    legacy: bool = False

    def __post_init__(self) -> None:
        check_max_time_delta(self.max_time_delta)


@dataclass
class VerificationResults:
    ok: bool
    status: str
    registered_hostname: Optional[str] = None
    username: Optional[str] = None
    sent_time: Union[int, float, None] = None

    def __bool__(self) -> bool:
        """Truthy only when ok: ``if verify_token(...):`` and kcore-web's
        ``introspection_auth`` (True allows, False answers 403) do the right thing."""
        return bool(self.ok)

    def raise_for_status(self) -> VerificationResults:
        """Raise :class:`TokenRejected` (with the status) unless ok."""
        if not self.ok:
            raise TokenRejected(self.status)
        return self


def _resolve(host: str) -> set:
    return {ai[4][0] for ai in socket.getaddrinfo(host, None)}


def compare_hosts(host1: Optional[str], host2: Optional[str]) -> bool:
    """Same string, or the names resolve to a common address (errors → False)."""
    if not host1 or not host2:
        return False
    if host1 == host2:
        return True
    try:
        return bool(_resolve(host1) & _resolve(host2))
    except (OSError, UnicodeError, ValueError):
        return False


def check_max_time_delta(max_time_delta: Any) -> Optional[float]:
    """The time window in seconds, or None for no time check (None, 0 or False, as
    in the original). Anything else must be a finite number > 0: NaN would
    accept every time (no comparison with it is true), infinity too."""
    if max_time_delta is None or max_time_delta is False or max_time_delta == 0:
        return None
    if (
        isinstance(max_time_delta, bool)
        or not isinstance(max_time_delta, (int, float))
        or not math.isfinite(max_time_delta)
        or max_time_delta < 0
    ):
        raise AuthArgumentError(
            "max_time_delta must be a finite number of seconds > 0, or 0/None for no time "
            "check, not %r" % (max_time_delta,)
        )
    return float(max_time_delta)


def check_token(
    parsed: ParsedToken,
    command: str,
    ss: SharedSecret,
    client_addr: Optional[str],
    max_time_delta: Optional[float],
    now: Optional[float],
) -> Optional[str]:
    """Every stateless check; None if the token is authentic.

    The cheap checks and the MAC come first: the client address, which may
    need DNS, is compared only for a token that proved it holds the secret,
    so a forged token costs no lookup.
    """
    window = check_max_time_delta(max_time_delta)
    if parsed.version != ss.version_tag:
        return "token is %s but the registration is %s: re-register or re-generate" % (
            parsed.version,
            ss.version_tag,
        )
    if parsed.hostname != ss.hostname:
        return 'token hostname "%s" does not match the registration' % parsed.hostname
    if window is not None:
        t_now = time.time() if now is None else now
        delta = abs(t_now - parsed.micros / 1e6)
        if delta > window:
            return "Time difference too high.  sent:%s now:%d,  delta %d > %d" % (
                parsed.time_str,
                int(t_now),
                int(delta),
                int(window),
            )
    if not isinstance(command, str):
        return "command must be str"
    if parsed.version == TOKEN_VERSION:
        want = _mac_v3(ss.hmac_base(), parsed.hostname, parsed.username, parsed.time_str, command)
    else:
        want = _mac_v2(ss, parsed.username, parsed.time_str, command)
    if not hmac.compare_digest(want, parsed.mac):  # both ASCII hex: constant time on str
        return "Token fails to verify (wrong secret, machine, user or command, or tampered)"
    expected = ss.server_override_hostname or ss.hostname
    if client_addr and expected != "*" and not compare_hosts(client_addr, expected):
        return 'Wrong hostname.  Saw "%s", expected "%s".' % (_safe(client_addr), _safe(expected))
    return None


def replay_key(ss: SharedSecret, username: str, command: str) -> str:
    return "%s\0%s\0%s" % (ss.server_override_hostname or ss.hostname, username, command)


REPLAY_STATUS = "Received token is not later than a previous token (replayed or out of order)"


class ReplayGuard:
    """Max accepted token time per (host, user, command), behind a lock.

    Only :meth:`check_and_advance` after a successful MAC check touches it,
    so forged tokens cannot move it. ``max_entries`` bounds memory: beyond
    it the oldest half is forgotten (those are normally outside the window).
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self.last: Dict[str, int] = {}

    def check_and_advance(self, key: str, micros: int) -> bool:
        with self._lock:
            prev = self.last.get(key)
            if prev is not None and micros <= prev:
                return False
            self.last[key] = micros
            if len(self.last) > self.max_entries:  # in place: LAST_RECEIVED_TIMES aliases it
                oldest = sorted(self.last, key=self.last.__getitem__)[: len(self.last) // 2]
                for k in oldest:
                    del self.last[k]
            return True

    def clear(self) -> None:
        with self._lock:
            self.last.clear()


REPLAY_GUARD = ReplayGuard()


def parse_or_reject(
    token: Any, legacy: bool, max_time_delta: Any
) -> Union[ParsedToken, VerificationResults]:
    """The first steps of every verification: check the arguments (raising for a
    bad time window), then the parsed token or the failed result saying why."""
    check_max_time_delta(max_time_delta)
    if not token:
        return VerificationResults(False, "no authN token provided")
    parsed = parse_token(token, legacy)
    if isinstance(parsed, str):
        return VerificationResults(False, parsed)
    return parsed


def results_ok(parsed: ParsedToken, ss: SharedSecret) -> VerificationResults:
    return VerificationResults(True, "ok", ss.hostname, parsed.username, parsed.sent_time)


def verify_token_given_shared_secret(
    token: str,
    command: str,
    shared_secret: Union[SharedSecret, str],
    client_addr: Optional[str] = None,
    must_be_later_than_last_check: bool = True,
    max_time_delta: Optional[float] = DEFAULT_MAX_TIME_DELTA,
    *,
    legacy: bool = False,
    now: Optional[float] = None,
    replay_guard: Optional[ReplayGuard] = None,
) -> VerificationResults:
    """Verify against a known secret; replay state in ``replay_guard``
    (default: the process-wide :data:`REPLAY_GUARD`)."""
    parsed = parse_or_reject(token, legacy, max_time_delta)
    if isinstance(parsed, VerificationResults):
        return parsed
    ss = coerce_shared_secret(shared_secret)
    fail = check_token(parsed, command, ss, client_addr, max_time_delta, now)
    if fail:
        return VerificationResults(False, fail, ss.hostname, parsed.username, parsed.sent_time)
    if must_be_later_than_last_check:
        guard = REPLAY_GUARD if replay_guard is None else replay_guard
        if not guard.check_and_advance(replay_key(ss, parsed.username, command), parsed.micros):
            return VerificationResults(
                False, REPLAY_STATUS, ss.hostname, parsed.username, parsed.sent_time
            )
    return results_ok(parsed, ss)
