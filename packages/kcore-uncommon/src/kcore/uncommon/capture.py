"""Capture what Python code prints to stdout/stderr.

Swaps ``sys.stdout``/``sys.stderr`` process-wide while active (that is what
``print`` consults), so output from other threads printing at the same time
is captured too: use it in tests and single-threaded tools.
"""

from __future__ import annotations

import io
import sys
from types import TracebackType
from typing import Any, Callable, Optional, Type


class Capture:
    """``with Capture() as cap: ...`` then ``cap.out``, ``cap.err``; ``str(cap)`` is out."""

    def __init__(self, strip: bool = True) -> None:
        self.strip = strip
        self._out = io.StringIO()
        self._err = io.StringIO()
        self._saved: Optional[tuple] = None
        self.result: Any = None
        self.exception: Optional[BaseException] = None

    def __enter__(self) -> Capture:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = self._out, self._err
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None

    def _get(self, buf: io.StringIO) -> str:
        text = buf.getvalue()
        return text.strip() if self.strip else text

    @property
    def out(self) -> str:
        return self._get(self._out)

    @property
    def err(self) -> str:
        return self._get(self._err)

    def __str__(self) -> str:
        return self.out


def capture_call(
    func: Callable[..., Any], *args: Any, strip: bool = True, **kwargs: Any
) -> Capture:
    """Run ``func(*args, **kwargs)`` capturing its output.

    Returns the :class:`Capture` with ``.result`` (the return value) and
    ``.exception`` (an ``Exception`` it raised, or None).
    """
    cap = Capture(strip=strip)
    with cap:
        try:
            cap.result = func(*args, **kwargs)
        except Exception as e:
            cap.exception = e
    return cap


def exec_wrapper(cmd: Callable[[], Any], locals: Any = None, strip: bool = True) -> Capture:
    """The original's name; it takes a *callable*, never a string of code.

    Running strings is how data becomes code, so a ``str`` raises TypeError.
    """
    if isinstance(cmd, (str, bytes)):
        raise TypeError(
            "exec_wrapper no longer executes strings of code; pass a callable "
            "(e.g. lambda: ...) or use capture_call(func, *args)"
        )
    if not callable(cmd):
        raise TypeError("exec_wrapper needs a callable, got %s" % type(cmd).__name__)
    return capture_call(cmd, strip=strip)
