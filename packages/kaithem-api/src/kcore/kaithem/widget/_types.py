"""The widget types: what each stores, accepts from a browser and renders.

Text is text: a value is shown with ``textContent`` in the browser and
escaped in ``render()``; only a :class:`kcore.html.Markup` value (``raw()``,
trusted HTML written by the program) is inserted as HTML.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from typing import Any

from kcore.html import Markup, escape
from kcore.kaithem.widget._base import Widget, WidgetError, wire

_JS_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_SI_UNITS = ("m", "Pa", "g", "V", "A")


def _text(value: Any) -> str:
    """A value as HTML for render(): Markup as is, anything else escaped."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return escape(str(value))


def _label(label: Any) -> str:
    return '<span class="kw-label">%s</span>' % _text(label) if label else ""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise WidgetError("%s needs a number, got %r" % (what, value)) from None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise WidgetError("%s needs a finite number, got %r" % (what, value))
    return value


class DynamicSpan(Widget):
    """A span whose text the server sets with ``write()``. Text is shown as
    text (``<img onerror=...>`` shows those characters); write a
    ``kcore.html.raw(...)`` value to insert trusted HTML. Text is cut to
    ``max_length`` (255) characters, as in the original."""

    client_writable = False

    def __init__(self, extraInfo: Any = None, *, max_length: int = 255, **kw: Any) -> None:
        self.extra_info = extraInfo
        self.max_length = max_length
        super().__init__(**kw)

    def _initial(self) -> Any:
        return ""

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        return str(value)[: self.max_length]

    def render(self, type: str = "span") -> Markup:
        content = _text(self.value) if self._visible_in_page() else ""
        return Markup('<span class="kw-span" %s>%s</span>' % (self._attrs("span"), content))


class TimeWidget(Widget):
    """The browser's clock, updated every second by a tiny inline script (it
    works without ``/static/widget.js``). ``render(type="inline")`` gives
    plain text without the widget styling."""

    client_writable = False

    def on_request(self, user: str, connection_id: str) -> Any:
        return time.strftime("%Y-%m-%d %H:%M:%S")

    def render(self, type: str = "widget") -> Markup:
        cls = "kw-time-inline" if type == "inline" else "kw-time"
        script = (
            "<script>(function(s){function u(){s.textContent=new Date().toLocaleTimeString()}"
            "u();setInterval(u,1000)})(document.currentScript.previousElementSibling)</script>"
        )
        return Markup('<span class="%s" %s></span>%s' % (cls, self._attrs("time"), script))


class Button(Widget):
    """A button. Browsers send ``"pushed"`` when it goes down and
    ``"released"`` when it comes up; use ``attach(f)`` and test
    ``if 'pushed' in value``. ``render(content, type="trigger")`` adds an
    arm/disarm guard (in the page only: the server sees a normal button)."""

    STATES = ("pushed", "released", "pressed")

    def _from_client(self, value: Any) -> Any:
        if value not in self.STATES:
            raise WidgetError("a button sends 'pushed' or 'released', not %r" % (value,))
        return value

    def render(self, content: Any, type: str = "default") -> Markup:
        if type not in ("default", "trigger"):
            raise WidgetError("Button.render(type=...) is 'default' or 'trigger', not %r" % type)
        button = '<button type="button" class="kw-button%s" %s%s>%s</button>' % (
            " kw-trigger-button" if type == "trigger" else "",
            self._attrs("button"),
            " disabled" if type == "trigger" else "",
            _text(content),
        )
        if type == "trigger":
            return Markup(
                '<span class="kw-trigger"><button type="button" class="kw-arm">Arm</button>'
                "%s</span>" % button
            )
        return Markup(button)


