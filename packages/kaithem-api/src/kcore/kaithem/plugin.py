"""``kaithem.plugin``: make an object available as ``kaithem.<name>``.

:func:`add_plugin` publishes a *weak* proxy: the plugin disappears from the
kaithem object as soon as nothing else references it (after which
``kaithem.<name>`` raises AttributeError, and old proxies raise
ReferenceError). That is the documented contract, for plugins whose owner
decides their lifetime. For a strong, explicit alternative assign the
attribute: ``kaithem.foo = obj``. Names of built-in namespaces and of the
Kaithem object's own attributes cannot be taken.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from kcore.common.platform import KcoreError
from kcore.kaithem._support import default_namespace

__all__ = ["Namespace", "PluginError", "add_plugin", "remove_plugin"]


_NOT_A_PLUGIN = object()


class PluginError(KcoreError, ValueError):
    """The plugin name is invalid or already taken."""


class Namespace:
    """``kaithem.plugin`` of one Kaithem instance."""

    def __init__(self, kaithem: Any) -> None:
        self._kaithem_ref = weakref.ref(kaithem)
        self._lock = threading.RLock()  # reentrant: a weakref callback may fire under it
        self._plugins: dict[str, Any] = {}  # name -> weakref.proxy

    def _check_name(self, kaithem: Any, name: str) -> None:
        from kcore.kaithem import NAMESPACES

        if not isinstance(name, str) or not name.isidentifier():
            raise PluginError("plugin name must be a Python identifier, not %r" % (name,))
        if name.startswith("_") or name in NAMESPACES or hasattr(type(kaithem), name):
            raise PluginError("%r is a built-in name of the kaithem object" % name)
        ours = self._plugins.get(name, _NOT_A_PLUGIN)
        if name in kaithem.__dict__ and kaithem.__dict__[name] is not ours:
            raise PluginError("kaithem.%s is already set (not by add_plugin)" % name)

    def add_plugin(self, name: str, obj: object) -> Any:
        """Publish a weak proxy to ``obj`` as ``kaithem.<name>`` and return it.
        Re-adding a name replaces the previous plugin. ``obj`` must support
        weak references (TypeError otherwise)."""
        kaithem = self._kaithem_ref()
        if kaithem is None:
            raise RuntimeError("the Kaithem instance of this namespace no longer exists")
        with self._lock:
            self._check_name(kaithem, name)
            kref = self._kaithem_ref
            plugins = self._plugins

            def forget(proxy: Any) -> None:
                # Runs when obj dies: unpublish, unless replaced since.
                with self._lock:
                    if plugins.get(name) is proxy:
                        del plugins[name]
                    k = kref()
                    if k is not None and k.__dict__.get(name) is proxy:
                        del k.__dict__[name]

            try:
                proxy = weakref.proxy(obj, forget)
            except TypeError:
                raise TypeError(
                    "add_plugin(%r, ...): %s objects cannot be weakly referenced; "
                    "assign kaithem.%s = obj to keep a strong reference instead"
                    % (name, type(obj).__name__, name)
                ) from None
            plugins[name] = proxy
            kaithem.__dict__[name] = proxy
        return proxy

    def remove_plugin(self, name: str) -> None:
        """Unpublish a plugin added by :meth:`add_plugin` (KeyError if none)."""
        with self._lock:
            proxy = self._plugins.pop(name)
            kaithem = self._kaithem_ref()
            if kaithem is not None and kaithem.__dict__.get(name) is proxy:
                del kaithem.__dict__[name]

    def plugins(self) -> list[str]:
        """Names of the plugins currently published."""
        with self._lock:
            return sorted(self._plugins)

    def close(self) -> None:
        """Unpublish every plugin."""
        for name in self.plugins():
            try:
                self.remove_plugin(name)
            except KeyError:
                pass


def _ns() -> Namespace:
    ns: Namespace = default_namespace("plugin")
    return ns


def add_plugin(name: str, obj: object) -> Any:
    """:meth:`Namespace.add_plugin` on the default instance."""
    return _ns().add_plugin(name, obj)


def remove_plugin(name: str) -> None:
    """:meth:`Namespace.remove_plugin` on the default instance."""
    _ns().remove_plugin(name)
