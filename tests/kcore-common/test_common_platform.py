"""kcore.common.platform on CPython, forcing the branches only boards take."""

from __future__ import annotations

import sys
import types

from kcore.common import platform


def test_cpython_picks_monotonic_ns():
    assert platform.CLOCK_NAME == "monotonic_ns"


def test_circuitpython_without_monotonic_ns_uses_supervisor_ticks():
    fake_time = types.SimpleNamespace(time=lambda: 0.0)
    ticks = iter([10, 20, 30])
    supervisor = types.SimpleNamespace(ticks_ms=lambda: next(ticks))
    name, clock = platform._pick_clock(fake_time, supervisor)
    assert name == "ticks_ms"
    assert [clock(), clock()] == [20, 30]


def test_circuitpython_supervisor_found_by_import(monkeypatch):
    fake_time = types.SimpleNamespace(time=lambda: 0.0)
    supervisor = types.ModuleType("supervisor")
    supervisor.ticks_ms = lambda: 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "supervisor", supervisor)
    name, clock = platform._pick_clock(fake_time)
    assert name == "ticks_ms" and clock() == 7


def test_micropython_uses_time_ticks_ms(monkeypatch):
    monkeypatch.setitem(sys.modules, "supervisor", None)  # import fails
    ticks = iter([1, 2])
    fake_time = types.SimpleNamespace(ticks_ms=lambda: next(ticks), time=lambda: 0.0)
    name, clock = platform._pick_clock(fake_time)
    assert name == "ticks_ms" and clock() == 2


def test_float_monotonic_fallback(monkeypatch):
    monkeypatch.setitem(sys.modules, "supervisor", None)
    fake_time = types.SimpleNamespace(monotonic=lambda: 1.5, time=lambda: 0.0)
    name, clock = platform._pick_clock(fake_time)
    assert name == "monotonic" and clock() == 1500


def test_wall_clock_as_last_resort(monkeypatch):
    monkeypatch.setitem(sys.modules, "supervisor", None)
    fake_time = types.SimpleNamespace(time=lambda: 2.25)
    name, clock = platform._pick_clock(fake_time)
    assert name == "time" and clock() == 2250


def test_getenv_without_os_getenv(monkeypatch):
    import os

    monkeypatch.delattr(os, "getenv")
    assert platform.getenv("HOME", "fallback") == "fallback"


def test_getenv_reads_environment(monkeypatch):
    monkeypatch.setenv("KCORE_TEST_VAR", "yes")
    assert platform.getenv("KCORE_TEST_VAR") == "yes"


def test_error_class_falls_back_to_the_builtin_alone(monkeypatch):
    real_type = type

    def micropython_type(*args):
        if len(args) == 3 and len(args[1]) > 1:
            raise TypeError("multiple bases have instance lay-out conflict")
        return real_type(*args)

    monkeypatch.setattr(platform, "type", micropython_type, raising=False)
    cls = platform.error_class("E", OSError)
    assert cls.__bases__ == (OSError,)
    child = platform.error_class("Child", ValueError, base=cls, module="m")
    assert child.__bases__ == (ValueError,) and child.__module__ == "m"
    # keep_base: the library's own tree holds instead
    kept = platform.error_class("Kept", ValueError, base=cls, keep_base=True)
    assert kept.__bases__ == (cls,)


def test_error_class_takes_builtin_names_and_skips_missing_ones():
    parent = platform.error_class("Parent", "OSError", doc="p")
    assert issubclass(parent, platform.KcoreError) and issubclass(parent, OSError)
    assert parent.__doc__ == "p"
    leaf = platform.error_class("Leaf", "TimeoutError", base=parent)
    assert issubclass(leaf, TimeoutError) and issubclass(leaf, parent)
    gone = platform.error_class("Gone", "NoSuchBuiltinError", base=parent)
    assert gone.__bases__ == (parent,)
    plain = platform.error_class("Plain", None, base=parent)
    assert plain.__bases__ == (parent,)
    again = platform.error_class("Again", OSError, base=parent)  # already an OSError
    assert again.__bases__ == (parent,)


def test_no_thread_module_gives_a_no_lock(monkeypatch):
    monkeypatch.setitem(sys.modules, "_thread", None)
    lock = platform.new_lock()
    assert isinstance(lock, platform.NoLock)
    assert lock.acquire() is True
    lock.release()