class Meter(Widget):
    """A number shown with a colour class: ``error`` at or beyond ``high`` /
    ``low``, ``warning`` at or beyond ``high_warn`` / ``low_warn``, else
    ``normal``. ``unit`` is the value's unit; ``displayUnits`` (``"degC|degF"``)
    the units shown. The browser receives ``[value, class, text]``."""

    client_writable = False

    def __init__(self, *, unit: str = "", displayUnits: str | None = None, **kw: Any) -> None:
        limits = {}
        for name in ("high", "high_warn", "low", "low_warn", "min", "max"):
            if kw.get(name) is not None:
                limits[name] = _number(kw.pop(name), "Meter %s" % name)
        self.limits = limits
        self.unit = unit
        self.display_units = displayUnits
        super().__init__(**kw)
        self._units = self._hub.kaithem.units

    def _initial(self) -> Any:
        return 0.0

    def _coerce(self, value: Any) -> Any:
        return _number(value, "a Meter")

    def level(self, value: float) -> str:
        lim = self.limits
        if ("high" in lim and value >= lim["high"]) or ("low" in lim and value <= lim["low"]):
            return "error"
        if ("high_warn" in lim and value >= lim["high_warn"]) or (
            "low_warn" in lim and value <= lim["low_warn"]
        ):
            return "warning"
        return "normal"

    def format(self, value: float) -> str:
        units = [u for u in (self.display_units or self.unit or "").split("|") if u]
        if not units:
            return "%g" % round(value, 3)
        out = []
        for u in units:
            try:
                v = (
                    value
                    if u == self.unit or not self.unit
                    else self._units.convert(value, self.unit, u)
                )
            except (KeyError, TypeError, ValueError):
                continue
            if u in _SI_UNITS:
                text = self._hub.kaithem.string.si_format(v).replace("K", "k") + u
            else:
                text = "%g%s" % (round(v, 2), u)
            out.append(text)
        return " | ".join(out) or "%g" % round(value, 3)

    def _wire(self, value: Any) -> Any:
        return [round(value, 3), self.level(value), self.format(value)]

    def render(self, unit: str | None = None, label: Any = None) -> Markup:
        shown = self._visible_in_page()
        v = self.value
        return Markup(
            '<span class="kw-meter kw-%s" %s>%s<span class="kw-value">%s</span>%s</span>'
            % (
                self.level(v) if shown else "normal",
                self._attrs("meter"),
                _label(label),
                escape(self.format(v)) if shown else "",
                '<span class="kw-unit">%s</span>' % escape(unit) if unit else "",
            )
        )


class Slider(Widget):
    """A slider from ``min`` to ``max`` in ``step`` s; values are floats,
    rounded to the step. ``render(unit, label, type="realtime")`` sends while
    it moves; ``type="onrelease"`` only when let go."""

    def __init__(self, min: float = 0, max: float = 100, step: float = 0.1, **kw: Any) -> None:
        self.min = _number(min, "Slider min")
        self.max = _number(max, "Slider max")
        self.step = _number(step, "Slider step")
        if self.max <= self.min or self.step <= 0:
            raise WidgetError("a Slider needs min < max and step > 0")
        super().__init__(**kw)

    def _initial(self) -> Any:
        return self.min

    def _coerce(self, value: Any) -> Any:
        v = min(self.max, max(self.min, _number(value, "a Slider")))
        steps = round((v - self.min) / self.step)
        return round(min(self.max, self.min + steps * self.step), 10)

    def render(self, unit: str | None = None, label: Any = None, type: str = "realtime") -> Markup:
        if type not in ("realtime", "onrelease"):
            raise WidgetError(
                "Slider.render(type=...) is 'realtime' or 'onrelease', not %r" % type
            )
        v = self.value if self._visible_in_page() else self.min
        return Markup(
            '<span class="kw-slider">%s<input type="range" min="%g" max="%g" step="%g" '
            'value="%g" data-kw-mode="%s" %s><span class="kw-readout">%g</span>%s</span>'
            % (
                _label(label),
                self.min,
                self.max,
                self.step,
                v,
                type,
                self._attrs("slider"),
                v,
                '<span class="kw-unit">%s</span>' % escape(unit) if unit else "",
            )
        )


