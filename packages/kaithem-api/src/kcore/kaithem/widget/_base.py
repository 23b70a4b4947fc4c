"""The :class:`Widget` base class: value, permissions, callbacks, pushes."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any, Callable

from kcore.common.platform import KcoreError
from kcore.html import Markup, escape
from kcore.kaithem.widget._socket import encode

WRITE_PERMISSION = "/users/widgets.write"
SERVER_USER = "__SERVER__"
MAX_VALUE_BYTES = 8 * 1024 * 1024


class WidgetError(KcoreError, ValueError):
    """A widget was given something it cannot take (bad id, value, permission)."""


def new_id() -> str:
    """8 random bytes in base64 without padding or ``+/-`` (the original's form)."""
    return secrets.token_urlsafe(8).replace("-", "").replace("_", "")


def _check_id(wid: Any) -> str:
    if not isinstance(wid, str) or not 0 < len(wid) <= 256:
        raise WidgetError("a widget id must be a str of 1 to 256 characters, got %r" % (wid,))
    if any(ord(c) < 32 or ord(c) == 127 for c in wid):
        raise WidgetError("a widget id must not contain control characters: %r" % (wid,))
    return wid


def _permissions(perms: Any, what: str) -> list[str]:
    if isinstance(perms, str):
        perms = [perms] if perms else []
    try:
        out = list(perms)
    except TypeError:
        raise WidgetError("%s permissions must be a list of str, got %r" % (what, perms)) from None
    for p in out:
        if not isinstance(p, str) or not p:
            raise WidgetError("%s permissions must be non-empty str, got %r" % (what, p))
    return out


def wire(value: Any) -> Any:
    """Markup (trusted HTML) travels as ``{"__html__": ...}``; text as text."""
    if isinstance(value, Markup):
        return {"__html__": str(value)}
    return value


class Widget:
    """Base of every widget: ``id`` (also ``uuid``), ``value``, ``read()``,
    ``write()``, ``send()``, ``attach()``, ``require()``,
    ``require_to_write()``, ``set_permissions()``, ``render()``, ``close()``.

    Reading needs the widget's read permissions (none by default: whoever
    can load its page can see it); writing from a browser needs its read and
    write permissions (``/users/widgets.write`` unless changed).
    """

    _kaithem: Any = None  # set on the classes a Namespace hands out
    client_writable = True
    stream_echo = False  # echo browser writes as messages (every one arrives)

    def __init__(self, *, id: str | None = None, kaithem: Any = None) -> None:
        if kaithem is None:
            kaithem = type(self)._kaithem
        if kaithem is None:
            from kcore.kaithem import default

            kaithem = default()
        self._hub = kaithem.widget._hub
        self.id = _check_id(id) if id is not None else new_id()
        self._lock = threading.RLock()
        self.value: Any = self._initial()
        self._read_perms: list[str] = []
        self._write_perms: list[str] = [WRITE_PERMISSION]
        self._write_default = True
        self._callback: Callable[..., Any] | None = None
        self._callback2: Callable[..., Any] | None = None
        self._tag: Any = None  # (tag, subscriber, priority) when bound to a tag
        self.echo = True
        self.no_on_connect_data = False
        self._last_subscriber = 0.0
        self._hub.register(self)

    def _initial(self) -> Any:
        return None

    # -- identity ------------------------------------------------------------------

    @property
    def uuid(self) -> str:
        """The widget's id (the original's name)."""
        return self.id

    def __repr__(self) -> str:
        return "<%s %s>" % (type(self).__name__, self.id)

    # -- values ----------------------------------------------------------------------

    def _coerce(self, value: Any) -> Any:
        """A server-side value as stored (subclasses convert and check)."""
        return value

    def _from_client(self, value: Any) -> Any:
        """A browser's value as stored; WidgetError if unacceptable."""
        return self._coerce(value)

    def _wire(self, value: Any) -> Any:
        return wire(value)

    def _encode(self, value: Any) -> str:
        try:
            text = encode([self.id, value])
        except (TypeError, ValueError) as e:
            raise WidgetError("widget %s: the value cannot be sent as JSON: %s" % (self.id, e))
        if len(text) > MAX_VALUE_BYTES:
            raise WidgetError("widget %s: the value is over 8 MiB" % self.id)
        return text

    def read(self) -> Any:
        return self.value

    def write(self, value: Any, push: bool = True) -> None:
        """Set the value, push it to every subscribed browser (unless
        ``push=False``) and run the attached callbacks with user ``__SERVER__``."""
        value = self._coerce(value)
        with self._lock:
            fragment = self._encode(self._wire(value)) if push else None
            self.value = value
            if fragment is not None:
                self._hub.fanout(self.id, fragment)
        self._run_callbacks(SERVER_USER, value, None)

    def send(self, value: Any) -> None:
        """Push ``value`` to every subscriber as a message: the value is not
        stored, no callback runs, every message arrives (not coalesced)."""
        self._hub.fanout_stream(self.id, self._encode(self._wire(value)))

    def send_to(self, value: Any, connection_id: str) -> None:
        """Like :meth:`send`, to one connection (``attach2``'s third argument)."""
        fragment = self._encode(self._wire(value))
        for conn in self._hub.subscribers(self.id):
            if conn.id == connection_id:
                conn.offer_stream(fragment)

    sendTo = send_to  # the original's name

    def _push(self) -> None:
        """Push the current value (lock held by the caller or not needed)."""
        self._hub.fanout(self.id, self._encode(self._wire(self.value)))

    # -- callbacks ----------------------------------------------------------------------

    def attach(self, f: Callable[[str, Any], Any] | None) -> None:
        """Call ``f(user, value)`` on every write (``None`` detaches)."""
        if f is not None and not callable(f):
            raise TypeError("attach() needs a callable, got %r" % (f,))
        self._callback = f

    def attach2(self, f: Callable[[str, Any, Any], Any] | None) -> None:
        """Call ``f(user, value, connection_id)`` on every write (``connection_id``
        is None for server-side writes)."""
        if f is not None and not callable(f):
            raise TypeError("attach2() needs a callable, got %r" % (f,))
        self._callback2 = f

    def _run_callbacks(self, user: str, value: Any, connection_id: Any) -> BaseException | None:
        """Run both callbacks; errors are logged and posted on
        ``/system/errors/widgets``; the first one is returned."""
        first: BaseException | None = None
        for f, args in (
            (self._callback, (user, value)),
            (self._callback2, (user, value, connection_id)),
        ):
            if f is None:
                continue
            try:
                f(*args)
            except Exception as e:  # a callback must not break the writer
                self._hub.report("%s callback %r" % (self.id, f), e)
                first = first or e
        return first

    def _client_write(self, user: str, value: Any, connection_id: str) -> None:
        if not self.client_writable:
            raise WidgetError("this widget cannot be changed from the browser")
        value = self._from_client(value)
        with self._lock:
            self.value = value
            if self.echo:
                fragment = self._encode(self._wire(value))
                if self.stream_echo:
                    self._hub.fanout_stream(self.id, fragment)
                else:
                    self._hub.fanout(self.id, fragment)
        if self._tag is not None:
            self._to_tag(user, value)
        if self._run_callbacks(user, value, connection_id) is not None:
            raise WidgetError("the server could not handle this change")

    # -- permissions --------------------------------------------------------------------

    @property
    def read_permissions(self) -> tuple[str, ...]:
        return tuple(self._read_perms)

    @property
    def write_permissions(self) -> tuple[str, ...]:
        return tuple(self._write_perms)

    def require(self, permission: str) -> None:
        """Reading (and so writing) needs ``permission`` too. Browsers that
        lack it stop receiving this widget at once."""
        self._read_perms = [*self._read_perms, *_permissions(permission, "read")]
        self._hub.recheck(self)

    def require_to_write(self, permission: str) -> None:
        """Writing needs ``permission`` (the first call replaces the default
        ``/users/widgets.write``; later calls add)."""
        perms = _permissions(permission, "write")
        self._write_perms = perms if self._write_default else [*self._write_perms, *perms]
        self._write_default = False

    def set_permissions(self, read: Any = None, write: Any = None) -> None:
        """Replace the read and/or write permissions (None keeps them).
        ``write=[]`` lets everyone who can read the widget, guests included,
        change it from a browser."""
        if read is not None:
            self._read_perms = _permissions(read, "read")
        if write is not None:
            self._write_perms = _permissions(write, "write")
            self._write_default = False
        self._hub.recheck(self)

    def _visible_in_page(self) -> bool:
        """Whether render() may embed the value: no read permission, or the
        current web request's user has them."""
        if not self._read_perms:
            return True
        from kcore.kaithem.web._context import current

        ctx = current()
        return ctx is not None and self._hub.can(ctx.effective_user, self._read_perms)

    # -- subscribers ---------------------------------------------------------------------

    def on_new_subscriber(self, user: str, connection_id: str) -> None:
        """Hook: a browser subscribed (the default calls ``onNewSubscriber``)."""
        self.onNewSubscriber(user, connection_id)

    def onNewSubscriber(self, user: str, connection_id: str) -> None:
        pass

    def on_request(self, user: str, connection_id: str) -> Any:
        """The value a new subscriber gets (wire form)."""
        return self._wire(self.value)

    def _add_subscriber(self, conn: Any) -> None:
        self._last_subscriber = time.monotonic()
        try:
            self.on_new_subscriber(conn.effective_user, conn.id)
        except Exception as e:
            self._hub.report("%s on_new_subscriber" % self.id, e)
        with self._lock:
            self._hub.add_subscriber(self.id, conn)
            if not self.no_on_connect_data:
                self._snapshot(conn)

    def _snapshot(self, conn: Any) -> None:
        value = self.on_request(conn.effective_user, conn.id)
        conn.offer(self.id, self._encode(value))

    def still_active(self) -> bool:
        """Has subscribers, or had one in the last 30 s."""
        if self._hub.subscribers(self.id):
            self._last_subscriber = time.monotonic()
            return True
        return time.monotonic() - self._last_subscriber < 30

    stillActive = still_active

    # -- tags -------------------------------------------------------------------------------

    def bind_tag(self, tag: Any, priority: float = 50) -> Widget:
        """Show ``tag``'s value, and turn browser writes into the tag claim
        ``WebAPIClaim`` at ``priority`` (annotation: the user name). The tag
        keeps the widget alive until :meth:`unbind_tag`."""
        self.unbind_tag()

        def on_tag(value: Any, timestamp: float, annotation: Any) -> None:
            self._from_tag(value)

        tag.subscribe(on_tag)
        self._tag = (tag, on_tag, priority)
        if tag.timestamp:
            self._from_tag(tag.value)
        return self

    def unbind_tag(self) -> None:
        bound, self._tag = self._tag, None
        if bound is not None:
            bound[0].unsubscribe(bound[1])

    def _from_tag(self, value: Any) -> None:
        try:
            value = self._coerce(value)
        except (WidgetError, TypeError, ValueError) as e:
            self._hub.report("%s showing its tag" % self.id, e)
            return
        with self._lock:
            self.value = value
            self._push()

    def _to_tag(self, user: str, value: Any) -> None:
        tag, _, priority = self._tag
        if value is None:
            claim = tag.get_claim("WebAPIClaim")
            if claim is not None:
                claim.release()
        else:
            tag.claim(value, "WebAPIClaim", priority, annotation=user)
        if tag.current_source != "WebAPIClaim" or value is None:
            self._from_tag(tag.value)  # lost arbitration: show the real value again

    # -- rendering and lifetime -------------------------------------------------------------

    def _attrs(self, kind: str) -> str:
        return 'data-kw-id="%s" data-kw-type="%s"' % (escape(self.id), kind)

    def render(self, *args: Any, **kwargs: Any) -> Markup:
        """HTML for a page (needs ``/static/widget.js`` in the page's head)."""
        raise NotImplementedError("%s has no HTML form" % type(self).__name__)

    def __html__(self) -> str:
        return str(self.render())

    def close(self) -> None:
        """Remove the widget now; its browsers are told it was deleted."""
        self.unbind_tag()
        self._hub.unregister(self.id)

    delete = close
