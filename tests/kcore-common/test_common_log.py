"""kcore.common.logger: levels, routing to every sink, formats, file handling,
resilience, thread safety, no network, no import-time side effects."""

import importlib
import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
import types

import pytest

import kcore.common.logger as klog

platform = importlib.import_module("kcore.common.platform")

LINE = re.compile(r"^(?P<title>[^:]*): (?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d): (?P<lvl>\w+): ")
# The log file's own line format (the original's): level first, no spaces.
FILE_LINE = re.compile(
    r"^(?P<lvl>\w+):(?P<title>[^:]*):(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d): "
)


class Stream(io.StringIO):
    """A capture stream that can claim to be a terminal or not."""

    def lines(self):
        return [x for x in self.getvalue().split("\n") if x]


class BrokenStream:
    def write(self, s):
        raise OSError(32, "broken pipe")

    def flush(self):
        raise OSError(32, "broken pipe")


@pytest.fixture
def streams():
    return Stream(), Stream()


@pytest.fixture
def logger(streams):
    out, err = streams
    lg = klog.Logger(stdout=out, stderr=err)
    yield lg
    lg.close()


@pytest.fixture
def default_logger():
    """The process default logger, restored to its pristine state afterwards."""
    klog.reset_log()
    yield klog.default_logger()
    klog.reset_log()


# ----------------------------------------------------------------- levels


def test_level_constants_and_names():
    assert (klog.DEBUG, klog.ALL, klog.INFO, klog.WARNING) == (10, 10, 20, 30)
    assert (klog.ERROR, klog.CRITICAL, klog.ALERT, klog.NEVER) == (40, 50, 50, 99)
    assert klog.getLevelName(10) == "DEBUG"
    assert klog.getLevelName(50) == "CRITICAL"
    assert klog.getLevelName(99) == "NEVER"
    assert klog.getLevelName(25) is None
    assert klog.getLevelNumber("ALERT") == 50
    assert klog.getLevelNumber("all") == 10
    assert klog.getLevelNumber("warning") == 30
    assert klog.getLevelNumber("nope") is None
    assert klog.getLevelNumber(20) is None


def test_timestr_zero_padded():
    secs = time.mktime((2024, 1, 2, 3, 4, 5, 0, 0, -1))
    assert klog.timestr(secs) == "2024-01-02 03:04:05"
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", klog.timestr())


def test_line_format_uses_padded_time(logger, monkeypatch):
    secs = time.mktime((2023, 7, 8, 9, 1, 2, 0, 0, -1))
    monkeypatch.setattr(platform, "localtime", lambda s=None: time.localtime(secs)[:8])
    logger.init_log("svc", logfile=None, filter_level_stderr=klog.NEVER)
    logger.log("hello", klog.WARNING)
    assert logger.last_logs() == "svc: 2023-07-08 09:01:02: WARNING: hello"


def test_unnamed_level_printed_as_number(logger):
    logger.init_log("t", logfile=None, force_time="T")
    logger.log("x", 25)
    assert logger.last_logs() == "t: T: 25: x"


def test_level_names_accepted_and_bad_levels_rejected(logger):
    logger.init_log("t", logfile=None, force_time="T", filter_level_stderr="never")
    assert logger.log("w", "warning") is True
    assert logger.last_logs() == "t: T: WARNING: w"
    with pytest.raises(ValueError, match="level"):
        logger.log("x", "loud")
    with pytest.raises(ValueError, match="filter_level_stdout"):
        logger.init_log(logfile=None, filter_level_stdout="loud")
    with pytest.raises(ValueError, match="queue length"):
        logger.init_log(logfile=None, log_queue_len=-1)
    with pytest.raises(ValueError, match="force_time"):
        logger.init_log(logfile=None, force_time=123)
    with pytest.raises(ValueError, match="logfile"):
        logger.init_log(logfile=42)


# ---------------------------------------------------------------- routing


def test_before_init_queue_takes_all_and_stderr_info(logger, streams):
    out, err = streams
    assert logger.log_debug("d") is True  # DEBUG minimum before init
    logger.log_info("i")
    logger.log_error("e")
    q = logger.queue()
    assert [LINE.match(x).group("lvl") for x in q] == ["ERROR", "INFO", "DEBUG"]
    assert [x.split(": ")[-1] for x in err.lines()] == ["i", "e"]
    assert out.getvalue() == ""
    assert logger.settings()["logfile"] is None


