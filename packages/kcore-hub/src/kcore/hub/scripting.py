"""Automation scripts: Python files run against the hub's ``kaithem`` object.

Each configured file runs as a module of its own, with ``kaithem`` (a
:class:`~kcore.hub.scope.ScopedKaithem`) and ``hub`` (a :class:`ScriptHub`) as
globals, also importable from :mod:`kcore.hub.script`. The runner checks the
files every second; a changed file is reloaded: everything the old version
subscribed, scheduled, claimed or created through ``kaithem`` is released
first. A script that raises, while loading or later in a callback, is
recorded (``Script.status``, ``Script.error``, shown on the hub's page), logged
and posted on the bus topic ``/system/errors/scripts``; the hub keeps running.
Scripts are the operator's own code: they run with the hub's rights.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import traceback
import types
from typing import Any, Dict, List, Optional, Tuple

from kcore.common import logger as _logger
from kcore.hub import script as _script_env
from kcore.hub.scope import Scope, ScopedKaithem

ERROR_TOPIC = "/system/errors/scripts"
MAX_SCRIPT_BYTES = 4 * 1024 * 1024
CHECK_INTERVAL = 1.0


class ScriptHub:
    """What a script sees as ``hub``: ``id``, ``machines`` (name -> the
    configured :class:`kcore.kaithem.states.StateMachine`), ``devices`` (the
    hub's button, LED and strip, see :class:`kcore.hub.devices.HubDevices`),
    ``data_dir`` and ``title``."""

    def __init__(
        self, hub_id: str, machines: Dict[str, Any], devices: Any, data_dir: str, title: str
    ) -> None:
        self.id = hub_id
        self.machines = machines
        self.devices = devices
        self.data_dir = data_dir
        self.title = title

    def __repr__(self) -> str:
        return "<hub %s>" % self.id


def _signature(path: str) -> Optional[Tuple[int, int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _where(exc: BaseException, path: str) -> str:
    """``line N`` of the deepest frame in the script, if any."""
    if isinstance(exc, SyntaxError) and exc.filename == path and exc.lineno:
        return "line %d" % exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return "line %d" % frames[-1].lineno if frames and frames[-1].lineno else ""


class Script:
    """One script file and its current run."""

    def __init__(self, path: str, index: int) -> None:
        self.path = path
        self.name = os.path.basename(path)
        stem = re.sub(r"\W", "_", os.path.splitext(self.name)[0]) or "script"
        self.module_name = "kcore_hub_script_%d_%s" % (index, stem)
        self.status = "not loaded"
        self.error: Optional[str] = None
        self.errors = 0
        self.loads = 0
        self.loaded_at: Optional[float] = None
        self.signature: Optional[Tuple[int, int, int]] = None
        self.scope: Optional[Scope] = None

    def info(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "status": self.status,
            "error": self.error,
            "errors": self.errors,
            "loads": self.loads,
            "loaded_at": self.loaded_at,
        }


class ScriptRunner:
    """Loads the scripts, watches their files, reloads and reports them."""

    def __init__(self, kaithem: Any, hub: ScriptHub, paths: List[str]) -> None:
        self.kaithem = kaithem
        self.hub = hub
        self.scripts = [Script(p, i) for i, p in enumerate(paths)]
        self._lock = threading.RLock()
        self._job: Any = None
        self._closed = False

    def start(self, check_interval: float = CHECK_INTERVAL) -> None:
        for s in self.scripts:
            self.load(s)
        if self.scripts:
            self._job = self.kaithem.runtime.scheduler.every(self.check, check_interval)

    def check(self) -> None:
        """Reload every script whose file changed (the watcher calls this)."""
        for s in self.scripts:
            if _signature(s.path) != s.signature:
                self.load(s)

    def load(self, script: Script) -> None:
        """(Re)run ``script``: release its previous run, then execute the file."""
        with self._lock:
            if self._closed:
                return
            self._unload(script)
            script.signature = _signature(script.path)
            script.error = None
            try:
                source = self._read(script)
                code = compile(source, script.path, "exec")
            except (OSError, ValueError, SyntaxError) as e:
                script.status = "missing" if isinstance(e, FileNotFoundError) else "error"
                self._report(script, "loading", e)
                return
            scope = Scope(on_error=lambda what, exc: self._report(script, what, exc))
            script.scope = scope
            scoped = ScopedKaithem(self.kaithem, scope)
            module = types.ModuleType(script.module_name)
            module.__file__ = script.path
            module.__dict__.update({"kaithem": scoped, "hub": self.hub})
            sys.modules[script.module_name] = module
            previous = _script_env._push({"kaithem": scoped, "hub": self.hub})
            try:
                exec(code, module.__dict__)  # noqa: S102 - the operator's own script file
            except Exception as e:  # a broken script must not stop the hub
                script.status = "error"
                self._report(script, "loading", e)
                self._unload(script)
                return
            finally:
                _script_env._pop(previous)
            script.status = "loaded"
            script.loads += 1
            script.loaded_at = time.time()
            _logger.log_info("hub: script %s loaded" % script.name)

    @staticmethod
    def _read(script: Script) -> str:
        with open(script.path, "rb") as f:
            raw = f.read(MAX_SCRIPT_BYTES + 1)
        if len(raw) > MAX_SCRIPT_BYTES:
            raise ValueError("larger than %d bytes" % MAX_SCRIPT_BYTES)
        return raw.decode("utf-8")

    def _unload(self, script: Script) -> None:
        scope, script.scope = script.scope, None
        if scope is not None:
            scope.release()
        sys.modules.pop(script.module_name, None)

    def _describe(self, script: Script, exc: BaseException) -> str:
        where = _where(exc, script.path)
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
        msg = text[-1] if text else type(exc).__name__
        return "%s (%s%s)" % (msg, script.name, ", " + where if where else "")

    def _report(self, script: Script, what: str, exc: BaseException) -> None:
        script.errors += 1
        script.error = self._describe(script, exc)
        if what != "loading" and script.status == "loaded":
            script.status = "loaded, with errors"
        _logger.log_error("hub: script %s: %s failed: %s" % (script.name, what, script.error))
        try:
            self.kaithem.message.post(
                ERROR_TOPIC, {"script": script.name, "what": what, "error": script.error}
            )
        except Exception as e:  # reporting must not raise
            _logger.log_warning("hub: could not post a script error: %r" % (e,))

    def info(self) -> List[Dict[str, Any]]:
        return [s.info() for s in self.scripts]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._job is not None:
                self._job.cancel()
                self._job = None
            for s in self.scripts:
                self._unload(s)
                s.status = "stopped"
