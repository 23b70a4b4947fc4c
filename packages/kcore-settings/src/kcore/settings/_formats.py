"""Reading settings files and strings: YAML, ``name=value`` lines, dict literals.

Why a separate module: parsing is where untrusted text meets the program, so it
is kept small and strict. Nothing here evaluates code (the original ``eval``-ed
``.dict`` files); YAML goes through the safe loader (the C one when PyYAML has
it); every parse error names the file and the line.
"""

from __future__ import annotations

import ast
import glob
import os
from typing import Any, Dict, List, Optional, Tuple

from kcore.common.platform import KcoreError

MAX_INCLUDE_DEPTH = 16
MAX_FILE_BYTES = 16 * 1024 * 1024  # a settings file larger than this is a mistake
DATA_TYPES = ("yaml", "env", "dict")
_EXTENSIONS = {
    "": "yaml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".settings": "yaml",
    ".env": "env",
    ".dict": "dict",
}
_GLOB_CHARS = ("*", "?", "[")

# (value, source) per key, in load order.
Values = Dict[str, Tuple[Any, str]]


class SettingsError(KcoreError, ValueError):
    """A settings file, string, setting name or reference that cannot be used."""


def home_dir() -> str:
    """The user's home directory, decided when asked (never at import).

    ``$HOME``, else the password database; the original fell back to the
    relative ``home/<login>`` via ``os.getlogin()``, which raises without a TTY.
    """
    home = os.path.expanduser("~")
    if home and home != "~" and os.path.isabs(home):
        return home
    return "/root" if getattr(os, "getuid", lambda: -1)() == 0 else "/nonexistent"


def expand_home(path: str) -> str:
    """Expand ``$HOME``, ``${HOME}`` and a leading ``~`` in a filename."""
    if "HOME" in path:
        home = home_dir()
        path = path.replace("${HOME}", home).replace("$HOME", home)
    if path.startswith("~"):
        path = os.path.expanduser(path)
    return path


def data_type_for(filename: str) -> Optional[str]:
    """The data type a filename's extension implies, or None if unknown."""
    return _EXTENSIONS.get(os.path.splitext(os.path.basename(filename))[1].lower())


def sniff_data_type(text: str) -> str:
    """Guess the type of settings text that has no filename."""
    body = [ln.strip() for ln in text.splitlines()]
    body = [ln for ln in body if ln and not ln.startswith("#")]
    if body and body[0].startswith("{") and body[-1].endswith("}"):
        # YAML flow mappings and dict literals both look so; a literal parse decides.
        try:
            return "dict" if isinstance(ast.literal_eval(text.strip()), dict) else "yaml"
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return "yaml"
    if body and all("=" in ln and ":" not in ln.split("=", 1)[0] for ln in body):
        return "env"
    return "yaml"


def _where(source: Optional[str], line: Optional[int]) -> str:
    src = source or "<settings string>"
    return "%s, line %d" % (src, line) if line else src


# ------------------------------------------------------------------ parsers


def _yaml_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def parse_yaml(text: str, source: Optional[str] = None) -> Dict[str, Any]:
    import yaml

    try:
        data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a *safe* loader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = e.problem or e.context or "invalid YAML"
        raise SettingsError(
            "%s: not valid YAML settings: %s" % (_where(source, line), problem)
        ) from None
    except yaml.YAMLError as e:
        raise SettingsError(
            "%s: not valid YAML settings: %s" % (_where(source, None), e)
        ) from None
    if data is None:  # empty or comment-only file: no settings (the original crashed)
        return {}
    if not isinstance(data, dict):
        raise SettingsError(
            "%s: YAML settings must be a mapping of name: value, not a %s"
            % (_where(source, None), type(data).__name__)
        )
    return {str(k): v for k, v in data.items()}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_env(text: str, source: Optional[str] = None) -> Dict[str, Any]:
    """``name=value`` lines (an optional ``export`` is allowed); values are str."""
    out: Dict[str, Any] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("export ", "export\t")):
            line = line[7:].lstrip()
        if "=" not in line:
            raise SettingsError(
                "%s: expected name=value, got a line without '='" % _where(source, n)
            )
        key, value = line.split("=", 1)
        key = key.strip()
        if not key or any(c.isspace() for c in key):
            raise SettingsError("%s: %r is not a setting name" % (_where(source, n), key))
        out[key] = _unquote(value.strip())
    return out


def parse_dict(text: str, source: Optional[str] = None) -> Dict[str, Any]:
    """A Python dict literal, parsed with ``ast.literal_eval`` (never ``eval``)."""
    try:
        tree = ast.parse(text.strip() or "{}", mode="eval")
    except SyntaxError as e:
        raise SettingsError(
            "%s: not a valid dict literal: %s" % (_where(source, e.lineno), e.msg)
        ) from None
    try:
        data = ast.literal_eval(tree)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        bad = _first_non_literal(tree.body)
        line = getattr(bad, "lineno", None)
        raise SettingsError(
            "%s: only literals (str, numbers, lists, dicts, True/False/None) are allowed"
            % _where(source, line)
        ) from None
    if not isinstance(data, dict):
        raise SettingsError(
            "%s: a .dict settings file must hold a dict, not a %s"
            % (_where(source, None), type(data).__name__)
        )
    return {str(k): v for k, v in data.items()}


def _first_non_literal(node: ast.AST) -> ast.AST:
    for child in ast.walk(node):
        if isinstance(child, (ast.Call, ast.Name, ast.Attribute, ast.BinOp, ast.Lambda)):
            return child
    return node


