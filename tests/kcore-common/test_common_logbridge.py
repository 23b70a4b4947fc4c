"""kcore.common.logbridge: stdlib logging -> kcore, kcore -> stdlib, both at
once without loops."""

import importlib
import io
import logging
import uuid

import pytest

import kcore.common.logger as klog

logbridge = importlib.import_module("kcore.common.logbridge")


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def kl():
    lg = klog.Logger(stderr=io.StringIO())
    lg.init_log(
        "k", logfile=None, force_time="T", filter_level_stderr=klog.NEVER, filter_level_syslog=99
    )
    yield lg
    lg.close()


@pytest.fixture
def std_logger():
    """A fresh, non-propagating stdlib logger (so pytest's capture stays out)."""
    lg = logging.getLogger("kcoretest." + uuid.uuid4().hex)
    lg.setLevel(logging.DEBUG)
    lg.propagate = False
    yield lg
    for h in list(lg.handlers):
        lg.removeHandler(h)


def test_lazy_names_on_kcore_common():
    import kcore.common as kc

    assert kc.KcoreLogHandler is logbridge.KcoreLogHandler
    assert kc.bridge_from_stdlib is logbridge.bridge_from_stdlib
    assert kc.bridge_to_stdlib is logbridge.bridge_to_stdlib


def test_from_stdlib_into_kcore_with_level_mapping(kl, std_logger):
    std_logger.setLevel(1)
    h = logbridge.bridge_from_stdlib(std_logger, kcore_logger=kl)
    assert isinstance(h, logbridge.KcoreLogHandler)
    std_logger.debug("dbg %s", "arg")  # below kcore's INFO minimum: absorbed
    std_logger.info("info %d", 5)
    std_logger.warning("warn")
    std_logger.log(5, "custom low level")  # below DEBUG -> DEBUG -> absorbed
    std_logger.log(45, "between")
    name = std_logger.name
    assert kl.queue() == [
        "k: T: 45: %s: between" % name,
        "k: T: WARNING: %s: warn" % name,
        "k: T: INFO: %s: info 5" % name,
    ]
    assert kl.stats()["log-absorbed"] == 2


def test_from_stdlib_by_name_is_idempotent(kl):
    name = "kcoretest." + uuid.uuid4().hex
    h1 = logbridge.bridge_from_stdlib(name, kcore_logger=kl)
    h2 = logbridge.bridge_from_stdlib(name, level=logging.ERROR, kcore_logger=kl)
    std = logging.getLogger(name)
    try:
        assert h1 is h2
        assert std.handlers == [h1]
        assert h1.level == logging.ERROR
    finally:
        std.removeHandler(h1)


def test_from_stdlib_default_is_root_and_default_logger():
    root = logging.getLogger()
    h = logbridge.bridge_from_stdlib()
    try:
        assert h in root.handlers
        assert h.kcore_logger is klog.default_logger()
    finally:
        root.removeHandler(h)


def test_exceptions_are_included(kl, std_logger):
    logbridge.bridge_from_stdlib(std_logger, kcore_logger=kl)
    try:
        raise ValueError("bad thing")
    except ValueError:
        std_logger.exception("failed")
    line = kl.queue()[0]
    assert line.startswith("k: T: ERROR: %s: failed\nTraceback" % std_logger.name)
    assert "ValueError: bad thing" in line


def test_to_stdlib(kl, std_logger):
    cap = ListHandler()
    std_logger.addHandler(cap)
    bridge = logbridge.bridge_to_stdlib(std_logger.name, kcore_logger=kl)
    assert bridge.logger is std_logger
    kl.log_info("hello")
    kl.log_error("oops")
    kl.log_debug("absorbed by kcore")
    assert [(r.levelno, r.getMessage()) for r in cap.records] == [(20, "hello"), (40, "oops")]
    assert all(getattr(r, "kcore_bridged", False) for r in cap.records)
    assert logbridge.bridge_to_stdlib(std_logger.name, kcore_logger=kl) is bridge
    bridge.close()
    bridge.close()  # idempotent
    kl.log_info("not forwarded")
    assert len(cap.records) == 2


def test_to_stdlib_with_own_lower_level(kl, std_logger):
    cap = ListHandler()
    std_logger.addHandler(cap)
    with logbridge.bridge_to_stdlib(std_logger.name, kcore_logger=kl, level=klog.DEBUG):
        kl.log_debug("debug reaches stdlib")
    kl.log_debug("bridge closed")
    assert [r.getMessage() for r in cap.records] == ["debug reaches stdlib"]
    assert kl.queue() == []  # kcore's own sinks still drop DEBUG
    assert kl.settings()["min_level"] == klog.INFO  # minimum restored on close


def test_both_directions_no_loop(kl, std_logger):
    cap = ListHandler()
    std_logger.addHandler(cap)
    handler = logbridge.bridge_from_stdlib(std_logger, kcore_logger=kl)
    bridge = logbridge.bridge_to_stdlib(std_logger.name, kcore_logger=kl)
    try:
        kl.log_warning("from kcore")
        std_logger.warning("from stdlib")
        # kcore's message: once in kcore's queue, once in stdlib (not re-imported)
        # stdlib's message: once in stdlib, once in kcore (not re-exported)
        assert kl.queue() == [
            "k: T: WARNING: %s: from stdlib" % std_logger.name,
            "k: T: WARNING: from kcore",
        ]
        assert [r.getMessage() for r in cap.records] == ["from kcore", "from stdlib"]
    finally:
        bridge.close()
        std_logger.removeHandler(handler)


def test_both_directions_through_propagation_no_loop(kl):
    """Bridge to a child logger while the handler sits on its parent."""
    parent = logging.getLogger("kcoretest-parent-" + uuid.uuid4().hex)
    parent.setLevel(logging.DEBUG)
    parent.propagate = False
    handler = logbridge.bridge_from_stdlib(parent, kcore_logger=kl)
    bridge = logbridge.bridge_to_stdlib(parent.name + ".child", kcore_logger=kl)
    try:
        kl.log_error("once")
        assert kl.queue() == ["k: T: ERROR: once"]
    finally:
        bridge.close()
        parent.removeHandler(handler)


def test_handler_errors_go_to_handle_error(kl, std_logger, monkeypatch):
    errors = []
    h = logbridge.bridge_from_stdlib(std_logger, kcore_logger=kl)
    monkeypatch.setattr(h, "handleError", lambda record: errors.append(record))

    class BadFormatter(logging.Formatter):
        def format(self, record):
            raise RuntimeError("formatter bug")

    h.setFormatter(BadFormatter())
    std_logger.info("hello")  # fails inside emit: reported, not raised
    assert [r.getMessage() for r in errors] == ["hello"]
    assert kl.queue() == []
