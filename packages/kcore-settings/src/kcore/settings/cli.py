"""``k_settings``: print settings as ``name=value`` lines, for humans or ``eval``.

    eval "$(k_settings -s settings.yaml db_host db_port)"

Values are quoted with :func:`shlex.quote` and names reduced to shell
identifiers, so evaluating the output cannot run anything a settings file
smuggled in.

``-o/--original`` prints what the original printed for ordinary values: no
quotes around values made of characters that mean nothing special in a shell
assignment (letters, digits, ``_@%+=:,./-~*?[]{}!#^``, non-ASCII letters), and
nothing after ``=`` for an empty value. A value with any other character is
still quoted, so ``eval`` stays safe in that mode too.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from typing import Any, Callable, List, Optional, Sequence, Union

from kcore.common.platform import KcoreError
from kcore.settings._core import Settings

DEFAULT_HOST_SETTINGS = "${HOME}/.ktools.settings"
DEFAULT_SETTINGS = "settings.yaml"
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]")
# Characters that have no effect, unquoted, in the value of a shell assignment
# (no word splitting, globbing or brace expansion happens there).
_PLAIN_IN_ASSIGNMENT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-~*?[]{}!#^"
)


def _build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="k_settings",
        description="Print settings resolved from files, flags and the environment.",
    )
    ap.add_argument("-d", "--debug", action="store_true", help="explain resolution on stderr")
    ap.add_argument(
        "-H", "--host_settings", default=DEFAULT_HOST_SETTINGS, help="host-wide settings file"
    )
    ap.add_argument(
        "-t",
        "--settings_type",
        default="auto",
        choices=["auto", "yaml", "env", "dict"],
        help="data type of the settings files (auto: by extension)",
    )
    ap.add_argument(
        "-s", "--settings", default=DEFAULT_SETTINGS, help="settings file (wins over -H)"
    )
    ap.add_argument("names", nargs="*", help="settings to print")
    g = ap.add_argument_group("printing")
    g.add_argument("-a", "--all", action="store_true", help="print every known setting")
    g.add_argument("-b", "--bare", action="store_true", help="print values only")
    g.add_argument("-c", "--cap", action="store_true", help="print names in upper case")
    g.add_argument(
        "-R", "--report", action="store_true", help="columns: name, value, where it came from"
    )
    g.add_argument("-q", "--quotes", action="store_true", help="always single-quote values")
    g.add_argument("-n", "--none", action="store_true", help="accepted for compatibility")
    g.add_argument(
        "-o",
        "--original",
        action="store_true",
        help="as the original printed ordinary values: unquoted where that is safe, "
        "nothing after '=' when empty (other values are still quoted)",
    )
    return ap


def parse_main_args(argv: Optional[Sequence[str]]) -> Union[argparse.Namespace, Any]:
    """Parse the CLI flags; an empty list returns the parser itself, so other
    tools can extend it (the original API)."""
    ap = _build_parser()
    if argv is not None and len(argv) == 0:
        return ap
    return ap.parse_args(argv)


def format_value(value: Any) -> str:
    """None -> '', True -> '1', False -> '0', lists space-joined, else str()."""
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, (list, tuple)):
        return " ".join(format_value(v) for v in value)
    return str(value)


def shell_name(name: str) -> str:
    """A shell variable name for ``name`` (anything else becomes ``_``)."""
    out = _NOT_IDENT.sub("_", name)
    return out if out and not out[0].isdigit() else "_" + out


def _force_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def original_quote(text: str) -> str:
    """The value as the original printed it (bare) when that is safe to ``eval``
    in an assignment, else :func:`shlex.quote`."""
    if all(c in _PLAIN_IN_ASSIGNMENT or (ord(c) > 127 and c.isalnum()) for c in text):
        return text
    return shlex.quote(text)


def print_selected_settings(
    settings: Settings, settings_to_print: Sequence[str], args: Any, file: Any = None
) -> str:
    """Print (and return) the selected settings in the format ``args`` asks for."""
    lines: List[str] = []
    quote: Callable[[str], str]
    if getattr(args, "quotes", False):
        quote = _force_quote
    elif getattr(args, "original", False):
        quote = original_quote
    else:
        quote = shlex.quote
    for name in settings_to_print:
        value = format_value(settings.get(name))
        shown = name.upper() if getattr(args, "cap", False) else name
        if getattr(args, "report", False):
            s = settings.get_setting(name)
            how = (s.how if s is not None else None) or "not set"
            lines.append("%-25s %-30s %s" % (shown, value, how))
        elif getattr(args, "bare", False):
            lines.append(quote(value) if getattr(args, "quotes", False) else value)
        else:
            lines.append("%s=%s" % (shell_name(shown), quote(value)))
    text = "\n".join(lines)
    if lines:
        print(text, file=file if file is not None else sys.stdout)
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Console script ``k_settings``; returns the exit status."""
    args = _build_parser().parse_args(argv)
    try:
        settings = Settings(
            [args.host_settings, args.settings],
            settings_data_type=args.settings_type,
            debug=args.debug,
        )
        names = list(args.names)
        if args.all:
            names += [n for n in settings.settings if n not in names]
        print_selected_settings(settings, names, args)
    except (KcoreError, OSError) as e:
        print("k_settings: error: %s" % e, file=sys.stderr)
        return 1
    return 0
