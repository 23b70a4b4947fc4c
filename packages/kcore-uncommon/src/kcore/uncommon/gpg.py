"""gpg symmetric encryption, isolated in a throw-away GnuPG home.

Each call gets a private temporary home directory (mode 0700), so the user's
``~/.gnupg`` is never touched; the passphrase travels on a pipe (never argv,
which every user can see, nor the environment); and only the agent of that
temporary home is stopped (``gpgconf --homedir ... --kill all``), never another process's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Optional, Union

from kcore.uncommon.errors import GpgError

MAX_PASSPHRASE = 4096


def _find(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise GpgError("gpg_symmetric needs the %r program (Debian: apt-get install gnupg)" % name)
    return path


def gpg_symmetric(
    plaintext: Union[str, bytes],
    password: str,
    decrypt: bool = True,
    timeout: Optional[float] = 30.0,
) -> str:
    """Encrypt (ASCII-armoured, AES256) or decrypt with a passphrase; returns text.

    Raises :class:`GpgError` on any failure (wrong passphrase, no gpg, ...).
    """
    if not password:
        raise ValueError("gpg_symmetric: an empty passphrase protects nothing")
    pw = password.encode("utf-8")
    if len(pw) > MAX_PASSPHRASE or b"\n" in pw:
        raise ValueError("gpg_symmetric: passphrase must be one line of at most 4096 bytes")
    data = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
    gpg = _find("gpg")
    home = tempfile.mkdtemp(prefix="kgpg-")  # created 0700
    rfd, wfd = os.pipe()
    try:
        os.write(wfd, pw + b"\n")
        os.close(wfd)
        wfd = -1
        args = [
            gpg,
            "--homedir",
            home,
            "--batch",
            "--yes",
            "--no-tty",
            "--quiet",
            "--no-permission-warning",
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            str(rfd),
        ]
        if decrypt:
            args += ["--decrypt"]
        else:
            args += ["--symmetric", "--armor", "--cipher-algo", "AES256"]
        try:
            r = subprocess.run(
                args,
                input=data,
                capture_output=True,
                pass_fds=(rfd,),
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GpgError("gpg timed out after %ss" % timeout) from None
        if r.returncode != 0:
            first = r.stderr.decode("utf-8", "replace").strip().splitlines()
            why = first[-1][:200] if first else "exit status %d" % r.returncode
            raise GpgError("gpg %s failed: %s" % ("decryption" if decrypt else "encryption", why))
        return r.stdout.decode("utf-8", "replace")
    finally:
        os.close(rfd)
        if wfd >= 0:
            os.close(wfd)
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run(
                [gpgconf, "--homedir", home, "--kill", "all"],
                capture_output=True,
                timeout=10,
                check=False,
            )
        shutil.rmtree(home, ignore_errors=True)