def test_init_defaults(logger, streams, tmp_path):
    out, err = streams
    path = str(tmp_path / "app.log")
    assert logger.init_log("app", logfile=path) is True
    s = logger.settings()
    assert (s["filter_level_logfile"], s["filter_level_stdout"]) == (klog.INFO, klog.NEVER)
    assert (s["filter_level_stderr"], s["filter_level_syslog"]) == (klog.ERROR, klog.CRITICAL)
    assert s["min_level"] == klog.INFO
    assert logger.log_debug("d") is None  # absorbed
    logger.log_info("i")
    logger.log_error("e")
    logger.close()
    file_lines = open(path).read().splitlines()
    assert [x.split(": ")[-1] for x in file_lines] == ["i", "e"]
    assert [x.split(": ")[-1] for x in err.lines()] == ["e"]
    assert out.getvalue() == ""
    assert logger.stats()["log-absorbed"] == 1
    assert logger.stats()["log-filter-levels"] == (
        "file:INFO, stdout: NEVER, stderr: ERROR, syslog: CRITICAL"
    )


@pytest.mark.parametrize(
    "sink,kwarg",
    [
        ("file", "filter_level_logfile"),
        ("stdout", "filter_level_stdout"),
        ("stderr", "filter_level_stderr"),
        ("syslog", "filter_level_syslog"),
    ],
)
@pytest.mark.parametrize("threshold", [klog.DEBUG, klog.WARNING, klog.CRITICAL])
def test_each_sink_gets_exactly_levels_at_or_above_threshold(
    sink, kwarg, threshold, streams, tmp_path, monkeypatch
):
    out, err = streams
    sent = []
    fake = types.SimpleNamespace(
        syslog=lambda prio, msg: sent.append(msg), openlog=lambda **kw: None
    )
    monkeypatch.setitem(sys.modules, "syslog", fake)
    path = str(tmp_path / "x.log")
    lg = klog.Logger(stdout=out, stderr=err)
    # every sink off except the one under test
    kwargs = {
        "filter_level_logfile": klog.NEVER,
        "filter_level_stdout": klog.NEVER,
        "filter_level_stderr": klog.NEVER,
        "filter_level_syslog": klog.NEVER,
    }
    kwargs[kwarg] = threshold
    lg.init_log("r", logfile=path, force_time="T", **kwargs)
    levels = [klog.DEBUG, klog.INFO, klog.WARNING, klog.ERROR, klog.CRITICAL]
    for lvl in levels:
        lg.log("m%d" % lvl, lvl)
    lg.close()
    got = {
        "file": open(path).read().splitlines(),
        "stdout": out.lines(),
        "stderr": err.lines(),
        "syslog": sent,
    }
    expected = ["r: T: %s: m%d" % (klog.getLevelName(v), v) for v in levels if v >= threshold]
    in_file = ["%s:r:T: m%d" % (klog.getLevelName(v), v) for v in levels if v >= threshold]
    assert got[sink] == (in_file if sink == "file" else expected)
    for other in got:
        if other != sink:
            assert got[other] == [], other
    # the queue holds everything at or above the global minimum (= threshold)
    assert lg.queue() == list(reversed(expected))


def test_explicit_zero_thresholds_are_honoured(logger, streams):
    out, err = streams
    logger.init_log(
        "z", logfile=None, filter_level_stdout=0, filter_level_stderr=0, force_time="T"
    )
    assert logger.settings()["min_level"] == 0
    logger.log("tiny", 1)
    assert out.lines() == ["z: T: 1: tiny"]
    assert err.lines() == ["z: T: 1: tiny"]


def test_logfile_dash_means_stdout_and_stderr_off(logger, streams):
    out, err = streams
    logger.init_log("d", logfile="-", force_time="T")
    logger.log_error("boom")
    logger.log_info("fine")
    assert out.lines() == ["ERROR:d:T: boom", "INFO:d:T: fine"]  # the file format
    assert err.lines() == []
    assert logger.queue() == ["d: T: INFO: fine", "d: T: ERROR: boom"]


