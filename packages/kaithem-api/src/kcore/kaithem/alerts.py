"""``kaithem.alerts``: alerts users must see and acknowledge.

An :class:`Alert` is a state machine (``alert.sm``) with the states
``normal``, ``tripped``, ``active``, ``acknowledged``, ``cleared``,
``retripped`` and ``error``:

=============  ==========  ===============  =============  =====================
from           trip()      clear()          acknowledge()  timer
=============  ==========  ===============  =============  =====================
normal         tripped     --               --             --
tripped        --          normal           --             trip_delay -> active
active         --          cleared          acknowledged   --
acknowledged   --          normal           --             --
cleared        retripped   --               normal         auto_ack -> normal
retripped      --          cleared          --             trip_delay -> active
error          --          --               normal         --
=============  ==========  ===============  =============  =====================

``error(msg)`` goes to ``error`` from any state; an alert in ``error`` is
shown and counted like an active alert of priority ``error``, so a failing
alert is never silent. Every change posts the visible alerts on
``/system/alerts/state`` and the highest unacknowledged priority name on
``/system/alerts/level``; becoming active posts a notice on
``/system/notifications[/warnings|/errors]``.

Beeping: while an unacknowledged, non-silent alert of priority warning or
above is active, the sound for the highest such priority plays through
``kaithem.sound`` on handle ``kaithem_sys_main_alarm``: at once when an alert
becomes active, then every :data:`BEEP_INTERVALS` seconds (warning and error
hourly, critical every 36 s, each plus up to ``alert-beep-jitter`` = 3 s
of random delay), on the instance's clock. Config: ``alert-sounds``
(priority -> sound file; default ``{"critical": "error.ogg"}``) and
``alert-sound-output`` (default ``"__disable__"``: silent, as in Kaithem;
``"@auto"`` for the default device, or a device name).
"""

from __future__ import annotations

import itertools
import random
import threading
from typing import Any, Dict, Iterable

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError
from kcore.kaithem._support import bind_class
from kcore.kaithem.states import StateMachine

