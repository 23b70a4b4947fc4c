"""Portable tests of kcore.common.platform (pytest and MicroPython)."""

import sys

from mtest import raises

from kcore.common import platform


def test_flags_match_the_interpreter():
    name = sys.implementation.name
    assert platform.IMPLEMENTATION == name
    assert platform.CPYTHON == (name == "cpython")
    assert platform.MICROPYTHON == (name == "micropython")
    assert [platform.CPYTHON, platform.MICROPYTHON, platform.CIRCUITPYTHON].count(True) <= 1


def test_monotonic_never_goes_backwards():
    last = platform.monotonic_ms()
    for _ in range(2000):
        now = platform.monotonic_ms()
        assert now >= last
        last = now
    assert abs(platform.monotonic() * 1000 - platform.monotonic_ms()) < 1000


def test_unwrapper_survives_a_tick_wrap():
    readings = [100, 200, 5, 50, 3]  # wraps after 200 and after 50
    it = iter(readings)
    read = platform._unwrapper(lambda: next(it), period=256)
    seen = [read() for _ in range(len(readings) - 1)]
    assert seen == [200, 256 + 5, 256 + 50, 512 + 3]


def test_error_class_is_both_where_possible():
    Err = platform.error_class("Err", ValueError, doc="bad value", module="x.y")
    e = raises(ValueError, _raise, Err, "boom")
    assert str(e) == "boom"
    if platform.CPYTHON:
        assert isinstance(e, platform.KcoreError)
        assert Err.__module__ == "x.y"


def test_error_class_keeps_the_kcore_tree_on_every_platform():
    from kcore.common import web

    for leaf in (web.WebTimeout, web.WebConnectionError, web.InvalidURL, web.InvalidHeader):
        assert issubclass(leaf, web.WebError), leaf
    assert issubclass(web.WebSSLError, web.WebConnectionError)
    assert issubclass(web.WebError, OSError)
    if platform.CPYTHON:
        assert issubclass(web.InvalidURL, ValueError)
        assert issubclass(web.WebTimeout, TimeoutError)
        assert issubclass(web.WebError, platform.KcoreError)


def test_alias_modules_see_the_same_names():
    from kcore import common, common0, time_queue, timequeue

    assert common0.init_log is common.init_log and common0.LOG_QUEUE is common.LOG_QUEUE
    assert time_queue.TimeQueue is timequeue.TimeQueue and time_queue.hm_to_ms(1, 0) == 3600000
    raises(AttributeError, getattr, common0, "no_such_name_here")
    if platform.CPYTHON:  # there the alias is the module itself
        assert common0 is common and time_queue is timequeue


def _raise(cls, msg):
    raise cls(msg)


def test_lock_works_as_context_manager():
    lock = platform.new_lock()
    with lock:
        pass
    with platform.new_lock(reentrant=True):
        pass


def test_getenv_default():
    assert platform.getenv("KCORE_SURELY_UNSET_VARIABLE_X", "dflt") == "dflt"


def test_localtime_shape():
    t = platform.localtime(0)
    assert len(t) == 8
    assert 1969 <= t[0] <= 1970
