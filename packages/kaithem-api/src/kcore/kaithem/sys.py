"""``kaithem.sys``: run programs and find them.

Commands are argument lists (``["ls", "-l", path]``: no quoting, and no shell
to inject commands into through a value); a string is run by the shell only
with an explicit ``shell=True``.
Background children are waited for by a small reaper thread each, so they
never linger as zombies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from typing import IO, Any, Mapping, Sequence, Union

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError
from kcore.kaithem._support import stop_process_group

__all__ = [
    "CommandError",
    "CommandTimeout",
    "Namespace",
    "shellex",
    "shellexbg",
    "which",
]

Command = Union[str, Sequence[Union[str, "os.PathLike[str]"]]]
_Stream = Union[None, int, IO[Any]]


class CommandError(KcoreError, subprocess.CalledProcessError):
    """The command exited with a non-zero status. ``returncode`` and ``output``
    are set as by :class:`subprocess.CalledProcessError`; ``cmd``, the
    message, ``args`` and ``repr()`` name only the program, never its
    arguments or environment, since those may hold secrets."""

    def __init__(self, returncode: int, cmd: Any, output: Any = None) -> None:
        program = _program(cmd)
        super().__init__(returncode, program, output=output)
        self.args = (str(self),)

    def __str__(self) -> str:
        return "command %r exited with status %s" % (self.cmd, self.returncode)


class CommandTimeout(KcoreError, subprocess.TimeoutExpired):
    """The command ran longer than ``timeout`` seconds and was killed with
    its whole process group. Like :class:`CommandError`, it names only the
    program."""

    def __init__(self, cmd: Any, timeout: float, output: Any = None) -> None:
        super().__init__(_program(cmd), timeout, output=output)
        self.args = (str(self),)

    def __str__(self) -> str:
        return "command %r timed out after %s seconds and was killed" % (self.cmd, self.timeout)


def _program(cmd: Any) -> str:
    if isinstance(cmd, (str, bytes)):
        words = str(cmd).split()
        return words[0] if words else ""
    try:
        return os.fspath(cmd[0])
    except (TypeError, IndexError):
        return repr(cmd)


def _argv(cmd: Command, shell: bool) -> Any:
    if shell:
        if not isinstance(cmd, str):
            raise TypeError("with shell=True the command must be a str, not %s" % type(cmd))
        return cmd
    if isinstance(cmd, (str, bytes)):
        raise TypeError(
            "the command must be an argument list such as ['ls', '-l'], not a string; "
            "pass shell=True to have a string interpreted by the shell"
        )
    argv = []
    for a in cmd:
        arg = os.fspath(a) if isinstance(a, (str, os.PathLike)) else None
        if not isinstance(arg, str):
            raise TypeError("command arguments must be str or path-like, not %r" % type(a))
        argv.append(arg)
    if not argv:
        raise ValueError("the command is an empty list")
    return argv


def shellex(
    cmd: Command,
    *,
    shell: bool = False,
    timeout: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> bytes:
    """Run ``cmd`` and return its standard output as bytes (as the original).

    ``cmd`` is an argument list; a string is accepted only with
    ``shell=True`` and then run by ``/bin/sh``. A non-zero exit raises
    :class:`CommandError`; running past ``timeout`` seconds kills the
    command's whole process group (what it started too) and raises
    :class:`CommandTimeout`. Standard error is not
    captured (it goes where this process's goes).
    """
    argv = _argv(cmd, shell)
    # Its own process group, so a timeout kills what the command started too.
    proc = subprocess.Popen(  # argv list; shell only when asked
        argv,
        shell=shell,
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_group(proc)
        out, _ = proc.communicate()
        _logger.log_warning(
            "command %r timed out after %s seconds; its process group was killed"
            % (_program(argv), timeout)
        )
        raise CommandTimeout(argv, timeout or 0.0, output=out) from None
    except BaseException:  # KeyboardInterrupt and the like: leave nothing behind
        stop_process_group(proc)
        raise
    if proc.returncode != 0:
        raise CommandError(proc.returncode, argv, output=out)
    return out  # type: ignore[no-any-return]


def _reap(proc: subprocess.Popen[bytes]) -> None:
    proc.wait()


def shellexbg(
    cmd: Command,
    *,
    shell: bool = False,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdout: _Stream = None,
    stderr: _Stream = None,
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in the background and return its ``Popen`` at once.

    Same command rules as :func:`shellex`. Output goes where this process's
    goes unless ``stdout``/``stderr`` say otherwise (e.g.
    ``subprocess.DEVNULL``); stdin is ``/dev/null``. A daemon thread waits
    for the child, so it is reaped as soon as it exits (no zombie); calling
    ``wait()``/``poll()`` on the returned object yourself is still fine.
    """
    argv = _argv(cmd, shell)
    proc = subprocess.Popen(  # argv list; shell only when asked
        argv,
        shell=shell,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        cwd=cwd,
        env=dict(env) if env is not None else None,
    )
    threading.Thread(
        target=_reap, args=(proc,), name="kaithem-reap-%d" % proc.pid, daemon=True
    ).start()
    return proc


def which(exe: str) -> str | None:
    """The full path of program ``exe`` found on ``PATH`` (``PATHEXT`` on
    Windows), or None; like the Unix ``which`` command."""
    if not isinstance(exe, str) or not exe:
        raise ValueError("exe must be a non-empty str, not %r" % (exe,))
    return shutil.which(exe)


class Namespace:
    """``kaithem.sys`` of one Kaithem instance (the functions keep no state)."""

    CommandError = CommandError
    CommandTimeout = CommandTimeout

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem

    shellex = staticmethod(shellex)
    shellexbg = staticmethod(shellexbg)
    which = staticmethod(which)