def test_logfile_dash_and_stdout_sink_each_keep_their_format(logger, streams):
    out, _err = streams
    logger.init_log("d", logfile="-", force_time="T", filter_level_stdout=klog.WARNING)
    logger.log_warning("both")
    assert out.lines() == ["WARNING:d:T: both", "d: T: WARNING: both"]


def test_logfile_none_means_no_file_even_after_a_file(logger, tmp_path):
    path = tmp_path / "old.log"
    logger.init_log("a", logfile=str(path))
    logger.log_info("one")
    logger.init_log("a", logfile=None)
    logger.log_info("two")
    logger.close()
    assert [x.split(": ")[-1] for x in path.read_text().splitlines()] == ["one"]
    assert logger.settings()["logfile"] is None
    # with no file the file threshold still sets the queue minimum (INFO)
    assert "two" in logger.last_logs()


def test_file_has_its_own_format_queue_and_streams_share_theirs(logger, streams, tmp_path):
    out, err = streams
    path = tmp_path / "f.log"
    logger.init_log(
        "fmt", logfile=str(path), filter_level_stdout=klog.INFO, filter_level_stderr=klog.INFO
    )
    logger.log_warning("a message: with colons")
    logger.close()
    line = logger.queue()[0]
    m = LINE.match(line)
    assert m.group("title") == "fmt" and m.group("lvl") == "WARNING"
    assert line.endswith(": WARNING: a message: with colons")
    assert out.lines() == [line]
    assert err.lines() == [line]
    in_file = path.read_text()
    f = FILE_LINE.match(in_file)
    assert (f.group("lvl"), f.group("title"), f.group("time")) == (
        "WARNING",
        "fmt",
        m.group("time"),
    )
    assert in_file == "WARNING:fmt:%s: a message: with colons\n" % m.group("time")


def test_aliases_log_at_their_levels(logger):
    logger.init_log(
        "a",
        logfile=None,
        filter_level_logfile=0,
        filter_level_stderr=klog.NEVER,
        filter_level_syslog=klog.NEVER,
    )
    logger.set_force_time("T")
    for fn in (
        logger.log_crit,
        logger.log_critical,
        logger.log_alert,
        logger.log_error,
        logger.log_warning,
        logger.log_info,
        logger.log_debug,
        logger.debug,
    ):
        fn("x")
    assert [x.split(": ")[2] for x in reversed(logger.queue())] == [
        "CRITICAL",
        "CRITICAL",
        "CRITICAL",
        "ERROR",
        "WARNING",
        "INFO",
        "DEBUG",
        "DEBUG",
    ]


def test_module_functions_drive_the_default_logger(default_logger, tmp_path, capsys):
    import kcore.common as kc

    assert kc.log is klog.log
    kc.init_log("mod", logfile=str(tmp_path / "m.log"), force_time="T")
    assert kc.log("hi") is True
    kc.log_error("bad")
    assert kc.last_logs() == "mod: T: ERROR: bad\nmod: T: INFO: hi"
    assert default_logger.queue()[0] == "mod: T: ERROR: bad"
    assert capsys.readouterr().err == "mod: T: ERROR: bad\n"
    stats = klog.log_stats()
    assert stats["log-error-or-higher"] == 1
    kc.clear_log()
    assert kc.last_logs() == ""
    assert klog.log_stats()["log-error-or-higher"] == 0


# -------------------------------------------------------------- force_time


def test_force_time_set_kept_and_cleared(logger):
    logger.init_log("f", logfile=None, force_time="FIXED", filter_level_stderr=klog.NEVER)
    logger.log_info("a")
    logger.init_log("f", logfile=None, filter_level_stderr=klog.NEVER)  # None keeps it
    logger.log_info("b")
    logger.init_log("f", logfile=None, force_time=False, filter_level_stderr=klog.NEVER)
    logger.log_info("c")
    logger.set_force_time("AGAIN")
    logger.log_info("d")
    logger.set_force_time(None)
    logger.log_info("e")
    times = [LINE.match(x) for x in reversed(logger.queue())]
    assert logger.queue()[-1].startswith("f: FIXED: INFO: a")
    assert logger.queue()[-2].startswith("f: FIXED: INFO: b")
    assert times[2] is not None and times[4] is not None  # real, padded timestamps
    assert logger.queue()[1] == "f: AGAIN: INFO: d"


