"""Small helpers the namespaces share: naming a callable in messages, weak
references to callables, error reporting that never recurses, and the
default instance's namespaces."""

from __future__ import annotations

import os
import signal
import subprocess
import weakref
from typing import Any, Callable, Optional

from kcore.common import logger as _logger


def describe(fn: Any) -> str:
    """A short name for a callable, for logs and error posts."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return name or type(fn).__name__


def weak_callable(
    fn: Callable[..., Any], on_dead: Optional[Callable[[Any], Any]] = None
) -> Callable[[], Any]:
    """A weak reference to ``fn``: a ``WeakMethod`` for bound methods (a
    plain reference to one dies at once), else ``weakref.ref``. Calling it
    gives ``fn`` or None once collected."""
    try:
        return weakref.WeakMethod(fn, on_dead)  # type: ignore[arg-type]
    except TypeError:
        return weakref.ref(fn, on_dead)


def report(
    message: str,
    handler: Optional[Callable[..., Any]] = None,
    *args: Any,
) -> None:
    """Log ``message`` as an error, then call ``handler(*args)`` (typically a
    bus post); a failing handler is logged, never raised, so reporting an
    error cannot cause another report."""
    _logger.log_error(message)
    if handler is None:
        return
    try:
        handler(*args)
    except Exception as exc:  # reporting must not recurse
        _logger.log_warning("could not report an error: %r" % (exc,))


def stop_process_group(proc: subprocess.Popen[bytes], grace: float = 0.0) -> None:
    """End a child started with ``start_new_session=True`` and everything it
    started: SIGTERM and ``grace`` seconds to exit (if ``grace`` > 0), then
    SIGKILL to the whole group; the child is reaped."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if sig == signal.SIGTERM and grace <= 0:
            continue
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def default_namespace(name: str) -> Any:
    """``kaithem.<name>`` of the process-wide default instance: what the
    module-level functions of each namespace act on."""
    from kcore.kaithem import default

    return getattr(default(), name)


def bind_class(cls: type, kaithem: Any) -> type:
    """A subclass of ``cls`` whose constructor defaults ``kaithem=`` to the
    given instance (``kaithem.states.StateMachine``, ``kaithem.alerts.Alert``),
    named like ``cls``."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kaithem", kaithem)
        cls.__init__(self, *args, **kwargs)  # type: ignore[misc]

    bound = type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__})
    bound.__qualname__ = cls.__qualname__
    bound.__module__ = cls.__module__
    return bound
