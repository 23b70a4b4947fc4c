"""The names a hub script works with: ``from kcore.hub.script import kaithem, hub``.

While the hub runs a script, importing ``kaithem`` from here gives that
script's view of the hub's Kaithem object (what it subscribes, schedules,
claims or creates through it is released when the script is reloaded), and
``hub`` gives the hub's state machines and devices (:class:`ScriptHub`). The
same two names are also set as globals of the script, as in Kaithem's event
modules; importing them keeps linters and type checkers informed.
Outside a running script the import fails.
"""

from __future__ import annotations

import threading
from typing import Any, Dict

_current = threading.local()


def _push(env: Dict[str, Any]) -> Any:
    previous = getattr(_current, "env", None)
    _current.env = env
    return previous


def _pop(previous: Any) -> None:
    _current.env = previous


def __getattr__(name: str) -> Any:
    if name in ("kaithem", "hub"):
        env = getattr(_current, "env", None)
        if env is None:
            raise AttributeError(
                "kcore.hub.script.%s exists only while kcore-hub runs a script" % name
            )
        return env[name]
    raise AttributeError("module 'kcore.hub.script' has no attribute %r" % name)
