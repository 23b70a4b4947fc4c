"""Password-based symmetric encryption: scrypt + AES-256-GCM, versioned text.

Why this shape: with a fixed salt equal passwords give equal keys everywhere,
and an ``'ERROR: ...'`` string returned on failure can be mistaken for
plaintext. So every message gets its own random salt, the key comes from a
memory-hard KDF, the ciphertext is authenticated, and failures raise
:class:`DecryptionError`.

Text format (ASCII, one line)::

    kcrypt1:<log2 N>.<r>.<p>:<salt, base64url>:<nonce + ciphertext + tag, base64url>

Everything before the last ``:`` is authenticated as associated data, so the
KDF cost cannot be tampered with. The original ``pcrypt1:`` format (PBKDF2 +
Fernet) can still be *decrypted* with ``legacy=True``; it is never written.

``cryptography`` is imported inside the functions, never at module import.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Optional, Union

from kcore.uncommon.errors import DecryptionError

ENCRYPTION_PREFIX = "kcrypt1:"
LEGACY_ENCRYPTION_PREFIX = "pcrypt1:"
DEFAULT_SALT = "its-bland-without-salt"  # the original's fixed salt: legacy decryption only
DEFAULT_LOG2_N = 15  # scrypt N = 32768, r = 8: 32 MiB and ~0.1 s per derivation
DEFAULT_R = 8
DEFAULT_P = 1
# The only scrypt costs encrypt() writes and decrypt() accepts: r = 8, p = 1 and
# N = 2^10 .. 2^15 (cheaper than the default is fine, for tests and small boards).
# A ciphertext naming anything costlier is refused before any work: its header
# is attacker-controlled until the tag is checked, which needs the key.
MIN_LOG2_N = 10
MAX_LOG2_N = DEFAULT_LOG2_N
SALT_BYTES = 16
NONCE_BYTES = 12
MAX_KDF_MEMORY = 256 * 1024 * 1024  # derive_key(): the most a caller may ask for
LEGACY_PBKDF2_ITERATIONS = 150_000

_WRONG = "invalid password or salt, or the data was modified"
_B64 = r"[A-Za-z0-9_-]+"
_FORMAT = re.compile(
    r"^kcrypt1:([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{1,2}):(%s):(%s)$" % (_B64, _B64)
)

Bytesish = Union[str, bytes]


def _need_cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:  # pragma: no cover - it is a declared dependency
        raise ImportError("kcore.uncommon encryption needs: pip install cryptography") from None


def _to_bytes(value: Bytesish, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(value).__name__))


def _password_bytes(password: Bytesish) -> bytes:
    pw = _to_bytes(password, "password")
    if not pw:
        raise ValueError("an empty password protects nothing: refusing to use it")
    return pw


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("encrypted text is damaged (bad base64)") from None


def _check_cost(log2_n: int, r: int, p: int) -> None:
    """The bounds of :func:`derive_key` (a cost the caller chose)."""
    if not (10 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError("scrypt cost out of range: log2_n 10..22, r 1..32, p 1..16")
    if 128 * (1 << log2_n) * r > MAX_KDF_MEMORY:
        raise ValueError("scrypt cost needs more than %d MiB" % (MAX_KDF_MEMORY >> 20))


def _check_message_cost(log2_n: int, r: int, p: int) -> None:
    """The costs a ``kcrypt1:`` message may carry (see MIN_LOG2_N)."""
    if not (MIN_LOG2_N <= log2_n <= MAX_LOG2_N and r == DEFAULT_R and p == DEFAULT_P):
        raise ValueError(
            "scrypt cost %d.%d.%d not supported: log2_n %d..%d, r %d, p %d"
            % (log2_n, r, p, MIN_LOG2_N, MAX_LOG2_N, DEFAULT_R, DEFAULT_P)
        )


def derive_key(
    password: Bytesish,
    salt: bytes,
    length: int = 32,
    log2_n: int = DEFAULT_LOG2_N,
    r: int = DEFAULT_R,
    p: int = DEFAULT_P,
) -> bytes:
    """scrypt(password, salt): a key that is slow and memory-hungry to brute-force."""
    _need_cryptography()
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    _check_cost(log2_n, r, p)
    return Scrypt(salt=salt, length=length, n=1 << log2_n, r=r, p=p).derive(
        _password_bytes(password)
    )


def encrypt(
    plaintext: Bytesish,
    password: Bytesish,
    salt: Optional[Bytesish] = None,
    *,
    log2_n: int = DEFAULT_LOG2_N,
    r: int = DEFAULT_R,
    p: int = DEFAULT_P,
) -> str:
    """Encrypt to a ``kcrypt1:`` line. A fresh random salt is drawn every call;
    ``salt`` (optional) is extra application context that decryption must repeat."""
    _need_cryptography()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = _to_bytes(plaintext, "plaintext")
    extra = _to_bytes(salt, "salt") if salt is not None else b""
    _check_message_cost(log2_n, r, p)
    rand_salt = os.urandom(SALT_BYTES)
    key = derive_key(password, rand_salt + extra, 32, log2_n, r, p)
    header = "%s%d.%d.%d:%s:" % (ENCRYPTION_PREFIX, log2_n, r, p, _b64e(rand_salt))
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, data, header.encode("ascii"))
    return header + _b64e(nonce + sealed)


def decrypt_bytes(
    encrypted: Bytesish,
    password: Bytesish,
    salt: Optional[Bytesish] = None,
    *,
    legacy: bool = False,
) -> bytes:
    """Decrypt a ``kcrypt1:`` text (or, with ``legacy=True``, a ``pcrypt1:`` one)."""
    _need_cryptography()
    text = encrypted.decode("ascii", "replace") if isinstance(encrypted, bytes) else encrypted
    if not isinstance(text, str):
        raise TypeError("encrypted must be str or bytes, not %s" % type(encrypted).__name__)
    text = text.strip()
    if text.startswith(LEGACY_ENCRYPTION_PREFIX):
        if not legacy:
            raise DecryptionError(
                "this is the original kcore 'pcrypt1:' format (PBKDF2, fixed salt); "
                "decrypting it needs legacy=True"
            )
        return _legacy_decrypt(text, password, salt)
    m = _FORMAT.match(text)
    if not m:
        if text.startswith(ENCRYPTION_PREFIX):
            raise DecryptionError("encrypted text is damaged or truncated")
        raise DecryptionError("not encrypted text: expected a '%s' prefix" % ENCRYPTION_PREFIX)
    log2_n, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        _check_message_cost(log2_n, r, p)
    except ValueError as e:
        raise DecryptionError("encrypted text asks for an unsupported KDF cost: %s" % e) from None
    rand_salt = _b64d(m.group(4))
    body = _b64d(m.group(5))
    if len(rand_salt) != SALT_BYTES or len(body) < NONCE_BYTES + 16:
        raise DecryptionError("encrypted text is damaged or truncated")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    extra = _to_bytes(salt, "salt") if salt is not None else b""
    key = derive_key(password, rand_salt + extra, 32, log2_n, r, p)
    header = text[: text.rindex(":") + 1]
    try:
        return AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], header.encode("ascii"))
    except InvalidTag:
        raise DecryptionError(_WRONG) from None


def _legacy_decrypt(text: str, password: Bytesish, salt: Optional[Bytesish]) -> bytes:
    from cryptography.fernet import Fernet, InvalidToken
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    salt_b = _to_bytes(DEFAULT_SALT if salt is None else salt, "salt")
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=salt_b, iterations=LEGACY_PBKDF2_ITERATIONS
    )
    key = base64.urlsafe_b64encode(kdf.derive(_password_bytes(password)))
    try:
        return Fernet(key).decrypt(text[len(LEGACY_ENCRYPTION_PREFIX) :].encode("ascii"))
    except (InvalidToken, ValueError, UnicodeEncodeError):
        raise DecryptionError(_WRONG) from None


def decrypt(
    encrypted: Bytesish,
    password: Bytesish,
    salt: Optional[Bytesish] = None,
    *,
    legacy: bool = False,
) -> str:
    """Like :func:`decrypt_bytes`, decoding the plaintext as UTF-8."""
    data = decrypt_bytes(encrypted, password, salt, legacy=legacy)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionError("decrypted data is not UTF-8 text: use decrypt_bytes()") from None


_decrypt_text = decrypt  # symmetric_crypt's `decrypt` argument shadows the function


def is_encrypted(data: Bytesish) -> bool:
    """True if ``data`` looks like kcrypt1 or pcrypt1 text."""
    head = data[:8]
    if isinstance(head, bytes):
        head = head.decode("ascii", "replace")
    return head in (ENCRYPTION_PREFIX, LEGACY_ENCRYPTION_PREFIX)


def symmetric_crypt(
    data: Bytesish,
    password: Bytesish,
    salt: Optional[Bytesish] = None,
    decrypt: Optional[bool] = None,
    *,
    legacy: bool = False,
) -> str:
    """The original entry point: ``decrypt=None`` decides by the prefix.

    Errors raise :class:`DecryptionError`: an ``'ERROR: ...'`` string returned
    instead could be mistaken for the plaintext.
    """
    if decrypt is None:
        decrypt = is_encrypted(data)
    if decrypt:
        return _decrypt_text(data, password, salt, legacy=legacy)
    return encrypt(data, password, salt)
