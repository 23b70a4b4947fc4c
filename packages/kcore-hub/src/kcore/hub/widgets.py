"""The dashboard's widgets: one kaithem widget per entry of the ``widgets:``
section, kept in step with what it shows (a tag, a state machine, the alerts,
the sun), plus the hub's own status widgets (health and scripts).

Every widget has a fixed id (``hub:<n>``, ``hub:health``, ``hub:scripts``,
``hub:script-errors``) and the permissions of what it shows: a public widget
is readable by guests (its tag or machine must be public too); any other
needs the tag's read permission (``/hub/tags.read`` for the rest). Writing
from a browser needs the tag's write permission, ``/hub/machines.event`` for
state machines or ``/users/alerts.acknowledge`` for alerts; kaithem's widget
socket checks them before anything changes. A browser's change goes through
the same path as an API write (the tag's default claim, origin ``web``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Dict, List, Optional

from kcore.html import escape
from kcore.hub.config import EVENT_PERMISSION, READ_PERMISSION, SCRIPTS_PERMISSION
from kcore.hub.datadir import HubError
from kcore.hub.tagtable import Origin

NEVER = ["__never__"]  # a write permission nobody has: read-only widgets
MIN_PRESS = 0.1  # seconds a tapped button stays down, so debounced inputs see the tap
REFRESH_INTERVAL = 1.0  # seconds between checks of health and scripts
SUN_INTERVAL = 60.0
NUMBER_WIDGETS = ("meter", "switch", "button", "slider", "led")
SERVER_USER = "__SERVER__"


class Card:
    """One widget on the dashboard: ``widget`` (the kaithem widget),
    ``read``/``write`` (permission lists; ``read == []``: guests too) and
    :meth:`html` for the page."""

    kind = ""

    def __init__(self, dash: Dashboard, index: int, spec: Dict[str, Any]) -> None:
        self.dash = dash
        self.hub = dash.hub
        self.id = "hub:%d" % index
        self.index = index
        self.spec = spec
        self.label = str(spec.get("label") or "")
        self.public = bool(spec.get("public"))
        self.read: List[str] = [] if self.public else [READ_PERMISSION]
        self.write: List[str] = NEVER
        self.widget: Any = None

    # -- permissions -------------------------------------------------------------

    def readable_by(self, caller: Any) -> bool:
        return caller.everything or all(caller.can(p) for p in self.read)

    def writable_by(self, caller: Any) -> bool:
        if self.write == NEVER:
            return False
        return self.readable_by(caller) and all(caller.can(p) for p in self.write)

    def _attach(self, widget: Any) -> Any:
        widget.set_permissions(read=self.read, write=self.write)
        widget.attach(self._browser_write)
        self.widget = widget
        return widget

    def _browser_write(self, user: str, value: Any) -> None:
        if user != SERVER_USER:  # writes made here call back as the server: ignore
            self.from_browser(user, value)

    # -- what subclasses fill in --------------------------------------------------

    def start(self) -> None:
        """Create the widget and show the current value."""

    def from_browser(self, user: str, value: Any) -> None:
        """A permitted browser change (kaithem checked the permissions)."""

    def refresh(self) -> None:
        """Push the current value (called when what it shows changed)."""

    def html(self, writable: bool) -> str:
        raise NotImplementedError

    def close(self) -> None:
        if self.widget is not None:
            self.widget.attach(None)
            self.widget.close()


# ------------------------------------------------------------------ tag widgets


class TagCard(Card):
    """A widget over one tag: shows its value, writes browser changes to it."""

    def __init__(self, dash: Dashboard, index: int, spec: Dict[str, Any]) -> None:
        super().__init__(dash, index, spec)
        self.tag_name: str = spec["tag"]
        tag = self.hub.kaithem.tags.get(self.tag_name)
        if tag is None:
            raise dash.error(index, spec, "no tag %s (define it under tags)" % self.tag_name)
        self.tag = tag
        tspec = self.hub.tag_spec(self.tag_name)
        if self.public and not tspec.public:
            raise dash.error(
                index,
                spec,
                "tag %s is not public (add public: true to the tag, or make the widget "
                "private)" % self.tag_name,
            )
        self.read = [] if self.public else [tspec.read_permission]
        if tspec.writable:
            self.write = [tspec.write_permission]
        self.number = tag.type == "number"
        if spec["type"] in NUMBER_WIDGETS and not self.number:
            raise dash.error(index, spec, "a %s widget needs a number tag" % spec["type"])

    def refresh(self) -> None:
        value = self.tag.value
        if value is not None:
            self.show(value)

    def show(self, value: Any) -> None:
        self.widget.write(value)

    def set_tag(self, user: str, value: Any) -> None:
        from kcore.hub.web import write_tag

        try:
            write_tag(self.hub, self.tag_name, value, Origin("web", user))
        finally:
            self.refresh()  # the tag's value, even when it refused or kept this one

    def from_browser(self, user: str, value: Any) -> None:
        self.set_tag(user, value)


class MeterCard(TagCard):
    """``meter`` (with a bar from ``min`` to ``max``) and ``value`` over a number tag."""

    def start(self) -> None:
        spec = self.spec
        limits: Dict[str, float] = {}
        for alert in self.hub.config.alerts.values():
            if alert.tag == self.tag_name:  # the meter turns yellow where the alert trips
                if alert.above is not None:
                    limits["high_warn"] = alert.above
                if alert.below is not None:
                    limits["low_warn"] = alert.below
        unit = getattr(self.tag, "unit", "") or self.hub.tag_spec(self.tag_name).unit
        w = self.hub.kaithem.widget.Meter(id=self.id, unit=unit or "", **limits)
        self._attach(w)
        self.lo = float(spec.get("min", self.tag.min if self.tag.min is not None else 0))
        self.hi = float(spec.get("max", self.tag.max if self.tag.max is not None else 100))
        self.refresh()

    def show(self, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                self.widget.write(value)

    def html(self, writable: bool) -> str:
        out = str(self.widget.render())
        if self.spec["type"] == "meter" and self.hi > self.lo:
            out += (
                '<div class="hub-bar" data-hub-type="bar" data-hub-id="%s" data-min="%g" '
                'data-max="%g"><span></span></div>' % (escape(self.id), self.lo, self.hi)
            )
        return out


class TextCard(TagCard):
    """``value`` over a string or object tag: the value as text."""

    def start(self) -> None:
        self._attach(self.hub.kaithem.widget.DynamicSpan(id=self.id, max_length=1000))
        self.refresh()

    def show(self, value: Any) -> None:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        self.widget.write(text)

    def html(self, writable: bool) -> str:
        return '<span class="hub-text">%s</span>' % self.widget.render()


class TextBoxCard(TagCard):
    """``text``: a text box writing a string tag."""

    def __init__(self, dash: Dashboard, index: int, spec: Dict[str, Any]) -> None:
        super().__init__(dash, index, spec)
        if self.tag.type != "string":
            raise dash.error(index, spec, "a text widget needs a string tag")

    def start(self) -> None:
        self._attach(self.hub.kaithem.widget.TextBox(id=self.id))
        self.refresh()

    def html(self, writable: bool) -> str:
        return _controls(str(self.widget.render()), writable)


class SwitchCard(TagCard):
    """``switch``: on (1) and off (0)."""

    def start(self) -> None:
        self._attach(self.hub.kaithem.widget.Switch(id=self.id))
        self.refresh()

    def show(self, value: Any) -> None:
        self.widget.write(bool(value > 0.5))

    def from_browser(self, user: str, value: Any) -> None:
        self.set_tag(user, 1 if value else 0)

    def html(self, writable: bool) -> str:
        return _controls(str(self.widget.render("on")), writable)


class SliderCard(TagCard):
    """``slider`` from ``min`` to ``max`` (the widget's, else the tag's, else 0-100)."""

    def start(self) -> None:
        spec = self.spec
        lo = spec.get("min", self.tag.min if self.tag.min is not None else 0)
        hi = spec.get("max", self.tag.max if self.tag.max is not None else 100)
        step = spec.get("step", 1 if hi - lo >= 20 else 0.1)
        self.unit = getattr(self.tag, "unit", "") or ""
        self._attach(self.hub.kaithem.widget.Slider(min=lo, max=hi, step=step, id=self.id))
        self.refresh()

    def show(self, value: Any) -> None:
        if isinstance(value, (int, float)) and math.isfinite(value):
            self.widget.write(value)

    def html(self, writable: bool) -> str:
        return _controls(str(self.widget.render(unit=self.unit or None)), writable)


class ButtonCard(TagCard):
    """``button``: 1 while pressed, 0 when let go; a quick tap is held for
    :data:`MIN_PRESS` seconds so a debounced input (the simulated GPIO
    button) still sees it."""

    def __init__(self, dash: Dashboard, index: int, spec: Dict[str, Any]) -> None:
        super().__init__(dash, index, spec)
        self._pressed_at: Optional[float] = None
        self._release: Any = None

    def start(self) -> None:
        self._attach(self.hub.kaithem.widget.Button(id=self.id))

    def refresh(self) -> None:
        pass  # a button shows nothing

    def from_browser(self, user: str, value: Any) -> None:
        import time

        if value in ("pushed", "pressed"):
            if self._release is not None:
                self._release.cancel()
                self._release = None
            self._pressed_at = time.monotonic()
            self.set_tag(user, 1)
            return
        held = time.monotonic() - (self._pressed_at or 0.0)
        if held >= MIN_PRESS:
            self.set_tag(user, 0)
        else:
            scheduler = self.hub.kaithem.runtime.scheduler
            self._release = scheduler.schedule(lambda: self.set_tag(user, 0), MIN_PRESS - held)

    def html(self, writable: bool) -> str:
        return _controls(str(self.widget.render("Press")), writable)

    def close(self) -> None:
        if self._release is not None:
            self._release.cancel()
        super().close()


class LedCard(TagCard):
    """``led``: lit while the tag is above 0.5 (shows the LED; switching it
    is for a ``switch`` widget)."""

    def __init__(self, dash: Dashboard, index: int, spec: Dict[str, Any]) -> None:
        super().__init__(dash, index, spec)
        self.write = NEVER

    def start(self) -> None:
        self._attach(self.hub.kaithem.widget.DataSource(id=self.id))
        self.refresh()

    def show(self, value: Any) -> None:
        self.widget.write(bool(value > 0.5))

    def html(self, writable: bool) -> str:
        return _custom(self.id, "led", '<span class="hub-led-light"></span><span>off</span>')


class PixelsCard(TagCard):
    """``neopixels``: one dot per pixel, in the colours the tag sets."""

    def __init__(self, dash: Dashboard, index: int, spec: Dict[str, Any]) -> None:
        super().__init__(dash, index, spec)
        if self.tag.type != "object":
            raise dash.error(index, spec, "a neopixels widget needs the strip's tag")
        self.write = NEVER

    def start(self) -> None:
        self._attach(self.hub.kaithem.widget.DataSource(id=self.id))
        hw = self.hub.config.hardware.neopixels
        strip = self.hub.devices.strip
        self.count = len(strip) if strip is not None else (hw.count if hw else 8)
        self.refresh()

    def show(self, value: Any) -> None:
        from kcore.hub.devices import parse_colors

        try:
            pixels = ["#%06x" % c for c in parse_colors(value, self.count)]
        except ValueError:
            return
        self.widget.write(pixels)

    def html(self, writable: bool) -> str:
        dots = '<span class="hub-pixel"></span>' * self.count
        return _custom(self.id, "pixels", dots)


# ------------------------------------------------------------------ other widgets


class StateCard(Card):
    """``state``: a state machine's state, with a button per event."""

    def __init__(self, dash: Dashboard, index: int, spec: Dict[str, Any]) -> None:
        super().__init__(dash, index, spec)
        self.machine_name: str = spec["machine"]
        self.write = [EVENT_PERMISSION]

    def start(self) -> None:
        w = self._attach(self.hub.kaithem.widget.DataSource(id=self.id))
        w.echo = False  # the browser sends {"event": ...}; everyone sees the state
        mspec = self.hub.config.machines[self.machine_name]
        self.events = sorted({event for _src, event, _dst in mspec.rules})
        self.refresh()

    def refresh(self) -> None:
        sm = self.hub.automation.machines.get(self.machine_name)
        state = sm.state if sm is not None else None
        self.widget.write({"state": state, "events": self.events})

    def from_browser(self, user: str, value: Any) -> None:
        event = value.get("event") if isinstance(value, dict) else None
        sm = self.hub.automation.machines.get(self.machine_name)
        if isinstance(event, str) and event in self.events and sm is not None:
            sm.event(event)
        self.refresh()

    def html(self, writable: bool) -> str:
        inner = '<span class="hub-state-name"></span><span class="hub-events"></span>'
        return _custom(self.id, "state", inner, writable)


