"""Portable tests of kcore.common.logger (pytest on CPython, and the micropython
binary): routing, formats, queue, counters, file handling, resilience."""

from mtest import raises, rm, tmpfile

from kcore.common.logger import (
    CRITICAL,
    DEBUG,
    ERROR,
    INFO,
    NEVER,
    WARNING,
    Logger,
    getLevelName,
    getLevelNumber,
    timestr,
)


class Stream:
    """A stand-in for sys.stdout/stderr (boards cannot reassign those)."""

    def __init__(self):
        self.data = []

    def write(self, s):
        self.data.append(s)

    def lines(self):
        return [x for x in "".join(self.data).split("\n") if x]


class Broken:
    def write(self, s):
        raise OSError(5, "EIO")


def _read(path):
    with open(path) as f:
        return f.read()


def _quiet(**kw):
    out, err = Stream(), Stream()
    lg = Logger(stdout=out, stderr=err)
    args = {"logfile": None, "force_time": "T", "filter_level_syslog": NEVER}
    args.update(kw)
    lg.init_log("t", **args)
    return lg, out, err


def test_level_names():
    assert getLevelName(DEBUG) == "DEBUG" and getLevelName(CRITICAL) == "CRITICAL"
    assert getLevelName(33) is None
    assert getLevelNumber("alert") == CRITICAL and getLevelNumber("x") is None


def test_timestr_padded():
    t = timestr()
    assert len(t) == 19 and t[4] == "-" and t[7] == "-" and t[10] == " " and t[13] == ":"
    for i in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18):
        assert t[i] in "0123456789", t


def test_before_init_routing():
    out, err = Stream(), Stream()
    lg = Logger(stdout=out, stderr=err)
    lg.set_force_time("T")
    assert lg.log_debug("d") is True
    lg.log_info("i")
    assert lg.queue() == ["log: T: INFO: i", "log: T: DEBUG: d"]
    assert err.lines() == ["log: T: INFO: i"]
    assert out.lines() == []


def test_thresholds_route_each_sink():
    lg, out, err = _quiet(filter_level_stdout=WARNING, filter_level_stderr=ERROR)
    for lvl in (DEBUG, INFO, WARNING, ERROR, CRITICAL):
        lg.log("m", lvl)
    assert out.lines() == ["t: T: WARNING: m", "t: T: ERROR: m", "t: T: CRITICAL: m"]
    assert err.lines() == ["t: T: ERROR: m", "t: T: CRITICAL: m"]
    assert len(lg.queue()) == 4  # minimum = file threshold INFO
    assert lg.stats()["log-absorbed"] == 1
    assert lg.stats()["log-error-or-higher"] == 2


def test_zero_threshold_is_honoured():
    lg, out, _err = _quiet(filter_level_stdout=0, filter_level_stderr=NEVER)
    lg.log("x", 1)
    assert out.lines() == ["t: T: 1: x"]


def test_queue_bounded_newest_first():
    lg, _out, _err = _quiet(filter_level_stderr=NEVER, log_queue_len=3)
    for i in range(10):
        lg.log_info(str(i))
    assert lg.queue() == ["t: T: INFO: 9", "t: T: INFO: 8", "t: T: INFO: 7"]
    assert lg.last_logs() == "t: T: INFO: 9\nt: T: INFO: 8\nt: T: INFO: 7"
    lg.log_info("<b>&")
    assert lg.last_logs_html().startswith("<p>t: T: INFO: &lt;b&gt;&amp;<br/>")


def test_force_time_cleared():
    lg, _out, _err = _quiet(filter_level_stderr=NEVER)
    lg.init_log("t", logfile=None, force_time=False, filter_level_stderr=NEVER)
    lg.log_info("real")
    assert lg.queue()[0][3] != "T" and lg.queue()[0][7] == "-"


def test_file_sink_same_format_and_reopen():
    path = tmpfile("a.log")
    try:
        lg, _out, _err = _quiet(logfile=path, filter_level_stderr=NEVER)
        lg.log_info("one")
        lg.close()
        lg.log_warning("two")
        lg.close()
        assert _read(path) == "t: T: INFO: one\nt: T: WARNING: two\n"
        lg.init_log("t", logfile=None, filter_level_stderr=NEVER)
        lg.log_info("three")
        assert _read(path) == "t: T: INFO: one\nt: T: WARNING: two\n"
    finally:
        rm(path)


def test_clear_restarts_file():
    path = tmpfile("c.log")
    try:
        lg, _out, _err = _quiet(logfile=path, filter_level_stderr=NEVER)
        lg.log_error("old")
        lg.init_log("t", logfile=path, clear=True, filter_level_stderr=NEVER)
        assert lg.queue() == [] and lg.stats()["log-error-or-higher"] == 0
        lg.log_info("new")
        lg.close()
        assert _read(path) == "t: T: INFO: new\n"
    finally:
        rm(path)


def test_dash_logfile_is_stdout():
    lg, out, err = _quiet(logfile="-")
    lg.log_error("e")
    assert out.lines() == ["t: T: ERROR: e"] and err.lines() == []


def test_broken_sinks_do_not_raise():
    lg = Logger(stdout=Broken(), stderr=Broken())
    lg.init_log("b", logfile=None, filter_level_stdout=0, filter_level_stderr=0)
    assert lg.log_error("still ok") is True
    assert lg.stats()["log-sink-errors"] == 2


def test_syslog_is_off_on_boards_or_returns_bool():
    lg = Logger()
    assert lg.log_syslog("x", NEVER) in (True, False)


def test_bad_arguments():
    lg = Logger()
    raises(ValueError, lg.init_log, logfile=None, filter_level_stderr="loud")
    raises(ValueError, lg.set_queue_len, -1)
    raises(ValueError, lg.log, "x", "loud")


def test_sinks():
    lg, _out, _err = _quiet(filter_level_stderr=NEVER)
    got = []

    def sink(level, text, line):
        got.append((level, text))

    lg.add_sink(sink, level=DEBUG)
    lg.log_debug("d")
    lg.remove_sink(sink)
    lg.log_debug("gone")
    assert got == [(DEBUG, "d")]
