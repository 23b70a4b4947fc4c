"""kcore.varz: the process-wide store of counters, time stamps and status values.

A program bumps counters (``bump('requests')``), stamps events
(``stamp('last-backup')``) and publishes status (``set('mode', 'eco')``); the
web server shows them at ``/varz`` and :mod:`kcore.varz_prom` exports them to
Prometheus. Runs unchanged on CPython, MicroPython and CircuitPython.

Why it looks like this:

* The names are the original's (``get``, ``get_dict``, ``bump``, ``inc``,
  ``set``, ``stamp``, ``reset``, the ``VARZ`` dict), so programs port as is.
  They act on one global :class:`Store`, :data:`DEFAULT_STORE`; make your own
  ``Store()`` where counters must stay apart (two servers in one process, a
  test), the way prometheus_client lets every call take a registry.
* Every read-modify-write holds the store's lock (``_thread`` where the
  platform has threads), so concurrent ``bump`` calls never lose counts.
* The number of keys is bounded (:data:`MAX_KEYS`, changeable with
  :func:`set_max_keys`): once full, writes that would *create* a key are
  dropped and counted under :data:`DROPPED_KEY`; existing keys keep updating.
  Values derived from untrusted input (paths, user names) can therefore not
  grow memory without bound.
* The log counters of :mod:`kcore.common` (``log-absorbed``,
  ``log-error-or-higher``, ...) are real keys of :data:`VARZ`: the default
  store's dict *is* the one kcore.common's default logger counts in
  (``kcore.common.logger.COUNTERS``), so kcore.common needs no import of varz.
"""

__version__ = "0.1.0"

import sys

from kcore.common import logger as _logger
from kcore.common import platform as _platform

CIRCUITPYTHON = _platform.CIRCUITPYTHON


def _program_name() -> str:
    if CIRCUITPYTHON:
        return "code.py"
    argv = getattr(sys, "argv", None) or [""]
    name = argv[0] or "python"
    return name.replace("\\", "/").split("/")[-1]


PROGRAM_NAME = _program_name()

#: Default bound on the number of distinct keys of a store.
MAX_KEYS = 1000

#: Counts writes that were dropped because the store was full (exempt from the bound).
DROPPED_KEY = "varz-dropped-keys"

_NUMBER = (int, float)


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError("varz names are non-empty strings, got %r" % (name,))


def _evaluate(value: object) -> object:
    if callable(value):
        try:
            return value()
        except Exception as e:  # a broken status callback must not break /varz
            return "error: %s" % type(e).__name__
    return value


