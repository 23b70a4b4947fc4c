"""The registration DB file: registrations (encrypted) + replay state, one file.

File format (JSON, created mode 0600, replaced atomically)::

    {"format": "kcore-auth-db/1",
     "salt": "<32 hex, random per file>",
     "registrations": "kcrypt1:...",      # kcore.uncommon.encrypt(JSON, db_passwd)
     "replay": {"<key id>": <max accepted token time, microseconds>, ...}}

The encrypted registrations are ``{"format": "kcore.dict-of-dataclasses/1",
"type": "SharedSecret", "data": {"<host>:<user>": {fields}, ...}}``.

Registrations are encrypted with the DB password (scrypt + AES-GCM, fresh
random salt each write). Replay keys are HMAC-SHA256(file salt, host/user/
command), so the file names no commands in clear. Every read-modify-write runs
under ``kcore.common.FileLock(<db>.lock)`` (threads and processes); replay
state advances only after a token's MAC verified. Decrypted registrations are
cached in memory per (password, ciphertext), so verifying does not pay scrypt
each time. A file readable or writable by group/others is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
import time
from collections import OrderedDict
from typing import Any, Dict, Iterator, Optional, Tuple

from kcore.auth.errors import AuthDBError, AuthDBPermissionError, AuthNError
from kcore.auth.tokens import (
    REPLAY_STATUS,
    ParsedToken,
    SharedSecret,
    VerificationResults,
    check_token,
    replay_key,
    results_ok,
)

DB_FORMAT = "kcore-auth-db/1"
REGISTRATIONS_FORMAT = "kcore.dict-of-dataclasses/1"
MAX_DB_BYTES = 16 * 1024 * 1024
REPLAY_KEEP_SECONDS = 24 * 3600  # replay entries older than this (and the window) are pruned
LOCK_TIMEOUT = 30.0

_path_locks: Dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()

_cache: OrderedDict[bytes, Dict[str, SharedSecret]] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(password: str, blob: str) -> bytes:
    return hashlib.sha256(b"%d:%s%s" % (len(password), password.encode(), blob.encode())).digest()


def dumps_registrations(regs: Dict[str, SharedSecret]) -> str:
    doc = {
        "format": REGISTRATIONS_FORMAT,
        "type": "SharedSecret",
        "data": {key: ss.to_fields() for key, ss in regs.items()},
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def loads_registrations(text: str) -> Dict[str, SharedSecret]:
    """Parse and check every registration (AuthNError naming the key otherwise)."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise AuthNError("registrations are not valid JSON") from None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != REGISTRATIONS_FORMAT
        or doc.get("type") not in (None, "SharedSecret")
        or not isinstance(doc.get("data"), dict)
    ):
        raise AuthNError("not a %s document of SharedSecret" % REGISTRATIONS_FORMAT)
    out = {}
    for key, fields in doc["data"].items():
        try:
            out[key] = SharedSecret.from_fields(fields)
        except AuthNError as e:
            raise AuthNError('key "%s": %s' % (key, e)) from None
    return out


def _check_password(db_passwd: Any) -> str:
    if not isinstance(db_passwd, str) or not db_passwd:
        raise AuthDBError("a non-empty DB password is needed for the registration DB")
    return db_passwd


