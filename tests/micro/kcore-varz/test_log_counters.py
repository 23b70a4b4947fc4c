"""Portable: kcore.common's log counters are real keys of varz.VARZ, also on MicroPython."""

import kcore.common as common
from kcore import varz
from kcore.common import logger


def _quiet():
    varz.reset()
    common.reset_log()
    common.init_log("t", logfile=None, force_time="T", filter_level_stderr=common.NEVER)


def test_log_counters_are_varz_keys_and_clear_removes_them():
    _quiet()
    try:
        assert varz.VARZ is logger.COUNTERS
        varz.bump("mine")
        common.log_debug("absorbed")
        common.log_error("e")
        assert varz.VARZ["log-absorbed"] == 1 and varz.get("log-error-or-higher") == 1
        assert varz.get_dict()["log-filter-levels"].startswith("file:NEVER")
        assert varz.get_kinds()["log-absorbed"] == "counter"
        common.init_log("t", logfile=None, clear=True, filter_level_stderr=common.NEVER)
        assert "log-absorbed" not in varz.VARZ and varz.VARZ["mine"] == 1
        varz.reset()
        common.log_error("again")
        assert varz.VARZ["log-error-or-higher"] == 1
    finally:
        common.reset_log()
        varz.reset()
