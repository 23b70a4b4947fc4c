"""A script's view of the ``kaithem`` object: everything it subscribes,
schedules, claims or creates is remembered, so a reload can release it all.

:class:`ScopedKaithem` forwards to the hub's real instance. Its ``message``,
``tags``, ``events``, ``states`` and ``alerts`` namespaces record what the
script makes (bus and tag subscriptions, tag handlers and claims, ``after``
and ``when`` timers, state machines, alerts) in a :class:`Scope`;
:meth:`Scope.release` undoes it, newest first. Callbacks are wrapped so an
exception in one is charged to the script (``Scope.on_error``) as well as
reported by Kaithem; the wrappers keep the callback's calling convention.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional

from kcore.common import logger as _logger


class Scope:
    """Undo actions of one script run, released newest first."""

    def __init__(self, on_error: Optional[Callable[[str, BaseException], None]] = None) -> None:
        self.on_error = on_error
        self._undo: Dict[int, Callable[[], None]] = {}
        self._next = 0
        self._lock = threading.Lock()
        self.released = False

    def add(self, undo: Callable[[], None]) -> int:
        with self._lock:
            self._next += 1
            self._undo[self._next] = undo
            return self._next

    def forget(self, key: int) -> None:
        with self._lock:
            self._undo.pop(key, None)

    def __len__(self) -> int:
        return len(self._undo)

    def release(self) -> None:
        with self._lock:
            self.released = True
            undo, self._undo = self._undo, {}
        for key in sorted(undo, reverse=True):
            try:
                undo[key]()
            except Exception as e:  # release everything we can
                _logger.log_warning("hub script: releasing %r failed: %r" % (undo[key], e))

    def guard(self, f: Callable[..., Any], what: str) -> Callable[..., Any]:
        """``f`` wrapped to charge its exceptions to the script, then re-raise
        them so Kaithem reports them as usual."""

        def guarded(*args: Any) -> Any:
            try:
                return f(*args)
            except Exception as e:
                if self.on_error is not None:
                    self.on_error(what, e)
                raise

        guarded.__name__ = getattr(f, "__name__", "callback")
        guarded.__qualname__ = getattr(f, "__qualname__", guarded.__name__)
        return guarded


class _Forward:
    """Forwards attribute reads and writes to ``_target``."""

    def __init__(self, target: Any, scope: Scope) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_scope", scope)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __repr__(self) -> str:
        return "<scoped %r>" % (self._target,)


class ScopedMessage(_Forward):
    def __init__(self, target: Any, scope: Scope) -> None:
        super().__init__(target, scope)
        object.__setattr__(self, "_subs", {})

    def subscribe(self, topic: str, callback: Callable[..., Any], *, weak: bool = False) -> Any:
        from kcore.kaithem.message import callback_arity

        arity = callback_arity(callback)
        guarded = self._scope.guard(callback, "message subscriber on %s" % topic)
        wrappers = {
            0: lambda: guarded(),
            1: lambda m: guarded(m),
            2: lambda t, m: guarded(t, m),
            4: lambda t, m, ts, a: guarded(t, m, ts, a),
        }
        sub = self._target.subscribe(topic, wrappers[arity], weak=weak)
        self._subs.setdefault((topic, callback), []).append(sub)
        self._scope.add(sub.unsubscribe)
        return sub

    def unsubscribe(self, topic: str, callback: Callable[..., Any]) -> bool:
        subs = self._subs.pop((topic, callback), None)
        if not subs:
            return bool(self._target.unsubscribe(topic, callback))
        for sub in subs:
            sub.unsubscribe()
        return True


class ScopedTag(_Forward):
    """A tag whose subscriptions, handler and claims belong to the script."""

    def __init__(self, target: Any, scope: Scope, wrapped: Dict[Any, Any]) -> None:
        super().__init__(target, scope)
        object.__setattr__(self, "_wrapped", wrapped)  # (tag name, f) -> guarded f

    def subscribe(
        self, f: Callable[..., Any], immediate: bool = False, *, weak: bool = False
    ) -> None:
        tag = self._target
        key = (tag.name, f)
        guarded = self._wrapped.get(key)
        if guarded is None:
            guarded = self._scope.guard(f, "subscriber of tag %s" % tag.name)
            self._wrapped[key] = guarded
            self._scope.add(lambda: tag.unsubscribe(guarded))
        tag.subscribe(guarded, immediate, weak=weak)

    def unsubscribe(self, f: Callable[..., Any]) -> None:
        self._target.unsubscribe(self._wrapped.pop((self._target.name, f), f))

    def set_handler(self, f: Optional[Callable[..., Any]]) -> None:
        tag = self._target
        tag.set_handler(None if f is None else self._scope.guard(f, "handler of %s" % tag.name))
        self._scope.add(lambda: tag.set_handler(None))

    setHandler = set_handler  # the original's name

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        c = self._target.claim(*args, **kwargs)
        if c.name != "default":
            self._scope.add(lambda: None if c.released else c.release())
        return c

    def __call__(self, *args: Any) -> Any:
        return self._target(*args)


class ScopedTags(_Forward):
    def __init__(self, target: Any, scope: Scope) -> None:
        super().__init__(target, scope)
        object.__setattr__(self, "_wrapped", {})

    def _wrap(self, tag: Any) -> ScopedTag:
        return ScopedTag(tag, self._scope, self._wrapped)

    def __getitem__(self, name: str) -> ScopedTag:
        return self._wrap(self._target[name])

    def NumericTag(self, name: str, min: Any = None, max: Any = None) -> ScopedTag:
        return self._wrap(self._target.NumericTag(name, min, max))

    def StringTag(self, name: str) -> ScopedTag:
        return self._wrap(self._target.StringTag(name))

    def ObjectTag(self, name: str) -> ScopedTag:
        return self._wrap(self._target.ObjectTag(name))

    def BinaryTag(self, name: str) -> ScopedTag:
        return self._wrap(self._target.BinaryTag(name))

    def get(self, name: str) -> Optional[ScopedTag]:
        tag = self._target.get(name)
        return None if tag is None else self._wrap(tag)

    def __contains__(self, name: object) -> bool:
        return name in self._target

    def __iter__(self) -> Any:
        return iter(self._target)

    def __len__(self) -> int:
        return len(self._target)


class ScopedEvents(_Forward):
    def _track(self, make: Callable[[Callable[[], Any]], Any], action: Callable[[], Any]) -> Any:
        scope = self._scope
        guarded = scope.guard(action, "timer action %s" % getattr(action, "__name__", "?"))
        holder: List[Any] = []

        def run() -> None:
            if holder:
                scope.forget(holder[0])  # a fired one-shot holds nothing any more
            guarded()

        ev = make(run)
        holder.append(scope.add(ev.cancel))
        return ev

    def after(self, delay: float, action: Callable[[], Any], priority: Any = "interactive") -> Any:
        return self._track(lambda run: self._target.after(delay, run, priority), action)

    def when(
        self, trigger: Callable[[], Any], action: Callable[[], Any], priority: Any = "interactive"
    ) -> Any:
        return self._track(lambda run: self._target.when(trigger, run, priority), action)


class ScopedStates(_Forward):
    def StateMachine(self, *args: Any, **kwargs: Any) -> Any:
        sm = self._target.StateMachine(*args, **kwargs)

        def stop() -> None:
            for state in list(sm.states):
                sm.remove_state(state)  # stops its timer and polling

        self._scope.add(stop)
        return sm


class ScopedAlerts(_Forward):
    def Alert(self, *args: Any, **kwargs: Any) -> Any:
        alert = self._target.Alert(*args, **kwargs)
        self._scope.add(alert.close)
        return alert


_SCOPED = {
    "message": ScopedMessage,
    "tags": ScopedTags,
    "events": ScopedEvents,
    "states": ScopedStates,
    "alerts": ScopedAlerts,
}


class ScopedKaithem(_Forward):
    """The hub's ``kaithem`` as one script sees it."""

    def __init__(self, target: Any, scope: Scope) -> None:
        super().__init__(target, scope)
        object.__setattr__(self, "_namespaces", {})

    def __getattr__(self, name: str) -> Any:
        cls = _SCOPED.get(name)
        if cls is None:
            return getattr(self._target, name)
        ns = self._namespaces.get(name)
        if ns is None:
            ns = self._namespaces[name] = cls(getattr(self._target, name), self._scope)
        return ns
