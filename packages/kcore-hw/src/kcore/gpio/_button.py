"""kcore.gpio's push button: debounce, "must stay pressed", long presses, an event record.

This file runs unchanged on CircuitPython/MicroPython and CPython 3.9+.
"""

from kcore.common.platform import CPYTHON
from kcore.gpio._base import NotSimulated, _Device, check_ms, simout
from kcore.timequeue import TimeQueue

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only; boards have no typing
    from typing import Any, Callable, Optional


def _default_press(bcm_pin: object) -> None:
    print("Button pressed: %s" % (bcm_pin,))


class KButton(_Device):
    """A push button on ``bcm_pin``.

    A press counts when the level leaves its idle state (high for
    ``normally_high`` buttons), stays there ``require_pressed_ms`` and comes
    at least ``debounce_ms`` after the previous accepted press. Then
    ``func(bcm_pin)`` runs (None: print ``Button pressed: <pin>``) and a
    ``("press", pin, t_ms)`` event is recorded;
    held for ``long_press_ms`` (if given) ``long_func(bcm_pin)`` runs (again
    every ``long_press_ms`` with ``long_press_repeat``) and a ``"long_press"``
    event is recorded; letting go of an accepted press runs
    ``release_func(bcm_pin)`` and records ``"release"``. :meth:`events` keeps
    the newest ``queue_len`` events.

    ``pull_float_high``: True pulls the pin up, False down, None leaves it
    floating. ``bounce_ms`` asks the back end to ignore edges that close
    together (gpiozero's ``bounce_time``; simulated contacts do not bounce and
    boards are sampled, so there it changes nothing).

    ``_event_queue`` (a :class:`kcore.timequeue.TimeQueue`) holds only the
    press confirmations still waiting for ``require_pressed_ms`` to pass.

    On CPython with ``background=False`` and a Raspberry Pi or simulated pin,
    nothing samples the pin between :meth:`check` calls, so a press is
    accepted at once (``require_pressed_ms`` counts as 0, as programs written
    for the original expect); ``confirm_without_background=True`` keeps the
    confirmation delay there too (then call :meth:`check` until it has passed).
    """

    def __init__(
        self,
        bcm_pin: object,
        func: "Optional[Callable[[Any], Any]]" = _default_press,
        name: str = "?",
        log: bool = False,
        background: bool = True,
        normally_high: bool = True,
        pull_float_high: "Optional[bool]" = True,
        debounce_ms: int = 1000,
        require_pressed_ms: int = 100,
        long_press_ms: "Optional[int]" = None,
        long_func: "Optional[Callable[[Any], Any]]" = None,
        queue_len: int = 16,
        backend: object = None,
        pin_factory: object = None,
        clock: "Optional[Callable[[], int]]" = None,
        release_func: "Optional[Callable[[Any], Any]]" = None,
        long_press_repeat: bool = False,
        bounce_ms: "Optional[int]" = None,
        strict_pins: "Optional[bool]" = None,
        confirm_without_background: bool = False,
    ) -> None:
        check_ms("debounce_ms", debounce_ms)
        check_ms("require_pressed_ms", require_pressed_ms)
        if long_press_ms is not None:
            check_ms("long_press_ms", long_press_ms, 1)
        if bounce_ms is not None:
            check_ms("bounce_ms", bounce_ms)
        check_ms("queue_len", queue_len, 1)
        super().__init__(backend, pin_factory, background, clock, strict_pins)
        self.bcm_pin = bcm_pin
        self.name = name
        self.log = log
        self.func = func if func is not None else _default_press
        self.long_func = long_func
        self.release_func = release_func
        self.normally_high = bool(normally_high)
        self.debounce_ms = debounce_ms
        board = getattr(self.backend, "name", None) == "circuitpython"  # sampled by check()
        if CPYTHON and not background and not board and not confirm_without_background:
            require_pressed_ms = 0
        self.require_pressed_ms = require_pressed_ms
        self.long_press_ms = long_press_ms
        self.long_press_repeat = bool(long_press_repeat)
        self.queue_len = queue_len
        self.enabled = True
        self.stats.update(
            {
                "edges": 0,
                "presses": 0,
                "long_presses": 0,
                "debounced": 0,
                "unsustained": 0,
                "events_dropped": 0,
            }
        )
        self._event_queue = TimeQueue(clock=self._clock, max_len=4)
        self._events = []  # type: list
        self._press_start: Optional[int] = None
        self._confirmed = False
        self._last_press: Optional[int] = None
        self._confirm_ev: Any = None
        self._long_ev: Any = None
        self._sim_release_at: Optional[int] = None
        pull = None if pull_float_high is None else bool(pull_float_high)
        self._pin = self._open_pin(
            bcm_pin,
            lambda: self.backend.input_pin(
                bcm_pin, pull, idle_high=self.normally_high, bounce_ms=bounce_ms
            ),
        )
        self._pressed = self._is_pressed_level(self._pin.value())
        self._pin.on_change = self._on_edge
        self._register()

    # ------------------------------------------------------------- reading
    def __repr__(self) -> str:
        state = "closed" if self._closed else ("pressed" if self._pressed else "released")
        return "<KButton %s(%s) %s>" % (self.bcm_pin, self.name, state)

    @property
    def display_name(self) -> str:
        return "%s(%s)" % (self.bcm_pin, self.name)

    def _pin_numbers(self) -> tuple:
        return (self.bcm_pin,)

    def _is_pressed_level(self, level: object) -> bool:
        return bool(level) != self.normally_high

    def value(self) -> bool:
        """The raw pin level (True = high)."""
        self._check_open()
        return bool(self._pin.value())

    @property
    def is_pressed(self) -> bool:
        """True while the button is held (raw level, before any debouncing)."""
        return self._is_pressed_level(self.value())

    # --------------------------------------------------------- event record
    def _record(self, kind: str, t: int) -> None:
        if len(self._events) >= self.queue_len:
            self._events.pop(0)
            self.stats["events_dropped"] += 1
        self._events.append((kind, self.bcm_pin, t))

    def get_event(self) -> "Optional[tuple]":
        """The oldest recorded ``(kind, pin, t_ms)`` event, removed; None if none."""
        with self._lock:
            return self._events.pop(0) if self._events else None

    def events(self) -> list:
        """Every recorded event, oldest first; the record is emptied."""
        with self._lock:
            out, self._events = self._events, []
        return out

    # ---------------------------------------------------------- the logic
    def _queues(self) -> tuple:
        return (self._event_queue, self._timers)

    def check(self, now_ms: "Optional[int]" = None) -> int:
        """Sample the pin and fire due timers; returns how many callbacks ran."""
        if self._sim_release_at is not None:
            self._sim_tick(self._clock() if now_ms is None else now_ms, notify=False)
        return super().check(now_ms)

    def next_due_ms(self, now_ms: "Optional[int]" = None) -> "Optional[int]":
        due = super().next_due_ms(now_ms)
        sim = self.sim_release_due_ms(now_ms)
        if sim is not None and (due is None or sim < due):
            return sim
        return due

    def _on_edge(self) -> None:
        """Called by the back end when the level changes (any thread)."""
        if self._closed:
            return
        calls = []  # type: list
        with self._lock:
            self._sample(self._clock(), calls)
        self._run(calls)
        self._wake()

    def _sample(self, now: int, calls: list) -> None:
        if self._closed:
            return
        pressed = self._is_pressed_level(self._pin.value())
        if pressed == self._pressed:
            return
        self._pressed = pressed
        self.stats["edges"] += 1
        if pressed:
            if not self.enabled:
                return
            if self._last_press is not None and now - self._last_press < self.debounce_ms:
                self.stats["debounced"] += 1
                return
            self._press_start = now
            self._confirmed = False
            if self.require_pressed_ms == 0:
                self._accept(now, calls)
            else:
                self._confirm_ev = self._at(
                    self._event_queue, now, self.require_pressed_ms, self._confirm_due, now
                )
            return
        for ev, queue in ((self._confirm_ev, self._event_queue), (self._long_ev, self._timers)):
            if ev is not None:
                queue.cancel(ev)
        self._confirm_ev = self._long_ev = None
        if self._press_start is not None:
            if self._confirmed:
                self._record("release", now)
                if self.release_func is not None:
                    calls.append((self.release_func, (self.bcm_pin,)))
            else:
                self.stats["unsustained"] += 1
                if self.log:
                    simout(
                        "button %s: press shorter than %d ms dropped"
                        % (self.display_name, self.require_pressed_ms)
                    )
        self._press_start = None

    def _still_held(self, start: int) -> bool:
        return self._pressed and self._press_start == start and not self._closed

    def _accept(self, now: int, calls: list) -> None:
        self._confirmed = True
        self._last_press = self._press_start
        self.stats["presses"] += 1
        self._record("press", now)
        if self.log:
            simout("button %s pressed" % self.display_name)
        if self.func is not None:
            calls.append((self.func, (self.bcm_pin,)))
        if self.long_press_ms is not None and self._press_start is not None:
            self._long_ev = self._at(
                self._timers, self._press_start, self.long_press_ms, self._long_due,
                self._press_start, self._press_start + self.long_press_ms,
            )  # fmt: skip

    def _confirm_due(self, start: int) -> None:
        calls = []  # type: list
        with self._lock:
            self._confirm_ev = None
            if self._still_held(start) and not self._confirmed:
                self._accept(start + self.require_pressed_ms, calls)
        self._run(calls)

    def _long_due(self, start: int, t: int) -> None:
        calls = []  # type: list
        with self._lock:
            self._long_ev = None
            if not (self._still_held(start) and self._confirmed):
                return
            self.stats["long_presses"] += 1
            self._record("long_press", t)
            if self.long_func is not None:
                calls.append((self.long_func, (self.bcm_pin,)))
            if self.long_press_repeat and self.long_press_ms is not None:
                nxt = t + self.long_press_ms
                self._long_ev = self._at(
                    self._timers, t, self.long_press_ms, self._long_due, start, nxt
                )
        self._run(calls)

    # ---------------------------------------------------------- control
    def disable(self) -> None:
        """Ignore the button until :meth:`enable`."""
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def _require_sim(self, what: str) -> None:
        self._check_open()
        if not getattr(self.backend, "simulated", False):
            raise NotSimulated(
                "%s needs the simulation back end, not %s"
                % (what, getattr(self.backend, "name", self.backend))
            )

    def simulate_press(self, duration_ms: int = 200) -> None:
        """Simulation only: hold the button down for ``duration_ms``.

        The release comes after ``duration_ms`` on its own timer: on CPython a
        background thread lets go even with ``background=False`` (the device
        then notices at its next ``check()``); on a board ``check()`` does it.
        """
        self._require_sim("simulate_press")
        check_ms("duration_ms", duration_ms)
        if self.log:
            simout(
                "button on bcm_pin %s set %s for %d ms."
                % (self.bcm_pin, not self.normally_high, duration_ms)
            )
        with self._lock:
            self._sim_release_at = self._clock() + duration_ms
        self.backend.set_level(self.bcm_pin, not self.normally_high)
        if CPYTHON and not self._closed:
            from kcore.gpio._ticker import TICKER

            if self._ticker is None:
                TICKER.watch_release(self)
            else:
                self._wake()

    def sim_release_due_ms(self, now_ms: "Optional[int]" = None) -> "Optional[int]":
        """Milliseconds until a simulated press ends (0 if overdue); None if none is held."""
        at = self._sim_release_at
        if at is None:
            return None
        now = self._clock() if now_ms is None else now_ms
        return max(0, at - now)

    def _sim_tick(self, now: "Optional[int]" = None, notify: bool = True) -> None:
        """End the simulated press if its time has come. ``notify=False`` only
        moves the level (the device sees it at its next sample)."""
        with self._lock:
            at = self._sim_release_at
            if at is None or self._closed:
                return
            if (self._clock() if now is None else now) < at:
                return
            self._sim_release_at = None
        self.backend.set_level(self.bcm_pin, self.normally_high, notify)

    def simulate_unpress(self) -> None:
        """Simulation only: let go of the button now."""
        self._require_sim("simulate_unpress")
        with self._lock:
            self._sim_release_at = None
        self.backend.set_level(self.bcm_pin, self.normally_high)

    def _close_pins(self) -> None:
        self._sim_release_at = None
        self._event_queue.clear()
        self._pin.on_change = None
        self._pin.close()
