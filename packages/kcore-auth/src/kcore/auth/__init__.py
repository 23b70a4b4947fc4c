"""kcore.auth: machine-locked shared-secret tokens.

A client derives a secret from its password and this machine's identity
(scrypt), registers it once with a server, then sends per-command tokens:
``v3:<host>:<user>:<time>:<HMAC-SHA256>``. The server checks the address,
the time window, the MAC (constant time) and, after the MAC, that the token
is newer than any it accepted for that (host, user, command): state kept in
the registration DB file under a file lock, so threads and processes share it.

Importing this package reads no file and imports neither ``cryptography``
nor the CLI; the machine identity is read on first use and cached.
"""

from __future__ import annotations

__version__ = "0.1.0"

from kcore.auth.api import (
    DEBUG,
    DEFAULT_DB_FILENAME,
    REGISTRATION_DB,
    debug_msg,
    generate_shared_secret,
    get_shared_secret_from_db,
    hasher,
    now,
    register,
    safe_read,
    set_machine_secret,
    verify_token,
    verify_token_with_params,
)
from kcore.auth.db import RegistrationDB
from kcore.auth.errors import (
    AuthArgumentError,
    AuthDBError,
    AuthDBPermissionError,
    AuthNError,
    MachineIdentityError,
    TokenRejected,
)
from kcore.auth.identity import (
    get_machine_identity,
    get_machine_private_data,
    read_machine_identity,
    reset_machine_identity_cache,
)
from kcore.auth.tokens import (
    DEFAULT_MAX_TIME_DELTA,
    LEGACY_TOKEN_VERSION,
    REPLAY_GUARD,
    TOKEN_VERSION,
    ReplayGuard,
    SharedSecret,
    VerificationParams,
    VerificationResults,
    compare_hosts,
    generate_token,
    generate_token_given_shared_secret,
    parse_token,
    verify_token_given_shared_secret,
)
from kcore.auth.web import WebAuthHook, web_auth_hook
from kcore.common.platform import PY_VER

# The original's name for the in-memory replay table, which REPLAY_GUARD owns (and locks).
LAST_RECEIVED_TIMES = REPLAY_GUARD.last

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from kcore.auth.cli import main, parse_args


def __getattr__(name: str) -> object:
    if name in ("main", "parse_args"):
        from kcore.auth import cli

        return getattr(cli, name)
    raise AttributeError("module 'kcore.auth' has no attribute %r" % name)


__all__ = [
    "DEBUG",
    "DEFAULT_DB_FILENAME",
    "DEFAULT_MAX_TIME_DELTA",
    "LAST_RECEIVED_TIMES",
    "LEGACY_TOKEN_VERSION",
    "PY_VER",
    "REGISTRATION_DB",
    "REPLAY_GUARD",
    "TOKEN_VERSION",
    "AuthArgumentError",
    "AuthDBError",
    "AuthDBPermissionError",
    "AuthNError",
    "MachineIdentityError",
    "RegistrationDB",
    "ReplayGuard",
    "SharedSecret",
    "TokenRejected",
    "VerificationParams",
    "VerificationResults",
    "WebAuthHook",
    "compare_hosts",
    "debug_msg",
    "generate_shared_secret",
    "generate_token",
    "generate_token_given_shared_secret",
    "get_machine_identity",
    "get_machine_private_data",
    "get_shared_secret_from_db",
    "hasher",
    "main",
    "now",
    "parse_args",
    "parse_token",
    "read_machine_identity",
    "register",
    "reset_machine_identity_cache",
    "safe_read",
    "set_machine_secret",
    "verify_token",
    "verify_token_given_shared_secret",
    "verify_token_with_params",
    "web_auth_hook",
]
