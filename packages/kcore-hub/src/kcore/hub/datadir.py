"""The hub's data directory: one hub at a time, its id, its secrets, its saved state.

Layout (created 0700): ``hub.lock`` (held while the hub runs), ``hub.pid``,
``hub_id``, ``state.json`` (tag values and machine states, written
atomically), ``users/users.json`` (kaithem.users: scrypt hashes, 0600) and
``data/`` (``kaithem.persist``).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import stat
from typing import Any, Dict

from kcore.common.platform import KcoreError

STATE_FILE = "state.json"
STATE_VERSION = 1
MIN_TOKEN_CHARS = 16
MAX_SECRET_BYTES = 4096


class HubError(KcoreError, RuntimeError):
    """The hub cannot start: the message says why and what to do."""


class DataDirInUse(HubError):
    """Another hub holds the data directory."""


def default_data_dir() -> str:
    """``$XDG_DATA_HOME/kcore-hub`` (default ``~/.local/share/kcore-hub``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "kcore-hub")


class DataDir:
    """The data directory of one running hub (:meth:`open` locks it)."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(os.path.expanduser(path))
        self._lock: Any = None

    def file(self, *parts: str) -> str:
        return os.path.join(self.path, *parts)

    def open(self) -> None:
        """Create the directory (0700) and take its lock, or raise
        :class:`DataDirInUse` naming the process that holds it."""
        from kcore.common import FileLock, LockTimeout

        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
        except OSError as e:
            raise HubError(
                "cannot create data directory %s: %s" % (self.path, e.strerror)
            ) from None
        lock = FileLock(self.file("hub.lock"), timeout=0)
        try:
            lock.acquire()
        except LockTimeout:
            pid = _read_small(self.file("hub.pid")).strip() or "unknown"
            raise DataDirInUse(
                "data directory %s is in use by another kcore-hub (pid %s); stop it or "
                "start this one with another --data directory" % (self.path, pid)
            ) from None
        self._lock = lock
        _write_private(self.file("hub.pid"), "%d\n" % os.getpid())

    def close(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            try:
                os.unlink(self.file("hub.pid"))
            except OSError:
                pass
            lock.release()

    # -- identity ----------------------------------------------------------

    def hub_id(self) -> str:
        """The id this hub had before, or a new one (host name + random suffix)."""
        path = self.file("hub_id")
        known = _read_small(path).strip()
        if known:
            return known
        host = "".join(c if c.isalnum() or c in "-_." else "-" for c in socket.gethostname())
        new = "%s-%s" % ((host or "hub")[:48], secrets.token_hex(3))
        _write_private(path, new + "\n")
        return new

    # -- saved state -----------------------------------------------------------

    def load_state(self) -> Dict[str, Any]:
        """``{"tags": {name: {"value", "timestamp"}}, "machines": {name: state}}``;
        empty when there is none. A damaged file is kept aside, not lost."""
        path = self.file(STATE_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError("not a kcore-hub state file")
            tags = data.get("tags") or {}
            machines = data.get("machines") or {}
            if not isinstance(tags, dict) or not isinstance(machines, dict):
                raise ValueError("not a kcore-hub state file")
            return {"tags": tags, "machines": machines}
        except FileNotFoundError:
            return {"tags": {}, "machines": {}}
        except (OSError, ValueError) as e:
            aside = path + ".damaged"
            os.replace(path, aside)
            from kcore.common import logger as _logger

            _logger.log_error("hub: %s was unreadable (%s); moved to %s" % (path, e, aside))
            return {"tags": {}, "machines": {}}

    def save_state(self, tags: Dict[str, Any], machines: Dict[str, str]) -> None:
        """Write the state atomically (temporary file, fsync, rename), 0600."""
        from kcore.common.fileio import write_file_atomic

        data = {"version": STATE_VERSION, "tags": tags, "machines": machines}
        text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False)
        write_file_atomic(self.file(STATE_FILE), text, mode=0o600)


# ------------------------------------------------------------------ secrets


def read_secret_file(path: str, what: str) -> str:
    """The first line of a secret file, which must be private to its owner."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise HubError("%s file %s does not exist" % (what, path)) from None
    except OSError as e:
        raise HubError("cannot read %s file %s: %s" % (what, path, e.strerror)) from None
    if not stat.S_ISREG(st.st_mode):
        raise HubError("%s file %s is not a regular file" % (what, path))
    if st.st_mode & 0o077:
        raise HubError(
            "%s file %s is readable by other users (mode %03o); run: chmod 600 %s"
            % (what, path, st.st_mode & 0o777, path)
        )
    text = _read_small(path)
    lines = text.splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        raise HubError("%s file %s is empty" % (what, path))
    return value


def api_token(path: str) -> str:
    """The API token in ``path``, created (0600, random) if the file is missing."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(32) + "\n")
        from kcore.common import logger as _logger

        _logger.log_info("hub: created API token file %s" % path)
    token = read_secret_file(path, "API token")
    if len(token) < MIN_TOKEN_CHARS:
        raise HubError(
            "the API token in %s is too short (use %d+ characters)" % (path, MIN_TOKEN_CHARS)
        )
    return token


def _read_small(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(MAX_SECRET_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def _write_private(path: str, text: str) -> None:
    from kcore.common.fileio import write_file_atomic

    write_file_atomic(path, text, mode=0o600)


def generate_password(words: Any, count: int = 5) -> str:
    """A passphrase of ``count`` random words (the EFF list: ~64 bits for 5)."""
    return "-".join(secrets.choice(words) for _ in range(count))
