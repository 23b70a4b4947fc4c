"""Host-side helpers (CPython only): subprocesses, argparse, secret-ish
arguments, zenity popups, random strings and an inter-process file lock.

Not shipped to boards: it needs subprocess, threading and fcntl.
"""

import argparse
import importlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from kcore.common.logger import CRITICAL, ERROR, INFO, WARNING, log
from kcore.common.platform import KcoreError


class SpecialArgError(KcoreError, ValueError):
    """A special argument (``$VAR``, ``file:...``, ``*key``) could not be resolved."""


class LockTimeout(KcoreError, TimeoutError):
    """A :class:`FileLock` could not be acquired within its timeout."""


# ------------------------------------------------------------------ popen


@dataclass
class PopenOutput:
    """Result of :func:`popen`; a background run fills it in later."""

    ok: Optional[bool] = None
    returncode: Optional[int] = None
    stdout: Any = None
    stderr: Any = None
    exception_str: Optional[str] = None
    pid: Optional[int] = None
    _finished: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for a background run to finish; True if it has."""
        return self._finished.wait(timeout)

    @property
    def out(self) -> Optional[str]:
        """None while running; ``"ERROR: exception: ..."`` if the run raised;
        stdout (or ``''``) if ok; else ``"ERROR: [<rc>] <stderr>"``."""
        if not self._finished.is_set():
            return None
        if self.exception_str:
            return "ERROR: exception: %s" % self.exception_str
        if self.ok:
            return self.stdout if self.stdout is not None else ""
        return "ERROR: [%s] %s" % (self.returncode, self.stderr if self.stderr is not None else "")

    def __str__(self) -> str:
        out = self.out
        if out is None:
            return ""  # still running: no output yet (the original raised TypeError)
        return out if isinstance(out, str) else str(out)


def _kill_and_reap(proc: "subprocess.Popen", group: bool) -> None:
    """Kill the child (its process group if it has its own) and reap it, so
    no zombie or stray pipe reader is left behind."""
    try:
        if group:
            os.killpg(proc.pid, 9)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=2)
    except subprocess.TimeoutExpired:
        # A grandchild still holds the pipes open: stop reading, just reap.
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        proc.wait()
    except (OSError, ValueError):
        proc.wait()


def _run(
    result: PopenOutput,
    args: Any,
    stdin_str: Any,
    timeout: Optional[float],
    strip: bool,
    passthrough: bool,
    kwargs: Dict[str, Any],
) -> None:
    kwargs = dict(kwargs)
    if "universal_newlines" not in kwargs:
        kwargs.setdefault("text", True)
    text = bool(kwargs.get("text") or kwargs.get("universal_newlines"))
    if not passthrough:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
    if stdin_str is not None:
        kwargs["stdin"] = subprocess.PIPE
        if text and isinstance(stdin_str, bytes):
            stdin_str = stdin_str.decode("utf-8")
        elif not text and isinstance(stdin_str, str):
            stdin_str = stdin_str.encode("utf-8")
    group = bool(kwargs.get("start_new_session") or kwargs.get("process_group") == 0)
    proc = None
    try:
        proc = subprocess.Popen(args, **kwargs)
        result.pid = proc.pid
        try:
            stdout, stderr = proc.communicate(input=stdin_str, timeout=timeout)
        except BaseException:
            _kill_and_reap(proc, group)
            raise
        if strip and text:
            stdout = stdout.strip() if stdout is not None else None
            stderr = stderr.strip() if stderr is not None else None
        result.stdout, result.stderr = stdout, stderr
        result.returncode = proc.returncode
        result.ok = proc.returncode == 0
    except Exception as e:  # the original's contract: report, don't raise
        result.ok = False
        result.returncode = 255
        result.stdout = result.stderr = None
        result.exception_str = str(e) or type(e).__name__
    finally:
        result._finished.set()


def popen(
    args: Union[str, Sequence[str]],
    stdin_str: Union[str, bytes, None] = None,
    timeout: Optional[float] = None,
    strip: bool = True,
    passthrough: bool = False,
    background: bool = False,
    **kwargs_to_Popen: Any,
) -> PopenOutput:
    """Run ``args`` and collect its output in a :class:`PopenOutput`.

    Text mode unless ``text=False``; ``strip`` trims text output;
    ``passthrough`` leaves stdout/stderr on the terminal. On a timeout the
    child is killed and reaped and the result has ``returncode=255`` and
    ``exception_str`` set. ``background=True`` returns at once and fills
    the object from a daemon thread (``.wait(timeout)`` to join it).
    """
    result = PopenOutput()
    call = (result, args, stdin_str, timeout, strip, passthrough, kwargs_to_Popen)
    if background:
        t = threading.Thread(target=_run, args=call, name="kcore-popen", daemon=True)
        t.start()
    else:
        _run(*call)
    return result


def popener(
    args: Union[str, Sequence[str]],
    stdin_str: Union[str, bytes, None] = None,
    timeout: Optional[float] = None,
    strip: bool = True,
    **kwargs: Any,
) -> Optional[str]:
    """Run ``args``; return :attr:`PopenOutput.out` (output or ``"ERROR: ..."``)."""
    return popen(args, stdin_str, timeout, strip, **kwargs).out


# -------------------------------------------------------- callers, argparse


def get_callers_module(levels: int = 1) -> Any:
    """The module object ``levels`` frames above the caller of this function."""
    import inspect

    try:
        frame = sys._getframe(levels + 1)
    except ValueError:
        return None
    return inspect.getmodule(frame)


def _caller_file(depth: int) -> Optional[str]:
    try:
        return sys._getframe(depth + 1).f_globals.get("__file__")
    except ValueError:
        return None


def get_initial_python_file_comment(filename: Optional[str] = None) -> str:
    """Text between the first two triple quotes of a Python file (the
    caller's file by default); ``''`` on any error. Both ``'''`` and
    ``\"\"\"`` are recognised (the first one found decides)."""
    if filename is None:
        filename = _caller_file(1)
    if not filename:
        return ""
    try:
        with open(filename, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeError):
        return ""
    starts = [(text.find(q), q) for q in ("'''", '"""') if text.find(q) >= 0]
    if not starts:
        return ""
    start, quote = min(starts)
    end = text.find(quote, start + 3)
    if end < 0:
        return ""
    return text[start + 3 : end]


class RawFormatterWithDefaults(
    argparse.RawTextHelpFormatter, argparse.ArgumentDefaultsHelpFormatter
):
    """Keep the help text's line breaks and append each option's default."""


def argparse_epilog(*args: Any, **kwargs: Any) -> argparse.ArgumentParser:
    """An ArgumentParser whose epilog is the calling file's leading comment
    (plus ``epilog_extra=``), formatted with :class:`RawFormatterWithDefaults`."""
    extra = kwargs.pop("epilog_extra", "")
    epilog = get_initial_python_file_comment(_caller_file(1))
    if extra:
        epilog = (epilog + "\n" + extra) if epilog else extra
    kwargs.setdefault("formatter_class", RawFormatterWithDefaults)
    kwargs.setdefault("epilog", epilog)
    return argparse.ArgumentParser(*args, **kwargs)


# ------------------------------------------------------------ special args


def _keymaster_query() -> Any:
    """The keymaster client, if kcore-auth (optional, another distribution)
    provides one: looked up by name so kcore-common never depends on it."""
    try:
        auth = importlib.import_module("kcore.auth")
    except ImportError:
        auth = None
    for name in ("keymaster_query", "query_km"):
        fn = getattr(auth, name, None)
        if fn is not None:
            return fn
    raise ImportError("'*key' arguments need the keymaster client: pip install 'kcore[auth]'")


def _identifier_prefix(text: str) -> int:
    n = 0
    for ch in text:
        if ch == "_" or ch.isalnum():
            n += 1
        else:
            break
    return n


def _resolve_env(
    value: str, argname: str, env_value_default: Optional[str], environ: Any = None
) -> str:
    if value.startswith("${"):
        end = value.find("}")
        if end < 0:
            raise SpecialArgError("%s: unterminated ${...} in its value" % argname)
        name, suffix = value[2:end], value[end + 1 :]
    else:
        n = _identifier_prefix(value[1:])
        name, suffix = value[1 : 1 + n], value[1 + n :]
    if not name:
        raise SpecialArgError("%s: '$' must be followed by an environment variable name" % argname)
    env = (os.environ if environ is None else environ).get(name)
    if env is None:
        if env_value_default is None:
            raise SpecialArgError(
                "%s: environment variable %r is not set (and no default given)" % (argname, name)
            )
        env = env_value_default
    return env + suffix


def special_arg_resolver(
    input_val: Any,
    argname: str = "argument",
    env_value_default: Optional[str] = None,
    environ: Any = None,
) -> Any:
    """Resolve the special forms of a command-line value:

    * ``-``: prompt for it without echo (getpass);
    * ``$NAME`` / ``${NAME}suffix``: from the environment (``env_value_default``
      if unset, else an error);
    * ``file:path`` / ``f:path``: the file's contents;
    * ``*key[/user[/password]]``: ask the keymaster (needs ``kcore[auth]``);
    * lists and dicts: element-wise (argname and default passed down);
    * falsy or anything else: returned unchanged.

    Errors are :class:`SpecialArgError` (a ValueError) naming the argument,
    never its value. ``environ`` (a mapping) replaces ``os.environ`` for ``$NAME``.
    """
    if not input_val:
        return input_val
    if isinstance(input_val, list):
        return [
            special_arg_resolver(v, "%s[%d]" % (argname, i), env_value_default, environ)
            for i, v in enumerate(input_val)
        ]
    if isinstance(input_val, dict):
        return {
            k: special_arg_resolver(v, "%s[%r]" % (argname, k), env_value_default, environ)
            for k, v in input_val.items()
        }
    if not isinstance(input_val, str):
        return input_val
    if input_val == "-":
        import getpass

        return getpass.getpass("Enter value for %s: " % argname)
    if input_val.startswith("$"):
        return _resolve_env(input_val, argname, env_value_default, environ)
    if input_val.startswith(("file:", "f:")):
        path = input_val.split(":", 1)[1]
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            return f.read()
    if input_val.startswith("*"):
        parts = input_val[1:].split("/", 2)
        if not parts[0]:
            raise SpecialArgError("%s: '*' must be followed by a keymaster key name" % argname)
        answer = _keymaster_query()(*parts)
        if answer is None or str(answer).startswith("ERROR"):
            raise SpecialArgError("%s: keymaster query for key %r failed" % (argname, parts[0]))
        return answer
    return input_val


def resolve_special_arg(args: Any, argname: str, required: bool = True) -> Any:
    """Resolve ``args.<argname>`` with :func:`special_arg_resolver`, store the
    result back on ``args`` and return it; error if required and empty."""
    value = special_arg_resolver(getattr(args, argname), argname)
    setattr(args, argname, value)
    if required and not value:
        raise SpecialArgError("%s: a value is required" % argname)
    return value


# ------------------------------------------------------------------ zenity


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


# ------------------------------------------------------------------ random

PRINTABLE_CHARSET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#%+,-./:=@_"


def random_printable(len: int = 16, charset: str = PRINTABLE_CHARSET) -> str:  # noqa: A002
    """A random string from ``charset``, drawn with :mod:`secrets` (fit for
    passwords and cookies; the original used :mod:`random`)."""
    import secrets

    if isinstance(len, bool) or not isinstance(len, int) or len < 0:
        raise ValueError("len must be an int >= 0, not %r" % (len,))
    if not charset:
        raise ValueError("charset must not be empty")
    return "".join([secrets.choice(charset) for _ in range(len)])


# ---------------------------------------------------------------- FileLock


class FileLock:
    """Exclusive lock between processes *and* threads, on a lock file.

    Uses ``fcntl.flock`` on ``path`` (created 0600, never deleted), so the
    kernel drops the lock when the holder dies: it cannot go stale. Not
    re-entrant. ``timeout=None`` waits forever; on expiry
    :class:`LockTimeout` (a TimeoutError) names the file.

        with FileLock("/run/user/1000/myjob.lock", timeout=5):
            ...
    """

    def __init__(self, path: str, timeout: Optional[float] = None, poll: float = 0.05) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0 or None, not %r" % (timeout,))
        if not poll > 0:
            raise ValueError("poll must be > 0, not %r" % (poll,))
        self.path = os.fspath(path)
        self.timeout = timeout
        self.poll = poll
        self._thread_lock = threading.Lock()
        self._fd: Optional[int] = None

    @property
    def locked(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self, timeout: Optional[float] = -1) -> "FileLock":
        """Take the lock (``timeout=-1``: the constructor's timeout)."""
        import fcntl

        if timeout == -1:
            timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise self._timeout_error(timeout)
        try:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            flags |= getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(self.path, flags, 0o600)
        except BaseException:
            self._thread_lock.release()
            raise
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    raise self._timeout_error(timeout)
                wait = self.poll if deadline is None else min(self.poll, deadline - now)
                time.sleep(wait)
        except BaseException:
            os.close(fd)
            self._thread_lock.release()
            raise
        self._fd = fd
        return self

    def _timeout_error(self, timeout: Optional[float]) -> LockTimeout:
        return LockTimeout(
            "could not lock %s within %ss: held by another process or thread"
            % (self.path, timeout)
        )

    def release(self) -> None:
        """Release the lock (closing the file drops the flock)."""
        fd = self._fd
        if fd is None:
            raise RuntimeError("FileLock(%r) is not held" % self.path)
        self._fd = None
        try:
            import fcntl

            # Unlock explicitly: a forked child may still hold a copy of fd.
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        finally:
            self._thread_lock.release()

    def __enter__(self) -> "FileLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return "FileLock(%r, locked=%s)" % (self.path, self.locked)


__all__ = [
    "FileLock",
    "LockTimeout",
    "PopenOutput",
    "RawFormatterWithDefaults",
    "SpecialArgError",
    "argparse_epilog",
    "get_callers_module",
    "get_initial_python_file_comment",
    "popen",
    "popener",
    "random_printable",
    "resolve_special_arg",
    "special_arg_resolver",
    "zfatal",
    "zinfo",
    "zmsg",
    "zwarn",
]
