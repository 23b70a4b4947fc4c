"""Desktop pop-ups with zenity (CPython only): :func:`zmsg`, :func:`zinfo`,
:func:`zwarn`, :func:`zfatal`. Each message is also logged.

Not shipped to boards: it runs a program.
"""

import os
import subprocess
import sys
from typing import List, Optional

from kcore.common.logger import CRITICAL, ERROR, INFO, WARNING, log
from kcore.common.processes import popen

__all__ = ["zfatal", "zinfo", "zmsg", "zwarn"]


def _zenity_kind(level: int) -> str:
    if level >= ERROR:
        return "--error"
    if level >= WARNING:
        return "--warning"
    return "--info"


def zmsg(
    msg: str,
    level: int = INFO,
    timeout: float = 1.0,
    background: bool = True,
    send_log: bool = True,
    other_zenity_flags: Optional[List[str]] = None,
) -> bool:
    """Pop up ``msg`` with zenity for ``timeout`` seconds (and log it).

    Runs zenity from an argument list (no shell) with Pango markup off, and
    kills it after ``timeout``. Returns False, after logging why, when there
    is no zenity or no display; True once the dialog was started.
    """
    import shutil

    if send_log:
        log(msg, level)
    zenity = shutil.which("zenity")
    if zenity is None:
        log("zmsg: zenity is not installed; popup not shown", WARNING)
        return False
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        log("zmsg: no DISPLAY/WAYLAND_DISPLAY; popup not shown", WARNING)
        return False
    cmd = [zenity, _zenity_kind(level), "--no-markup", "--text", str(msg)]
    cmd.extend(other_zenity_flags or [])
    result = popen(cmd, timeout=timeout, background=background, stdin=subprocess.DEVNULL)
    if background:
        return True
    return result.pid is not None


def zinfo(msg: str, timeout: float = 1, background: bool = True) -> bool:
    return zmsg(msg, INFO, timeout, background)


def zwarn(msg: str, timeout: float = 4, background: bool = False) -> bool:
    return zmsg(msg, WARNING, timeout, background)


def zfatal(msg: str, timeout: float = 4) -> None:
    """Show ``msg`` as an error popup, then exit the program with it."""
    zmsg(msg, CRITICAL, timeout, background=False)
    sys.exit(msg)
