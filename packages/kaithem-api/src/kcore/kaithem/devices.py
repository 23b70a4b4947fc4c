"""``kaithem.devices``: the device registry, the :class:`Device` base class and
the ``device_types`` registry of driver classes.

Devices are looked up by name, ``kaithem.devices["Kitchen Light"]``, or as an
attribute when the name is an identifier that does not clash with a method
(``kaithem.devices.kitchen``). There is no UI to make devices, so code creates
them: register a driver class in ``device_types`` and call
:meth:`Namespace.create`, or build a device and :meth:`Namespace.add` it. The
registry holds devices strongly until :meth:`Namespace.remove` (which closes
them) or ``kaithem.close()``. Prefer looking devices up each time over keeping
references: a device replaced under the same name is a new object.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Iterator

from kcore.common.platform import KcoreError

__all__ = [
    "Device",
    "DeviceError",
    "Namespace",
    "UnknownDevice",
    "UnknownDeviceType",
]

MAX_ERRORS = 50


class DeviceError(KcoreError):
    """Root of the errors raised on purpose by ``kaithem.devices``."""


class UnknownDevice(DeviceError, KeyError):
    """No device of that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownDeviceType(DeviceError, KeyError):
    """No driver class of that type name in ``device_types``."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Device:
    """Base class of device drivers.

    ``name`` identifies the device in the registry; ``config`` is its
    configuration as a dict of plain values (what a UI would edit). Drivers
    override :meth:`close` to release hardware, and report problems with
    :meth:`handle_error` (kept in the bounded :attr:`errors` list) rather
    than raising from background threads. ``device_type`` names the driver.
    """

    device_type: str = "Device"
    description: str = ""

    def __init__(self, name: str, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        _check_name(name)
        self.name = name
        self.config: dict[str, Any] = dict(config or {})
        self.config.update(kwargs)
        self.errors: collections.deque[tuple[float, str]] = collections.deque(maxlen=MAX_ERRORS)
        self.closed = False

    def handle_error(self, message: str) -> None:
        """Record a problem (wall-clock time, text); the last MAX_ERRORS are kept."""
        self.errors.append((time.time(), str(message)))

    def close(self) -> None:
        """Release what the device holds. Idempotent; subclasses call super()."""
        self.closed = True

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<%s %r%s>" % (type(self).__name__, self.name, " closed" if self.closed else "")


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a device name must be a non-empty str, not %r" % (name,))
    if len(name) > 256 or any(ord(c) < 32 for c in name):
        raise ValueError("a device name must be at most 256 printable characters")


_Device = Device  # for annotations inside Namespace, where Device is an attribute


class Namespace:
    """``kaithem.devices`` of one Kaithem instance."""

    Device = Device  # kaithem.devices.Device: the driver base class
    UnknownDevice = UnknownDevice
    UnknownDeviceType = UnknownDeviceType

    def __init__(self, kaithem: Any = None) -> None:
        self._lock = threading.RLock()
        self._devices: dict[str, _Device] = {}
        #: type name -> driver class (``deviceTypes`` in the original's code)
        self.device_types: dict[str, type[_Device]] = {"Device": _Device}

    # -- driver classes -------------------------------------------------------

    def register_type(self, cls: type[_Device], name: str | None = None) -> type[_Device]:
        """Add a driver class to :attr:`device_types` under ``name`` (default:
        its ``device_type``, or its class name if it did not set one).
        Returns ``cls``, so it works as a class decorator."""
        if not (isinstance(cls, type) and issubclass(cls, _Device)):
            raise TypeError("device types must be subclasses of Device, not %r" % (cls,))
        if name is None:
            name = cls.__dict__.get("device_type") or cls.__name__
        with self._lock:
            self.device_types[name] = cls
        return cls

    # -- devices --------------------------------------------------------------

    def add(self, device: _Device) -> _Device:
        """Register ``device`` under its name; an older device of the same
        name is closed and replaced."""
        if not isinstance(device, _Device):
            raise TypeError("kaithem.devices holds Device objects, not %r" % (device,))
        with self._lock:
            old = self._devices.get(device.name)
            self._devices[device.name] = device
        if old is not None and old is not device:
            old.close()
        return device

    def create(self, device_type: str, name: str, **config: Any) -> _Device:
        """Instantiate driver ``device_type`` as ``name`` and register it."""
        with self._lock:
            cls = self.device_types.get(device_type)
        if cls is None:
            raise UnknownDeviceType(
                "no device type %r; known types: %s"
                % (device_type, ", ".join(sorted(self.device_types)))
            )
        return self.add(cls(name, config))

    def remove(self, name: str) -> None:
        """Unregister and close device ``name``."""
        with self._lock:
            device = self._devices.pop(name, None)
        if device is None:
            raise UnknownDevice("no device named %r" % (name,))
        device.close()

    def __getitem__(self, name: str) -> _Device:
        with self._lock:
            device = self._devices.get(name)
        if device is None:
            raise UnknownDevice("no device named %r" % (name,))
        return device

    def __getattr__(self, name: str) -> _Device:
        if name.startswith("_"):
            raise AttributeError(name)
        with self.__dict__["_lock"]:
            device = self.__dict__["_devices"].get(name)
        if device is None:
            raise AttributeError("kaithem.devices has no device named %r" % name)
        return device  # type: ignore[no-any-return]

    def get(self, name: str, default: Any = None) -> Any:
        with self._lock:
            return self._devices.get(name, default)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._devices

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(sorted(self._devices))

    def __len__(self) -> int:
        with self._lock:
            return len(self._devices)

    def close(self) -> None:
        """Close and unregister every device."""
        with self._lock:
            devices = list(self._devices.values())
            self._devices.clear()
        for device in devices:
            device.close()

    def __repr__(self) -> str:
        return "<kaithem.devices: %s>" % ", ".join(self)


def __getattr__(name: str) -> Any:
    if name == "device_types":  # the default instance's registry
        from kcore.kaithem import default

        return default().devices.device_types
    raise AttributeError("module 'kcore.kaithem.devices' has no attribute %r" % name)