PRIORITIES = {"none": 0, "debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
#: accepted spellings that map to a priority (the help page's default "normal")
PRIORITY_ALIASES = {"normal": "info"}

STATE_TOPIC = "/system/alerts/state"
LEVEL_TOPIC = "/system/alerts/level"
VIEW_PERMISSION = "/users/alerts.view"
ACK_PERMISSION = "/users/alerts.acknowledge"
DEFAULT_AUTO_ACK = 10.0
#: seconds between beeps for the highest unacknowledged priority
BEEP_INTERVALS = {"warning": 3600.0, "error": 3600.0, "critical": 36.0}
BEEP_HANDLE = "kaithem_sys_main_alarm"
BEEP_DISABLED = "__disable__"
DEFAULT_ALERT_SOUNDS = {"critical": "error.ogg"}

_BAD_NAME_CHARS = set("[]{}|\\<>,?-=+)(*&^%$#@!~`")
_VISIBLE = ("tripped", "active", "acknowledged", "cleared", "retripped", "error")
_UNACKED = ("active", "error")


class AlertError(KcoreError, ValueError):
    """Bad alert arguments (unknown priority, empty name, duplicate id, ...)."""


class AlertPermissionError(KcoreError, PermissionError):
    """The acting user lacks a permission the alert requires."""


def check_priority(priority: Any) -> str:
    """The canonical name of ``priority``; unknown names raise :class:`AlertError`."""
    name = PRIORITY_ALIASES.get(priority, priority)
    if name not in PRIORITIES:
        raise AlertError(
            "unknown alert priority %r; use one of %s" % (priority, ", ".join(PRIORITIES))
        )
    return name  # type: ignore[no-any-return]


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AlertError("alert name must be a non-empty string, got %r" % (name,))
    return "".join(" " if (c in _BAD_NAME_CHARS or ord(c) < 32) else c for c in name).strip()


class Alert:
    """An alert; see the module docstring for states and transitions.

    ``permissions``/``ack_permissions`` (``ackPermissions`` accepted) are
    needed, besides ``/users/alerts.view`` and ``/users/alerts.acknowledge``,
    to see and to acknowledge it. ``auto_ack`` (True = 10 s, or seconds)
    returns a cleared alert to normal by itself.
    """

    def __init__(
        self,
        name: str,
        priority: str = "info",
        zone: str | None = None,
        trip_delay: float = 0,
        auto_ack: bool | float = False,
        permissions: Iterable[str] = (),
        ackPermissions: Iterable[str] = (),  # the original's name
        id: str | None = None,  # the original's name
        description: str = "",
        silent: bool = False,
        *,
        ack_permissions: Iterable[str] = (),
        kaithem: Any = None,
    ) -> None:
        if kaithem is None:
            from kcore.kaithem import default

            kaithem = default()
        self._kaithem = kaithem
        self.name = _clean_name(name)
        self.priority = check_priority(priority)
        self.zone = zone
        if isinstance(trip_delay, bool) or not isinstance(trip_delay, (int, float)):
            raise AlertError("trip_delay must be seconds, got %r" % (trip_delay,))
        if trip_delay < 0:
            raise AlertError("trip_delay must be >= 0, got %r" % (trip_delay,))
        self._trip_delay = float(trip_delay)
        if auto_ack is True:
            auto_ack = DEFAULT_AUTO_ACK
        if auto_ack is not False and (
            not isinstance(auto_ack, (int, float)) or isinstance(auto_ack, bool) or auto_ack < 0
        ):
            raise AlertError("auto_ack must be False, True or seconds >= 0, got %r" % (auto_ack,))
        self.auto_ack = auto_ack
        self.permissions = sorted(set(permissions) | {VIEW_PERMISSION})
        self.ack_permissions = sorted(
            set(ackPermissions) | set(ack_permissions) | {ACK_PERMISSION}
        )
        self.description = description
        self.silent = bool(silent)
        self.trip_message = ""
        self.tripped_at: float | None = None
        self.acknowledged_by: str | None = None
        self.ack_notes = ""
        self._registry: AlertRegistry = kaithem.alerts._registry
        self.id = self._registry.add(self, id)

        sm = StateMachine("normal", name="alert:" + self.name, kaithem=kaithem)
        for state in ("normal", *_VISIBLE):
            sm.add_state(state)
        sm.add_rule("normal", "trip", "tripped")
        sm.add_rule("tripped", "release", "normal")
        sm.add_rule("active", "release", "cleared")
        sm.add_rule("active", "acknowledge", "acknowledged")
        sm.add_rule("acknowledged", "release", "normal")
        sm.add_rule("cleared", "trip", "retripped")
        sm.add_rule("cleared", "acknowledge", "normal")
        sm.add_rule("retripped", "release", "cleared")
        sm.add_rule("error", "acknowledge", "normal")
        sm.set_timer("tripped", self._trip_delay, "active")
        sm.set_timer("retripped", self._trip_delay, "active")
        if auto_ack is not False:
            sm.set_timer("cleared", float(auto_ack), "normal")
        sm.subscribe(self._on_state)
        self.sm = sm

    # -- properties ---------------------------------------------------------

    @property
    def trip_delay(self) -> float:
        return self._trip_delay

    @property
    def state(self) -> str:
        return self.sm.state

    @property
    def level(self) -> int:
        """Numeric priority (the error state counts as ``error``)."""
        if self.sm.state == "error":
            return max(PRIORITIES["error"], PRIORITIES[self.priority])
        return PRIORITIES[self.priority]

    @property
    def trippedAt(self) -> float | None:  # the original's name
        return self.tripped_at

    # -- actions ------------------------------------------------------------

    def trip(self, message: str = "") -> None:
        """The watched condition started (becomes active after ``trip_delay``)."""
        if self.sm.state in ("normal", "cleared"):
            self.trip_message = str(message)
            self.tripped_at = self._kaithem.clock.time()
        self.sm.event("trip")

    def clear(self) -> None:
        """The watched condition stopped."""
        self.sm.event("release")

    release = clear

    def acknowledge(
        self, by: str = "unknown", notes: str = "", *, permissions: Iterable[str] | None = None
    ) -> None:
        """Acknowledge. ``permissions`` (the acting user's, when known) must
        include every acknowledge permission of the alert."""
        if permissions is not None:
            missing = sorted(set(self.ack_permissions) - set(permissions))
            if missing:
                raise AlertPermissionError(
                    "acknowledging alert %r needs permissions %s" % (self.name, ", ".join(missing))
                )
        before = self.sm.state
        self.sm.event("acknowledge")
        if self.sm.state != before:
            self.acknowledged_by = str(by)
            self.ack_notes = str(notes)
            _logger.log_info("alert %s acknowledged by %s %s" % (self.name, by, notes))

    def error(self, msg: str = "") -> None:
        """Something is wrong with the alert itself (acknowledge returns it to normal)."""
        self.trip_message = str(msg)
        self.sm.jump("error")

    def can_view(self, permissions: Iterable[str]) -> bool:
        return set(self.permissions) <= set(permissions)

    def can_acknowledge(self, permissions: Iterable[str]) -> bool:
        return set(self.ack_permissions) <= set(permissions)

    def format(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.sm.state,
            "priority": self.priority,
            "zone": self.zone,
            "description": self.description,
            "message": self.trip_message,
        }

    def close(self) -> None:
        """Forget the alert (no state change; posts the updated state)."""
        self._registry.remove(self)

    # -- side effects ---------------------------------------------------------

    def _on_state(self, state: str) -> None:
        level = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}.get(
            self.priority, 20
        )
        if state in ("tripped", "retripped"):
            _logger.log("alert %s tripped: %s" % (self.name, self.trip_message), max(level, 10))
        bus = self._kaithem.runtime.bus
        if state == "active" or state == "error":
            pri = "error" if state == "error" else self.priority
            topic = {
                "critical": "/system/notifications/errors",
                "error": "/system/notifications/errors",
                "warning": "/system/notifications/warnings",
            }.get(pri, "/system/notifications")
            if PRIORITIES[pri] >= PRIORITIES["info"]:
                bus.post(topic, "Alert %s %s: %s" % (self.name, state, self.trip_message))
        elif state == "normal" and self.sm.prev_state not in ("tripped", None):
            if PRIORITIES[self.priority] >= PRIORITIES["info"]:
                bus.post("/system/notifications", "Alert %s is back to normal" % self.name)
        self._registry.publish(became_active=state in ("active", "error"))

    def __repr__(self) -> str:
        return "<Alert %s %s %s>" % (self.name, self.priority, self.sm.state)


