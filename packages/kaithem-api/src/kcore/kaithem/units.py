"""``kaithem.units``: unit conversion with a fast table and a pint fallback.

Common units (``degC``, ``psi``, ``ft``, ``dBm``, ...) convert through a small
table of exact factors in well under a microsecond; anything else goes to
pint, which is imported and built only on the first such conversion (it takes
a third of a second), so importing this module stays cheap.

Table units take a one-character SI prefix (``mm``, ``kPa``, ``µA``, ``kft``)
if they are linear, plain-letter symbols of a non-ratio type. ``min`` and
``hbar`` are never split (they are minute and ħ in pint, not milli-inch and
hectobar).

Conversions between two table units of different types (``V`` to ``A``)
raise :class:`IncompatibleUnitsError` unless ``check_dimensions=False``, which
restores the original's "just multiply" behaviour. pint always checks.

Linear and offset units are defined exactly, as rational numbers built from
their definitions (``ft`` is 12 ``in``, ``degF`` is ``degC`` x 9/5 + 32), and
each pair of units converts through the exact ratio ``num/den`` (plus an
exact offset), so documented round numbers come out exact:
``convert(12, "in", "ft") == 1.0`` and ``convert(100, "degC", "degF") ==
212.0``.

The built-in units and their exact arithmetic live in ``_unit_definitions``
(import every name from here); this module holds :class:`UnitTable` (prefixes,
conversion plans, the pint fallback) and the namespace.
"""

from __future__ import annotations

import math
from _thread import allocate_lock

import kcore.kaithem as _pkg
from kcore.common.platform import KcoreError
from kcore.kaithem._unit_definitions import (  # re-exported
    _NIL,
    _UNPREFIXABLE_TYPES,
    BUILTIN_TYPES,
    BUILTIN_UNITS,
    EXACT_UNITS,
    NOT_PREFIXED,
    PREFIXES,
    _q,
    _q_div,
    _q_float,
    _q_mul,
    _q_sub,
)

TYPE_CHECKING = False  # typing costs ~7 ms to import; mypy reads this block
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional, Tuple, Union

    Number = Union[int, float]
    Funcs = Tuple[Callable[[Any], Any], Callable[[Any], Any]]
    Rational = Tuple[int, int]  # numerator, denominator > 0, in lowest terms
    # exact definition: value_in_base = value * scale + offset
    Exact = Tuple[Rational, Rational]
    # type, factor (None for function units), to_base, from_base, exact (or None)
    Entry = Tuple[
        str,
        Optional[float],
        Optional[Callable[[Any], Any]],
        Optional[Callable[[Any], Any]],
        Optional[Exact],
    ]
    # same type?, then y = (x * num + add) / den, or function(x) for non-linear units
    Plan = Tuple[bool, Any, Any, Any, Optional[Callable[[Any], Any]]]

__all__ = [
    "IncompatibleUnitsError",
    "Namespace",
    "UnitError",
    "UnitTable",
    "UnknownUnitError",
    "convert",
    "define",
    "getType",
    "get_type",
]

MAX_UNIT_LENGTH = 128
_CACHE_LIMIT = 1024
_EXACT_INT = 2**53  # integers up to here are exact as floats


class UnitError(KcoreError, ValueError):
    """A conversion or definition that cannot be done."""