class Switch(Widget):
    """An on/off toggle; ``read()``/``write()`` use booleans."""

    def _initial(self) -> Any:
        return False

    def _coerce(self, value: Any) -> Any:
        return bool(value)

    def _from_client(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise WidgetError("a Switch takes true or false, not %r" % (value,))
        return value

    def render(self, label: Any = None) -> Markup:
        checked = " checked" if self.value and self._visible_in_page() else ""
        return Markup(
            '<label class="kw-switch"><input type="checkbox" %s%s> %s</label>'
            % (self._attrs("switch"), checked, _text(label))
        )


class TextBox(Widget):
    """A text box; ``read()`` gives its text, ``write(s)`` sets it."""

    max_length = 65536

    def _initial(self) -> Any:
        return ""

    def _coerce(self, value: Any) -> Any:
        return "" if value is None else str(value)

    def _from_client(self, value: Any) -> Any:
        if not isinstance(value, str) or len(value) > self.max_length:
            raise WidgetError("a TextBox takes text of at most %d characters" % self.max_length)
        return value

    def render(self, label: Any = None) -> Markup:
        v = self.value if self._visible_in_page() else ""
        return Markup(
            '<label class="kw-textbox">%s <input type="text" value="%s" %s></label>'
            % (_text(label), escape(str(v)), self._attrs("text"))
        )


class ScrollBox(Widget):
    """A log: each ``write(entry)`` appends one entry (text, or Markup for
    trusted HTML) on every browser; the last ``length`` are kept and a new
    browser gets them all. Browsers receive ``{"all": [...]}`` on subscribing
    and ``{"add": entry}`` per write; none is dropped (see the outbox)."""

    client_writable = False

    def __init__(self, length: int = 250, **kw: Any) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise WidgetError("ScrollBox length must be an int >= 1, got %r" % (length,))
        self.length = length
        super().__init__(**kw)

    def _initial(self) -> Any:
        return deque(maxlen=self.length)

    def read(self) -> list[Any]:
        return list(self.value)

    def write(self, value: Any, push: bool = True) -> None:
        entry = value if isinstance(value, Markup) else str(value)
        with self._lock:
            fragment = self._encode({"add": wire(entry)})
            self.value.append(entry)
            if push:
                self._hub.fanout_stream(self.id, fragment)
        self._run_callbacks("__SERVER__", entry, None)

    def on_request(self, user: str, connection_id: str) -> Any:
        return {"all": [wire(e) for e in self.value]}

    def _snapshot(self, conn: Any) -> None:
        # A stream entry too, so appends queued after it stay after it.
        conn.offer_stream(self._encode(self.on_request(conn.effective_user, conn.id)))

    def _push(self) -> None:
        self._hub.fanout_stream(self.id, self._encode({"all": [wire(e) for e in self.value]}))

    def render(self) -> Markup:
        entries = list(self.value) if self._visible_in_page() else []
        return Markup(
            '<div class="kw-scrollbox" data-kw-length="%d" %s>%s</div>'
            % (
                self.length,
                self._attrs("scrollbox"),
                "".join("<div>%s</div>" % _text(e) for e in entries),
            )
        )


ScrollingWindow = ScrollBox  # the original's name


class APIWidget(Widget):
    """A value and message pipe for your own JavaScript. ``render(htmlid)``
    returns a script that sets the global ``window[htmlid]`` to an object
    with ``value``, ``set(x)`` (latest value wins), ``send(x)`` (every one
    arrives), ``upd(val)`` (override to get updates) and ``now()`` (server
    time in ms). ``echo`` sends what one browser writes to all."""

    stream_echo = True

    def __init__(self, echo: bool = True, **kw: Any) -> None:
        super().__init__(**kw)
        self.echo = echo

    def render(self, htmlid: str) -> Markup:
        if not isinstance(htmlid, str) or not _JS_NAME.match(htmlid):
            raise WidgetError("APIWidget.render(htmlid): %r is not a JavaScript name" % (htmlid,))
        wid = json.dumps(self.id).replace("<", "\\u003c")
        return Markup(
            "<script>window[%s]=kaithemapi.APIWidget(%s);</script>" % (json.dumps(htmlid), wid)
        )


class DataSource(Widget):
    """A value with no HTML of its own (for ``kaithemapi.subscribe``)."""


class TagSource(DataSource):
    """A tag point as a widget, id ``tag:<name>`` (see ``expose_tag``):
    pushes the tag's value; a browser write claims ``WebAPIClaim``; ``null``
    releases it."""

    def __init__(self, tag: Any, priority: float = 50, **kw: Any) -> None:
        super().__init__(id="tag:" + tag.name, **kw)
        self.bind_tag(tag, priority)
