"""kcore's multi-sink logger: an in-memory queue (for /logz), a file, stdout,
stderr and syslog, each with its own level threshold.

Why not stdlib ``logging``: this one also runs on CircuitPython/MicroPython
boards, keeps the last lines in memory for a web page, and is configured by
one call. :mod:`kcore.common.logbridge` connects it to stdlib ``logging`` on
CPython.

Line formats (the original's, one per kind of sink, with zero-padded times)::

    <title>: <YYYY-MM-DD HH:MM:SS>: <LEVEL>: <message>     queue, stdout, stderr, syslog
    <LEVEL>:<title>:<YYYY-MM-DD HH:MM:SS>: <message>       the log file (also logfile='-')

Existing log files and the tools that read them keep working.

Routing: a message goes to a sink when ``level >= that sink's threshold``.
Before :func:`init_log` only stderr (INFO) and the queue (everything) are on;
:func:`init_log` defaults to file INFO, stdout NEVER, stderr ERROR (NEVER if
the "file" is ``'-'``, i.e. stdout), syslog CRITICAL. Messages below every
threshold are only counted ("absorbed"); deciding that costs one comparison
against a minimum precomputed when the logger is configured.

All settings live in one :class:`Logger` object; the module functions use the
process default instance ``_LOG``. Make your own ``Logger()`` for isolation
(tests, libraries). ``log()`` never raises because a sink failed; failures are
counted in :func:`log_stats` (``log-sink-errors``).

:data:`LOG_QUEUE` is the default logger's queue itself (newest first), a list
that is changed in place and never replaced. :data:`COUNTERS` is the dict the
default logger counts in (``log-absorbed``, ``log-error-or-higher``,
``log-sent-syslog``, ``log-sink-errors``, ``log-filter-levels``); kcore.varz
uses that very dict as its store, so the counters are real varz keys without
this module knowing about varz.

Nothing here touches the network, and importing starts no thread and opens no
file: the log file is opened by :func:`init_log` (kept open, flushed per line,
reopened on the next line after :func:`close_log`; call that after an external
log rotation, e.g. from a SIGHUP handler).
"""

import os
import sys

