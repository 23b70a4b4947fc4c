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


def test_file_sink_own_format_and_reopen():
    path = tmpfile("a.log")
    try:
        lg, _out, _err = _quiet(logfile=path, filter_level_stderr=NEVER)
        lg.log_info("one")
        lg.close()
        lg.log_warning("two")
        lg.close()
        assert _read(path) == "INFO:t:T: one\nWARNING:t:T: two\n"
        assert lg.queue() == ["t: T: WARNING: two", "t: T: INFO: one"]
        lg.init_log("t", logfile=None, filter_level_stderr=NEVER)
        lg.log_info("three")
        assert _read(path) == "INFO:t:T: one\nWARNING:t:T: two\n"
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
        assert _read(path) == "INFO:t:T: new\n"
    finally:
        rm(path)


def test_dash_logfile_is_stdout():
    lg, out, err = _quiet(logfile="-")
    lg.log_error("e")
    assert out.lines() == ["ERROR:t:T: e"] and err.lines() == []


def test_fallback_notice_on_stderr_only():
    base = tmpfile("fb.log").split("/")[-1]  # a unique name, written to the current directory
    path = tmpfile("no_such_dir") + "/x/" + base
    try:
        lg, out, err = _quiet(logfile=path, filter_level_stderr=NEVER)
        assert lg.settings()["logfile"] == base
        lg.log_info("here")
        lg.close()
        assert len(err.lines()) == 1 and err.lines()[0].startswith("t: T: WARNING: cannot open")
        assert _read(base) == "INFO:t:T: here\n"
        assert lg.queue() == ["t: T: INFO: here"] and out.lines() == []
    finally:
        rm(base)


def test_counters_live_in_the_given_dict_and_clear_removes_only_log_keys():
    store = {"other": 5}
    lg = Logger(stdout=Stream(), stderr=Stream(), counters=store)
    lg.init_log("t", logfile=None, force_time="T", filter_level_stderr=NEVER)
    lg.log_debug("absorbed")
    lg.log_error("e")
    assert store["log-absorbed"] == 1 and store["log-error-or-higher"] == 1
    assert store["log-filter-levels"] == lg.stats()["log-filter-levels"]
    store["log-absorbed"] = None  # a shared store may reset a key: counting restarts
    lg.log_debug("again")
    assert store["log-absorbed"] == 1
    del store["log-error-or-higher"]
    lg.log_error("e2")
    assert store["log-error-or-higher"] == 1
    store["log-user-key"] = 7
    lg.init_log("t", logfile=None, clear=True, filter_level_stderr=NEVER)
    assert sorted(store) == ["log-filter-levels", "other"]
    assert lg.stats()["log-absorbed"] == 0


def test_module_log_queue_is_the_live_default_queue():
    from kcore import common
    from kcore.common import logger

    logger.reset_log()
    try:
        q = common.LOG_QUEUE
        assert q is logger.LOG_QUEUE and q == []
        logger.set_force_time("T")
        logger.init_log("m", logfile=None, filter_level_stderr=NEVER)
        logger.log_info("one")
        logger.log_warning("two")
        assert q == ["m: T: WARNING: two", "m: T: INFO: one"]
        logger.clear_log()
        assert q == [] and common.LOG_QUEUE is q
        logger.log_info("three")
        logger.reset_log()
        assert q == [] and common.LOG_QUEUE is q
    finally:
        logger.reset_log()


def test_common0_alias_exports_circuitpython_bool():
    from kcore import common, common0

    assert common0.CIRCUITPYTHON is common.CIRCUITPYTHON
    assert common0.CIRCUITPYTHON is False  # neither CPython nor the unix MicroPython port
    assert common0.LOG_QUEUE is common.LOG_QUEUE


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