class AlertRegistry:
    """The alerts of one Kaithem instance, by id (held strongly until
    ``alert.close()``)."""

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        self._alerts: dict[str, Alert] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.beeper = AlertBeeper(self, kaithem)

    def add(self, alert: Alert, wanted: str | None) -> str:
        with self._lock:
            if wanted is None:
                wanted = "%s-%d" % (alert.name, next(self._ids))
                while wanted in self._alerts:
                    wanted = "%s-%d" % (alert.name, next(self._ids))
            elif not isinstance(wanted, str) or not wanted:
                raise AlertError("alert id must be a non-empty string, got %r" % (wanted,))
            elif wanted in self._alerts:
                raise AlertError("an alert with id %r already exists" % (wanted,))
            self._alerts[wanted] = alert
            return wanted

    def remove(self, alert: Alert) -> None:
        with self._lock:
            if self._alerts.get(alert.id) is alert:
                del self._alerts[alert.id]
        self.publish()

    def all(self) -> list[Alert]:
        with self._lock:
            return list(self._alerts.values())

    def visible(self, permissions: Iterable[str] | None = None) -> dict[str, dict]:
        """``{id: alert.format()}`` of alerts not in ``normal`` (that the
        holder of ``permissions`` may see, when given)."""
        out = {}
        for a in self.all():
            if a.sm.state in _VISIBLE and (permissions is None or a.can_view(permissions)):
                out[a.id] = a.format()
        return out

    def level(self) -> str:
        """Name of the highest priority among unacknowledged, non-silent alerts."""
        best = 0
        for a in self.all():
            if a.sm.state in _UNACKED and not a.silent:
                best = max(best, a.level)
        return next(n for n, v in PRIORITIES.items() if v == best)

    def publish(self, became_active: bool = False) -> None:
        bus = self._kaithem.runtime.bus
        bus.post(STATE_TOPIC, self.visible())
        level = self.level()
        bus.post(LEVEL_TOPIC, level)
        self.beeper.update(level, became_active)