class Store:
    """One set of varz values: name -> value (or a zero-argument callable
    evaluated on read), with each name's kind and a bound on the number of
    names.

    ``values`` is the live dict (the module's ``VARZ`` is the default
    store's); ``kinds`` says how each key was last written: ``"counter"``
    (inc/bump), ``"gauge"`` (set) or ``"stamp"``; exporters use it to pick a
    metric type. ``values``: the dict to keep them in (the default store
    shares kcore.common's log counters this way); a new one when omitted.
    """

    def __init__(self, max_keys: "int | None" = None, values: "dict | None" = None) -> None:
        self.values = {} if values is None else values  # type: dict
        self.kinds = {}  # type: dict
        self.stamps = {}  # type: dict  # name -> [number of stamps, time of the first]
        self.max_keys = MAX_KEYS if max_keys is None else _bound(max_keys)
        self._lock = _platform.new_lock()

    def __repr__(self) -> str:
        return "<varz.Store: %d keys>" % len(self.values)

    def set_max_keys(self, n: int) -> None:
        """Change the bound on distinct keys (existing keys are never evicted)."""
        self.max_keys = _bound(n)

    def _room_for(self, name: str) -> bool:
        # Caller holds the lock. True if `name` exists or may be created.
        values = self.values
        if name in values:
            return True
        if len(values) - (1 if DROPPED_KEY in values else 0) < self.max_keys:
            return True
        values[DROPPED_KEY] = values.get(DROPPED_KEY, 0) + 1
        self.kinds[DROPPED_KEY] = "counter"
        return False

    # ------------------------------------------------------------ reading

    def get(self, counter_name: "str | None" = None) -> object:
        """Value of one key (callables are called; None if absent), or with no
        name the whole store as :meth:`get_dict` gives it."""
        if not counter_name:
            return self.get_dict()
        return _evaluate(self.values.get(counter_name))

    def get_dict(self) -> dict:
        """A copy of the store with callables evaluated."""
        lock = self._lock
        lock.acquire()
        try:
            snapshot = dict(self.values)
        finally:
            lock.release()
        out = dict(snapshot)
        for k, v in snapshot.items():
            if callable(v):
                out[k] = _evaluate(v)
        return out

    def get_kinds(self) -> dict:
        """A copy of name -> kind ("counter", "gauge" or "stamp"); the logger's
        ``log-*`` keys, written without going through this store, are counters."""
        lock = self._lock
        lock.acquire()
        try:
            kinds = dict(self.kinds)
            names = list(self.values)
        finally:
            lock.release()
        for k in names:
            if k not in kinds and isinstance(k, str) and k.startswith("log-"):
                kinds[k] = "counter"
        return kinds

    def get_stamps(self) -> dict:
        """A copy of name -> (number of stamps, time of the first) for each stamped key."""
        lock = self._lock
        lock.acquire()
        try:
            return {k: (v[0], v[1]) for k, v in self.stamps.items()}
        finally:
            lock.release()

    # ------------------------------------------------------------ writing

    def inc(self, counter_name: str, add: "int | float" = 1) -> "int | float | None":
        """Add ``add`` to a counter (created at 0). Returns the new value, or None
        if the store was full and the key could not be created."""
        _check_name(counter_name)
        lock = self._lock
        lock.acquire()
        try:
            if not self._room_for(counter_name):
                return None
            values = self.values
            old = values.get(counter_name)
            if not isinstance(old, _NUMBER) or isinstance(old, bool):
                old = 0
            new = old + add
            values[counter_name] = new
            kinds = self.kinds
            if kinds.get(counter_name) != "gauge":
                kinds[counter_name] = "counter"
            return new
        finally:
            lock.release()

    def bump(self, counter_name: str) -> "int | float | None":
        """Add one to a counter."""
        return self.inc(counter_name, 1)

    def bump_many(self, names: "list | tuple") -> None:
        """Add one to each counter in ``names`` under a single lock acquisition
        (a web server counts method, path and status of every request)."""
        values = self.values
        kinds = self.kinds
        lock = self._lock
        lock.acquire()
        try:
            for name in names:
                old = values.get(name)
                if old.__class__ is int and kinds.get(name) == "counter":  # the usual case
                    values[name] = old + 1  # type: ignore[operator]
                    continue
                if old is None:
                    if not self._room_for(name):
                        continue
                    old = 0
                elif not isinstance(old, _NUMBER) or isinstance(old, bool):
                    old = 0
                values[name] = old + 1
                if kinds.get(name) != "gauge":
                    kinds[name] = "counter"
        finally:
            lock.release()

    def set(self, var_name: str, value: object) -> None:  # the original's name
        """Set a value: anything, or a zero-argument callable evaluated on read."""
        _check_name(var_name)
        lock = self._lock
        lock.acquire()
        try:
            if not self._room_for(var_name):
                return
            self.values[var_name] = value
            self.kinds[var_name] = "gauge"
        finally:
            lock.release()

    def stamp(self, name: str) -> None:
        """Record the current wall-clock time (int seconds since the epoch)."""
        _check_name(name)
        now = _platform.wall_time()
        lock = self._lock
        lock.acquire()
        try:
            if not self._room_for(name):
                return
            self.values[name] = int(now)
            self.kinds[name] = "stamp"
            seen = self.stamps.get(name)
            if seen is None:
                self.stamps[name] = [1, now]
            else:
                seen[0] += 1
        finally:
            lock.release()

    def reset(self, counter_name: "str | None" = None) -> None:
        """One name: its value becomes None (the key stays). No name: empty the
        store in place, so code holding ``values`` sees the reset too."""
        lock = self._lock
        lock.acquire()
        try:
            if counter_name:
                if counter_name in self.values:
                    self.values[counter_name] = None
            else:
                self.values.clear()
                self.kinds.clear()
                self.stamps.clear()
        finally:
            lock.release()

    def delete(self, name: str) -> bool:
        """Remove a key entirely (frees room under the key bound). True if it existed."""
        lock = self._lock
        lock.acquire()
        try:
            self.kinds.pop(name, None)
            self.stamps.pop(name, None)
            existed = name in self.values
            self.values.pop(name, None)
            return existed
        finally:
            lock.release()


