"""kcore.common.popups: zenity pop-ups, run from an argument list (no shell),
against a stand-in zenity program on PATH."""

import json
import os
import sys
import textwrap
import time

import pytest

from kcore.common import popups
from kcore.common.logger import last_logs

PY = sys.executable


def test_zmsg_without_zenity_logs_and_returns_false(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    assert popups.zmsg("popup text", send_log=False, background=False) is False
    assert "zenity is not installed" in last_logs()
    assert popups.zinfo("x") is False and popups.zwarn("y") is False


@pytest.fixture
def fake_zenity(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "args.txt"
    z = bindir / "zenity"
    z.write_text(
        textwrap.dedent(
            """\
            #!%s
            import json, sys, time
            with open(%r, "a") as f:
                f.write(json.dumps(sys.argv[1:]) + "\\n")
            if "--sleep" in sys.argv:
                time.sleep(30)
            """
        )
        % (PY, str(record))
    )
    z.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("DISPLAY", ":99")
    return record


def test_zmsg_runs_zenity_without_shell(fake_zenity, tmp_path):
    evil = tmp_path / "pwned"
    msg = "hi $(touch %s) <b>x</b>" % evil
    assert popups.zmsg(msg, background=False, send_log=False, timeout=10) is True
    args = json.loads(fake_zenity.read_text().splitlines()[-1])
    assert args[:4] == ["--info", "--no-markup", "--text", msg]
    assert not evil.exists()
    assert popups.zwarn("careful", timeout=10) is True
    assert json.loads(fake_zenity.read_text().splitlines()[-1])[0] == "--warning"


def test_zmsg_timeout_kills_dialog(fake_zenity):
    start = time.monotonic()
    assert popups.zmsg("x", timeout=0.3, background=False, other_zenity_flags=["--sleep"])
    assert time.monotonic() - start < 5


def test_zfatal_exits(fake_zenity):
    with pytest.raises(SystemExit) as info:
        popups.zfatal("fatal problem", timeout=10)
    assert info.value.code == "fatal problem"
    assert json.loads(fake_zenity.read_text().splitlines()[-1])[0] == "--error"
