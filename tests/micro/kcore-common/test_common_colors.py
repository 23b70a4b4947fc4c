"""Portable tests of kcore.common.colors (pytest on CPython, and the
micropython binary)."""

from kcore.common import colors
from kcore.common.colors import CCC, c, c0


class FakeTty:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


class NoIsatty:
    pass


def test_codes():
    assert CCC["red"] == "\033[31m" and CCC.red == CCC["red"] and CCC.RESET == "\033[0m"
    assert len(CCC) == 9


def test_color_enabled_follows_the_stream():
    assert colors.color_enabled(FakeTty(False)) is False
    assert colors.color_enabled(NoIsatty()) is False  # boards: cannot tell -> plain


def test_paint_rules():
    red = "\033[31m"
    assert colors._paint("x", "red", False, True) == red + "x\033[0m"
    assert colors._paint("x", "red", True, True) == "\033[1m" + red + "x\033[0m"
    assert colors._paint("x", "nosuch", True, True) == "x"  # no stray reset
    assert colors._paint("x", "red", False, False) == "x"


def test_c_and_c0_return_text():
    # Under the micropython binary and under pytest's capture, stdout is no
    # colour terminal, so the plain text comes back.
    enabled = colors.color_enabled(colors._stream(0))
    if not enabled:
        assert c("hello", "red") == "hello"
        assert c0("error", "msg") == "error: msg"
    assert colors._auto_color("Error") == "red"
    assert colors._auto_color("warn") == "yellow"
    assert colors._auto_color("ok") == "green"


def _setenv(name, value):
    import os

    environ = getattr(os, "environ", None)  # CPython
    if environ is not None:
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    elif value is None:  # MicroPython unix port
        os.unsetenv(name)
    else:
        os.putenv(name, value)


def test_no_color_env():
    from kcore.common import platform

    old = platform.getenv("NO_COLOR")
    try:
        _setenv("NO_COLOR", None)
        assert colors.color_enabled(FakeTty(True)) is True
        _setenv("NO_COLOR", "1")
        assert colors.color_enabled(FakeTty(True)) is False
        _setenv("NO_COLOR", "")
        assert colors.color_enabled(FakeTty(True)) is True
    finally:
        _setenv("NO_COLOR", old)
