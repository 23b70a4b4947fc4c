"""The exception tree of kcore.auth. No message ever carries a secret,
a password, a derived key or a valid token."""

from __future__ import annotations

from kcore.common.platform import KcoreError


class AuthNError(KcoreError):
    """Root of every error kcore.auth raises on purpose (original name kept)."""


class AuthArgumentError(AuthNError, ValueError):
    """A bad argument to a kcore.auth function (e.g. a NaN time window), not a bad token."""


class TokenRejected(AuthNError, ValueError):
    """A token did not verify; ``str()`` is the verification status."""


class AuthDBError(AuthNError, ValueError):
    """The registration DB cannot be read: wrong password, damaged, wrong format."""


class AuthDBPermissionError(AuthNError, PermissionError):
    """The registration DB is readable or writable by group/others."""


class MachineIdentityError(AuthNError, RuntimeError):
    """No trustworthy machine identity could be found (see the README)."""