class RegistrationDB:
    """One registration DB file (see the module docstring)."""

    def __init__(self, filename: str, db_passwd: str, *, legacy: bool = False) -> None:
        if not filename:
            raise AuthDBError("RegistrationDB needs a filename (None means in-memory: see api)")
        self.filename = os.fspath(filename)
        self.db_passwd = _check_password(db_passwd)
        self.legacy = legacy

    # ------------------------------------------------------------ file level

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Threads of this process queue on a plain lock (no polling); the
        FileLock then serializes with other processes."""
        from kcore.common import FileLock

        path = os.path.abspath(self.filename)
        with _path_locks_guard:
            tlock = _path_locks.setdefault(path, threading.Lock())
        if not tlock.acquire(timeout=LOCK_TIMEOUT):
            raise AuthDBError("timed out waiting for the lock on %s" % self.filename)
        try:
            with FileLock(path + ".lock", timeout=LOCK_TIMEOUT):
                yield
        finally:
            tlock.release()

    def _read_raw(self) -> Optional[str]:
        """The file's text, after the permission check; None if it does not exist."""
        # O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: no symlinks.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.filename, flags | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        except OSError as e:
            raise AuthDBError(
                "cannot open registration DB %s: %s" % (self.filename, e.strerror)
            ) from None
        try:
            st = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        if not stat.S_ISREG(st.st_mode):  # a directory, FIFO, socket or device
            os.close(fd)
            raise AuthDBError("registration DB %s is not a regular file" % self.filename)
        with os.fdopen(fd, "rb") as f:
            if st.st_mode & 0o077:
                raise AuthDBPermissionError(
                    "registration DB %s has mode %03o: it must not be readable or writable by "
                    "group or others (chmod 600 %s)"
                    % (self.filename, stat.S_IMODE(st.st_mode), self.filename)
                )
            data = f.read(MAX_DB_BYTES + 1)
        if len(data) > MAX_DB_BYTES:
            raise AuthDBError(
                "registration DB %s is larger than %d bytes" % (self.filename, MAX_DB_BYTES)
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthDBError("registration DB %s is not UTF-8 text" % self.filename) from None

    def _load_doc(self) -> Dict[str, Any]:
        raw = self._read_raw()
        if raw is None:
            return {
                "format": DB_FORMAT,
                "salt": secrets.token_hex(16),
                "registrations": None,
                "replay": {},
            }
        text = raw.strip()
        from kcore.uncommon.crypto import LEGACY_ENCRYPTION_PREFIX

        if text.startswith(LEGACY_ENCRYPTION_PREFIX):
            return self._load_legacy(text)
        try:
            doc = json.loads(text)
        except ValueError:
            raise AuthDBError("registration DB %s is damaged (not JSON)" % self.filename) from None
        if not isinstance(doc, dict) or doc.get("format") != DB_FORMAT:
            raise AuthDBError("%s is not a %s file" % (self.filename, DB_FORMAT))
        salt, blob, replay = doc.get("salt"), doc.get("registrations"), doc.get("replay")
        if not (
            isinstance(salt, str)
            and len(salt) == 32
            and all(c in "0123456789abcdef" for c in salt)
        ):
            raise AuthDBError("registration DB %s has a damaged salt" % self.filename)
        if blob is not None and not isinstance(blob, str):
            raise AuthDBError("registration DB %s has damaged registrations" % self.filename)
        if not isinstance(replay, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in replay.items()
        ):
            raise AuthDBError("registration DB %s has damaged replay state" % self.filename)
        return doc

    def _load_legacy(self, text: str) -> Dict[str, Any]:
        """The original's ``pcrypt1:`` DB: ``'<key>': SharedSecret(...)`` lines."""
        if not self.legacy:
            raise AuthDBError(
                "%s is an original-format (pcrypt1) registration DB; read it with legacy=True "
                "(k_auth --legacy); it is rewritten in the new format on the next change"
                % self.filename
            )
        from kcore.uncommon import DecryptionError, decrypt

        try:
            plain = decrypt(text, self.db_passwd, legacy=True)
        except DecryptionError:
            raise AuthDBError(
                "cannot decrypt registration DB %s: wrong DB password (or the "
                "file was modified)" % self.filename
            ) from None
        regs: Dict[str, SharedSecret] = {}
        for line in plain.replace("\t", " ").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or ": " not in line:
                continue
            key, value = line.split(": ", 1)
            regs[key.replace("'", "").replace('"', "").strip()] = SharedSecret.from_string(value)
        return {
            "format": DB_FORMAT,
            "salt": secrets.token_hex(16),
            "registrations": None,
            "replay": {},
            "_regs": regs,
        }

    def _registrations(self, doc: Dict[str, Any]) -> Dict[str, SharedSecret]:
        if "_regs" in doc:
            return doc["_regs"]
        blob = doc.get("registrations")
        if not blob:
            return {}
        key = _cache_key(self.db_passwd, blob)
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None:
            return dict(hit)
        from kcore.uncommon import DecryptionError, decrypt

        try:
            regs = loads_registrations(decrypt(blob, self.db_passwd))
        except DecryptionError:
            raise AuthDBError(
                "cannot decrypt registration DB %s: wrong DB password (or the "
                "file was modified)" % self.filename
            ) from None
        except AuthNError as e:
            raise AuthDBError(
                "registration DB %s holds a bad entry: %s" % (self.filename, e)
            ) from None
        with _cache_lock:
            _cache[key] = dict(regs)
            while len(_cache) > 8:
                _cache.popitem(last=False)
        return regs

    def _write_doc(
        self, doc: Dict[str, Any], regs: Optional[Dict[str, SharedSecret]] = None
    ) -> None:
        from kcore.common import write_file_atomic

        out = {k: doc[k] for k in ("format", "salt", "registrations", "replay")}
        if regs is not None:
            from kcore.uncommon import encrypt

            out["registrations"] = encrypt(dumps_registrations(regs), self.db_passwd)
            with _cache_lock:
                _cache[_cache_key(self.db_passwd, out["registrations"])] = dict(regs)
        write_file_atomic(
            self.filename, json.dumps(out, indent=1, sort_keys=True) + "\n", mode=0o600
        )

    # ------------------------------------------------------------ operations

    def registrations(self) -> Dict[str, SharedSecret]:
        """Every registration, keyed ``<host or override>:<user>``."""
        return self._registrations(self._load_doc())

    def register(self, ss: SharedSecret) -> int:
        """Add or replace a registration; returns how many the DB now holds."""
        with self._lock():
            doc = self._load_doc()
            regs = self._registrations(doc)
            regs[ss.lookup_key()] = ss
            self._write_doc(doc, regs)
            return len(regs)

    @staticmethod
    def _find(
        regs: Dict[str, SharedSecret],
        token_hostname: str,
        client_addr: Optional[str],
        username: str,
    ) -> Optional[SharedSecret]:
        for host in (token_hostname, client_addr, "*"):
            if host:
                hit = regs.get("%s:%s" % (host, username))
                if hit is not None:
                    return hit
        return None

    def lookup(
        self, token_hostname: str, client_addr: Optional[str] = None, username: str = ""
    ) -> Optional[SharedSecret]:
        return self._find(self.registrations(), token_hostname, client_addr, username)

    def _replay_id(self, salt: str, key: str) -> str:
        return hmac.new(bytes.fromhex(salt), key.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def verify(
        self,
        parsed: ParsedToken,
        command: str,
        client_addr: Optional[str],
        must_be_later_than_last_check: bool,
        max_time_delta: Optional[float],
        now: Optional[float] = None,
    ) -> VerificationResults:
        if not must_be_later_than_last_check:
            doc = self._load_doc()
            return self._check(doc, parsed, command, client_addr, max_time_delta, now)[0]
        with self._lock():
            doc = self._load_doc()
            result, ss = self._check(doc, parsed, command, client_addr, max_time_delta, now)
            if not result.ok or ss is None:
                return result
            replay = doc["replay"]
            rid = self._replay_id(doc["salt"], replay_key(ss, parsed.username, command))
            prev = replay.get(rid)
            if prev is not None and parsed.micros <= prev:
                return VerificationResults(
                    False, REPLAY_STATUS, ss.hostname, parsed.username, parsed.sent_time
                )
            replay[rid] = parsed.micros
            self._prune(replay, max_time_delta, now)
            self._write_doc(doc, doc.get("_regs"))
            return result

    def _check(
        self,
        doc: Dict[str, Any],
        parsed: ParsedToken,
        command: str,
        client_addr: Optional[str],
        max_time_delta: Optional[float],
        now: Optional[float],
    ) -> Tuple[VerificationResults, Optional[SharedSecret]]:
        ss = self._find(self._registrations(doc), parsed.hostname, client_addr, parsed.username)
        if ss is None:
            return VerificationResults(
                False,
                "could not find client registration for %s:%s"
                % (parsed.hostname, parsed.username),
            ), None
        fail = check_token(parsed, command, ss, client_addr, max_time_delta, now)
        if fail:
            return VerificationResults(
                False, fail, ss.hostname, parsed.username, parsed.sent_time
            ), None
        return results_ok(parsed, ss), ss

    @staticmethod
    def _prune(
        replay: Dict[str, int], max_time_delta: Optional[float], now: Optional[float]
    ) -> None:
        if not max_time_delta or max_time_delta > REPLAY_KEEP_SECONDS:
            return
        floor = int(((time.time() if now is None else now) - REPLAY_KEEP_SECONDS) * 1_000_000)
        for rid in [k for k, v in replay.items() if v < floor]:
            del replay[rid]