class AlertsCard(Card):
    """``alerts``: the active alerts (for guests, those anyone may see), with
    an acknowledge button for users who may."""

    def start(self) -> None:
        from kcore.kaithem.alerts import ACK_PERMISSION, VIEW_PERMISSION

        self.write = [ACK_PERMISSION]
        self.permissions = [VIEW_PERMISSION] if self.public else None
        w = self._attach(self.hub.kaithem.widget.DataSource(id=self.id))
        w.echo = False
        self.refresh()

    def refresh(self) -> None:
        alerts = self.hub.kaithem.alerts.visible(self.permissions)
        shown = [
            {k: a[k] for k in ("id", "name", "priority", "state", "message", "description")}
            for a in sorted(alerts.values(), key=lambda a: a["name"])
        ]
        if shown != self.widget.value:
            self.widget.write(shown)

    def from_browser(self, user: str, value: Any) -> None:
        alert_id = value.get("ack") if isinstance(value, dict) else None
        if isinstance(alert_id, str):
            self.hub.automation.acknowledge(alert_id, user)
        self.widget.value = None  # a browser value never stays
        self.refresh()

    def html(self, writable: bool) -> str:
        inner = '<ul class="hub-alert-list"></ul><p class="hub-none">no active alerts</p>'
        return _custom(self.id, "alerts", inner, writable)