from kcore.common import platform
from kcore.common._loglevels import (  # noqa: F401 - re-exported
    ALERT,
    ALL,
    CRITICAL,
    DEBUG,
    ERROR,
    INFO,
    NEVER,
    SYSLOG_LEVEL_MAP,
    WARNING,
    _level,
    _level_label,
    getLevelName,
    getLevelNumber,
    html_escape,
    timestr,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable

# Counter names (the original's varz keys), readable via log_stats().
ABSORBED = "log-absorbed"
ERROR_OR_HIGHER = "log-error-or-higher"
SENT_SYSLOG = "log-sent-syslog"
SINK_ERRORS = "log-sink-errors"
FILTER_LEVELS = "log-filter-levels"
_COUNTER_NAMES = (ABSORBED, ERROR_OR_HIGHER, SENT_SYSLOG, SINK_ERRORS)

DEFAULT_QUEUE_LEN = 40


def _open_append(path: str) -> "Any":
    if platform.CPYTHON:
        return open(path, "a", encoding="utf-8", errors="backslashreplace")
    return open(path, "a")


class _Sink:
    __slots__ = ("fn", "level", "skip_origin")

    def __init__(self, fn: "Any", level: "int | None", skip_origin: "str | None") -> None:
        self.fn = fn
        self.level = level
        self.skip_origin = skip_origin


def _at_level(level: int, doc: str) -> "Callable[[Logger, object], bool | None]":
    """A ``log_<level>(msg)`` method. A suppressed call, the common case for
    debug logging, costs one comparison and one count, so the count is
    written out here rather than calling ``Logger._count``."""

    def log_at_level(self: "Logger", msg: object) -> "bool | None":
        if level < self._min:
            counters = self._counters
            try:
                counters["log-absorbed"] += 1
            except (KeyError, TypeError):  # see Logger._count
                counters["log-absorbed"] = 1
            return None
        return self._emit(msg, level, None)

    try:
        log_at_level.__doc__ = doc
    except AttributeError:  # MicroPython functions take no attributes
        pass
    return log_at_level


class Logger:
    """One independent logger: thresholds, in-memory queue, file and counters.

    ``Logger()`` starts in the same state as the process default before
    ``init_log`` (queue takes everything, stderr INFO, other sinks off).
    ``stdout``/``stderr``: streams to write to instead of ``sys.stdout`` /
    ``sys.stderr`` (looked up per line when None; boards cannot reassign
    ``sys.stdout``, so tests inject here). ``counters``: the dict to count
    in (``log-absorbed``, ...; default: a dict of its own); other keys in
    it are left alone, except that clearing removes every ``log-*`` key.
    Other keyword arguments, if given, are passed to :meth:`init_log`.
    """

    def __init__(
        self,
        stdout: object = None,
        stderr: object = None,
        counters: "dict | None" = None,
        **init_log_kwargs: "Any",
    ) -> None:
        self._lock = platform.new_lock(reentrant=True)
        self._stdout = stdout
        self._stderr = stderr
        self._queue = []  # type: list  # newest first; changed in place, never replaced
        self._counters = {} if counters is None else counters  # type: dict
        self._file = None  # open file object, or None (reopened on demand)
        self._sinks = []  # type: list
        self._syslog = None  # type: object  # None: not looked up yet; False: unavailable
        self._reset_state()
        if init_log_kwargs:
            self.init_log(**init_log_kwargs)

    def _reset_state(self) -> None:
        self._title = "log"
        del self._queue[:]
        self._queue_max = DEFAULT_QUEUE_LEN
        self._force_time = None  # type: str | None
        self._filename = None  # type: str | None  # None: no file; '-': stdout
        self._file_level = NEVER
        self._stdout_level = NEVER
        self._stderr_level = INFO
        self._syslog_level = NEVER
        self._queue_min = DEBUG
        self._min = DEBUG  # below this a message is only counted
        self._clear_counters()
        self._recompute_min(initialised=False)

    def _count(self, name: str) -> None:
        """Add one to a counter. The store may be shared (kcore.varz), where
        a key can vanish or be reset to None at any time: start again at 1."""
        counters = self._counters
        try:
            counters[name] += 1
        except (KeyError, TypeError):
            counters[name] = 1

    def _clear_counters(self) -> None:
        counters = self._counters
        for key in list(counters):  # list() first: a shared store may grow meanwhile
            if isinstance(key, str) and key.startswith("log-"):
                counters.pop(key, None)

    def reset(self) -> None:
        """Back to the state of a new ``Logger()`` (file closed, queue and
        counters emptied, thresholds as before ``init_log``); added sinks
        stay. Meant for tests."""
        with self._lock:
            self._close_file()
            self._reset_state()

    # ------------------------------------------------------------ configure

    def init_log(
        self,
        log_title: "str | None" = "log",
        logfile: "str | None" = "logfile",
        log_queue_len: "int | None" = None,
        filter_level_logfile: "int | str | None" = None,
        filter_level_stdout: "int | str | None" = None,
        filter_level_stderr: "int | str | None" = None,
        filter_level_syslog: "int | str | None" = None,
        clear: bool = False,
        force_time: "str | bool | None" = None,
    ) -> bool:
        """Configure the logger (touches no network; opens the log file).

        ``logfile``: a path (appended to), ``'-'`` for stdout, or None for no
        file. Thresholds left as None get their defaults (see module doc);
        any explicit value, 0 included, is used as given. ``log_queue_len``
        None keeps the current length (0 = unbounded). ``force_time``: a
        string to print instead of the time (tests), False or '' to go back
        to the real time, None to keep the current setting. ``clear=True``
        empties the queue, resets the counters and starts the configured
        log file afresh. If the file cannot be opened, its basename in the
        current directory is tried, then the file sink is dropped and stderr
        takes over its threshold. Returns True.
        """
        file_level = INFO if filter_level_logfile is None else filter_level_logfile
        file_level = _level(file_level, "filter_level_logfile")
        stdout_level = NEVER if filter_level_stdout is None else filter_level_stdout
        stdout_level = _level(stdout_level, "filter_level_stdout")
        if filter_level_stderr is None:
            stderr_level = NEVER if logfile == "-" else ERROR
        else:
            stderr_level = _level(filter_level_stderr, "filter_level_stderr")
        syslog_level = CRITICAL if filter_level_syslog is None else filter_level_syslog
        syslog_level = _level(syslog_level, "filter_level_syslog")
        if log_queue_len is not None:
            _check_queue_len(log_queue_len)
        if logfile is not None and not isinstance(logfile, str):
            raise ValueError("logfile must be a path, '-' or None, not %r" % (logfile,))
        if force_time is not None and force_time is not False and not isinstance(force_time, str):
            raise ValueError("force_time must be a string, False or None, not %r" % (force_time,))

        with self._lock:
            self._close_file()
            if log_title is not None:
                self._title = str(log_title)
            if log_queue_len is not None:
                self._queue_max = log_queue_len
                self._trim(0)
            if force_time is not None:
                self._force_time = force_time or None
            self._filename = logfile or None
            self._file_level = file_level
            self._stdout_level = stdout_level
            self._stderr_level = stderr_level
            self._syslog_level = syslog_level
            self._recompute_min(initialised=True)
        if clear:
            self.clear_log()
        problem = self._open_configured_file()
        self._counters[FILTER_LEVELS] = self.filter_levels()
        if problem:
            self._notice(problem)
        return True

    def _notice(self, text: str) -> None:
        """Tell whoever runs the program, on stderr whatever the thresholds:
        never into the (fallback) log file, whose lines stay the program's."""
        when = self._force_time
        if when is None:
            when = timestr()
        line = "%s: %s: %s: %s" % (self._title, when, _level_label(WARNING), text)
        self._write_stream(self._stderr_stream(), line)

    def _stderr_stream(self) -> "Any":
        return sys.stderr if self._stderr is None else self._stderr

    def _stdout_stream(self) -> "Any":
        return sys.stdout if self._stdout is None else self._stdout

    def _open_configured_file(self) -> "str | None":
        """Open the configured file now (to test writability); fall back as
        documented. Returns a warning text if a fallback happened."""
        with self._lock:
            path = self._filename
            if path is None or path == "-":
                return None
            try:
                self._file = _open_append(path)
                return None
            except OSError as e:
                first_error = e
            base = path.replace("\\", "/").split("/")[-1]
            if base and base != path:
                try:
                    self._file = _open_append(base)
                    self._filename = base
                    return "cannot open log file %r (%s); logging to %r instead" % (
                        path,
                        _errtext(first_error),
                        base,
                    )
                except OSError:
                    pass
            self._filename = None
            self._stderr_level = min(self._stderr_level, self._file_level)
            self._recompute_min(initialised=True)
            return "cannot open log file %r (%s); file logging disabled" % (
                path,
                _errtext(first_error),
            )

    def _recompute_min(self, initialised: bool) -> None:
        if initialised:
            self._queue_min = min(
                self._file_level, self._stdout_level, self._stderr_level, self._syslog_level
            )
        lowest = self._queue_min
        for sink in self._sinks:
            if sink.level is not None and sink.level < lowest:
                lowest = sink.level
        self._min = lowest

    def set_queue_len(self, new_len: int) -> None:
        """Keep at most ``new_len`` queue entries (0 = unbounded)."""
        _check_queue_len(new_len)
        with self._lock:
            self._queue_max = new_len
            self._trim(0)

    def set_force_time(self, value: "str | bool | None" = None) -> None:
        """Print ``value`` instead of the time in every line (for tests);
        None (or False/'') goes back to the real time."""
        if value is not None and value is not False and not isinstance(value, str):
            raise ValueError("force_time must be a string, False or None, not %r" % (value,))
        self._force_time = value or None

    def clear_log(self) -> None:
        """Empty the queue, remove the ``log-*`` counters and delete the
        current log file (the next line starts a new one)."""
        with self._lock:
            del self._queue[:]
            self._clear_counters()
            self._close_file()
            path = self._filename
            if path is not None and path != "-":
                try:
                    os.remove(path)
                except OSError:
                    pass  # absent or not removable: nothing more to clear

    def close(self) -> None:
        """Close the log file; the next line logged to it reopens it."""
        with self._lock:
            self._close_file()

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _close_file(self) -> None:
        f = self._file
        self._file = None
        if f is not None:
            try:
                f.close()
            except Exception:  # noqa: S110 - a failing close must not stop reconfiguring
                pass

    def _trim(self, room: int) -> None:
        limit = self._queue_max
        if limit and len(self._queue) > limit - room:
            del self._queue[max(limit - room, 0) :]

    # ---------------------------------------------------------------- sinks

    def add_sink(
        self, fn: object, level: "int | str | None" = None, skip_origin: "str | None" = None
    ) -> object:
        """Also call ``fn(level, text, line)`` for each message logged.

        ``level``: the sink's own threshold (None: whatever passes the
        other thresholds). Messages logged with ``origin == skip_origin``
        (see :meth:`log_from`) are not passed to it, which is how the
        logging bridges avoid loops. ``fn`` is called without the logger's
        lock held; its exceptions are counted, never raised.
        """
        if level is not None:
            level = _level(level, "level")
        with self._lock:
            self._sinks = self._sinks + [_Sink(fn, level, skip_origin)]  # noqa: RUF005
            self._recompute_min(initialised=False)
        return fn

    def remove_sink(self, fn: object) -> None:
        """Stop calling ``fn`` (no error if it was not added)."""
        with self._lock:
            self._sinks = [s for s in self._sinks if s.fn is not fn]
            self._recompute_min(initialised=False)

    # -------------------------------------------------------------- logging

    def log(self, msg: object, level: "int | str" = INFO) -> "bool | None":
        """Log ``msg`` at ``level``; True if kept, None if below every
        threshold (then only counted as absorbed)."""
        try:
            below = level < self._min  # type: ignore[operator]  # names: see except
        except TypeError:  # a level name such as 'warning' (or a bad level)
            return self.log_from(msg, level, None)
        if below:
            self._count(ABSORBED)
            return None
        return self._emit(msg, level, None)  # type: ignore[arg-type]  # a name raised above

    def log_from(self, msg: object, level: "int | str", origin: "str | None") -> "bool | None":
        """:meth:`log`, tagging the message with where it came from (e.g.
        ``'stdlib'``) so sinks registered with that ``skip_origin`` skip it."""
        number = _level(level, "level")
        if number < self._min:
            self._count(ABSORBED)
            return None
        return self._emit(msg, number, origin)

    log_debug = _at_level(DEBUG, "Log at DEBUG.")
    log_info = _at_level(INFO, "Log at INFO.")
    log_warning = _at_level(WARNING, "Log at WARNING.")
    log_error = _at_level(ERROR, "Log at ERROR.")
    log_crit = _at_level(CRITICAL, "Log at CRITICAL (the same as ALERT).")
    log_critical = log_crit
    log_alert = log_crit
    debug = log_debug

    def _emit(self, msg: object, level: int, origin: "str | None") -> bool:
        if isinstance(msg, str):
            text = msg
        else:
            try:
                text = str(msg)
            except Exception:
                text = "<unprintable %s>" % type(msg).__name__
        when = self._force_time
        if when is None:
            when = timestr()
        label = _level_label(level)
        line = "%s: %s: %s: %s" % (self._title, when, label, text)
        with self._lock:
            if level >= ERROR:
                self._count(ERROR_OR_HIGHER)
            if level >= self._queue_min:
                self._trim(1)
                self._queue.insert(0, line)
            if level >= self._file_level and self._filename is not None:
                self._write_file("%s:%s:%s: %s" % (label, self._title, when, text))
            if level >= self._stdout_level:
                self._write_stream(self._stdout_stream(), line)
            if level >= self._stderr_level:
                self._write_stream(self._stderr_stream(), line)
            if level >= self._syslog_level:
                self._send_syslog(line, level, None, None)
            sinks = self._sinks
        for sink in sinks:
            if sink.skip_origin is not None and sink.skip_origin == origin:
                continue
            if sink.level is not None and level < sink.level:
                continue
            if sink.level is None and level < self._queue_min:
                continue
            try:
                sink.fn(level, text, line)
            except Exception:
                self._count(SINK_ERRORS)
        return True

    def _write_stream(self, stream: "Any", line: str) -> None:
        try:
            stream.write(line + "\n")
            flush = getattr(stream, "flush", None)
            if flush is not None:
                flush()
        except Exception:
            self._count(SINK_ERRORS)

    def _write_file(self, line: str) -> None:
        path = self._filename
        if path == "-":
            self._write_stream(self._stdout_stream(), line)
            return
        try:
            f = self._file
            if f is None:
                if path is None:  # no file configured
                    return
                f = self._file = _open_append(path)
            f.write(line + "\n")
            f.flush()
        except Exception:
            self._count(SINK_ERRORS)
            self._close_file()  # try a fresh open with the next line

    # --------------------------------------------------------------- syslog

    def _syslog_module(self) -> "Any":
        if self._syslog is None:
            self._syslog = _import_syslog()
        return self._syslog or None

    def _send_syslog(
        self, msg: str, level: int, ident: "str | None", facility: "int | None"
    ) -> bool:
        mod = self._syslog_module()
        if mod is None:
            return False
        priority = SYSLOG_LEVEL_MAP.get(level)
        if priority is None:  # an in-between level: use the next lower named one
            priority = 7
            for lvl in sorted(SYSLOG_LEVEL_MAP):
                if lvl <= level:
                    priority = SYSLOG_LEVEL_MAP[lvl]
        if facility is not None:
            priority |= facility
        try:
            if ident is not None:
                mod.openlog(ident=ident)
            mod.syslog(priority, msg)
        except Exception:
            self._count(SINK_ERRORS)
            return False
        self._count(SENT_SYSLOG)
        return True

    def log_syslog(
        self,
        msg: object,
        level: "int | str" = INFO,
        ident: "str | None" = None,
        facility: "int | None" = None,
    ) -> bool:
        """Send ``msg`` straight to syslog (CPython only; thresholds do not
        apply). ``ident`` calls ``syslog.openlog(ident=...)``, which is
        process-wide; ``facility`` (a ``syslog.LOG_*`` value) is applied to
        this message only. Returns True if sent, False if syslog is
        unavailable or failed."""
        level = _level(level, "level")
        with self._lock:
            return self._send_syslog(str(msg), level, ident, facility)

    # ------------------------------------------------------------- reading

    def last_logs(self) -> str:
        """The queue, newest first, one line each."""
        with self._lock:
            return "\n".join(self._queue)

    def last_logs_html(self) -> str:
        """The queue as HTML: ``<p>`` then the escaped lines joined by ``<br/>``."""
        with self._lock:
            lines = list(self._queue)
        return "<p>" + "<br/>".join([html_escape(x) for x in lines])

    def queue(self) -> list:
        """A copy of the queue (newest first)."""
        with self._lock:
            return list(self._queue)

    def filter_levels(self) -> str:
        """The thresholds as the original's varz string
        ``file:<L>, stdout: <L>, stderr: <L>, syslog: <L>``."""
        file_level = self._file_level if self._filename is not None else NEVER
        return "file:%s, stdout: %s, stderr: %s, syslog: %s" % (
            _level_label(file_level),
            _level_label(self._stdout_level),
            _level_label(self._stderr_level),
            _level_label(self._syslog_level),
        )

    def stats(self) -> dict:
        """Counters (``log-absorbed``, ``log-error-or-higher``,
        ``log-sent-syslog``, ``log-sink-errors``; 0 when not counted yet)
        plus ``log-filter-levels``, as a new dict. The absorbed counter is
        updated without a lock (it is the whole cost of a suppressed call),
        so under heavy thread contention it is a close estimate."""
        counters = self._counters
        out = {}  # type: dict
        for name in _COUNTER_NAMES:
            value = counters.get(name)
            out[name] = value if isinstance(value, int) else 0
        out[FILTER_LEVELS] = self.filter_levels()
        return out

    def settings(self) -> dict:
        """The current configuration as a dict (for inspection and tests)."""
        return {
            "title": self._title,
            "logfile": self._filename,
            "queue_len": self._queue_max,
            "force_time": self._force_time,
            "filter_level_logfile": self._file_level,
            "filter_level_stdout": self._stdout_level,
            "filter_level_stderr": self._stderr_level,
            "filter_level_syslog": self._syslog_level,
            "min_level": self._min,
        }


def _import_syslog() -> "Any":
    """The syslog module, imported on first use (CPython only); False where
    there is none (boards, Windows)."""
    if not platform.CPYTHON:
        return False
    try:
        import syslog
    except ImportError:
        return False
    return syslog


def _check_queue_len(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("log queue length must be an int >= 0 (0 = unbounded), not %r" % (value,))


def _errtext(e: BaseException) -> str:
    errno = getattr(e, "errno", None)
    return "%s errno %s" % (type(e).__name__, errno)


# The process default logger and the original's module-level API. These are
# bound methods of the one default instance, so there is no module state to
# go stale (a module global could be rebound behind the logger's back).
#: The default logger's counters. kcore.varz uses this very dict as its store
#: (``varz.VARZ``), so they are real varz keys; kcore-common never imports varz.
COUNTERS = {}  # type: dict

_LOG = Logger(counters=COUNTERS)

#: The default logger's queue, newest first: the live list, never replaced.
LOG_QUEUE = _LOG._queue

init_log = _LOG.init_log
log = _LOG.log
log_syslog = _LOG.log_syslog
clear_log = _LOG.clear_log
close_log = _LOG.close
set_queue_len = _LOG.set_queue_len
set_force_time = _LOG.set_force_time
last_logs = _LOG.last_logs
last_logs_html = _LOG.last_logs_html
log_stats = _LOG.stats
reset_log = _LOG.reset
log_debug = debug = _LOG.log_debug
log_info = _LOG.log_info
log_warning = _LOG.log_warning
log_error = _LOG.log_error
log_crit = log_critical = log_alert = _LOG.log_crit


def default_logger() -> Logger:
    """The process default :class:`Logger` used by the module functions."""
    return _LOG
