"""Settings resolved from several sources in one documented order.

For a registered setting, the first source that has a value wins:

1. the *override* environment variable (``override_env_name``);
2. the command-line flag (values handed over with :meth:`Settings.set_args`);
3. the settings files or strings (later files win over earlier ones);
4. the *default* environment variable (``env_name``);
5. the ``default`` (a callable default is called).

The value then goes through :func:`kcore.common.special_arg_resolver`
(``$VAR``, ``${VAR}x``, ``file:path``, ``-`` to prompt) unless it starts with a
backslash (which is removed, so ``\\-`` is a literal ``-``), then through the
value mapper (default: ``%{other}`` is replaced by the setting ``other``). Where
a value came from is kept in ``Setting.how``.

Environment variables (the two kinds above, ``$VAR`` references and ``$HOME``
in file names) are read from ``Settings(environ=...)``, by default
``os.environ``. A value taken from the environment that contains
``env_list_sep`` (default ``;``) becomes a list, as in the original, unless the
setting says ``env_list_split=False`` (recommended for passwords and other
secrets, which may contain the separator).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from kcore.settings._formats import MAX_VALUE_NODES, SettingsError, Values, check_size
from kcore.settings._loader import Loader

_TRUE_STRINGS = ("1", "y", "yes", "t", "true", "on")
_REF = re.compile(r"%\{([^{}]+)\}")
_INT = re.compile(r"^[+-]?[0-9]+$")
_AUTO_DOC = "auto-registered from "


def eval_bool(value: Any) -> bool:
    """True for ``True``, ``1`` and the strings 1/y/yes/t/true/on (any case)."""
    if value is True:
        return True
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_STRINGS
    return False


@dataclass
class Setting:
    """One setting and where to look for it (see the module docstring)."""

    name: str
    doc: str = "undocumented"
    flag_type: Any = str
    override_env_name: Optional[str] = None  # None: off; '': same as name
    flag_name: Optional[str] = None
    flag_aliases: List[str] = field(default_factory=list)
    setting_name: Optional[str] = None  # key in the settings files, if not name
    env_name: Optional[str] = None  # None: off; '': same as name
    default: Any = None
    default_env_value: Optional[str] = None  # for unset $VARs and unknown %{refs}
    disable_cache: bool = False
    cached_value: Any = None
    how: Optional[str] = None
    env_list_split: bool = True  # False: never split an environment value on env_list_sep


@dataclass
class SettingsGroup:
    """Named group of settings (selectable, and an argparse argument group)."""

    name: str
    doc: Optional[str] = None
    settings: Optional[List[Setting]] = None


ValueMapper = Callable[..., Any]


class Settings:
    """A set of :class:`Setting` objects and the sources they are resolved from."""

    def __init__(
        self,
        settings_filename: Any = None,
        add_Settings: Iterable[Setting] = (),
        settings_data_type: str = "auto",
        env_list_sep: Optional[str] = ";",
        flag_prefix: Optional[str] = None,
        include_directive: Optional[str] = "!include",
        value_mapper: Union[str, ValueMapper, None] = "default",
        debug: bool = False,
        environ: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.settings_filename = settings_filename
        self.settings_data_type = settings_data_type or "auto"
        self.env_list_sep = env_list_sep
        self.flag_prefix = flag_prefix
        self.include_directive = include_directive
        self.debug = debug
        self.settings: Dict[str, Setting] = {}
        self.settings_file_values: Dict[str, Any] = {}
        self.settings_file_sources: Dict[str, str] = {}
        self.args: Optional[argparse.Namespace] = None
        self.value_mapper: Optional[ValueMapper] = None
        self._auto_registered: set = set()
        self._lock = threading.RLock()
        self._resolving = threading.local()
        self.set_value_mapper(value_mapper)
        self.add_Settings(add_Settings)
        if settings_filename:
            self.parse_settings_file(settings_filename)

    # ------------------------------------------------------------ registration

    def add_setting(self, name: str, *args: Any, **kwargs: Any) -> Setting:
        """Register (or replace) a setting; a replaced one keeps its ``how``."""
        return self.add_Setting(Setting(name, *args, **kwargs))

    def add_Setting(self, setting: Setting) -> Setting:
        if not isinstance(setting, Setting):
            raise TypeError("add_Setting needs a Setting, not %s" % type(setting).__name__)
        if not isinstance(setting.name, str) or not setting.name:
            raise SettingsError("a setting needs a non-empty str name, not %r" % (setting.name,))
        with self._lock:
            old = self.settings.get(setting.name)
            if old is not None and setting.how is None:
                setting.how = old.how
            self.settings[setting.name] = setting
            self._auto_registered.discard(setting.name)
            setting.cached_value = None
        return setting

    def add_Settings(self, settings: Iterable[Setting]) -> None:
        for s in settings or ():
            self.add_Setting(s)

    def add_settings_groups(
        self, setting_groups: Iterable[SettingsGroup], selected_groups: Sequence[str] = ()
    ) -> None:
        """Register the settings of the selected groups (all groups if none selected)."""
        groups = list(setting_groups)
        self._check_groups(groups, selected_groups)
        for g in groups:
            if not selected_groups or g.name in selected_groups:
                self.add_Settings(g.settings or [])

    @staticmethod
    def _check_groups(groups: List[SettingsGroup], selected: Optional[Sequence[str]]) -> None:
        known = {g.name for g in groups}
        unknown = [s for s in selected or () if s not in known]
        if unknown:
            raise SettingsError(
                "unknown settings group(s) %s; known: %s"
                % (", ".join(unknown), ", ".join(sorted(known)) or "none")
            )

    def add_simple_settings(self, names: Union[str, Iterable[str]]) -> None:
        """Register plain settings by name (a str is split on whitespace)."""
        if isinstance(names, str):
            names = names.split()
        for name in names:
            self.add_setting(name)

    def add_settings_from_value_dict(self, d: Dict[str, Any], source: str = "dict") -> None:
        """Merge values as if read from a file named ``source``; unknown names are
        registered (as plain settings) so they go through resolution too."""
        for k, v in d.items():
            check_size(v, "%s: %s" % (source, k))
        self._merge({str(k): (v, source) for k, v in d.items()})

    def _merge(self, values: Values) -> None:
        with self._lock:
            for key, (value, source) in values.items():
                self.settings_file_values[key] = value
                self.settings_file_sources[key] = source
                if key not in self.settings:
                    self.settings[key] = Setting(key, doc=_AUTO_DOC + source)
                    self._auto_registered.add(key)
            self.reset_cached_values()

    # ------------------------------------------------------------ tweaking

    def set_value_mapper(self, f: Union[str, ValueMapper, None]) -> None:
        """``'default'`` (``%{name}`` references), None (off) or a callable, called as
        ``f(value, setting, settings=<this Settings>, fail_value=setting.default_env_value)``."""
        if f == "default":
            self.value_mapper = self.default_value_mapper
        elif f is None or callable(f):
            self.value_mapper = f
        else:
            raise SettingsError("value_mapper must be 'default', None or a callable")
        self.reset_cached_values()

    def _check_attr(self, attr_name: str) -> None:
        names = {f.name for f in dataclasses.fields(Setting)}
        if attr_name not in names:
            raise SettingsError(
                "Setting has no attribute %r (known: %s)" % (attr_name, ", ".join(sorted(names)))
            )

    def tweak_setting(self, name: str, attr_name: str, newval: Any) -> None:
        """Change one attribute of one setting; ``{name}`` in a str becomes its name."""
        self._check_attr(attr_name)
        s = self.settings.get(name)
        if s is None:
            raise SettingsError("no setting named %r" % name)
        if isinstance(newval, str):
            newval = newval.replace("{name}", name)
        setattr(s, attr_name, newval)
        s.cached_value = None

    def tweak_all_settings(self, attr_name: str, replacement: Any, context: Any = None) -> None:
        """Change one attribute of every setting; ``replacement`` may be a str with
        ``{name}``, any value, or a callable ``(setting, attr_name, context)``."""
        self._check_attr(attr_name)
        for s in list(self.settings.values()):
            if callable(replacement):
                value = replacement(s, attr_name, context)
            elif isinstance(replacement, str):
                value = replacement.replace("{name}", s.name)
            else:
                value = replacement
            setattr(s, attr_name, value)
        self.reset_cached_values()

    # ------------------------------------------------------------ flags

    @staticmethod
    def _option(name: str, prefix: str) -> str:
        if name.startswith("-"):
            return name
        full = prefix + name
        return ("-" + full) if len(full) == 1 else ("--" + full)

    def flag_strings(self, s: Setting) -> List[str]:
        """The option strings of a setting's flag (its main one first)."""
        prefix = self.flag_prefix or ""
        out = [self._option(s.flag_name or s.name, prefix)]
        for alias in s.flag_aliases or []:
            out.append(self._option(alias, ""))
        return out

    def flag_dest(self, s: Setting) -> str:
        """The argparse ``dest`` of a setting's flag (no dashes: ``-x`` -> ``x``)."""
        return self.flag_strings(s)[0].lstrip("-").replace("-", "_")

    def _add_flag(self, ap: Any, s: Setting) -> None:
        kwargs: Dict[str, Any] = {"dest": self.flag_dest(s), "default": None, "help": s.doc}
        if s.flag_type is bool:
            kwargs["action"] = "store_false" if eval_bool(s.default) else "store_true"
        elif s.flag_type is list:
            kwargs["nargs"] = "*"
        elif s.flag_type is not None:
            kwargs["type"] = s.flag_type
        ap.add_argument(*self.flag_strings(s), **kwargs)

    def add_flags(self, argparse_instance: Any) -> None:
        """Add a flag per registered setting (file-only keys excepted).

        If ``flag_prefix`` is None it becomes ``''``: flags that are added
        are also read.
        """
        if self.flag_prefix is None:
            self.flag_prefix = ""
        for name, s in list(self.settings.items()):
            if name not in self._auto_registered:
                self._add_flag(argparse_instance, s)

    def add_flags_in_groups(
        self,
        ap: Any,
        settings_groups: Iterable[SettingsGroup],
        selected_groups: Optional[Sequence[str]] = None,
    ) -> None:
        """Register the selected groups and add their flags as argparse groups."""
        groups = list(settings_groups)
        self._check_groups(groups, selected_groups)
        if self.flag_prefix is None:
            self.flag_prefix = ""
        for g in groups:
            if selected_groups and g.name not in selected_groups:
                continue
            ag = ap.add_argument_group(g.name, g.doc)
            for s in g.settings or []:
                self.add_Setting(s)
                self._add_flag(ag, s)

    def set_args(self, parsed_args: Any) -> None:
        """Hand over parsed flags. Without it flags are simply not consulted:
        a getter never parses ``sys.argv``, which could exit the whole process."""
        self.args = parsed_args
        self.reset_cached_values()

    # ------------------------------------------------------------ reading

    def get_setting(self, name: str) -> Optional[Setting]:
        return self.settings.get(name)

    def get(self, name: str, ignore_cache: bool = False) -> Any:
        """The resolved value of ``name`` (None if nothing provides one)."""
        s = self.settings.get(name)
        if s is None:
            value = self.settings_file_values.get(name)
            return value if value else None
        if not ignore_cache and not s.disable_cache and s.cached_value is not None:
            return s.cached_value
        with self._lock:
            return self._resolve(s)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.settings

    def get_dict(self) -> Dict[str, Any]:
        return {name: self.get(name) for name in list(self.settings)}

    def get_bool(self, name: str, ignore_cache: bool = False) -> bool:
        return eval_bool(self.get(name, ignore_cache))

    def get_int(self, name: str, default: Optional[int] = None, ignore_cache: bool = False) -> Any:
        """The value as an int if it is one (or a string of digits), else ``default``."""
        value = self.get(name, ignore_cache)
        if isinstance(value, bool):
            return default
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INT.match(value.strip()):
            try:
                return int(value.strip())
            except ValueError:  # more digits than int() accepts from text
                return default
        return default

    def reset_cached_values(self) -> None:
        for s in list(self.settings.values()):
            s.cached_value = None

    # ------------------------------------------------------------ resolution

    def _env_value(self, raw: str, s: Setting) -> Any:
        sep = self.env_list_sep
        if sep and s.env_list_split and sep in raw:
            return raw.split(sep)
        return raw

    def _lookup(self, s: Setting) -> Tuple[Any, Optional[str]]:
        if s.override_env_name is not None:
            env = s.override_env_name or s.name
            raw = self.environ.get(env)
            if raw is not None:
                return self._env_value(raw, s), "override environment variable $" + env
        if self.flag_prefix is not None and self.args is not None:
            value = getattr(self.args, self.flag_dest(s), None)
            if value is not None:
                return value, "flag " + self.flag_strings(s)[0]
        key = s.setting_name or s.name
        value = self.settings_file_values.get(key)
        if value is not None:
            return value, "file " + self.settings_file_sources.get(key, "?")
        if s.env_name is not None:
            env = s.env_name or s.name
            raw = self.environ.get(env)
            if raw is not None:
                return self._env_value(raw, s), "environment variable $" + env
        d = s.default
        if d is None:
            return None, None
        if isinstance(d, str):
            return d, "default string"
        if callable(d):
            return d(), "default callable"
        if isinstance(d, (bool, list, tuple, dict)):
            return d, "default value"
        return str(d), "default value"

    def _special(self, value: Any, argname: str, default: Optional[str]) -> Any:
        if isinstance(value, str):
            if value.startswith("\\"):
                return value[1:]  # escaped: a literal '-', '$x', 'file:x' ...
            from kcore.common import special_arg_resolver

            return special_arg_resolver(value, argname, default, environ=self.environ)
        if isinstance(value, list):
            return [
                self._special(v, "%s[%d]" % (argname, i), default) for i, v in enumerate(value)
            ]
        if isinstance(value, dict):
            return {
                k: self._special(v, "%s[%r]" % (argname, k), default) for k, v in value.items()
            }
        return value

    def _resolve(self, s: Setting) -> Any:
        stack = getattr(self._resolving, "stack", None)
        if stack is None:
            stack = self._resolving.stack = []
        if s.name in stack:
            raise SettingsError(
                "settings refer to each other in a cycle: %s" % " -> ".join([*stack, s.name])
            )
        stack.append(s.name)
        try:
            value, how = self._lookup(s)
            if value is not None:
                check_size(value, "setting " + s.name, MAX_VALUE_NODES)
                resolved = self._special(value, s.name, s.default_env_value)
                if resolved != value and isinstance(value, (str, list, dict)):
                    how = "%s; after arg resolved for: %s" % (how, _short(value))
                value = resolved
                if self.value_mapper is not None:
                    value = self.value_mapper(
                        value, s, settings=self, fail_value=s.default_env_value
                    )
        finally:
            stack.pop()
        s.how = how
        if self.debug:
            print("kcore.settings: %s <- %s" % (s.name, how or "no value"), file=sys.stderr)
        if value is not None and not s.disable_cache:
            s.cached_value = value
        return value

    def default_value_mapper(
        self,
        value: Any,
        setting: Optional[Setting] = None,
        settings: Optional[Settings] = None,
        fail_value: Optional[str] = None,
    ) -> Any:
        """Replace every ``%{other}`` with the value of setting ``other``.

        An unknown or empty reference uses ``fail_value`` (by default the
        setting's ``default_env_value``) or raises :class:`SettingsError`.
        """
        settings = settings if settings is not None else self
        if fail_value is None and setting is not None:
            fail_value = setting.default_env_value
        if isinstance(value, list):
            return [self.default_value_mapper(v, setting, settings, fail_value) for v in value]
        if not isinstance(value, str) or "%{" not in value:
            return value

        def sub(m: re.Match) -> str:
            other = settings.get(m.group(1))
            if other is None:
                if fail_value is None:
                    raise SettingsError(
                        "setting %s refers to %%{%s}, which has no value"
                        % (setting.name if setting else "?", m.group(1))
                    )
                return fail_value
            return " ".join(map(str, other)) if isinstance(other, list) else str(other)

        return _REF.sub(sub, value)

    # ------------------------------------------------------------ files

    def _loader(self, data_type: Optional[str] = None) -> Loader:
        return Loader(self.include_directive, data_type or self.settings_data_type, self.environ)

    def parse_settings_file(self, filename: Any = None, data_type: Optional[str] = None) -> Any:
        """Load a file, glob or list of them (later files win) and merge the values.

        ``filename=None`` reloads ``settings_filename``; if that is None too,
        nothing is loaded. Missing files are skipped. Returns the dict of
        values read, or False when no file was found.
        """
        if filename is None:
            filename = self.settings_filename
        if filename is None:
            return False
        loader = self._loader(data_type)
        paths = loader.expand(filename)
        if not paths:
            return False
        values: Values = {}
        for path in paths:
            values.update(loader.load_file(path, data_type, stack=()))
        self._merge(values)
        return {k: v for k, (v, _src) in values.items()}

    def parse_settings_data(
        self, data: str, data_type: Optional[str] = "auto", source: Optional[str] = None
    ) -> Dict[str, Any]:
        """Load settings from a string (``!include`` paths relative to the current directory)."""
        if not isinstance(data, str):
            raise SettingsError("settings data must be a str, not %s" % type(data).__name__)
        values = self._loader(data_type).load_text(data, data_type, source, stack=())
        self._merge(values)
        return {k: v for k, (v, _src) in values.items()}


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
