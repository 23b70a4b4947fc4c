"""kcore.common.processes: popen and PopenOutput, on real child processes; every
wait polls with a deadline."""

import os
import signal
import sys
import time

import pytest
from ktest import wait_until

from kcore.common import processes

PY = sys.executable


def pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # Still there: maybe a zombie that init has not reaped yet.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def test_popen_ok():
    r = processes.popen(["echo", "  hi  "])
    assert r.ok is True and r.returncode == 0
    assert r.stdout == "hi" and r.stderr == "" and r.exception_str is None
    assert r.out == "hi" and str(r) == "hi"
    assert isinstance(r.pid, int) and r.done


def test_popen_failure_and_out_format():
    r = processes.popen([PY, "-c", "import sys; sys.stderr.write('bad thing\\n'); sys.exit(3)"])
    assert r.ok is False and r.returncode == 3
    assert r.out == "ERROR: [3] bad thing" and str(r) == r.out


def test_popen_stdin_text_bytes_strip():
    up = [PY, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper() + '\\n')"]
    assert processes.popen(up, stdin_str="abc").out == "ABC"
    assert processes.popen(up, stdin_str="abc", strip=False).stdout == "ABC\n"
    r = processes.popen(up, stdin_str=b"abc", text=False)
    assert r.stdout == b"ABC\n"  # bytes mode: no strip
    assert processes.popener("echo $((6*7))", shell=True) == "42"


def test_popen_passthrough(capfd):
    r = processes.popen([PY, "-c", "print('to the terminal')"], passthrough=True)
    assert r.ok and r.stdout is None and r.out == ""
    assert "to the terminal" in capfd.readouterr().out


def test_popen_missing_program():
    r = processes.popen(["/nonexistent/kcore-test-prog"])
    assert r.ok is False and r.returncode == 255
    assert r.stdout is None and r.stderr is None
    assert "No such file" in r.exception_str
    assert r.out.startswith("ERROR: exception: ")


def test_popen_timeout_kills_and_reaps():
    start = time.monotonic()
    r = processes.popen([PY, "-c", "import time; time.sleep(30)"], timeout=0.3)
    assert time.monotonic() - start < 5
    assert r.ok is False and r.returncode == 255
    assert "timed out" in r.exception_str
    assert r.pid is not None
    with pytest.raises(ProcessLookupError):  # killed and reaped: not even a zombie
        os.kill(r.pid, 0)


def test_popen_timeout_kills_process_group(tmp_path):
    """A shell whose grandchild keeps the pipes open: with its own session
    the whole group is killed; the call returns promptly either way."""
    pidfile = tmp_path / "grandchild.pid"
    script = "sleep 30 & echo $! > %s; wait" % pidfile
    start = time.monotonic()
    r = processes.popen(["sh", "-c", script], timeout=0.5, start_new_session=True)
    assert time.monotonic() - start < 5
    assert r.returncode == 255
    assert wait_until(lambda: pidfile.exists() and pidfile.read_text().strip())
    grandchild = int(pidfile.read_text())
    assert wait_until(lambda: pid_gone(grandchild)), "grandchild survived the timeout"


def test_popen_timeout_returns_even_if_grandchild_holds_pipes(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    script = "sleep 30 & echo $! > %s; wait" % pidfile
    start = time.monotonic()
    r = processes.popen(["sh", "-c", script], timeout=0.3)
    try:
        assert time.monotonic() - start < 8
        assert r.returncode == 255 and "timed out" in r.exception_str
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def test_popen_background():
    code = "import sys; sys.stdin.readline(); print('done')"
    proc_input = "go\n"
    r = processes.popen([PY, "-c", "import time; time.sleep(0.3); print('done')"], background=True)
    assert r.out is None and str(r) == "" and not r.done  # no TypeError while running
    assert r.wait(10) is True
    assert r.out == "done" and r.ok and r.returncode == 0
    r2 = processes.popen([PY, "-c", code], stdin_str=proc_input, background=True)
    assert r2.wait(10) and r2.out == "done"


def test_popen_background_timeout():
    r = processes.popen([PY, "-c", "import time; time.sleep(30)"], timeout=0.2, background=True)
    assert r.wait(10)
    assert r.returncode == 255 and "timed out" in r.out
