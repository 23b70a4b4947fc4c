"""``kaithem.states``: thread-safe finite state machines with timers and
polled ("PLC logic") rules, on the monotonic clock.

Transitions are atomic: ``exit`` of the old state, the state change and
``enter`` of the new state run under ``sm.lock`` in the thread that fired the
event (timer and polled transitions run on the worker pool). Subscribers are
called after the lock is released, in transition order (a per-machine sequence
number), still in the firing thread unless another thread is already
notifying, in which case that thread delivers them in order.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import Any, Callable

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError
from kcore.kaithem._support import bind_class, report, weak_callable

ERROR_TOPIC = "/system/errors/states"
_FORBIDDEN = set("~!@#$%^&*()-=+`<>?,./;':\"\\[]{}\r\n\t ")


class StateError(KcoreError, ValueError):
    """Bad state name, rule or timer."""


class UnknownStateError(KcoreError, KeyError):
    """A transition to a state that was never added."""


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise StateError("state names must be str, got %r" % (name,))
    if not name:
        raise StateError("state name must not be empty")
    bad = sorted(set(name) & _FORBIDDEN)
    if bad:
        raise StateError("state name %r contains forbidden characters %r" % (name, "".join(bad)))
    return name


class _State:
    __slots__ = ("conditions", "enter", "exit", "name", "rules", "timer")

    def __init__(self, name: str, enter: Any, exit: Any) -> None:
        self.name = name
        self.enter = enter
        self.exit = exit
        self.rules: dict[str, Any] = {}
        self.conditions: list[tuple[Callable[[], Any], Any]] = []
        self.timer: tuple[float, Any] | None = None


class StateMachine:
    """A state machine starting in ``start`` (which need not exist yet).

    ``kaithem`` is the instance whose scheduler runs timers and polling
    (default: the process default instance, created on first use).
    """

    poll_rate = 24.0  # Hz, for polled (function) rules

    @property
    def pollRate(self) -> float:  # the help page's name
        """Alias of :attr:`poll_rate` (polls per second of function rules)."""
        return self.poll_rate

    @pollRate.setter
    def pollRate(self, value: float) -> None:
        self.poll_rate = value

    def __init__(
        self,
        start: str = "start",
        name: str = "Untitled",
        description: str = "",
        *,
        kaithem: Any = None,
    ) -> None:
        self._state = _check_name(start)
        self.name = name
        self.description = description
        if kaithem is None:
            from kcore.kaithem import default

            kaithem = default()
        self._kaithem = kaithem
        self._clock = kaithem.clock
        self.lock = threading.RLock()
        self.states: dict[str, _State] = {}
        self._prev: str | None = None
        self._entered_mono = self._clock.monotonic()
        self._entered_wall = self._clock.time()
        self._offset = 0.0
        self._timer_job: Any = None
        self._poll_job: Any = None
        self._subscribers: dict[str, list[tuple[Any, bool]]] = {}
        self._pending: deque = deque()
        self._notify_lock = threading.Lock()
        self._seq = 0
        self._poll_error_seq = -1

    # -- runtime helpers ---------------------------------------------------

    @property
    def _runtime(self) -> Any:
        return self._kaithem.runtime

    # -- building --------------------------------------------------------

    def add_state(
        self,
        name: str,
        enter: Callable[[], Any] | None = None,
        exit: Callable[[], Any] | None = None,  # documented name
        *,
        rules: dict | None = None,
    ) -> None:
        """Add (or replace) a state. ``enter``/``exit`` take no arguments.
        Positional order follows the help page (name, enter, exit); ``rules``
        is keyword-only, so a call passing rules second (the order of the
        original's code) raises :class:`StateError` instead of being misread."""
        _check_name(name)
        for what, f in (("enter", enter), ("exit", exit)):
            if f is not None and not callable(f):
                raise StateError("%s must be callable or None, got %r" % (what, f))
        with self.lock:
            self.states[name] = _State(name, enter, exit)
            for event, dest in (rules or {}).items():
                self.add_rule(name, event, dest)
            if name == self._state:
                self._arm()

    def remove_state(self, name: str) -> None:
        """Remove a state. If it is the current one the machine stays in a
        nonexistent state (events are ignored) until a ``jump``."""
        with self.lock:
            if name not in self.states:
                raise UnknownStateError("no state %r in %s" % (name, self.name))
            del self.states[name]
            if name == self._state:
                self._disarm()

    def add_rule(self, start: str, event: Any, dest: Any) -> None:
        """On ``event`` (a string, or a function polled at ``poll_rate``) in
        state ``start``, go to ``dest`` (a state name, or ``f(machine)``
        returning a state name or None)."""
        if not (isinstance(dest, str) or callable(dest)):
            raise StateError("rule destination must be a state name or callable, got %r" % dest)
        with self.lock:
            state = self._get(start)
            if isinstance(event, str):
                state.rules[event] = dest
            elif callable(event):
                state.conditions.append((event, dest))
                if start == self._state:
                    self._arm_polling(state)
            else:
                raise StateError("event must be a string or a callable, got %r" % (event,))

    def del_rule(self, start: str, event: Any) -> None:
        with self.lock:
            state = self._get(start)
            if isinstance(event, str):
                state.rules.pop(event, None)
            else:
                state.conditions = [c for c in state.conditions if c[0] is not event]

    def set_timer(self, state: str, length: float, dest: Any) -> None:
        """After ``length`` seconds in ``state`` go to ``dest``. One timer per
        state; ``dest=None`` removes it. Setting it on the current state takes
        effect at once, measured from when the state was entered."""
        if isinstance(length, bool) or not isinstance(length, (int, float)):
            raise StateError("timer length must be a number of seconds, got %r" % (length,))
        with self.lock:
            st = self._get(state)
            st.timer = None if dest is None else (float(length), dest)
            if state == self._state:
                self._arm_timer(st)

    def subscribe(
        self, f: Callable[[str], Any], state: str = "__all__", *, weak: bool = False
    ) -> None:
        """Call ``f(new_state)`` after each transition into ``state`` (or any
        state with ``"__all__"``). Held strongly unless ``weak=True``."""
        if not callable(f):
            raise TypeError("subscriber must be callable, got %r" % (f,))
        ref: Any = weak_callable(f) if weak else f
        with self.lock:
            self._subscribers.setdefault(state, []).append((ref, weak))

    def unsubscribe(self, f: Callable[[str], Any], state: str = "__all__") -> None:
        with self.lock:
            subs = self._subscribers.get(state, [])
            self._subscribers[state] = [
                (r, w) for (r, w) in subs if (r() if w else r) not in (f, None)
            ]

    # -- observing -------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def prev_state(self) -> str | None:
        return self._prev

    @property
    def entered_state(self) -> float:
        """Wall-clock time (the clock's ``time()``) at which the current state was entered."""
        return self._entered_wall

    @property
    def age(self) -> float:
        """Seconds (monotonic) since the current state was entered."""
        return self._clock.monotonic() - self._entered_mono

    @property
    def stateage(self) -> tuple[str, float]:
        with self.lock:
            return self._state, self._clock.monotonic() - self._entered_mono

    # -- events and transitions ----------------------------------------------

    def event(self, e: str) -> str:
        """Fire event ``e``; returns the (possibly new) state."""
        try:
            with self.lock:
                state = self.states.get(self._state)
                if state is not None and e in state.rules:
                    dest = self._resolve(state.rules[e])
                    if dest is not None:
                        self._goto(dest)
                return self._state
        finally:
            self._notify()

    __call__ = event

    def jump(self, state: str, condition: str | None = None) -> None:
        """Go to ``state`` (running exit/enter), only if the machine is in
        ``condition`` when that is given."""
        try:
            with self.lock:
                if condition and condition != self._state:
                    return
                self._goto(state)
        finally:
            self._notify()

    goto = jump

    def seek(self, t: float, condition: str | None = None) -> None:
        """Move to position ``t`` seconds on the current state's timeline; a
        position past the timer length fires the timer now."""
        with self.lock:
            if condition and condition != self._state:
                return
            self._offset = float(t) - (self._clock.monotonic() - self._entered_mono)
            st = self.states.get(self._state)
            if st is not None:
                self._arm_timer(st)

    def _resolve(self, dest: Any) -> str | None:
        if callable(dest):
            dest = dest(self)
            if not dest:
                return None
        return dest  # type: ignore[no-any-return]

    def _get(self, name: str) -> _State:
        st = self.states.get(name)
        if st is None:
            raise UnknownStateError("no state %r in state machine %s" % (name, self.name))
        return st

    def _goto(self, dest: str) -> None:
        # called with self.lock held
        new = self._get(dest)
        old = self.states.get(self._state)
        if old is not None and old.exit is not None:
            old.exit()  # an exception here aborts the transition cleanly
        self._prev = self._state
        self._state = dest
        self._entered_mono = self._clock.monotonic()
        self._entered_wall = self._clock.time()
        self._offset = 0.0
        self._seq += 1
        self._pending.append((self._seq, dest))
        self._arm()
        if new.enter is not None:
            new.enter()  # the state has changed; the caller sees the error

    def _disarm(self) -> None:
        for job in (self._timer_job, self._poll_job):
            if job is not None:
                job.cancel()
        self._timer_job = self._poll_job = None

    def _arm(self) -> None:
        self._disarm()
        st = self.states.get(self._state)
        if st is not None:
            self._arm_timer(st)
            self._arm_polling(st)

    def _arm_timer(self, st: _State) -> None:
        if self._timer_job is not None:
            self._timer_job.cancel()
            self._timer_job = None
        if st.timer is None:
            return
        length = st.timer[0]
        due = self._entered_mono + length - self._offset
        me = weakref.ref(self)
        token = (self._seq, st.name)

        def fire() -> None:
            sm = me()
            if sm is not None:
                sm._timer_fired(token)

        self._timer_job = self._runtime.scheduler.at(fire, due)

    def _timer_fired(self, token: tuple) -> None:
        try:
            self._timer_transition(token)
        finally:
            self._notify()

    def _timer_transition(self, token: tuple) -> None:
        with self.lock:
            if token != (self._seq, self._state):
                return  # a stale timer from an earlier visit
            st = self.states.get(self._state)
            if st is None or st.timer is None:
                return
            length, dest = st.timer
            pos = self._clock.monotonic() - self._entered_mono + self._offset
            if pos < length:  # moved by seek() meanwhile; re-arm
                self._arm_timer(st)
                return
            self._timer_job = None
            target = self._resolve(dest)
            if target is not None:
                self._goto(target)

    def _arm_polling(self, st: _State) -> None:
        if self._poll_job is not None or not st.conditions:
            return
        me = weakref.ref(self)  # polling must not keep a dropped machine alive

        def poll() -> None:
            sm = me()
            if sm is None:
                raise _StopPolling()
            sm._poll()

        def guarded() -> None:
            try:
                poll()
            except _StopPolling:
                job.cancel()

        job = self._poll_job = self._runtime.scheduler.every(guarded, 1.0 / self.poll_rate)

    def _poll(self) -> None:
        try:
            self._poll_once()
        finally:
            self._notify()

    def _poll_once(self) -> None:
        with self.lock:
            st = self.states.get(self._state)
            if st is None or not st.conditions:
                if self._poll_job is not None:
                    self._poll_job.cancel()
                    self._poll_job = None
                return
            for cond, dest in list(st.conditions):
                try:
                    hit = cond()
                except Exception as exc:  # report once per visit
                    if self._poll_error_seq != self._seq:
                        self._poll_error_seq = self._seq
                        _logger.log_error(
                            "state machine %s: polled rule %r failed: %r" % (self.name, cond, exc)
                        )
                    continue
                if hit:
                    target = self._resolve(dest)
                    if target is not None:
                        self._goto(target)
                        break  # one transition per poll

    def _notify(self) -> None:
        pending = self._pending
        while pending:
            if not self._notify_lock.acquire(blocking=False):
                return  # another thread is delivering; it will deliver ours in order
            try:
                while True:
                    try:
                        _, state = pending.popleft()
                    except IndexError:
                        break
                    self._deliver(state)
            finally:
                self._notify_lock.release()

    def _deliver(self, state: str) -> None:
        with self.lock:
            targets = list(self._subscribers.get(state, ())) + list(
                self._subscribers.get("__all__", ())
            )
        for ref, weak in targets:
            f = ref() if weak else ref
            if f is None:
                continue
            try:
                f(state)
            except Exception as exc:  # a subscriber must not break the machine
                report(
                    "state machine %s subscriber %r failed: %r" % (self.name, f, exc),
                    self._runtime.bus.post,
                    ERROR_TOPIC,
                    {"machine": self.name, "state": state, "error": repr(exc)},
                )

    def __repr__(self) -> str:
        return "<StateMachine %s in %r>" % (self.name, self._state)


class _StopPolling(Exception):
    pass


class Namespace:
    """``kaithem.states`` bound to one Kaithem instance."""

    StateError = StateError
    UnknownStateError = UnknownStateError

    def __init__(self, kaithem: Any) -> None:
        self.StateMachine = bind_class(StateMachine, kaithem)