class SunCard(Card):
    """``sun``: today's dawn, sunrise, sunset and dusk at the configured place."""

    def start(self) -> None:
        self._attach(self.hub.kaithem.widget.DataSource(id=self.id))
        self.refresh()

    def refresh(self) -> None:
        value = sun_summary(self.hub)
        if value != self.widget.value:
            self.widget.write(value)

    def html(self, writable: bool) -> str:
        rows = "".join(
            '<tr><th>%s</th><td data-sun="%s"></td></tr>' % (k, k)
            for k in ("dawn", "sunrise", "sunset", "dusk")
        )
        inner = '<p class="hub-sun-where"></p><table class="hub-sun-times">%s</table>' % rows
        return _custom(self.id, "sun", inner)


def sun_summary(hub: Any) -> Optional[Dict[str, Any]]:
    """Today's sun times as ``HH:MM`` in the location's time zone (JSON-ready)."""
    from kcore.hub.pages import when

    sun = hub.sun()
    if sun is None:
        return None
    tz = hub.config.location.timezone
    out: Dict[str, Any] = {"location": sun["location"], "is_day": sun["is_day"]}
    for k in ("dawn", "sunrise", "sunset", "dusk"):
        out[k] = when(sun[k], tz, "%H:%M")
    return out


CARDS: Dict[str, Callable[[Dashboard, int, Dict[str, Any]], Card]] = {
    "meter": MeterCard,
    "text": TextBoxCard,
    "switch": SwitchCard,
    "button": ButtonCard,
    "slider": SliderCard,
    "led": LedCard,
    "neopixels": PixelsCard,
    "state": StateCard,
    "alerts": AlertsCard,
    "sun": SunCard,
}


