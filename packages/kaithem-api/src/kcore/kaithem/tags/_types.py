"""The typed tag points (import the names from :mod:`kcore.kaithem.tags`):
numeric (limits, unit conversion), string, JSON object, binary."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

from kcore.kaithem.tags._claim import _BIG, NumericClaim
from kcore.kaithem.tags._errors import TagError, TagTypeError
from kcore.kaithem.tags._point import GenericTagPointClass


class NumericTagPointClass(GenericTagPointClass):
    """A float tag with ``min``/``max`` (clamp on read), ``hi``/``lo``
    (thresholds for display and alarms only) and a ``unit``."""

    type = "number"
    _claim_class = NumericClaim
    _default_value = 0.0

    def __init__(
        self,
        name: str,
        min: float | None = None,  # the original's name
        max: float | None = None,
        *,
        kaithem: Any = None,
    ) -> None:
        self._min: float | None = None
        self._max: float | None = None
        self._hi: float | None = None
        self._lo: float | None = None
        self._unit = ""
        self._display_units: str | None = None
        super().__init__(name, kaithem=kaithem)
        if min is not None:
            self.min = min
        if max is not None:
            self.max = max

    def _process(self, value: Any) -> float:
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise TagTypeError("numeric tag %s needs a number, got %r" % (self.name, value))

    def _read(self, value: Any) -> Any:
        lo, hi = self._min, self._max
        if lo is not None and value < lo:
            return lo
        if hi is not None and value > hi:
            return hi
        return value

    def _limit(self, attr: str, v: float | None) -> None:
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TagError("%s must be a number or None, got %r" % (attr, v))
            v = float(v)
        with self.lock:
            setattr(self, "_" + attr, v)
            if attr in ("min", "max"):
                self._queue_push()
        self._notify()

    @property
    def min(self) -> float:
        return -_BIG if self._min is None else self._min

    @min.setter
    def min(self, v: float | None) -> None:
        self._limit("min", v)

    @property
    def max(self) -> float:
        return _BIG if self._max is None else self._max

    @max.setter
    def max(self, v: float | None) -> None:
        self._limit("max", v)

    @property
    def hi(self) -> float:
        return _BIG if self._hi is None else self._hi

    @hi.setter
    def hi(self, v: float | None) -> None:
        self._limit("hi", v)

    @property
    def lo(self) -> float:
        return -_BIG if self._lo is None else self._lo

    @lo.setter
    def lo(self, v: float | None) -> None:
        self._limit("lo", v)

    @property
    def unit(self) -> str:
        return self._unit

    @unit.setter
    def unit(self, u: str) -> None:
        if not isinstance(u, str):
            raise TagError("unit must be a str, got %r" % (u,))
        if self._unit and u and u != self._unit:
            raise TagError(
                "tag %s already has unit %r; set it to '' before changing it to %r"
                % (self.name, self._unit, u)
            )
        self._unit = u

    @property
    def display_units(self) -> str | None:
        return self._display_units or self._unit or None

    @display_units.setter
    def display_units(self, v: str | None) -> None:
        self._display_units = v

    displayUnits = display_units  # the original's name

    def convert_value(self, value: float, unit: str, to: str | None = None) -> float:
        """Convert ``value`` from ``unit`` to ``to`` (default: the tag's unit)."""
        target = to or self._unit
        if not target:
            raise TagError("tag %s has no unit to convert to" % self.name)
        return float(self._kaithem.units.convert(value, unit, target))

    def convert_to(self, unit: str) -> float:
        """The current value expressed in ``unit``."""
        if not self._unit:
            raise TagError("tag %s has no unit to convert from" % self.name)
        return float(self._kaithem.units.convert(self.value, self._unit, unit))

    convertTo = convert_to  # the original's name


class StringTagPointClass(GenericTagPointClass):
    type = "string"
    _default_value = ""

    def _process(self, value: Any) -> str:
        return value if isinstance(value, str) else str(value)


class ObjectTagPointClass(GenericTagPointClass):
    """Any JSON-compatible value; JSON strings are parsed. Values are deep
    copied on write, so later changes to the caller's object don't leak in.
    ``validate`` (optional) may transform or reject a value."""

    type = "object"
    _default_value = None

    def __init__(self, name: str, *, kaithem: Any = None) -> None:
        self.validate: Callable[[Any], Any] | None = None
        super().__init__(name, kaithem=kaithem)

    def _process(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise TagTypeError(
                    "object tag %s: strings must be JSON, got %r" % (self.name, value[:80])
                ) from None
        else:
            try:
                json.dumps(value)
            except (TypeError, ValueError) as exc:
                raise TagTypeError(
                    "object tag %s needs a JSON-serialisable value: %s" % (self.name, exc)
                ) from None
            value = copy.deepcopy(value)
        if self.validate is not None:
            value = self.validate(value)
        return value


class BinaryTagPointClass(GenericTagPointClass):
    type = "binary"
    _default_value = b""

    def _process(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise TagTypeError(
            "binary tag %s needs bytes, got %s (ints are refused: bytes(5) is five "
            "zero bytes)" % (self.name, type(value).__name__)
        )