class UnknownUnitError(UnitError, KeyError):
    """The unit is neither in the fast table nor known to pint."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class IncompatibleUnitsError(UnitError, TypeError):
    """The two units measure different things (e.g. volts and amperes)."""


# ----------------------------------------------------------------- pint

_pint_lock = allocate_lock()
_pint_registry: Any = None


def pint_registry() -> Any:
    """The shared ``pint.UnitRegistry`` (built on first call; that is slow)."""
    global _pint_registry
    if _pint_registry is None:
        with _pint_lock:
            if _pint_registry is None:
                try:
                    import pint
                except ImportError as exc:  # pragma: no cover - pint is a dependency
                    raise ImportError(
                        "kcore.kaithem.units needs pint for units outside its fast "
                        "table: pip install pint"
                    ) from exc
                _pint_registry = pint.UnitRegistry()
    return _pint_registry


def _pint_convert(value: Any, fr: str, to: str, shown: Optional[Tuple[str, str]] = None) -> Any:
    """pint's conversion with its errors mapped to ours; ``shown`` are the
    units the caller asked for (when ``fr``/``to`` is a bridging base)."""
    reg = pint_registry()
    import pint

    a, b = shown or (fr, to)
    try:
        return reg.Quantity(value, fr).to(to).magnitude
    except pint.UndefinedUnitError as exc:
        names = getattr(exc, "unit_names", None) or ()
        if isinstance(names, str):
            names = (names,)
        name = ", ".join(repr(n) for n in names) or str(exc)
        raise UnknownUnitError(
            "unknown unit %s in %r -> %r (not in the fast table, and pint does not "
            "define it)" % (name, a, b)
        ) from None
    except pint.DimensionalityError as exc:
        raise IncompatibleUnitsError(
            "cannot convert %r (%s) to %r (%s)" % (a, exc.dim1, b, exc.dim2)
        ) from None
    except Exception as exc:  # pint's parser raises all sorts
        raise UnitError(
            "cannot convert %r to %r: pint cannot parse it (%s: %s)"
            % (a, b, type(exc).__name__, exc)
        ) from None


def _check_symbol(unit: Any) -> str:
    if not isinstance(unit, str):
        raise TypeError("a unit must be a string like 'degC', got %r" % (unit,))
    if not unit or unit.isspace():
        raise UnknownUnitError("empty unit name")
    if len(unit) > MAX_UNIT_LENGTH:
        raise UnitError(
            "unit name longer than %d characters: %r..." % (MAX_UNIT_LENGTH, unit[:20])
        )
    return unit


# ------------------------------------------------------------ UnitTable


class UnitTable:
    """One set of fast units (builtins plus ``define()``d ones) and the
    conversion over it. Each Kaithem instance has its own, so units defined
    by one program do not leak into another."""

    def __init__(self, check_dimensions: bool = True) -> None:
        self.check_dimensions = bool(check_dimensions)
        #: symbol -> factor or (to_base, from_base): the original's raw table
        self.units: Dict[str, Union[float, Funcs]] = {}
        #: symbol -> type name
        self.unit_types: Dict[str, str] = {}
        #: type name -> base symbol
        self.base_units: Dict[str, str] = {}
        self._pint_bases: Dict[str, Optional[str]] = {}
        self._entries: Dict[str, Entry] = {}
        self._prefixed: Dict[str, Optional[Entry]] = {}
        self._plans: Dict[Tuple[str, str], Plan] = {}
        self._lock = allocate_lock()
        for typ, (base, pint_base) in BUILTIN_TYPES.items():
            self.base_units[typ] = base
            self._pint_bases[typ] = pint_base
        for sym, (typ, spec) in BUILTIN_UNITS.items():
            exact = EXACT_UNITS.get(sym)
            self._store(sym, typ, spec, exact[1:] if exact else None)

    # -- lookup ----------------------------------------------------------

    def _store(
        self, name: str, typ: str, spec: Union[float, Funcs], exact: Optional[Exact]
    ) -> None:
        if isinstance(spec, tuple):
            entry: Entry = (typ, None, spec[0], spec[1], exact)
        else:
            entry = (typ, float(spec), None, None, exact)
        self.units[name] = spec
        self.unit_types[name] = typ
        self._entries[name] = entry

    def _resolve(self, unit: str) -> Optional[Entry]:
        """Entry of a prefixed table unit (``kPa``), or None if the unit is
        not a table unit (then pint gets it)."""
        try:
            return self._prefixed[unit]
        except KeyError:
            pass
        except TypeError:
            raise TypeError("a unit must be a string like 'degC', got %r" % (unit,)) from None
        _check_symbol(unit)
        entry = None
        scale = PREFIXES.get(unit[0])
        rest = unit[1:]
        base = self._entries.get(rest)
        if scale is not None and base is not None and unit not in NOT_PREFIXED:
            typ, factor, _, _, exact = base
            if factor is None:
                raise UnitError(
                    "unit %r: an SI prefix cannot be applied to %r, which is not a "
                    "simple multiple of its base unit" % (unit, rest)
                )
            if typ not in _UNPREFIXABLE_TYPES and rest.isalpha():
                exact_prefixed = None
                if exact is not None:
                    exact_prefixed = (_q_mul(_q(repr(scale)), exact[0]), exact[1])
                entry = (typ, scale * factor, None, None, exact_prefixed)
        if len(self._prefixed) >= _CACHE_LIMIT:
            self._prefixed.clear()
        self._prefixed[unit] = entry
        return entry

    def lookup(self, unit: str) -> Optional[Entry]:
        """``(type, factor, to_base, from_base, exact)`` of a fast unit, else None."""
        entry = self._entries.get(unit)
        return entry if entry is not None else self._resolve(unit)

    def _plan(self, fr: str, to: str) -> Optional[Plan]:
        """How to convert between two fast units (cached), or None when one
        of them is not a fast unit."""
        try:
            a = self._entries.get(fr)
            b = self._entries.get(to)
        except TypeError:  # unhashable
            raise TypeError("units must be strings, got %r and %r" % (fr, to)) from None
        if a is None:
            a = self._resolve(fr)
        if b is None:
            b = self._resolve(to)
        if a is None or b is None:
            return None
        same = a[0] == b[0]
        ea, eb = a[4], b[4]
        plan: Plan
        if ea is not None and eb is not None:
            # y = x * sa/sb + (oa - ob)/sb from the exact definitions, written
            # over one denominator as (x * num + add) / den: with integers a
            # float can hold exactly, an integer input rounds once at the end.
            ratio = _q_div(ea[0], eb[0])
            offset = _q_div(_q_sub(ea[1], eb[1]), eb[0])
            den = ratio[1] * offset[1] // math.gcd(ratio[1], offset[1])
            num = ratio[0] * (den // ratio[1])
            add = offset[0] * (den // offset[1])
            if max(abs(num), abs(add), den) < _EXACT_INT:
                plan = (same, num, add, den, None)
            else:
                plan = (same, _q_float(ratio), _q_float(offset), 1, None)
        else:
            to_base = a[2] if a[1] is None else _scale(a[1])
            from_base = b[3] if b[1] is None else _scale(1 / b[1])
            assert to_base is not None and from_base is not None

            def through_base(x: Any) -> Any:
                return from_base(to_base(x))

            plan = (same, 1, 0, 1, through_base)
        with self._lock:
            if len(self._plans) >= _CACHE_LIMIT:
                self._plans.clear()
            self._plans[(fr, to)] = plan
        return plan

    # -- public API ---------------------------------------------------------

    def convert(
        self, value: Any, fr: str, to: str, *, check_dimensions: Optional[bool] = None
    ) -> Any:
        """``value`` in unit ``fr`` expressed in unit ``to``.

        Table units convert with exact factors; anything else goes through
        pint. A fast unit and a pint-only unit convert via the fast unit's
        base (``convert(1, "degC", "degR")``)."""
        if fr == to:
            return value
        try:
            plan = self._plans.get((fr, to))
        except TypeError:  # unhashable
            raise TypeError("units must be strings, got %r and %r" % (fr, to)) from None
        if plan is None:
            plan = self._plan(fr, to)
            if plan is None:
                return self._convert_slow(value, fr, to, self.lookup(fr), self.lookup(to))
        same, num, add, den, func = plan
        if not same:
            if check_dimensions is None:
                check_dimensions = self.check_dimensions
            if check_dimensions:
                raise IncompatibleUnitsError(
                    "cannot convert %r (%s) to %r (%s); pass check_dimensions=False "
                    "to multiply anyway" % (fr, self.get_type(fr), to, self.get_type(to))
                )
        try:
            if func is not None:
                return func(value)
            return (value * num + add) / den if add else value * num / den
        except TypeError:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(
                    "convert() needs a number, got %s %r" % (type(value).__name__, value)
                ) from None
            raise
        except (ValueError, OverflowError) as exc:  # log of 0, 10**huge
            raise UnitError("cannot express %r %s in %s: %s" % (value, fr, to, exc)) from None

    def _convert_slow(
        self, value: Any, fr: str, to: str, a: Optional[Entry], b: Optional[Entry]
    ) -> Any:
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError("convert() needs a number, got %s %r" % (type(value).__name__, value))
        if a is None and b is None:
            return _pint_convert(value, fr, to)
        if a is not None:  # table -> pint-only
            pint_base = self._pint_bases.get(a[0])
            if pint_base is None:
                raise UnknownUnitError(
                    "unit %r is not in the fast table, and %r (type %r) has no pint "
                    "equivalent to convert through" % (to, fr, a[0])
                )
            x = value * a[1] if a[1] is not None else a[2](value)  # type: ignore[misc]
            return _pint_convert(x, pint_base, to, (fr, to))
        assert b is not None  # pint-only -> table
        pint_base = self._pint_bases.get(b[0])
        if pint_base is None:
            raise UnknownUnitError(
                "unit %r is not in the fast table, and %r (type %r) has no pint "
                "equivalent to convert through" % (fr, to, b[0])
            )
        x = _pint_convert(value, fr, pint_base, (fr, to))
        return x / b[1] if b[1] is not None else b[3](x)  # type: ignore[misc]

    def define(
        self,
        name: str,
        multiplier: Union[Number, Funcs],
        type: str,  # documented name
        baseUnit: Optional[str] = None,  # documented name
        *,
        base: Optional[str] = None,
    ) -> None:
        """Add (or replace) a fast unit.

        ``multiplier`` is how many ``baseUnit`` one ``name`` is worth
        (``define("ft", 12, "length", "in")``), or a pair of functions
        ``(to_base, from_base)``. Without ``baseUnit`` the type's base unit
        is meant; a new type with multiplier 1 makes ``name`` its base."""
        if baseUnit is not None and base is not None and baseUnit != base:
            raise ValueError("give the base unit once (baseUnit=%r, base=%r)" % (baseUnit, base))
        base = baseUnit if baseUnit is not None else base
        _check_symbol(name)
        if name != name.strip() or any(c.isspace() for c in name):
            raise UnitError("unit name %r must not contain whitespace" % name)
        if not isinstance(type, str) or not type:
            raise UnitError("unit %r needs a type name such as 'length', got %r" % (name, type))
        base_entry = None
        if base is not None:
            base_entry = self.lookup(base)
            if base_entry is None:
                raise UnknownUnitError("base unit %r of %r is not a fast unit" % (base, name))
            if base_entry[0] != type:
                raise UnitError(
                    "unit %r of type %r cannot be based on %r, which is of type %r"
                    % (name, type, base, base_entry[0])
                )
        spec: Union[float, Funcs]
        exact: Optional[Exact] = None
        if isinstance(multiplier, tuple):
            if len(multiplier) != 2 or not all(callable(f) for f in multiplier):
                raise UnitError(
                    "unit %r: a function definition is a pair (to_base, from_base)" % name
                )
            spec = (multiplier[0], multiplier[1])
            if base_entry is not None:
                spec = _compose(spec, base_entry)
        else:
            if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)):
                raise UnitError(
                    "unit %r: multiplier must be a number, got %r" % (name, multiplier)
                )
            if not math.isfinite(multiplier) or multiplier == 0:
                raise UnitError("unit %r: multiplier must be finite and non-zero" % name)
            exact_multiplier = _q(multiplier)
            if base_entry is None:
                exact = (exact_multiplier, _NIL)
            elif base_entry[4] is not None:
                exact = (_q_mul(exact_multiplier, base_entry[4][0]), base_entry[4][1])
            if base_entry is None:
                spec = float(multiplier)
            elif base_entry[1] is not None:
                spec = float(multiplier) * base_entry[1]
            else:
                spec = _compose(
                    (_scale(float(multiplier)), _scale(1 / float(multiplier))), base_entry
                )
        with self._lock:
            if type not in self.base_units and spec == 1.0:
                self.base_units[type] = name
                self._pint_bases.setdefault(type, None)
            self._store(name, type, spec, exact)
            self._prefixed.clear()
            self._plans.clear()

    def get_type(self, unit: str) -> str:
        """The type (``"length"``, ``"pressure"``, ...) of a fast unit;
        :class:`UnknownUnitError` (a ``KeyError``) if it is not one."""
        entry = self.lookup(unit)
        if entry is None:
            raise UnknownUnitError("unit %r is not in the fast unit table" % unit)
        return entry[0]

    getType = get_type  # the original's name

    def copy(self) -> UnitTable:
        """An independent table with the same units."""
        new = UnitTable.__new__(UnitTable)
        new.check_dimensions = self.check_dimensions
        new.units = dict(self.units)
        new.unit_types = dict(self.unit_types)
        new.base_units = dict(self.base_units)
        new._pint_bases = dict(self._pint_bases)
        new._entries = dict(self._entries)
        new._prefixed = {}
        new._plans = {}
        new._lock = allocate_lock()
        return new


def _scale(k: float) -> Callable[[Any], Any]:
    return lambda x: x * k


def _compose(spec: Funcs, base_entry: Entry) -> Funcs:
    """(to_base, from_base) of a unit given in terms of a non-base unit."""
    to_unit, from_unit = spec
    _, factor, b_to, b_from, _ = base_entry
    if factor is not None:
        k = factor
        return (lambda x: to_unit(x) * k, lambda x: from_unit(x / k))
    assert b_to is not None and b_from is not None
    return (lambda x: b_to(to_unit(x)), lambda x: from_unit(b_from(x)))


# ------------------------------------------------------------- namespace


class Namespace:
    """``kaithem.units`` of one Kaithem instance: its own unit table.

    Config: ``units-check-dimensions`` (default true)."""

    def __init__(self, kaithem: Any = None) -> None:
        config = getattr(kaithem, "config", None) or {}
        self.table = _builtin_table().copy()
        self.table.check_dimensions = bool(config.get("units-check-dimensions", True))
        self.convert = self.table.convert
        self.define = self.table.define
        self.get_type = self.table.get_type
        self.getType = self.table.get_type
        self.units = self.table.units
        self.unit_types = self.table.unit_types
        self.base_units = self.table.base_units

    UnitError = UnitError
    UnknownUnitError = UnknownUnitError
    IncompatibleUnitsError = IncompatibleUnitsError

    def __repr__(self) -> str:
        return "<kaithem.units: %d fast units>" % len(self.units)


_builtin: Optional[UnitTable] = None


def _builtin_table() -> UnitTable:
    global _builtin
    if _builtin is None:
        _builtin = UnitTable()
    return _builtin


def _ns() -> Namespace:
    """The default instance's namespace; the common case (default instance
    exists and already has one) without taking the package's lock."""
    inst = getattr(_pkg, "_default", None)
    if inst is not None and not getattr(inst, "_closed", True):
        ns = inst.__dict__.get("units")
        if ns is not None:
            return ns  # type: ignore[no-any-return]
    found: Namespace = _pkg.default().units
    return found


def convert(value: Any, fr: str, to: str, *, check_dimensions: Optional[bool] = None) -> Any:
    """Convert ``value`` from unit ``fr`` to unit ``to`` (default instance)."""
    return _ns().table.convert(value, fr, to, check_dimensions=check_dimensions)


def define(
    name: str,
    multiplier: Union[Number, Funcs],
    type: str,  # documented name
    baseUnit: Optional[str] = None,  # documented name
    *,
    base: Optional[str] = None,
) -> None:
    """Define a fast unit on the default instance (see :meth:`UnitTable.define`)."""
    _ns().define(name, multiplier, type, baseUnit, base=base)


def get_type(unit: str) -> str:
    """Type of a fast unit on the default instance."""
    return _ns().get_type(unit)


getType = get_type  # the original's name


def __getattr__(name: str) -> Any:
    if name in ("units", "unit_types", "base_units"):
        return getattr(_ns(), name)
    raise AttributeError("module 'kcore.kaithem.units' has no attribute %r" % name)