def _bound(n: "int | str") -> int:
    bound = int(n)
    if bound < 1:
        raise ValueError("varz max keys must be >= 1, got %d" % bound)
    return bound


#: The store the module-level functions use (and the web server, by default).
#: Its dict is the one kcore.common's default logger keeps its ``log-*`` counters in.
DEFAULT_STORE = Store(values=_logger.COUNTERS)

#: The default store's live dict: name -> value (or a zero-argument callable).
VARZ = DEFAULT_STORE.values

#: How each key of the default store was last written: "counter", "gauge", "stamp".
KINDS = DEFAULT_STORE.kinds


def store_of(varz: object) -> "Store | None":
    """The store a ``varz=`` argument means: True (or omitted) the default
    store, False/None none (no counting), a :class:`Store` (or any object with
    its methods) itself."""
    if varz is True:
        return DEFAULT_STORE
    if varz is None or varz is False:
        return None
    return varz  # type: ignore[return-value]


def set_max_keys(n: int) -> None:
    """Change the default store's bound on distinct keys (existing keys are never evicted)."""
    global MAX_KEYS
    DEFAULT_STORE.set_max_keys(n)
    MAX_KEYS = DEFAULT_STORE.max_keys


def get(counter_name: "str | None" = None) -> object:
    """Value of one key (callables are called; None if absent), or with no
    name the whole store as :func:`get_dict` gives it."""
    return DEFAULT_STORE.get(counter_name)


def get_dict() -> dict:
    """A copy of the store with callables evaluated."""
    return DEFAULT_STORE.get_dict()


def get_kinds() -> dict:
    """A copy of name -> kind ("counter", "gauge" or "stamp"); log counters are "counter"."""
    return DEFAULT_STORE.get_kinds()


def inc(counter_name: str, add: "int | float" = 1) -> "int | float | None":
    """Add ``add`` to a counter (created at 0). Returns the new value, or None
    if the store was full and the key could not be created."""
    return DEFAULT_STORE.inc(counter_name, add)


def bump(counter_name: str) -> "int | float | None":
    """Add one to a counter."""
    return DEFAULT_STORE.inc(counter_name, 1)


def bump_many(names: "list | tuple") -> None:
    """Add one to each counter in ``names`` under a single lock acquisition."""
    DEFAULT_STORE.bump_many(names)


def set(var_name: str, value: object) -> None:  # the original's name
    """Set a value: anything, or a zero-argument callable evaluated on read."""
    DEFAULT_STORE.set(var_name, value)


def stamp(name: str) -> None:
    """Record the current wall-clock time (int seconds since the epoch)."""
    DEFAULT_STORE.stamp(name)


def reset(counter_name: "str | None" = None) -> None:
    """One name: its value becomes None (the key stays). No name: empty the
    store in place, so code holding ``VARZ`` sees the reset too."""
    DEFAULT_STORE.reset(counter_name)


def delete(name: str) -> bool:
    """Remove a key entirely (frees room under the key bound). True if it existed."""
    return DEFAULT_STORE.delete(name)