def make_card(dash: Dashboard, index: int, spec: Dict[str, Any]) -> Card:
    if spec["type"] == "value":
        tag = dash.hub.kaithem.tags.get(spec["tag"])
        kind: Callable[..., Card] = (
            MeterCard if tag is not None and tag.type == "number" else TextCard
        )
        return kind(dash, index, spec)
    return CARDS[spec["type"]](dash, index, spec)


# ------------------------------------------------------------------ the dashboard


class Dashboard:
    """The configured widgets of a hub and its status widgets; follows tag
    changes and alerts as they happen, health and scripts every second and
    the sun every minute."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.cards: List[Card] = []
        self.by_tag: Dict[str, List[Card]] = {}
        self.health: Any = None
        self.scripts: Any = None
        self.script_errors: Any = None
        self._undo: List[Callable[[], None]] = []
        self._nav_item: Any = None

    def error(self, index: int, spec: Dict[str, Any], message: str) -> HubError:
        label = spec.get("label") or spec["type"]
        return HubError(
            "%s: widgets.%d (%s): %s" % (self.hub.config.source, index, label, message)
        )

    def start(self) -> None:
        hub = self.hub
        from kcore.hub.automation import machine_tag
        from kcore.kaithem.alerts import STATE_TOPIC

        for i, spec in enumerate(hub.config.widgets):
            card = make_card(self, i, spec)
            self.cards.append(card)
        for card in self.cards:
            card.start()
            if isinstance(card, TagCard):
                self.by_tag.setdefault(card.tag_name, []).append(card)
            elif isinstance(card, StateCard):
                self.by_tag.setdefault(machine_tag(card.machine_name), []).append(card)
        k = hub.kaithem
        self.health = k.widget.DynamicSpan(id="hub:health")
        self.health.set_permissions(read=[], write=NEVER)
        self.scripts = k.widget.DataSource(id="hub:scripts")
        self.scripts.set_permissions(read=[], write=NEVER)
        self.script_errors = k.widget.DataSource(id="hub:script-errors")
        self.script_errors.set_permissions(read=[SCRIPTS_PERMISSION], write=NEVER)
        self.refresh()
        hub.table.add_listener(self._tag_changed)
        self._undo.append(lambda: hub.table.remove_listener(self._tag_changed))
        sub = k.message.subscribe(STATE_TOPIC, self._alerts_changed)
        self._undo.append(sub.unsubscribe)
        self._nav_item = self._nav  # kaithem.web holds nav bar items weakly
        k.web.nav_bar_plugins["kcore-hub"] = self._nav_item
        for f, interval in ((self.refresh, REFRESH_INTERVAL), (self._sun, SUN_INTERVAL)):
            job = k.runtime.scheduler.every(f, interval)
            self._undo.append(job.cancel)

    def _nav(self) -> Any:
        """The link back to the dashboard on kaithem.web's pages (/login)."""
        return (0, '<a href="/">%s</a>' % escape(self.hub.config.title))

    def _tag_changed(self, name: str, value: Any, wall: float, origin: Any) -> None:
        for card in self.by_tag.get(name, ()):
            if isinstance(card, TagCard):
                card.show(value)
            else:
                card.refresh()

    def _alerts_changed(self, message: Any) -> None:
        self._refresh_cards(AlertsCard)

    def _sun(self) -> None:
        self._refresh_cards(SunCard)

    def _refresh_cards(self, kind: type) -> None:
        for card in self.cards:
            if isinstance(card, kind):
                card.refresh()

    def refresh(self) -> None:
        """Push health and scripts where they changed."""
        problem = self.hub.health()
        _write_changed(self.health, "ok" if problem is None else "degraded: " + problem)
        info = self.hub.scripts.info() if self.hub.scripts is not None else []
        _write_changed(self.scripts, [{"name": s["name"], "status": s["status"]} for s in info])
        _write_changed(self.script_errors, info)

    def visible(self, caller: Any) -> List[Card]:
        return [c for c in self.cards if c.readable_by(caller)]

    def close(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo = []
        for card in self.cards:
            card.close()
        for w in (self.health, self.scripts, self.script_errors):
            if w is not None:
                w.close()


def _write_changed(widget: Any, value: Any) -> None:
    if widget.value != value:
        widget.write(value)


def _controls(html: str, writable: bool) -> str:
    """Controls; for viewers who may not change them, disabled (the server
    refuses their changes anyway)."""
    if writable:
        return html
    return '<fieldset class="hub-locked" disabled title="log in to change this">%s</fieldset>' % (
        html
    )


def _custom(wid: str, kind: str, inner: str, writable: bool = False) -> str:
    """An element the hub's dashboard.js binds (``data-hub-type``)."""
    return '<div class="hub-%s" data-hub-type="%s" data-hub-id="%s"%s>%s</div>' % (
        kind,
        kind,
        escape(wid),
        ' data-hub-write="1"' if writable else "",
        inner,
    )