PARSERS = {"yaml": parse_yaml, "env": parse_env, "dict": parse_dict}


def parse_text(text: str, data_type: str, source: Optional[str] = None) -> Dict[str, Any]:
    if data_type in (None, "", "auto"):
        data_type = sniff_data_type(text)
    parser = PARSERS.get(data_type)
    if parser is None:
        raise SettingsError(
            "unknown settings data type %r: use one of %s" % (data_type, ", ".join(DATA_TYPES))
        )
    return parser(text, source)


# ------------------------------------------------------------------ files and includes


class Loader:
    """Loads files, globs, lists and ``!include`` trees into (value, source) pairs."""

    def __init__(self, include_directive: Optional[str] = "!include", data_type: str = "auto"):
        self.include_directive = include_directive
        self.data_type = data_type

    def expand(self, spec: Any) -> List[str]:
        """A path, glob or list of them -> existing file paths, in order."""
        if spec is None:
            return []
        if isinstance(spec, (list, tuple)):
            out: List[str] = []
            for item in spec:
                out.extend(self.expand(item))
            return out
        if not isinstance(spec, (str, os.PathLike)):
            raise SettingsError("settings filename must be a str, glob or list, not %r" % (spec,))
        path = expand_home(os.fspath(spec))
        if any(c in path for c in _GLOB_CHARS):
            return sorted(glob.glob(path))
        if os.path.isdir(path):  # every settings file in it, by name
            return [
                os.path.join(path, n)
                for n in sorted(os.listdir(path))
                if not n.startswith(".")
                and os.path.isfile(os.path.join(path, n))
                and data_type_for(n) is not None
            ]
        return [path] if os.path.isfile(path) else []

    def load_files(self, spec: Any, data_type: Optional[str] = None) -> Values:
        out: Values = {}
        for path in self.expand(spec):
            out.update(self.load_file(path, data_type, stack=()))
        return out

    def _type_of(self, path: str, data_type: Optional[str]) -> str:
        if data_type and data_type != "auto":
            return data_type
        if self.data_type and self.data_type != "auto":
            return self.data_type
        t = data_type_for(path)
        if t is None:
            raise SettingsError(
                "%s: unknown settings file type %r (use .yaml, .yml, .settings, .env, .dict "
                "or no extension, or pass data_type)" % (path, os.path.splitext(path)[1])
            )
        return t

    def load_file(self, path: str, data_type: Optional[str], stack: Tuple[str, ...]) -> Values:
        real = os.path.realpath(path)
        if real in stack:
            chain = " -> ".join([*stack, real])
            raise SettingsError("settings include cycle: %s" % chain)
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise SettingsError(
                "%s: settings includes nested deeper than %d levels" % (path, MAX_INCLUDE_DEPTH)
            )
        kind = self._type_of(path, data_type)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read(MAX_FILE_BYTES + 1)
        except UnicodeDecodeError as e:
            raise SettingsError("%s: not UTF-8 text (%s)" % (path, e.reason)) from None
        except OSError as e:
            raise SettingsError("%s: cannot read settings file: %s" % (path, e.strerror)) from None
        if len(text) > MAX_FILE_BYTES:
            raise SettingsError("%s: larger than %d bytes" % (path, MAX_FILE_BYTES))
        out = self.load_text(text, kind, path, (*stack, real))
        out["_settings_filename"] = (path, path)
        basedir = os.path.basename(os.path.dirname(os.path.abspath(path)))
        out["_settings_basedir"] = (basedir, path)
        return out

    def load_text(
        self, text: str, data_type: Optional[str], source: Optional[str], stack: Tuple[str, ...]
    ) -> Values:
        out: Values = {}
        directive = self.include_directive
        if directive and directive in text:
            lines = text.split("\n")
            base = os.path.dirname(source) if source else os.getcwd()
            for i, line in enumerate(lines):
                stripped = line.strip()
                if stripped == directive or stripped.startswith(directive + " "):
                    arg = stripped[len(directive) :].strip()
                    lines[i] = ""  # keep line numbers of later errors right
                    out.update(self._include(arg, base, source, i + 1, stack))
            text = "\n".join(lines)
        label = source or "<settings string>"
        for key, value in parse_text(text, data_type or "auto", source).items():
            out[key] = (value, label)
        return out

    def _include(
        self, arg: str, base: str, source: Optional[str], line: int, stack: Tuple[str, ...]
    ) -> Values:
        where = _where(source, line)
        if not arg:
            raise SettingsError(
                "%s: %s needs a file, directory or glob" % (where, self.include_directive)
            )
        path = expand_home(_unquote(arg))
        if not os.path.isabs(path):
            path = os.path.join(base, path)
        out: Values = {}
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                entry = os.path.join(path, name)
                if name.startswith(".") or not os.path.isfile(entry):
                    continue
                if data_type_for(entry) is None:  # README.md etc. next to the settings
                    continue
                out.update(self.load_file(entry, None, stack))
            return out
        if os.path.isfile(path):
            return self.load_file(path, None, stack)
        matches = sorted(glob.glob(path)) if any(c in path for c in _GLOB_CHARS) else []
        if not matches:
            raise SettingsError(
                "%s: %s %r is not a file, a directory or a glob matching anything"
                % (where, self.include_directive, arg)
            )
        for entry in matches:
            if os.path.isfile(entry):
                out.update(self.load_file(entry, None, stack))
        return out
