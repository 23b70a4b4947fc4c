"""The one exception tree of kcore.uncommon.

Every class also subclasses the builtin a caller would naturally catch
(``except ValueError`` keeps working for a wrong password).
"""

from __future__ import annotations

from kcore.common.platform import KcoreError


class UncommonError(KcoreError):
    """Root of the errors kcore.uncommon raises on purpose."""


class DecryptionError(UncommonError, ValueError):
    """Wrong password or salt, or damaged/unsupported ciphertext.

    The message never contains the password, the key or the plaintext.
    """


class PrivilegeDropError(UncommonError, PermissionError):
    """Dropping root failed, or root could be regained afterwards."""


class GpgError(UncommonError, RuntimeError):
    """gpg is missing or refused the operation (message has no secrets)."""