class AlertBeeper:
    """Plays the alarm sound for the highest unacknowledged priority at
    :data:`BEEP_INTERVALS` (see the module docstring)."""

    def __init__(self, registry: AlertRegistry, kaithem: Any) -> None:
        config = kaithem.config
        self._kaithem = kaithem
        self.sounds: Dict[str, str] = dict(config.get("alert-sounds", DEFAULT_ALERT_SOUNDS))
        self.output = str(config.get("alert-sound-output", BEEP_DISABLED))
        self.jitter = float(config.get("alert-beep-jitter", 3.0))
        self._random = random.Random()  # noqa: S311 - spreading beeps, not secrets
        self._lock = threading.Lock()
        self._job: Any = None
        self._level = "none"
        self.beeps = 0  # sounds started, for monitoring

    @property
    def enabled(self) -> bool:
        return self.output != BEEP_DISABLED

    def update(self, level: str, became_active: bool) -> None:
        """Called after every alert state change with the new level."""
        if not self.enabled:
            return
        with self._lock:
            beepable = level in BEEP_INTERVALS
            if beepable and not became_active and level == self._level and self._job is not None:
                return  # same level, schedule running
            self._level = level
            if self._job is not None:
                self._job.cancel()
                self._job = None
            if not beepable:
                return
            self._schedule(level)
        if became_active:
            self._kaithem.runtime.workers.submit(self._beep, level)

    def _schedule(self, level: str) -> None:
        # called with self._lock held
        delay = BEEP_INTERVALS[level] + self._random.uniform(0, self.jitter)
        self._job = self._kaithem.runtime.scheduler.schedule(self._tick, delay)

    def _tick(self) -> None:
        with self._lock:
            level = self._level
            if level not in BEEP_INTERVALS:
                return
            self._schedule(level)
        self._beep(level)

    def _beep(self, level: str) -> None:
        sound = self.sounds.get(level)
        if not sound:
            return
        output = None if self.output in ("", "@auto") else self.output
        self._kaithem.sound.play(sound, BEEP_HANDLE, output=output)
        self.beeps += 1


class Namespace:
    """``kaithem.alerts`` bound to one Kaithem instance."""

    PRIORITIES = PRIORITIES
    AlertError = AlertError
    AlertPermissionError = AlertPermissionError

    def __init__(self, kaithem: Any) -> None:
        self._registry = AlertRegistry(kaithem)
        self.Alert = bind_class(Alert, kaithem)

    def all(self) -> list[Alert]:
        return self._registry.all()

    def get(self, id: str) -> Alert | None:
        return self._registry._alerts.get(id)

    def visible(self, permissions: Iterable[str] | None = None) -> dict[str, dict]:
        return self._registry.visible(permissions)

    def level(self) -> str:
        return self._registry.level()
