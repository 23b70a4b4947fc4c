"""``kaithem.widget`` (also ``kaithem.widgets``): live values in web pages.

A widget is a value on the server that browsers show and change through one
WebSocket (``/widgets/ws``) and the small client ``/static/widget.js``::

    span = kaithem.widget.DynamicSpan()
    page = kaithem.web.page(span.render())   # in a page handler
    span.write("21.5 C")                      # every browser shows it at once

Types: :class:`DynamicSpan`, :class:`TimeWidget`, :class:`Button`,
:class:`Meter`, :class:`Slider`, :class:`Switch`, :class:`TextBox`,
:class:`ScrollBox` (also ``ScrollingWindow``), :class:`APIWidget`,
:class:`DataSource`; tag points via :meth:`Namespace.expose_tag` or
``widget.bind_tag(tag)``. The wire protocol is in the kaithem-api README.
"""

from __future__ import annotations

from typing import Any

from kcore.kaithem.widget import _base as _b
from kcore.kaithem.widget import _types as _t
from kcore.kaithem.widget._base import SERVER_USER, WRITE_PERMISSION, Widget, WidgetError
from kcore.kaithem.widget._hub import Hub
from kcore.kaithem.widget._types import (
    APIWidget,
    Button,
    DataSource,
    DynamicSpan,
    Meter,
    ScrollBox,
    ScrollingWindow,
    Slider,
    Switch,
    TagSource,
    TextBox,
    TimeWidget,
)

__all__ = [
    "SERVER_USER",
    "WRITE_PERMISSION",
    "APIWidget",
    "Button",
    "DataSource",
    "DynamicSpan",
    "Meter",
    "Namespace",
    "ScrollBox",
    "ScrollingWindow",
    "Slider",
    "Switch",
    "TagSource",
    "TextBox",
    "TimeWidget",
    "Widget",
    "WidgetError",
]

_CLASSES = (
    Widget,
    DynamicSpan,
    TimeWidget,
    Button,
    Meter,
    Slider,
    Switch,
    TextBox,
    ScrollBox,
    APIWidget,
    DataSource,
    TagSource,
)

TAG_READ_PERMISSION = "/users/tagpoints.view"
TAG_WRITE_PERMISSION = "/users/tagpoints.edit"


class Namespace:
    """``kaithem.widget`` of one Kaithem instance. Its classes create widgets
    of this instance (``kaithem.widget.Slider(...)``); subclass them freely."""

    WidgetError = WidgetError
    WRITE_PERMISSION = WRITE_PERMISSION
    # Subclasses of the module's classes, bound to this instance (set in __init__).
    Widget: type[_b.Widget]
    DynamicSpan: type[_t.DynamicSpan]
    TimeWidget: type[_t.TimeWidget]
    Button: type[_t.Button]
    Meter: type[_t.Meter]
    Slider: type[_t.Slider]
    Switch: type[_t.Switch]
    TextBox: type[_t.TextBox]
    ScrollBox: type[_t.ScrollBox]
    ScrollingWindow: type[_t.ScrollBox]
    APIWidget: type[_t.APIWidget]
    DataSource: type[_t.DataSource]
    TagSource: type[_t.TagSource]

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        self._hub = Hub(kaithem)
        self._exposed: dict[str, _t.TagSource] = {}
        for cls in _CLASSES:
            bound = type(
                cls.__name__,
                (cls,),
                {"_kaithem": kaithem, "__module__": cls.__module__, "__doc__": cls.__doc__},
            )
            bound.__qualname__ = cls.__qualname__
            setattr(self, cls.__name__, bound)
        self.ScrollingWindow = self.ScrollBox

    def widgets(self) -> list[_b.Widget]:
        """Every live widget of this instance."""
        return self._hub.widgets()  # type: ignore[no-any-return]

    def get(self, widget_id: str) -> _b.Widget | None:
        return self._hub.get(widget_id)  # type: ignore[no-any-return]

    @property
    def connections(self) -> list[Any]:
        """The open widget sockets."""
        return self._hub.connections

    def expose_tag(
        self,
        tag: Any,
        read_permissions: Any = (TAG_READ_PERMISSION,),
        write_permissions: Any = (TAG_WRITE_PERMISSION,),
        priority: float = 50,
    ) -> _t.TagSource:
        """A :class:`TagSource` widget with id ``tag:<name>`` for ``tag``
        (the same one on a second call; the permissions are updated). Reading
        needs ``/users/tagpoints.view`` and writing ``/users/tagpoints.edit``
        unless given; it lives until :meth:`unexpose_tag`."""
        widget = self._exposed.get(tag.name)
        if widget is None:
            widget = self.TagSource(tag, priority)
            self._exposed[tag.name] = widget
        widget.set_permissions(read_permissions, write_permissions)
        return widget

    def unexpose_tag(self, tag: Any) -> None:
        widget = self._exposed.pop(getattr(tag, "name", tag), None)
        if widget is not None:
            widget.close()

    def close(self) -> None:
        # The tags close with the instance: no unsubscribing from them here
        # (the runtime is already closed).
        self._exposed.clear()
        self._hub.close()