# ------------------------------------------------------------------ queue


def test_queue_newest_first_bounded_default_40(logger):
    logger.init_log("q", logfile=None, force_time="T", filter_level_stderr=klog.NEVER)
    for i in range(100):
        logger.log_info(str(i))
    q = logger.queue()
    assert len(q) == 40
    assert q[0] == "q: T: INFO: 99" and q[-1] == "q: T: INFO: 60"
    logger.set_queue_len(3)
    assert logger.queue() == ["q: T: INFO: 99", "q: T: INFO: 98", "q: T: INFO: 97"]
    logger.log_info("new")
    assert len(logger.queue()) == 3 and logger.queue()[0].endswith("new")
    logger.set_queue_len(0)  # unbounded, as in the original
    for i in range(50):
        logger.log_info(str(i))
    assert len(logger.queue()) == 53
    logger.init_log("q", logfile=None, log_queue_len=1)
    assert len(logger.queue()) == 1
    with pytest.raises(ValueError):
        logger.set_queue_len("5")


def test_last_logs_html_is_escaped(logger):
    logger.init_log("h", logfile=None, force_time="T", filter_level_stderr=klog.NEVER)
    logger.log_info("<script>alert('x')</script> & \"q\"")
    logger.log_info("second")
    html = logger.last_logs_html()
    assert html == (
        "<p>h: T: INFO: second<br/>h: T: INFO: &lt;script&gt;alert(&#x27;x&#x27;)"
        "&lt;/script&gt; &amp; &quot;q&quot;"
    )
    assert "<script>" not in html
    assert logger.last_logs().split("\n")[1].endswith('</script> & "q"')


def test_clear_empties_queue_counters_and_file(logger, tmp_path):
    path = tmp_path / "c.log"
    path.write_text("old content\n")
    logger.init_log("c", logfile=str(path), filter_level_stderr=klog.NEVER)
    logger.log_error("e1")
    logger.log_debug("absorbed")
    assert "old content" in path.read_text()
    logger.init_log("c", logfile=str(path), clear=True, filter_level_stderr=klog.NEVER)
    assert logger.queue() == []
    assert logger.stats()["log-error-or-higher"] == 0
    assert logger.stats()["log-absorbed"] == 0
    logger.log_info("fresh")
    logger.close()
    assert [x.split(": ")[-1] for x in path.read_text().splitlines()] == ["fresh"]


# ------------------------------------------------------------------- file


def test_file_is_kept_open_and_reopened_after_close(logger, tmp_path, monkeypatch):
    opened = []
    real = klog._open_append

    def spy(path):
        opened.append(path)
        return real(path)

    monkeypatch.setattr(klog, "_open_append", spy)
    path = str(tmp_path / "k.log")
    logger.init_log("k", logfile=path, filter_level_stderr=klog.NEVER, force_time="T")
    for i in range(5):
        logger.log_info(str(i))
    assert opened == [path]
    # line-buffered: already on disk before close
    assert len(open(path).read().splitlines()) == 5
    logger.close()
    logger.log_info("after close")
    assert opened == [path, path]
    logger.init_log("k", logfile=path, filter_level_stderr=klog.NEVER, force_time="T")
    assert opened == [path, path, path]
    logger.log_info("after init")
    logger.close()
    assert open(path).read().splitlines()[-2:] == [
        "INFO:k:T: after close",
        "INFO:k:T: after init",
    ]


def test_context_manager_closes_file(tmp_path):
    path = str(tmp_path / "cm.log")
    with klog.Logger(logfile=path, filter_level_stderr=klog.NEVER) as lg:
        lg.log_info("x")
        assert lg._file is not None
    assert lg._file is None


