"""kcore.varz: the process-wide store of counters, time stamps and status values.

A program bumps counters (``bump('requests')``), stamps events
(``stamp('last-backup')``) and publishes status (``set('mode', 'eco')``); the
web server shows them at ``/varz`` and :mod:`kcore.varz_prom` exports them to
Prometheus. Runs unchanged on CPython, MicroPython and CircuitPython.

Why it looks like this:

* The names are the original's (``get``, ``get_dict``, ``bump``, ``inc``,
  ``set``, ``stamp``, ``reset``, the ``VARZ`` dict), so programs port as is.
* Every read-modify-write holds one lock (``_thread.allocate_lock`` where the
  platform has threads), so concurrent ``bump`` calls never lose counts.
* The number of keys is bounded (:data:`MAX_KEYS`, changeable with
  :func:`set_max_keys`): once full, writes that would *create* a key are
  dropped and counted under :data:`DROPPED_KEY`; existing keys keep updating.
  Values derived from untrusted input (paths, user names) can therefore not
  grow memory without bound.
* The log counters of :mod:`kcore.common` (``log-absorbed``,
  ``log-error-or-higher``, ...) are real keys of :data:`VARZ`: the store *is*
  the dict kcore.common's default logger counts in (``kcore.common.logger.COUNTERS``).
"""

__version__ = "0.1.0"

import sys

from kcore.common import logger as _logger
from kcore.common import platform as _platform

CIRCUITPYTHON = _platform.CIRCUITPYTHON

try:
    import _thread

    _LOCK = _thread.allocate_lock()
except (ImportError, AttributeError):  # a board without threads: nothing to race with
    _LOCK = None  # type: ignore[assignment]


def _program_name():
    if CIRCUITPYTHON:
        return "code.py"
    argv = getattr(sys, "argv", None) or [""]
    name = argv[0] or "python"
    return name.replace("\\", "/").split("/")[-1]


PROGRAM_NAME = _program_name()

#: The live store: name -> value (or a zero-argument callable evaluated on read).
#: Shared with kcore.common's logger, which keeps its ``log-*`` counters in it.
VARZ = _logger.COUNTERS  # type: dict

#: How each key was last written: "counter" (inc/bump), "gauge" (set), "stamp".
#: Exporters (kcore.varz_prom) use it to pick a metric type.
KINDS = {}  # type: dict

#: Default bound on the number of distinct keys.
MAX_KEYS = 1000

#: Counts writes that were dropped because the store was full (exempt from the bound).
DROPPED_KEY = "varz-dropped-keys"


class _NoLock:
    def acquire(self):
        return True

    def release(self):
        pass


_lock = _LOCK if _LOCK is not None else _NoLock()


def set_max_keys(n):
    """Change the bound on distinct keys (existing keys are never evicted)."""
    global MAX_KEYS
    n = int(n)
    if n < 1:
        raise ValueError("varz max keys must be >= 1, got %d" % n)
    MAX_KEYS = n


def _room_for(name):
    # Caller holds the lock. True if `name` exists or may be created.
    if name in VARZ:
        return True
    if len(VARZ) - (1 if DROPPED_KEY in VARZ else 0) < MAX_KEYS:
        return True
    VARZ[DROPPED_KEY] = VARZ.get(DROPPED_KEY, 0) + 1
    KINDS[DROPPED_KEY] = "counter"
    return False


def _check_name(name):
    if not isinstance(name, str) or not name:
        raise ValueError("varz names are non-empty strings, got %r" % (name,))


def _evaluate(value):
    if callable(value):
        try:
            return value()
        except Exception as e:  # a broken status callback must not break /varz
            return "error: %s" % type(e).__name__
    return value


def get(counter_name=None):
    """Value of one key (callables are called; None if absent), or with no
    name the whole store as :func:`get_dict` gives it."""
    if not counter_name:
        return get_dict()
    return _evaluate(VARZ.get(counter_name))


def get_dict():
    """A copy of the store with callables evaluated."""
    _lock.acquire()
    try:
        snapshot = dict(VARZ)
    finally:
        _lock.release()
    out = {}
    for k, v in snapshot.items():
        out[k] = _evaluate(v) if callable(v) else v
    return out


def get_kinds():
    """A copy of name -> kind ("counter", "gauge" or "stamp"); log counters are "counter"."""
    _lock.acquire()
    try:
        kinds = dict(KINDS)
        names = list(VARZ)
    finally:
        _lock.release()
    for k in names:  # the logger's keys, written without going through set()/inc()
        if k not in kinds and isinstance(k, str) and k.startswith("log-"):
            kinds[k] = "counter"
    return kinds


def inc(counter_name, add=1):
    """Add ``add`` to a counter (created at 0). Returns the new value, or None
    if the store was full and the key could not be created."""
    _check_name(counter_name)
    _lock.acquire()
    try:
        if not _room_for(counter_name):
            return None
        old = VARZ.get(counter_name)
        if not isinstance(old, (int, float)) or isinstance(old, bool):
            old = 0
        new = old + add
        VARZ[counter_name] = new
        if KINDS.get(counter_name) != "gauge":
            KINDS[counter_name] = "counter"
        return new
    finally:
        _lock.release()


def bump(counter_name):
    """Add one to a counter."""
    return inc(counter_name, 1)


def bump_many(names):
    """Add one to each counter in ``names`` under a single lock acquisition
    (a web server counts method, path and status of every request)."""
    _lock.acquire()
    try:
        for name in names:
            if not _room_for(name):
                continue
            old = VARZ.get(name)
            if not isinstance(old, (int, float)) or isinstance(old, bool):
                old = 0
            VARZ[name] = old + 1
            if KINDS.get(name) != "gauge":
                KINDS[name] = "counter"
    finally:
        _lock.release()


def set(var_name, value):  # noqa: A001 - the original's name
    """Set a value: anything, or a zero-argument callable evaluated on read."""
    _check_name(var_name)
    _lock.acquire()
    try:
        if not _room_for(var_name):
            return
        VARZ[var_name] = value
        KINDS[var_name] = "gauge"
    finally:
        _lock.release()


def stamp(name):
    """Record the current wall-clock time (int seconds since the epoch)."""
    _check_name(name)
    now = int(_platform.wall_time())
    _lock.acquire()
    try:
        if not _room_for(name):
            return
        VARZ[name] = now
        KINDS[name] = "stamp"
    finally:
        _lock.release()


def reset(counter_name=None):
    """One name: its value becomes None (the key stays). No name: empty the
    store in place, so code holding ``VARZ`` sees the reset too."""
    _lock.acquire()
    try:
        if counter_name:
            if counter_name in VARZ:
                VARZ[counter_name] = None
        else:
            VARZ.clear()
            KINDS.clear()
    finally:
        _lock.release()


def delete(name):
    """Remove a key entirely (frees room under the key bound). True if it existed."""
    _lock.acquire()
    try:
        KINDS.pop(name, None)
        existed = name in VARZ
        VARZ.pop(name, None)
        return existed
    finally:
        _lock.release()
