"""Small process helpers: load a module from a file, fan out calls to threads,
find processes, read one keypress."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import threading
from types import ModuleType
from typing import Any, Callable, Iterable, List, Optional, Set

# ---------------------------------------------------------------- modules


def _module_name_for(filename: str) -> str:
    base = os.path.basename(filename)
    return base[:-3] if base.endswith(".py") else base


def load_file_as_module(filename: str, desired_module_name: Optional[str] = None) -> ModuleType:
    """Import a Python source file as a new module object (not added to sys.modules).

    The name defaults to the file's base name without ``.py`` (with the
    directory part it would not be a valid module name).
    """
    if not os.path.isfile(filename):
        raise FileNotFoundError("load_file_as_module: no such file: %s" % filename)
    name = desired_module_name or _module_name_for(filename)
    spec = importlib.util.spec_from_file_location(name, filename)
    if spec is None or spec.loader is None:
        raise ImportError("load_file_as_module: cannot load %s as Python source" % filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_file_into_module(source_filename: str, target_module: Any = None) -> bool:
    """Copy the public (non-dunder) names of a source file into ``target_module``
    (the caller's module by default). False if the file does not exist."""
    if not os.path.isfile(source_filename):
        return False
    if target_module is None:
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        name = caller.f_globals.get("__name__") if caller is not None else None
        target_module = sys.modules.get(name) if name else None
        if target_module is None:
            raise ValueError("load_file_into_module: cannot find the caller's module")
    src = load_file_as_module(source_filename)
    for key, value in vars(src).items():
        if not (key.startswith("__") and key.endswith("__")):
            setattr(target_module, key, value)
    return True


# ---------------------------------------------------------------- threads


class ParallelQueue:
    """Run calls in parallel threads and collect results in the order added.

    ``add(func, *args, **kwargs)`` starts a daemon thread at once (with
    ``single_threaded=True`` it runs the call at once in the caller's thread,
    and an exception propagates from ``add``). ``join(timeout)`` returns the
    results; unfinished calls give None and set ``timed_out``; a call that
    raised gives None and its exception lands in ``exceptions``.
    ``max_threads`` bounds how many threads run at once (``add`` waits for a
    free one).
    """

    def __init__(self, single_threaded: bool = False, max_threads: int = 32) -> None:
        if max_threads < 1:
            raise ValueError("max_threads must be >= 1")
        self.single_threaded = single_threaded
        self.timed_out = False
        self._slots = threading.BoundedSemaphore(max_threads)
        self._threads: List[Optional[threading.Thread]] = []
        self._results: List[Any] = []
        self.exceptions: List[Optional[BaseException]] = []

    def _run(self, index: int, func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            self._results[index] = func(*args, **kwargs)
        except Exception as e:
            self.exceptions[index] = e
        finally:
            self._slots.release()

    def add(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
        """Queue ``func(*args, **kwargs)``; returns its index in the result list."""
        index = len(self._results)
        self._results.append(None)
        self.exceptions.append(None)
        if self.single_threaded:
            self._threads.append(None)
            try:
                self._results[index] = func(*args, **kwargs)
            except Exception as e:
                self.exceptions[index] = e
                raise
            return index
        self._slots.acquire()
        t = threading.Thread(
            target=self._run,
            args=(index, func, args, kwargs),
            daemon=True,
            name="ParallelQueue-%d" % index,
        )
        self._threads.append(t)
        t.start()
        return index

    def join(self, timeout: Optional[float] = None) -> List[Any]:
        """Wait for every call (``timeout`` seconds overall); results in add order."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            if t is None:
                continue
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            t.join(left)
            if t.is_alive():
                self.timed_out = True
        return list(self._results)


def para_queue(
    list_of_callables: Iterable[Callable[[], Any]], timeout: Optional[float] = None
) -> List[Any]:
    """Call each callable in its own thread; results in order (None if unfinished)."""
    pq = ParallelQueue()
    for func in list_of_callables:
        pq.add(func)
    return pq.join(timeout)


# ---------------------------------------------------------------- processes


def pgrep(srch: str, proc_root: str = "/proc") -> Set[str]:
    """PIDs (as strings) whose command line contains ``srch``; empty set on error.

    Reads /proc directly: no subprocess, and the caller's string is never
    interpreted as a pattern.
    """
    out: Set[str] = set()
    me = str(os.getpid())
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return out
    for pid in entries:
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open(os.path.join(proc_root, pid, "cmdline"), "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if cmd and srch in cmd:
            out.add(pid)
    return out


# ---------------------------------------------------------------- terminal


def getch(prompt: Optional[str] = None, echo: bool = True) -> str:
    """Read one keypress from the terminal (cbreak mode, restored afterwards)."""
    import termios
    import tty

    if prompt:
        sys.stdout.write(prompt)
        sys.stdout.flush()
    fd = sys.stdin.fileno()
    if not os.isatty(fd):
        ch = sys.stdin.read(1)
    else:
        old = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            ch = sys.stdin.read(1)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
    if echo:
        sys.stdout.write(ch + ("\n" if prompt else ""))
        sys.stdout.flush()
    return ch