def test_unwritable_file_falls_back_to_basename_in_cwd(logger, streams, tmp_path, monkeypatch):
    _out, _err = streams
    monkeypatch.chdir(tmp_path)
    bad = str(tmp_path / "no" / "such" / "dir" / "fb.log")
    logger.init_log("fb", logfile=bad, force_time="T", filter_level_stderr=klog.NEVER)
    assert logger.settings()["logfile"] == "fb.log"
    logger.log_info("here")
    logger.close()
    # the notice goes to stderr, whatever its threshold, and never into the log file
    assert len(_err.lines()) == 1
    assert _err.lines()[0].startswith("fb: T: WARNING: cannot open log file")
    assert "logging to 'fb.log' instead" in _err.lines()[0]
    assert (tmp_path / "fb.log").read_text().splitlines() == ["INFO:fb:T: here"]
    assert logger.queue() == ["fb: T: INFO: here"]


def test_unwritable_file_and_basename_disables_file_and_lowers_stderr(
    logger, streams, tmp_path, monkeypatch
):
    _out, err = streams
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir.log").mkdir()  # the basename is a directory: cannot be opened
    bad = str(tmp_path / "nope" / "dir.log")
    logger.init_log("nf", logfile=bad, force_time="T")
    s = logger.settings()
    assert s["logfile"] is None
    assert s["filter_level_stderr"] == klog.INFO  # took the file's threshold
    logger.log_info("to stderr now")
    assert err.lines()[0].startswith("nf: T: WARNING: cannot open log file")
    assert "file logging disabled" in err.lines()[0]
    assert err.lines()[1] == "nf: T: INFO: to stderr now"
    assert logger.queue() == ["nf: T: INFO: to stderr now"]  # the notice is not a log line


# ------------------------------------------------------------- resilience


def test_failing_sinks_never_raise(tmp_path, monkeypatch):
    def bad_syslog(prio, msg):
        raise OSError("syslog down")

    monkeypatch.setitem(
        sys.modules, "syslog", types.SimpleNamespace(syslog=bad_syslog, openlog=None)
    )
    lg = klog.Logger(stdout=BrokenStream(), stderr=BrokenStream())
    lg.init_log(
        "b",
        logfile=str(tmp_path / "b.log"),
        filter_level_stdout=0,
        filter_level_stderr=0,
        filter_level_syslog=0,
    )

    class BadFile:
        def write(self, s):
            raise OSError(28, "No space left on device")

        def flush(self):
            pass

        def close(self):
            raise OSError(5, "EIO")

    lg._file = BadFile()
    assert lg.log_error("still fine") is True
    assert lg.stats()["log-sink-errors"] == 4  # file, stdout, stderr, syslog
    assert lg.queue()[0].endswith("still fine")
    # the file is reopened for the next line and works again
    assert lg.log_error("recovered") is True
    lg.close()
    assert (tmp_path / "b.log").read_text().splitlines()[-1].endswith("recovered")


def test_unprintable_and_non_str_messages(logger):
    class Nasty:
        def __str__(self):
            raise RuntimeError("no")

    logger.init_log("n", logfile=None, force_time="T", filter_level_stderr=klog.NEVER)
    assert logger.log_info(12345) is True
    assert logger.log_info(Nasty()) is True
    assert logger.queue() == ["n: T: INFO: <unprintable Nasty>", "n: T: INFO: 12345"]


def test_surrogates_in_file_do_not_break_logging(logger, tmp_path):
    path = tmp_path / "s.log"
    logger.init_log("s", logfile=str(path), force_time="T", filter_level_stderr=klog.NEVER)
    assert logger.log_info("bad \udc80 text") is True
    logger.close()
    assert path.read_text() == "INFO:s:T: bad \\udc80 text\n"
    assert logger.stats()["log-sink-errors"] == 0


# ------------------------------------------------------------------ syslog


