"""kcore.common: the small toolkit every kcore program starts from.

Runs unchanged on CPython, CircuitPython and MicroPython. The platform is
decided once, in :mod:`kcore.common.platform`; everything that a board lacks
(``requests``, ``subprocess``, ``argparse``, stdlib ``logging``) is imported
only when first used, so ``import kcore.common`` stays cheap everywhere.

The public names are those of the original ``kcore.common0``/``kcore.common``
so existing programs can switch by changing nothing but the install line.
"""

__version__ = "0.1.0"

from kcore.common.platform import (  # noqa: F401
    CIRCUITPYTHON,
    CPYTHON,
    IMPLEMENTATION,
    MICROPYTHON,
    PY_VER,
    KcoreError,
)
from kcore.common.colors import CCC, c, c0  # noqa: F401
from kcore.common.fileio import (  # noqa: F401
    dict_to_list_of_pairs,
    get_input,
    list_to_csv,
    raw_print,
    read_file,
    stderr,
    str_in_substring_list,
    write_file,
    write_file_atomic,
)
from kcore.common.log import (  # noqa: F401
    ALERT,
    ALL,
    CRITICAL,
    DEBUG,
    ERROR,
    INFO,
    NEVER,
    WARNING,
    clear_log,
    debug,
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
    log_syslog,
    log_warning,
    set_queue_len,
    timestr,
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

# Names served on first use from submodules that are heavier (web) or only
# exist on CPython (host, logbridge). Module-level __getattr__ works on
# CPython >= 3.7 and on MicroPython/CircuitPython.
_LAZY = {
    "FakeResponse": "web",
    "Response": "web",
    "Session": "web",
    "WebError": "web",
    "WebConnectionError": "web",
    "WebTimeout": "web",
    "InvalidURL": "web",
    "read_web": "web",
    "read_web_e": "web",
    "web_get": "web",
    "web_get_e": "web",
    "FileLock": "host",
    "PopenOutput": "host",
    "popen": "host",
    "popener": "host",
    "get_callers_module": "host",
    "get_initial_python_file_comment": "host",
    "RawFormatterWithDefaults": "host",
    "argparse_epilog": "host",
    "resolve_special_arg": "host",
    "special_arg_resolver": "host",
    "random_printable": "host",
    "zmsg": "host",
    "zinfo": "host",
    "zwarn": "host",
    "zfatal": "host",
    "KcoreLogHandler": "logbridge",
    "bridge_from_stdlib": "logbridge",
    "bridge_to_stdlib": "logbridge",
}

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from kcore.common.host import (  # noqa: F401
        FileLock,
        PopenOutput,
        RawFormatterWithDefaults,
        argparse_epilog,
        get_callers_module,
        get_initial_python_file_comment,
        popen,
        popener,
        random_printable,
        resolve_special_arg,
        special_arg_resolver,
        zfatal,
        zinfo,
        zmsg,
        zwarn,
    )
    from kcore.common.logbridge import (  # noqa: F401
        KcoreLogHandler,
        bridge_from_stdlib,
        bridge_to_stdlib,
    )
    from kcore.common.web import (  # noqa: F401
        FakeResponse,
        InvalidURL,
        Response,
        Session,
        WebConnectionError,
        WebError,
        WebTimeout,
        read_web,
        read_web_e,
        web_get,
        web_get_e,
    )


def __getattr__(name):
    sub = _LAZY.get(name)
    if sub is None:
        raise AttributeError("module 'kcore.common' has no attribute '%s'" % name)
    module = __import__("kcore.common." + sub, None, None, [name])
    value = getattr(module, name)
    globals()[name] = value
    return value
