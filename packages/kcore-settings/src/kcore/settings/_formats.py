"""Reading settings files and strings: YAML, ``name=value`` lines, dict literals.

Why a separate module: parsing is where untrusted text meets the program, so it
is kept small and strict. Nothing here evaluates code (``.dict`` files are
read as literals); YAML goes through the safe loader (the C one when PyYAML has
it); every parse error names the file and the line.
"""

from __future__ import annotations

import ast
import os
from typing import Any, Dict, Mapping, Optional, Tuple

from kcore.common.platform import KcoreError

MAX_VALUE_NODES = 100_000  # elements of one value, nested ones (and alias reuses) included
DATA_TYPES = ("yaml", "env", "dict")
_EXTENSIONS = {
    "": "yaml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".settings": "yaml",
    ".env": "env",
    ".dict": "dict",
}

# (value, source) per key, in load order.
Values = Dict[str, Tuple[Any, str]]


class SettingsError(KcoreError, ValueError):
    """A settings file, string, setting name or reference that cannot be used."""


def home_dir(environ: Optional[Mapping[str, str]] = None) -> str:
    """The user's home directory, decided when asked (never at import).

    ``$HOME`` (from ``environ``, default ``os.environ``), else the password
    database; never ``os.getlogin()``, which raises without a TTY.
    """
    env_home = (os.environ if environ is None else environ).get("HOME")
    if env_home and os.path.isabs(env_home):
        return env_home
    try:
        import pwd

        home = pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError, AttributeError, OSError):
        home = ""
    if home and os.path.isabs(home):
        return home
    return "/root" if getattr(os, "getuid", lambda: -1)() == 0 else "/nonexistent"


def expand_home(path: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """Expand ``$HOME``, ``${HOME}`` and a leading ``~`` (this user) in a filename."""
    if "HOME" in path:
        home = home_dir(environ)
        path = path.replace("${HOME}", home).replace("$HOME", home)
    if path == "~" or path.startswith("~/"):
        path = home_dir(environ) + path[1:]
    elif path.startswith("~"):
        path = os.path.expanduser(path)  # ~user
    return path


def check_size(value: Any, what: str, budget: int = MAX_VALUE_NODES) -> None:
    """Refuse a value that expands to more than ``budget`` elements.

    YAML aliases let a small file describe an exponentially large tree (the
    "billion laughs"); the walk counts a reused node every time it is reached
    and stops as soon as the budget is spent, so its own cost is bounded.
    """
    left = budget
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            left -= len(v)
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set)):
            left -= len(v)
            stack.extend(v)
        else:
            continue
        if left < 0:
            raise SettingsError(
                "%s: more than %d elements (a YAML alias bomb or a recursive alias?)"
                % (what, budget)
            )


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


def where(source: Optional[str], line: Optional[int]) -> str:
    src = source or "<settings string>"
    return "%s, line %d" % (src, line) if line else src


# ------------------------------------------------------------------ parsers


def yaml_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def parse_yaml(text: str, source: Optional[str] = None) -> Dict[str, Any]:
    import yaml

    try:
        data = yaml.load(text, Loader=yaml_loader())  # noqa: S506 - a *safe* loader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = e.problem or e.context or "invalid YAML"
        raise SettingsError(
            "%s: not valid YAML settings: %s" % (where(source, line), problem)
        ) from None
    except yaml.YAMLError as e:
        raise SettingsError("%s: not valid YAML settings: %s" % (where(source, None), e)) from None
    if data is None:  # empty or comment-only file: no settings
        return {}
    if not isinstance(data, dict):
        raise SettingsError(
            "%s: YAML settings must be a mapping of name: value, not a %s"
            % (where(source, None), type(data).__name__)
        )
    # An alias-free document has fewer elements than characters: only alias
    # reuse can exceed this budget.
    check_size(data, where(source, None), MAX_VALUE_NODES + len(text))
    return {str(k): v for k, v in data.items()}


def unquote(value: str) -> str:
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
                "%s: expected name=value, got a line without '='" % where(source, n)
            )
        key, value = line.split("=", 1)
        key = key.strip()
        if not key or any(c.isspace() for c in key):
            raise SettingsError("%s: %r is not a setting name" % (where(source, n), key))
        out[key] = unquote(value.strip())
    return out


def parse_dict(text: str, source: Optional[str] = None) -> Dict[str, Any]:
    """A Python dict literal, parsed with ``ast.literal_eval`` (never ``eval``)."""
    try:
        tree = ast.parse(text.strip() or "{}", mode="eval")
    except SyntaxError as e:
        raise SettingsError(
            "%s: not a valid dict literal: %s" % (where(source, e.lineno), e.msg)
        ) from None
    try:
        data = ast.literal_eval(tree)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        bad = _first_non_literal(tree.body)
        line = getattr(bad, "lineno", None)
        raise SettingsError(
            "%s: only literals (str, numbers, lists, dicts, True/False/None) are allowed"
            % where(source, line)
        ) from None
    if not isinstance(data, dict):
        raise SettingsError(
            "%s: a .dict settings file must hold a dict, not a %s"
            % (where(source, None), type(data).__name__)
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
