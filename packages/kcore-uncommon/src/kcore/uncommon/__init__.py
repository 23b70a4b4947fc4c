"""kcore.uncommon: CPython helpers that most kcore programs do not need.

Authenticated password encryption (scrypt + AES-GCM), capturing printed
output, a verified root privilege drop, a token-bucket rate limiter, module
loading, thread fan-out. ``popen``/``FileLock`` are kcore.common's,
re-exported here. (Files of dataclasses: :mod:`kcore.persister`.)

Importing this package opens nothing and does not import ``cryptography``
(the crypto functions import it when called).
"""

from __future__ import annotations

__version__ = "0.1.0"

from kcore.common.platform import PY_VER
from kcore.uncommon.capture import Capture, capture_call, exec_wrapper
from kcore.uncommon.crypto import (
    DEFAULT_SALT,
    ENCRYPTION_PREFIX,
    LEGACY_ENCRYPTION_PREFIX,
    decrypt,
    decrypt_bytes,
    derive_key,
    encrypt,
    is_encrypted,
    symmetric_crypt,
)
from kcore.uncommon.errors import (
    DecryptionError,
    GpgError,
    PrivilegeDropError,
    UncommonError,
)
from kcore.uncommon.misc import (
    ParallelQueue,
    getch,
    load_file_as_module,
    load_file_into_module,
    para_queue,
    pgrep,
)
from kcore.uncommon.privileges import drop_privileges
from kcore.uncommon.ratelimit import RateLimiter

# Served from kcore.common on first use (one implementation, not a copy).
_FROM_COMMON = ("FileLock", "popen", "popener", "PopenOutput")

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from kcore.common import FileLock, PopenOutput, popen, popener
    from kcore.uncommon.gpg import gpg_symmetric


def __getattr__(name: str) -> object:
    if name in _FROM_COMMON:
        import kcore.common

        value = getattr(kcore.common, name)
    elif name == "gpg_symmetric":
        from kcore.uncommon.gpg import gpg_symmetric as value
    else:
        raise AttributeError("module 'kcore.uncommon' has no attribute %r" % name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_SALT",
    "ENCRYPTION_PREFIX",
    "LEGACY_ENCRYPTION_PREFIX",
    "PY_VER",
    "Capture",
    "DecryptionError",
    "FileLock",
    "GpgError",
    "ParallelQueue",
    "PopenOutput",
    "PrivilegeDropError",
    "RateLimiter",
    "UncommonError",
    "capture_call",
    "decrypt",
    "decrypt_bytes",
    "derive_key",
    "drop_privileges",
    "encrypt",
    "exec_wrapper",
    "getch",
    "gpg_symmetric",
    "is_encrypted",
    "load_file_as_module",
    "load_file_into_module",
    "para_queue",
    "pgrep",
    "popen",
    "popener",
    "symmetric_crypt",
]
