"""The log counters of kcore.common are real keys of varz.VARZ (the store is the
dict kcore.common's default logger counts in), cleared by init_log(clear=True)."""

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import kcore.common as common
from kcore import varz
from kcore.common import logger


@pytest.fixture
def quiet_log(fresh_varz):
    """The default logger reset, configured to print nothing, and reset afterwards."""
    common.reset_log()
    common.init_log("t", logfile=None, force_time="T", filter_level_stderr=common.NEVER)
    yield common
    common.reset_log()


def test_the_store_is_the_loggers_counter_dict():
    assert varz.VARZ is logger.COUNTERS
    assert logger.default_logger()._counters is varz.VARZ


def test_log_counters_are_real_keys_of_varz(quiet_log):
    common.log_debug("absorbed")
    common.log_debug("absorbed too")
    common.log_error("an error")
    common.log_crit("a critical one")
    assert varz.VARZ["log-absorbed"] == 2
    assert varz.VARZ["log-error-or-higher"] == 2
    assert varz.VARZ["log-filter-levels"] == (
        "file:NEVER, stdout: NEVER, stderr: NEVER, syslog: CRITICAL"
    )
    assert varz.get("log-absorbed") == 2
    d = varz.get_dict()
    assert d["log-error-or-higher"] == 2 and d["log-filter-levels"].startswith("file:")
    kinds = varz.get_kinds()
    assert kinds["log-absorbed"] == kinds["log-error-or-higher"] == "counter"
    assert common.log_stats()["log-absorbed"] == 2  # the same numbers, read the other way


def test_init_log_clear_removes_log_keys_and_keeps_the_rest(quiet_log):
    varz.bump("requests")
    common.log_error("before")
    assert "log-error-or-higher" in varz.VARZ
    common.init_log("t", logfile=None, clear=True, filter_level_stderr=common.NEVER)
    assert "log-error-or-higher" not in varz.VARZ and "log-absorbed" not in varz.VARZ
    assert varz.VARZ["requests"] == 1
    assert varz.VARZ["log-filter-levels"].startswith("file:NEVER")  # set again by init_log
    common.log_error("after")
    assert varz.VARZ["log-error-or-higher"] == 1


def test_varz_reset_and_delete_do_not_break_counting(quiet_log):
    common.log_error("one")
    varz.reset("log-error-or-higher")  # the value becomes None, the key stays
    assert varz.VARZ["log-error-or-higher"] is None
    common.log_error("two")
    assert varz.VARZ["log-error-or-higher"] == 1
    varz.reset()  # empties the store in place
    assert varz.VARZ is logger.COUNTERS and varz.VARZ == {}
    common.log_debug("absorbed")
    assert varz.VARZ == {"log-absorbed": 1}
    assert varz.delete("log-absorbed") is True
    common.log_debug("absorbed")
    assert varz.VARZ["log-absorbed"] == 1


def test_log_counters_exported_to_prometheus(quiet_log):
    import kcore.varz_prom as vp

    registry = CollectorRegistry()
    vp.install(registry=registry, program="p")
    try:
        common.log_error("e")
        body, _ctype = vp.render(registry=registry)
    finally:
        vp.install()
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert fams["varz_log_error_or_higher"].type == "counter"
    assert fams["varz_log_error_or_higher"].samples[0].value == 1.0
    levels = fams["varz_log_filter_levels_info"].samples[0]  # an info metric, as text parses it
    assert levels.labels["value"] == "file:NEVER, stdout: NEVER, stderr: NEVER, syslog: CRITICAL"


def test_a_private_logger_does_not_touch_varz(fresh_varz):
    lg = logger.Logger(stderr=None)
    lg.init_log("p", logfile=None, filter_level_stderr=common.NEVER)
    lg.log_debug("absorbed")
    lg.log_error("e")
    assert not any(k.startswith("log-") for k in varz.VARZ)
    assert lg.stats()["log-error-or-higher"] == 1
