"""Log levels and the text of a log line, for :mod:`kcore.common.logger`
(import the names from there): level numbers and names, the syslog priority
of each level, the zero-padded time, and HTML escaping for the /logz page."""

from kcore.common import platform

# Levels (numerically the same as stdlib logging's).
DEBUG = ALL = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = ALERT = 50
NEVER = 99

_LEVEL_NAMES = {
    DEBUG: "DEBUG",
    INFO: "INFO",
    WARNING: "WARNING",
    ERROR: "ERROR",
    CRITICAL: "CRITICAL",
    NEVER: "NEVER",
}
_NAME_LEVELS = {
    "ALL": ALL,
    "DEBUG": DEBUG,
    "INFO": INFO,
    "WARNING": WARNING,
    "ERROR": ERROR,
    "CRITICAL": CRITICAL,
    "ALERT": ALERT,
    "NEVER": NEVER,
}

# Our level -> syslog priority (the standard numeric values of syslog.LOG_*,
# so no syslog import is needed to read this table).
SYSLOG_LEVEL_MAP = {DEBUG: 7, INFO: 6, WARNING: 4, ERROR: 3, CRITICAL: 2}


def getLevelName(level: int) -> "str | None":  # the original's name
    """'DEBUG', 'INFO', ... for a level number; None if it has no name."""
    return _LEVEL_NAMES.get(level)


def getLevelNumber(name: str) -> "int | None":  # the original's name
    """The level number for a name (any case, e.g. 'info' or 'ALERT'); None
    if unknown."""
    if not isinstance(name, str):
        return None
    return _NAME_LEVELS.get(name.upper())


def _level(value: "int | str", what: str) -> int:
    """Validate a level given as int or name; ValueError naming ``what``."""
    if isinstance(value, bool):
        raise ValueError("%s must be a level number or name, not %r" % (what, value))
    if isinstance(value, int):
        return value
    number = getLevelNumber(value)
    if number is None:
        raise ValueError(
            "%s: unknown log level %r (use a number or one of %s)"
            % (what, value, ", ".join(sorted(_NAME_LEVELS)))
        )
    return number


def _level_label(level: int) -> str:
    name = _LEVEL_NAMES.get(level)
    return name if name is not None else str(level)


def timestr(secs: "float | None" = None) -> str:
    """Local time as ``YYYY-MM-DD HH:MM:SS`` (zero-padded), now or ``secs``."""
    t = platform.localtime(secs)
    return "%04d-%02d-%02d %02d:%02d:%02d" % (t[0], t[1], t[2], t[3], t[4], t[5])


def html_escape(text: str) -> str:
    """Escape ``& < > " '`` so log text can be shown in a web page."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )
