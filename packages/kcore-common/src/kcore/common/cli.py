"""Helpers for command-line programs (CPython only): an argparse parser whose
epilog is the program's leading comment, and who called whom.

Not shipped to boards: it needs argparse and inspect.
"""

import argparse
import sys
from typing import Any, Optional

__all__ = [
    "RawFormatterWithDefaults",
    "argparse_epilog",
    "get_callers_module",
    "get_initial_python_file_comment",
]


def get_callers_module(levels: int = 1) -> Any:
    """The module of the code ``levels`` frames up: 1 is the code that calls
    this function, 2 its caller, and so on (None past the top of the stack)."""
    import inspect

    try:
        frame = sys._getframe(levels)
    except ValueError:
        return None
    return inspect.getmodule(frame)


def _caller_file(depth: int) -> Optional[str]:
    try:
        return sys._getframe(depth + 1).f_globals.get("__file__")
    except ValueError:
        return None


def get_initial_python_file_comment(filename: Optional[str] = None) -> str:
    """Text between the first two triple quotes of a Python file (the
    caller's file by default); ``''`` on any error. Both ``'''`` and
    ``\"\"\"`` are recognised (the first one found decides)."""
    if filename is None:
        filename = _caller_file(1)
    if not filename:
        return ""
    try:
        with open(filename, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeError):
        return ""
    starts = [(text.find(q), q) for q in ("'''", '"""') if text.find(q) >= 0]
    if not starts:
        return ""
    start, quote = min(starts)
    end = text.find(quote, start + 3)
    if end < 0:
        return ""
    return text[start + 3 : end]


class RawFormatterWithDefaults(
    argparse.RawTextHelpFormatter, argparse.ArgumentDefaultsHelpFormatter
):
    """Keep the help text's line breaks and append each option's default."""


def argparse_epilog(*args: Any, **kwargs: Any) -> argparse.ArgumentParser:
    """An ArgumentParser whose epilog is the calling file's leading comment
    (plus ``epilog_extra=``), formatted with :class:`RawFormatterWithDefaults`."""
    extra = kwargs.pop("epilog_extra", "")
    epilog = get_initial_python_file_comment(_caller_file(1))
    if extra:
        epilog = (epilog + "\n" + extra) if epilog else extra
    kwargs.setdefault("formatter_class", RawFormatterWithDefaults)
    kwargs.setdefault("epilog", epilog)
    return argparse.ArgumentParser(*args, **kwargs)
