"""CherryPy-style controllers for ``kaithem.web.controllers``.

A controller is any object whose page methods are marked with
:func:`expose`. Mounting it at ``("hello", "test")`` serves ``/hello/test``
(its ``index``), ``/hello/test/foo`` (its ``foo``) and
``/hello/test/foo/a/b`` (``foo("a", "b")``); query and form fields become
keyword arguments. The longest mount wins. A key with a ``"/"`` element,
``("sub", "/", "x")``, only matches the host ``sub.<main domain>``
(subdomains listed top-down: ``foo.bar.localhost`` is ``("bar", "foo", "/")``).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import MutableMapping
from typing import Any, Callable, Iterator

from kcore.kaithem.web._context import HTTPError

# First path segments that belong to the server's own pages.
RESERVED = frozenset(
    ("static", "widgets", "login", "logout", "healthz", "varz", "logz", "flagz", "metrics")
)


def expose(
    func: Callable[..., Any] | None = None,
    *,
    csrf: bool = True,
    permission: str | None = None,
) -> Any:
    """Mark a controller method as a page (``@expose`` or ``@expose(...)``).

    ``csrf=False`` accepts POST/PUT/PATCH/DELETE without a CSRF token (for
    machine clients that authenticate otherwise); ``permission`` refuses
    visitors without it (anonymous ones are sent to the login page)."""

    def mark(f: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(f):
            raise TypeError("expose() needs a function, got %r" % (f,))
        f.exposed = True  # type: ignore[attr-defined] # also what cherrypy.expose sets
        f._kaithem_csrf = csrf  # type: ignore[attr-defined]
        f._kaithem_permission = permission  # type: ignore[attr-defined]
        return f

    if func is not None:
        return mark(func)
    return mark


def normalize_key(key: Any) -> tuple[str, ...]:
    """Check a mount key; ``ValueError``/``TypeError`` name what is wrong."""
    if isinstance(key, str):
        key = (key,)
    if not isinstance(key, (tuple, list)):
        raise TypeError("a controller key is a tuple of path segments, got %r" % (key,))
    key = tuple(key)
    for part in key:
        if not isinstance(part, str) or not part:
            raise ValueError("controller key %r: every element must be a non-empty str" % (key,))
    slashes = key.count("/")
    if slashes > 1:
        raise ValueError("controller key %r: at most one '/' (subdomains before it)" % (key,))
    if slashes:
        cut = key.index("/")
        subs, path = key[:cut], key[cut + 1 :]
        if not subs:
            raise ValueError("controller key %r: no subdomain before '/'" % (key,))
        for label in subs:
            if "." in label:
                raise ValueError("controller key %r: one subdomain label per element" % (key,))
    else:
        path = key
        if not path:
            raise ValueError("cannot mount a controller at the root path /")
    for seg in path:
        if "/" in seg:
            raise ValueError("controller key %r: one path segment per element" % (key,))
    if not slashes and path[0] in RESERVED:
        raise ValueError("controller key %r: /%s belongs to the server" % (key, path[0]))
    return key


class ControllerMap(MutableMapping):
    """Path tuple -> controller. Values are held weakly, as documented (a
    controller disappears with its last outside reference); use
    :meth:`mount` with ``strong=True`` to keep one alive here. Exception
    instances are always held strongly (they cannot be weakly referenced)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, ...], Any] = {}  # key -> (weak?, ref or value)
        self._lock = threading.Lock()

    def mount(self, key: Any, controller: Any, *, strong: bool = False) -> None:
        key = normalize_key(key)
        if controller is None:
            raise TypeError("controller must not be None (delete the key instead)")
        if strong or isinstance(controller, BaseException):
            entry: Any = (False, controller)
        else:
            try:
                entry = (
                    True,
                    weakref.ref(controller, functools.partial(_collected, weakref.ref(self), key)),
                )
            except TypeError:
                raise TypeError(
                    "%s objects cannot be weakly referenced: use "
                    "controllers.mount(key, obj, strong=True)" % type(controller).__name__
                ) from None
        with self._lock:
            self._items[key] = entry

    def __setitem__(self, key: Any, controller: Any) -> None:
        self.mount(key, controller)

    def _get(self, key: tuple[str, ...]) -> Any:
        entry = self._items.get(key)
        if entry is None:
            return None
        weak, ref = entry
        return ref() if weak else ref

    def __getitem__(self, key: Any) -> Any:
        value = self._get(normalize_key(key))
        if value is None:
            raise KeyError(key)
        return value

    def __delitem__(self, key: Any) -> None:
        with self._lock:
            del self._items[normalize_key(key)]

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        return iter([k for k in list(self._items) if self._get(k) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def resolve(
        self, subdomains: tuple[str, ...], segments: list[str]
    ) -> tuple[Any, list[str]] | None:
        """(controller, remaining segments) for the longest mount, or None."""
        for n in range(len(segments), -1, -1):
            head = tuple(segments[:n])
            if subdomains:
                found = self._get((*subdomains, "/", *head))
                if found is not None:
                    return found, segments[n:]
            if n:
                found = self._get(head)
                if found is not None:
                    return found, segments[n:]
        return None


def _collected(me: Any, key: tuple[str, ...], ref: Any) -> None:
    mapping = me()
    if mapping is None:
        return
    with mapping._lock:
        entry = mapping._items.get(key)
        if entry is not None and entry[1] is ref:
            del mapping._items[key]


def is_exposed(method: Any) -> bool:
    return callable(method) and getattr(method, "exposed", False) is True


def find_method(controller: Any, rest: list[str]) -> tuple[Callable[..., Any], list[str]]:
    """The exposed method for the remaining path, with its positional args;
    HTTPError 404 if none (private names are never pages)."""
    if rest:
        name = rest[0]
        if not name.startswith("_") and name.isidentifier():
            method = getattr(controller, name, None)
            if is_exposed(method):
                return method, rest[1:]  # type: ignore[return-value]
        default = getattr(controller, "default", None)
        if is_exposed(default):
            return default, rest  # type: ignore[return-value]
    index = getattr(controller, "index", None)
    if is_exposed(index):
        return index, rest  # type: ignore[return-value]
    raise HTTPError(404, "page not found")


def check_call(method: Callable[..., Any], args: list[str], kwargs: dict[str, Any]) -> None:
    """404 if the path/query does not fit the method's signature (CherryPy's
    behaviour), so a TypeError inside the handler stays a 500."""
    import inspect  # costs milliseconds to import: only once pages are served

    try:
        inspect.signature(method).bind(*args, **kwargs)
    except TypeError:
        raise HTTPError(404, "page not found") from None
    except ValueError:  # no signature (some builtins): let the call decide
        return