def test_syslog_lazy_import_priorities_ident_facility(monkeypatch, tmp_path):
    calls = []
    fake = types.SimpleNamespace(
        syslog=lambda prio, msg: calls.append(("syslog", prio, msg)),
        openlog=lambda **kw: calls.append(("openlog", kw)),
    )
    monkeypatch.delitem(sys.modules, "syslog", raising=False)
    lg = klog.Logger(stderr=Stream())
    lg.init_log("sy", logfile=None, force_time="T", filter_level_syslog=klog.DEBUG)
    assert lg._syslog is None  # nothing looked up yet
    monkeypatch.setitem(sys.modules, "syslog", fake)
    for lvl in (klog.DEBUG, klog.INFO, klog.WARNING, klog.ERROR, klog.CRITICAL, 35):
        lg.log("m", lvl)
    assert [c[1] for c in calls] == [7, 6, 4, 3, 2, 4]
    assert calls[0][2] == "sy: T: DEBUG: m"
    assert lg.stats()["log-sent-syslog"] == 6
    calls.clear()
    assert lg.log_syslog("direct", klog.ERROR, ident="myprog", facility=8 * 3) is True
    assert calls == [("openlog", {"ident": "myprog"}), ("syslog", 3 | 24, "direct")]


def test_syslog_absent_on_boards_and_without_module(monkeypatch):
    monkeypatch.setattr(platform, "CPYTHON", False)
    lg = klog.Logger()
    assert lg.log_syslog("x") is False
    assert lg._syslog is False
    monkeypatch.setattr(platform, "CPYTHON", True)
    monkeypatch.setitem(sys.modules, "syslog", None)  # import fails (e.g. Windows)
    lg2 = klog.Logger()
    assert lg2.log_syslog("x") is False
    assert lg2.stats()["log-sent-syslog"] == 0


def test_real_syslog_module_is_used_on_cpython():
    pytest.importorskip("syslog")
    lg = klog.Logger()
    # A real syslog(3) call: it returns even with no syslog daemon running.
    assert lg.log_syslog("kcore test message", klog.DEBUG) is True


# ---------------------------------------------------------------- counters


def test_info_fast_path_and_more_bad_values(logger):
    logger.init_log(
        "i", logfile=None, filter_level_stderr=klog.NEVER, filter_level_logfile=klog.WARNING
    )
    assert logger.log_info("absorbed") is None
    assert logger.stats()["log-absorbed"] == 1
    with pytest.raises(ValueError, match="force_time"):
        logger.set_force_time(3.5)
    with pytest.raises(ValueError, match="level"):
        logger.log_from("x", True, None)
    with pytest.raises(ValueError, match="level"):
        logger.log_from("x", 2.5, None)


def test_sink_without_level_skips_messages_below_queue_minimum(logger):
    logger.init_log("s", logfile=None, force_time="T", filter_level_stderr=klog.NEVER)
    plain, low = [], []
    logger.add_sink(lambda lvl, text, line: plain.append(text))
    logger.add_sink(lambda lvl, text, line: low.append(text), level=klog.DEBUG)
    logger.log_debug("d")  # passes the minimum because of the DEBUG sink only
    assert (plain, low) == ([], ["d"])


def test_clear_log_with_missing_file_is_fine(logger, tmp_path):
    path = tmp_path / "gone.log"
    logger.init_log("g", logfile=str(path), filter_level_stderr=klog.NEVER)
    logger.close()
    path.unlink()
    logger.clear_log()  # nothing to delete: no error
    assert not path.exists()


def test_counters(logger):
    logger.init_log(
        "c", logfile=None, filter_level_stderr=klog.NEVER, filter_level_syslog=klog.NEVER
    )
    for _ in range(3):
        logger.log_debug("absorbed")
    logger.log("also absorbed", klog.DEBUG)
    logger.log_error("e")
    logger.log_crit("c")
    logger.log_info("i")
    st = logger.stats()
    assert st["log-absorbed"] == 4
    assert st["log-error-or-higher"] == 2
    assert st["log-sent-syslog"] == 0
    assert st["log-sink-errors"] == 0
    st["log-absorbed"] = 999  # a copy
    assert logger.stats()["log-absorbed"] == 4


# ------------------------------------------------------------------- sinks


