"""Configured state machines and alerts, built on ``kaithem.states`` and
``kaithem.alerts``.

A machine's current state is the read-only string tag ``/states/<name>``;
events reach it as messages on the bus topic ``/states/<name>/event`` (the
message is the event name) or through ``hub.machines[name].event(...)`` in a
script. Entering a state writes the tag values configured for it. An alert
watches one tag and trips while the value is above ``above`` or below
``below``; it clears when the value is back in range.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional

from kcore.common import logger as _logger
from kcore.hub.config import AlertSpec, MachineSpec, TagSpec
from kcore.hub.tagtable import Origin, TagTable

ERROR_TOPIC = "/system/errors/hub"


def machine_tag(name: str) -> str:
    return "/states/%s" % name


def event_topic(name: str) -> str:
    return "/states/%s/event" % name


def get_or_create_tag(kaithem: Any, name: str, example: Any) -> Any:
    """The tag ``name``, created with a type that fits ``example`` if missing."""
    tag = kaithem.tags.get(name)
    if tag is not None:
        return tag
    if isinstance(example, str):
        return kaithem.tags.StringTag(name)
    if isinstance(example, (dict, list)) or example is None:
        return kaithem.tags.ObjectTag(name)
    return kaithem.tags[name]


class Automation:
    """The machines and alerts of a hub configuration."""

    def __init__(
        self,
        kaithem: Any,
        table: TagTable,
        machines: Dict[str, MachineSpec],
        alerts: Dict[str, AlertSpec],
    ) -> None:
        self.kaithem = kaithem
        self.table = table
        self.machine_specs = machines
        self.alert_specs = alerts
        self.machines: Dict[str, Any] = {}
        self.alerts: Dict[str, Any] = {}
        self._undo: List[Callable[[], None]] = []

    def start(self, saved_states: Optional[Dict[str, str]] = None) -> None:
        saved_states = saved_states or {}
        for machine in self.machine_specs.values():
            self._start_machine(machine, saved_states.get(machine.name))
        for alert in self.alert_specs.values():
            self._start_alert(alert)

    # -- state machines -----------------------------------------------------

    def _start_machine(self, spec: MachineSpec, saved: Optional[str]) -> None:
        k = self.kaithem
        sm = k.states.StateMachine(spec.start, name=spec.name, description=spec.description)
        for state, writes in spec.states.items():
            sm.add_state(state, enter=self._enter_action(spec.name, writes))
        for src, event, dest in spec.rules:
            sm.add_rule(src, event, dest)
        for state, seconds, dest in spec.timers:
            sm.set_timer(state, seconds, dest)
        name = machine_tag(spec.name)
        self.table.set_spec(
            TagSpec(
                name=name,
                type="string",
                public=spec.public,
                writable=False,
                persist=False,
                description=spec.description,
            )
        )
        tag = k.tags.StringTag(name)

        def show(state: str) -> None:
            tag(state, None, Origin("machine", spec.name))

        sm.subscribe(show)
        sub = k.message.subscribe(event_topic(spec.name), self._event_handler(sm))
        self._undo.append(sub.unsubscribe)
        self.machines[spec.name] = sm
        start = saved if saved in spec.states else spec.start
        sm.jump(start)  # runs the state's entry writes, so tags match the machine

    def _enter_action(self, machine: str, writes: Dict[str, Any]) -> Callable[[], None]:
        def enter() -> None:
            for tag_name, value in writes.items():
                try:
                    get_or_create_tag(self.kaithem, tag_name, value)(
                        value, None, Origin("machine", machine)
                    )
                except (TypeError, ValueError) as e:
                    self._report("state machine %s could not set %s" % (machine, tag_name), e)

        return enter

    def _event_handler(self, sm: Any) -> Callable[[Any], None]:
        def on_event(message: Any) -> None:
            if isinstance(message, str):
                sm.event(message)
            else:
                _logger.log_warning(
                    "hub: state machine %s: events are strings, got %r" % (sm.name, message)
                )

        return on_event

    def machine_states(self) -> Dict[str, str]:
        return {name: sm.state for name, sm in self.machines.items()}

    # -- alerts ---------------------------------------------------------------

    def _start_alert(self, spec: AlertSpec) -> None:
        k = self.kaithem
        alert = k.alerts.Alert(
            spec.name,
            priority=spec.priority,
            zone=spec.zone,
            trip_delay=spec.trip_delay,
            auto_ack=spec.auto_ack,
            description=spec.description,
            id=spec.name,
        )
        self.alerts[spec.name] = alert
        tag = k.tags.get(spec.tag)
        if tag is None:
            tag = k.tags[spec.tag]
        unit = getattr(tag, "unit", "")

        def check(value: Any, ts: float, annotation: Any) -> None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                alert.error("%s is not a number: %r" % (spec.tag, str(value)[:40]))
                return
            high = spec.above is not None and value > spec.above
            low = spec.below is not None and value < spec.below
            if high or low or math.isnan(value):
                alert.trip("%s = %g %s" % (spec.tag, value, unit))
            elif alert.state != "normal":
                alert.clear()

        tag.subscribe(check)
        self._undo.append(lambda: tag.unsubscribe(check))
        if tag.timestamp:
            check(tag.value, tag.timestamp, None)

    def acknowledge(self, alert_id: str, by: str) -> bool:
        alert = self.kaithem.alerts.get(alert_id)
        if alert is None:
            return False
        alert.acknowledge(by=by)
        return True

    # -- lifetime ------------------------------------------------------------

    def _report(self, what: str, exc: BaseException) -> None:
        _logger.log_error("hub: %s: %r" % (what, exc))
        self.kaithem.message.post(ERROR_TOPIC, {"what": what, "error": repr(exc)})

    def close(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo = []
        for sm in self.machines.values():
            for state in list(sm.states):
                sm.remove_state(state)  # stops its timers
        for alert in self.alerts.values():
            alert.close()
