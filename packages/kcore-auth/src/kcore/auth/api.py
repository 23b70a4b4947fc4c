"""The original's module-level functions: register, look up, verify."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from typing import Dict, Optional, Union

from kcore.auth.db import RegistrationDB
from kcore.auth.tokens import (
    DEFAULT_MAX_TIME_DELTA,
    LEGACY_TOKEN_VERSION,
    TOKEN_VERSION,
    SharedSecret,
    VerificationParams,
    VerificationResults,
    coerce_shared_secret,
    parse_or_reject,
    verify_token_given_shared_secret,
)

DEBUG = False  # kept for compatibility; debug output never includes secrets
DEFAULT_DB_FILENAME = "kcore_auth_db.data.pcrypt"

# db_filename=None: registrations kept in this process only (what tests use).
REGISTRATION_DB: Dict[str, SharedSecret] = {}
_memory_lock = threading.Lock()


def debug_msg(msg: str) -> None:
    if DEBUG:
        sys.stderr.write("kcore.auth: %s\n" % msg)


def hasher(plaintext: str) -> str:
    """SHA-256 hex of the UTF-8 text (SHA-1 is no longer collision-resistant)."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def now() -> int:
    return int(time.time())


def safe_read(filename: str) -> Optional[str]:
    """Stripped file contents, or None if it cannot be read."""
    try:
        with open(filename, encoding="utf-8") as f:
            return f.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def generate_shared_secret(
    username: str = "",
    user_password: str = "",
    client_override_hostname: Optional[str] = None,
    *,
    machine_data: Optional[str] = None,
) -> SharedSecret:
    """Client side: the registration to hand to the server (``str()`` of it)."""
    return SharedSecret.generate(
        username, user_password, client_override_hostname, machine_data=machine_data
    )


def register(
    shared_secret: Union[SharedSecret, str],
    db_passwd: str,
    db_filename: Optional[str] = DEFAULT_DB_FILENAME,
    server_override_hostname: Optional[str] = None,
    *,
    legacy: bool = False,
) -> bool:
    """Server side: store a registration. False if its version is not accepted
    (v2 needs ``legacy=True``); a malformed registration raises AuthNError."""
    ss = coerce_shared_secret(shared_secret)
    if ss.version_tag != TOKEN_VERSION and not (legacy and ss.version_tag == LEGACY_TOKEN_VERSION):
        return False
    if server_override_hostname:
        ss = SharedSecret(
            ss.version_tag, ss.hostname, ss.username, ss.secret, server_override_hostname
        )
    if db_filename is None:
        with _memory_lock:
            REGISTRATION_DB[ss.lookup_key()] = ss
        return True
    RegistrationDB(db_filename, db_passwd, legacy=legacy).register(ss)
    return True


def get_shared_secret_from_db(
    db_passwd: str,
    db_filename: Optional[str],
    token_hostname: str,
    client_addr: Optional[str] = None,
    username: str = "",
    *,
    legacy: bool = False,
) -> Optional[SharedSecret]:
    """The registration for ``<token host | client addr | *>:<user>``, or None."""
    if db_filename is None:
        with _memory_lock:
            return RegistrationDB._find(
                dict(REGISTRATION_DB), token_hostname, client_addr, username
            )
    return RegistrationDB(db_filename, db_passwd, legacy=legacy).lookup(
        token_hostname, client_addr, username
    )


def verify_token(
    token: str,
    command: str,
    client_addr: Optional[str],
    db_passwd: str,
    must_be_later_than_last_check: bool = True,
    max_time_delta: Optional[float] = DEFAULT_MAX_TIME_DELTA,
    db_filename: Optional[str] = DEFAULT_DB_FILENAME,
    *,
    legacy: bool = False,
    now: Optional[float] = None,
) -> VerificationResults:
    """Verify a token against the registration DB.

    A bad token gives ``ok=False`` and a status saying what was wrong (never
    the expected token). A DB that cannot be used (wrong password, loose
    permissions, damaged) raises :class:`AuthDBError`/:class:`AuthDBPermissionError`.
    A ``max_time_delta`` that is not a finite number raises :class:`AuthArgumentError`.
    """
    parsed = parse_or_reject(token, legacy, max_time_delta)
    if isinstance(parsed, VerificationResults):
        return parsed
    if db_filename is None:
        with _memory_lock:
            ss = RegistrationDB._find(
                dict(REGISTRATION_DB), parsed.hostname, client_addr, parsed.username
            )
        if ss is None:
            return VerificationResults(
                False,
                "could not find client registration for %s:%s"
                % (parsed.hostname, parsed.username),
            )
        return verify_token_given_shared_secret(
            token,
            command,
            ss,
            client_addr,
            must_be_later_than_last_check,
            max_time_delta,
            legacy=legacy,
            now=now,
        )
    db = RegistrationDB(db_filename, db_passwd, legacy=legacy)
    return db.verify(
        parsed, command, client_addr, must_be_later_than_last_check, max_time_delta, now
    )


def verify_token_with_params(
    token: str, command: str, client_addr: Optional[str], verification_params: VerificationParams
) -> VerificationResults:
    p = verification_params
    return verify_token(
        token,
        command,
        client_addr,
        p.db_passwd,
        p.must_be_later_than_last_check,
        p.max_time_delta,
        p.db_filename,
        legacy=p.legacy,
    )


def set_machine_secret(value: str) -> None:
    """Use ``value`` as this machine's identity from now on ($PUID, the CLI's -s)."""
    from kcore.auth.identity import PUID_ENV, reset_machine_identity_cache

    os.environ[PUID_ENV] = value
    reset_machine_identity_cache()
