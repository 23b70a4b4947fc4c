"""kcore.common.colors: colour only for terminals, always print, NO_COLOR."""

import io
import sys

import pytest

from kcore.common import colors
from kcore.common.colors import CCC, c, c0

RED, RESET, BOLD = "\033[31m", "\033[0m", "\033[1m"


class Tty(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class NoIsatty:
    """A board-style stream: write() but no isatty()."""

    def __init__(self):
        self.data = []

    def write(self, s):
        self.data.append(s)


class ClosedTty(io.StringIO):
    def isatty(self):
        raise ValueError("I/O operation on closed file")


@pytest.fixture
def term(monkeypatch):
    """stdout/stderr/stdin as fake streams; returns a setter for their tty-ness."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    streams = {}

    def setup(stdout=True, stderr=True, stdin=True):
        streams["out"] = Tty(stdout)
        streams["err"] = Tty(stderr)
        monkeypatch.setattr(sys, "stdout", streams["out"])
        monkeypatch.setattr(sys, "stderr", streams["err"])
        monkeypatch.setattr(sys, "stdin", Tty(stdin))
        return streams

    return setup


def test_ccc_codes_by_key_and_attribute():
    assert CCC["red"] == RED and CCC.red == RED and CCC.RED == RED
    assert set(CCC) == {
        "black",
        "blue",
        "cyan",
        "green",
        "magenta",
        "red",
        "yellow",
        "white",
        "reset",
    }
    assert CCC.reset == RESET
    with pytest.raises(AttributeError):
        CCC.purple  # noqa: B018


def test_colour_on_tty(term):
    term()
    assert c("hi", "red") == RED + "hi" + RESET
    assert c("hi", "RED", bold=True) == BOLD + RED + "hi" + RESET
    assert c("hi", CCC.green) == CCC.green + "hi" + RESET  # a code itself also works


def test_decision_uses_target_stream_not_stdin(term):
    s = term(stdout=False, stderr=True, stdin=True)
    assert c("x", "red") == "x"  # out=0 -> stdout, which is a pipe
    assert c("x", "red", out=1) == "x"
    assert c("x", "red", out=2) == RED + "x" + RESET  # stderr is a tty
    assert s["out"].getvalue() == "x\n"
    assert s["err"].getvalue() == RED + "x" + RESET + "\n"
    s = term(stdout=True, stderr=False, stdin=False)  # stdin not a tty: irrelevant
    assert c("y", "red") == RED + "y" + RESET
    assert c("y", "red", out=2) == "y"


def test_prints_even_when_not_a_tty(term):
    s = term(stdout=False, stderr=False, stdin=False)
    assert c("plain out", "blue", out=1) == "plain out"
    assert c("plain err", "blue", out=2) == "plain err"
    assert s["out"].getvalue() == "plain out\n"
    assert s["err"].getvalue() == "plain err\n"


def test_out_zero_prints_nothing(term):
    s = term()
    c("quiet", "red")
    c0("info", "quiet")
    assert s["out"].getvalue() == "" and s["err"].getvalue() == ""


def test_no_color_env(term, monkeypatch):
    s = term()
    monkeypatch.setenv("NO_COLOR", "1")
    assert c("x", "red", out=1) == "x"
    assert c0("error", "msg") == "error: msg"
    assert s["out"].getvalue() == "x\n"
    monkeypatch.setenv("NO_COLOR", "")  # empty: ignored, per no-color.org
    assert c("x", "red") == RED + "x" + RESET


def test_unknown_colour_is_plain_without_reset(term):
    term()
    assert c("x", "purple") == "x"
    assert c("x", "purple", bold=True) == "x"
    assert c("x", None) == "x"
    assert c0("note", "m", color="chartreuse") == "note: m"


def test_c0_auto_colours_and_printing(term):
    s = term()
    assert c0("error", "m") == BOLD + RED + "error" + RESET + ": m"
    assert c0("Error", "m") == BOLD + RED + "Error" + RESET + ": m"
    assert c0("warning", "m") == BOLD + CCC.yellow + "warning" + RESET + ": m"
    assert c0("ok", "m") == BOLD + CCC.green + "ok" + RESET + ": m"
    assert c0("ok", "m", color="blue", bold=False) == CCC.blue + "ok" + RESET + ": m"
    assert c0("error", 42, out=2) == BOLD + RED + "error" + RESET + ": 42"
    assert s["err"].getvalue() == BOLD + RED + "error" + RESET + ": 42\n"
    term(stdout=False)
    assert c0("error", "m", out=1) == "error: m"


def test_board_streams_without_isatty_get_no_colour(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = NoIsatty()
    monkeypatch.setattr(sys, "stdout", stream)
    assert colors.color_enabled(stream) is False
    assert c("x", "red", out=1) == "x"
    assert stream.data == ["x\n"]
    assert colors.color_enabled(ClosedTty()) is False


def test_board_without_getenv(monkeypatch, term):
    """On MicroPython platform.getenv may find no os.getenv: then colour is decided by tty."""
    term()
    import os

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delattr(os, "getenv")
    assert c("x", "red") == RED + "x" + RESET


def test_closed_target_stream_does_not_raise(monkeypatch):
    class Broken:
        def isatty(self):
            return False

        def write(self, s):
            raise OSError(32, "broken pipe")

    monkeypatch.setattr(sys, "stdout", Broken())
    assert c("x", "red", out=1) == "x"
