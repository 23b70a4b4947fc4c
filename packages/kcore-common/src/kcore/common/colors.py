"""A tiny console colouriser that knows when to stay quiet.

Colour is used only when the stream the text is meant for is a terminal and
the user has not asked for plain text with ``NO_COLOR`` (https://no-color.org).
Text is always delivered: a pipe or a log file just gets it without escape
codes.
"""

import sys

from kcore.common import platform

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any


class _Codes(dict):
    """ANSI colour codes by lower-case name; also readable as attributes
    (``CCC['red']``, ``CCC.red`` and ``CCC.RED`` are the same code)."""

    def __getattr__(self, name: str) -> str:
        try:
            return self[name.lower()]
        except KeyError:
            raise AttributeError(name)


CCC = _Codes(
    black="\033[30m",
    red="\033[31m",
    green="\033[32m",
    yellow="\033[33m",
    blue="\033[34m",
    magenta="\033[35m",
    cyan="\033[36m",
    white="\033[37m",
    reset="\033[0m",
)
BOLD = "\033[1m"


def _stream(out: int) -> "Any":
    """The stream text printed with ``out`` goes to (stdout unless out == 2)."""
    return sys.stderr if out == 2 else sys.stdout


def color_enabled(stream: object = None) -> bool:
    """True if text written to ``stream`` (default stdout) should be coloured.

    False when ``NO_COLOR`` is set to any non-empty value, or when the stream
    is not a terminal or cannot tell (boards' streams have no ``isatty``).
    """
    if platform.getenv("NO_COLOR"):
        return False
    if stream is None:
        stream = sys.stdout
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (OSError, ValueError):  # closed or detached stream
        return False


def _code(color: object) -> str:
    """The escape code for a colour name (or a code itself); '' if unknown."""
    if not isinstance(color, str):
        return ""
    code = CCC.get(color.lower())
    if code is not None:
        return code
    if color and color in CCC.values():
        return color
    return ""


def _paint(msg: object, color: object, bold: bool, enabled: bool) -> str:
    msg = str(msg)
    if not enabled:
        return msg
    code = _code(color)
    if not code:
        return msg  # unknown colour: plain text (also not bold), no stray reset
    return (BOLD if bold else "") + code + msg + CCC["reset"]


def _emit(text: str, out: int) -> None:
    stream = _stream(out)
    try:
        stream.write(text + "\n")
        flush = getattr(stream, "flush", None)
        if flush is not None:
            flush()
    except (OSError, ValueError):  # closed pipe/stream: nothing sensible to do
        pass


def c(msg: object, color: str, out: int = 0, bold: bool = False) -> str:
    """Return ``msg`` wrapped in the ANSI code for ``color`` (a CCC name).

    ``out=1`` also prints it to stdout, ``out=2`` to stderr. Colour is
    applied only if the target stream (stdout for 0 and 1) is a terminal and
    ``NO_COLOR`` is unset; otherwise the plain text is returned/printed.
    """
    text = _paint(msg, color, bold, color_enabled(_stream(out)))
    if out in (1, 2):
        _emit(text, out)
    return text


def _auto_color(prefix: object) -> str:
    first = str(prefix)[:1].lower()
    if first == "e":
        return "red"
    if first == "w":
        return "yellow"
    return "green"


def c0(
    colored_prefix: object, msg: object, color: str = "auto", bold: bool = True, out: int = 0
) -> str:
    """Return ``"<coloured prefix>: msg"`` (and print it if ``out`` is 1 or 2).

    ``color='auto'`` picks red for prefixes starting with "e" (error), yellow
    for "w" (warning) and green otherwise.
    """
    if color == "auto":
        color = _auto_color(colored_prefix)
    enabled = color_enabled(_stream(out))
    text = _paint(colored_prefix, color, bold, enabled) + ": " + str(msg)
    if out in (1, 2):
        _emit(text, out)
    return text
