"""Run programs and collect their output (CPython only): :func:`popen`,
:func:`popener` and their :class:`PopenOutput`.

Not shipped to boards: it needs subprocess and threading.
"""

import os
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence, Union

__all__ = ["PopenOutput", "popen", "popener"]


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
            return ""  # still running: no output yet
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
    except Exception as e:  # callers check .ok: report in the result, never raise
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