def test_extra_sinks_levels_and_origin(logger):
    logger.init_log("s", logfile=None, force_time="T", filter_level_stderr=klog.NEVER)
    got_all, got_debug = [], []
    logger.add_sink(lambda lvl, text, line: got_all.append((lvl, text, line)))
    assert logger.settings()["min_level"] == klog.INFO
    logger.add_sink(lambda lvl, text, line: got_debug.append(text), level="DEBUG", skip_origin="x")
    assert logger.settings()["min_level"] == klog.DEBUG
    logger.log_debug("dbg")
    logger.log_info("inf")
    logger.log_from("from x", klog.INFO, "x")
    assert got_all == [
        (20, "inf", "s: T: INFO: inf"),
        (20, "from x", "s: T: INFO: from x"),
    ]
    assert got_debug == ["dbg", "inf"]
    # debug reached the sink but not the queue (queue keeps its own minimum)
    assert [x.split(": ")[-1] for x in logger.queue()] == ["from x", "inf"]

    def boom(lvl, text, line):
        raise RuntimeError("sink bug")

    logger.add_sink(boom)
    assert logger.log_info("ok") is True
    assert logger.stats()["log-sink-errors"] == 1
    logger.remove_sink(boom)
    logger.log_info("ok2")
    assert logger.stats()["log-sink-errors"] == 1


# ------------------------------------------------------------ concurrency


def test_threads_log_concurrently_without_loss(tmp_path):
    path = tmp_path / "t.log"
    lg = klog.Logger(stderr=Stream())
    lg.init_log("t", logfile=str(path), force_time="T", log_queue_len=25)
    n_threads, n_msgs = 8, 200

    def worker(k):
        for i in range(n_msgs):
            lg.log_info("w%d-%d" % (k, i))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    lg.close()
    lines = path.read_text().splitlines()
    assert len(lines) == n_threads * n_msgs
    assert all(x.startswith("INFO:t:T: w") for x in lines)
    assert {x.split(": ")[-1] for x in lines} == {
        "w%d-%d" % (k, i) for k in range(n_threads) for i in range(n_msgs)
    }
    assert len(lg.queue()) == 25


def test_lock_shims_for_boards(monkeypatch):
    monkeypatch.setitem(sys.modules, "_thread", None)  # CircuitPython: no _thread
    lock = platform.new_lock(reentrant=True)
    assert isinstance(lock, platform.NoLock)
    with lock:
        pass
    lg = klog.Logger()
    assert isinstance(lg._lock, platform.NoLock)
    assert lg.log_info("works without threads") is True

    allocated = []
    fake_thread = types.SimpleNamespace(
        allocate_lock=lambda: allocated.append(1) or threading.Lock()
    )  # MicroPython: allocate_lock but no RLock
    monkeypatch.setitem(sys.modules, "_thread", fake_thread)
    platform.new_lock(reentrant=True)
    assert allocated == [1]


def test_board_file_open_without_encoding_args(monkeypatch, tmp_path):
    monkeypatch.setattr(platform, "CPYTHON", False)
    seen = []
    real_open = open

    def board_open(path, mode="r", *args, **kwargs):
        seen.append(kwargs)
        return real_open(path, mode)

    monkeypatch.setattr("builtins.open", board_open)
    lg = klog.Logger(logfile=str(tmp_path / "b.log"), filter_level_stderr=klog.NEVER)
    lg.log_info("x")
    lg.close()
    assert seen == [{}]


# ------------------------------------------------------- no side effects


def test_init_log_and_logging_open_no_socket(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setenv("NO_TRACKING", "")  # the original phoned home unless this was set
    lg = klog.Logger(stderr=Stream())
    assert lg.init_log("net", logfile=str(tmp_path / "n.log"), filter_level_syslog=klog.NEVER)
    assert lg.log_crit("no phone home") is True
    lg.close()


def test_import_starts_no_thread_and_imports_nothing_heavy():
    code = (
        "import sys, threading\n"
        "before = threading.active_count()\n"
        "import kcore.common, kcore.common.logger\n"
        "kcore.common.log_debug('x')\n"
        "assert threading.active_count() == before, threading.enumerate()\n"
        "heavy = ('syslog', 'logging', 'socket', 'requests', 'ssl')\n"
        "bad = [m for m in heavy if m in sys.modules]\n"
        "assert not bad, bad\n"
        "print('clean')\n"
    )
    # threading is imported by the check itself; also check the board path imports no threading
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "clean"
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; import kcore.common.logger; "
            "assert 'threading' not in sys.modules, 'threading imported'; print('ok')",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


def test_importing_opens_no_file(tmp_path):
    code = "import kcore.common; import os; print(sorted(os.listdir('.')))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
