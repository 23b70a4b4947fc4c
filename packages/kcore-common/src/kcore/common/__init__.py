"""kcore.common: the small toolkit every kcore program starts from.

Runs unchanged on CPython, CircuitPython and MicroPython. The platform is
decided once, in :mod:`kcore.common.platform`. Every public name is loaded
from its submodule on first use (module ``__getattr__``), so importing the
package costs almost nothing on a board with a few dozen KB of heap, and
nothing a program does not use (``requests``, ``subprocess``, stdlib
``logging``) is ever imported.

The public names are those of the original ``kcore.common0``/``kcore.common``
so existing programs can switch by changing nothing but the install line.
"""

__version__ = "0.1.0"

from kcore.common.platform import (
    CIRCUITPYTHON,
    CPYTHON,
    IMPLEMENTATION,
    MICROPYTHON,
    PY_VER,
    KcoreError,
)

# Public name -> the submodule that defines it. `processes`, `cli`,
# `secret_values`, `popups`, `filelock` and `logbridge` are CPython-only; `web`
# works everywhere.
_LAZY = {
    # colors
    "CCC": "colors",
    "c": "colors",
    "c0": "colors",
    "color_enabled": "colors",
    # fileio
    "dict_to_list_of_pairs": "fileio",
    "get_input": "fileio",
    "last_error": "fileio",
    "list_to_csv": "fileio",
    "raw_print": "fileio",
    "read_file": "fileio",
    "stderr": "fileio",
    "str_in_substring_list": "fileio",
    "write_file": "fileio",
    "write_file_atomic": "fileio",
    # logger
    "ALERT": "logger",
    "ALL": "logger",
    "CRITICAL": "logger",
    "DEBUG": "logger",
    "ERROR": "logger",
    "INFO": "logger",
    "LOG_QUEUE": "logger",
    "NEVER": "logger",
    "WARNING": "logger",
    "SYSLOG_LEVEL_MAP": "logger",
    "Logger": "logger",
    "clear_log": "logger",
    "close_log": "logger",
    "debug": "logger",
    "default_logger": "logger",
    "getLevelName": "logger",
    "getLevelNumber": "logger",
    "init_log": "logger",
    "last_logs": "logger",
    "last_logs_html": "logger",
    "log": "logger",
    "log_alert": "logger",
    "log_crit": "logger",
    "log_critical": "logger",
    "log_debug": "logger",
    "log_error": "logger",
    "log_info": "logger",
    "log_stats": "logger",
    "log_syslog": "logger",
    "log_warning": "logger",
    "reset_log": "logger",
    "set_force_time": "logger",
    "set_queue_len": "logger",
    "timestr": "logger",
    # urls
    "UNQUOTE_REPLACEMENTS": "urls",
    "poor_mans_quote_plus": "urls",
    "poor_mans_unquote_plus": "urls",
    "poor_mans_urlencode": "urls",
    "quote": "urls",
    "quote_plus": "urls",
    "unquote": "urls",
    "unquote_plus": "urls",
    "urlencode": "urls",
    # web
    "FakeResponse": "web",
    "InvalidHeader": "web",
    "InvalidURL": "web",
    "Response": "web",
    "Session": "web",
    "WebConnectionError": "web",
    "WebError": "web",
    "WebSSLError": "web",
    "WebTimeout": "web",
    "read_web": "web",
    "read_web_e": "web",
    "web_get": "web",
    "web_get_e": "web",
    # processes
    "PopenOutput": "processes",
    "popen": "processes",
    "popener": "processes",
    # cli
    "RawFormatterWithDefaults": "cli",
    "argparse_epilog": "cli",
    "get_callers_module": "cli",
    "get_initial_python_file_comment": "cli",
    # secret_values
    "SpecialArgError": "secret_values",
    "random_printable": "secret_values",
    "resolve_special_arg": "secret_values",
    "special_arg_resolver": "secret_values",
    # popups
    "zfatal": "popups",
    "zinfo": "popups",
    "zmsg": "popups",
    "zwarn": "popups",
    # filelock
    "FileLock": "filelock",
    "LockTimeout": "filelock",
    # logbridge
    "KcoreLogHandler": "logbridge",
    "bridge_from_stdlib": "logbridge",
    "bridge_to_stdlib": "logbridge",
}

__all__ = ["CIRCUITPYTHON", "CPYTHON", "IMPLEMENTATION", "MICROPYTHON", "PY_VER", "KcoreError"]
__all__ += list(_LAZY)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any

    from kcore.common.cli import (  # noqa: F401
        RawFormatterWithDefaults,
        argparse_epilog,
        get_callers_module,
        get_initial_python_file_comment,
    )
    from kcore.common.colors import (  # noqa: F401
        CCC,
        c,
        c0,
        color_enabled,
    )
    from kcore.common.fileio import (  # noqa: F401
        dict_to_list_of_pairs,
        get_input,
        last_error,
        list_to_csv,
        raw_print,
        read_file,
        stderr,
        str_in_substring_list,
        write_file,
        write_file_atomic,
    )
    from kcore.common.filelock import FileLock, LockTimeout  # noqa: F401
    from kcore.common.logbridge import (  # noqa: F401
        KcoreLogHandler,
        bridge_from_stdlib,
        bridge_to_stdlib,
    )
    from kcore.common.logger import (  # noqa: F401
        ALERT,
        ALL,
        CRITICAL,
        DEBUG,
        ERROR,
        INFO,
        LOG_QUEUE,
        NEVER,
        SYSLOG_LEVEL_MAP,
        WARNING,
        Logger,
        clear_log,
        close_log,
        debug,
        default_logger,
        getLevelName,
        getLevelNumber,
        init_log,
        last_logs,
        last_logs_html,
        log,
        log_alert,
        log_crit,
        log_critical,
        log_debug,
        log_error,
        log_info,
        log_stats,
        log_syslog,
        log_warning,
        reset_log,
        set_force_time,
        set_queue_len,
        timestr,
    )
    from kcore.common.popups import zfatal, zinfo, zmsg, zwarn  # noqa: F401
    from kcore.common.processes import PopenOutput, popen, popener  # noqa: F401
    from kcore.common.secret_values import (  # noqa: F401
        SpecialArgError,
        random_printable,
        resolve_special_arg,
        special_arg_resolver,
    )
    from kcore.common.urls import (  # noqa: F401
        UNQUOTE_REPLACEMENTS,
        poor_mans_quote_plus,
        poor_mans_unquote_plus,
        poor_mans_urlencode,
        quote,
        quote_plus,
        unquote,
        unquote_plus,
        urlencode,
    )
    from kcore.common.web import (  # noqa: F401
        FakeResponse,
        InvalidHeader,
        InvalidURL,
        Response,
        Session,
        WebConnectionError,
        WebError,
        WebSSLError,
        WebTimeout,
        read_web,
        read_web_e,
        web_get,
        web_get_e,
    )


def __getattr__(name: str) -> "Any":  # a module __getattr__
    sub = _LAZY.get(name)
    if sub is None:
        # MicroPython calls this instead of importing a submodule named in
        # `from kcore.common import web`: import it here.
        try:
            return __import__("kcore.common." + name, None, None, ["__name__"])
        except ImportError:
            raise AttributeError("module 'kcore.common' has no attribute '%s'" % name)
    module = __import__("kcore.common." + sub, None, None, [name])
    value = getattr(module, name)
    globals()[name] = value
    return value
