"""kaithem.sys: argv-list shellex, explicit shell=True, errors without
secrets, timeouts, background children reaped (no zombies), which."""

import os
import subprocess
import sys
import time

import ktest
import pytest

from kcore.kaithem import Kaithem
from kcore.kaithem import sys as ksys

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX programs")
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


def _proc_state(pid):
    """Process state letter from /proc (Z = zombie), or None once reaped."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # gone, also between open() and read()
        return None


def test_shellex_returns_stdout_bytes():
    assert ksys.shellex(["echo", "hello"]) == b"hello\n"
    assert ksys.shellex([sys.executable, "-c", "print('é')"]).decode() == "é\n"


def test_shellex_arguments_are_not_interpreted_by_a_shell(tmp_path):
    marker = tmp_path / "pwned"
    out = ksys.shellex(["echo", "a; touch %s" % marker, "$HOME", "*"])
    assert out == ("a; touch %s $HOME *\n" % marker).encode()
    assert not marker.exists()


def test_shellex_string_needs_explicit_shell():
    with pytest.raises(TypeError, match="shell=True"):
        ksys.shellex("echo hi")
    with pytest.raises(TypeError, match="shell=True"):
        ksys.shellexbg("echo hi")
    assert ksys.shellex("echo a | tr a b", shell=True) == b"b\n"
    with pytest.raises(TypeError, match="must be a str"):
        ksys.shellex(["echo", "x"], shell=True)


def test_shellex_bad_commands():
    with pytest.raises(ValueError, match="empty"):
        ksys.shellex([])
    with pytest.raises(TypeError, match="str or path-like"):
        ksys.shellex(["echo", 3])
    with pytest.raises(FileNotFoundError):
        ksys.shellex(["kc-no-such-program-xyz"])


def test_shellex_nonzero_exit_error_names_program_not_arguments():
    with pytest.raises(ksys.CommandError) as ei:
        ksys.shellex(
            [sys.executable, "-c", "import sys; print('out'); sys.exit(3)", "--token=s3cret"]
        )
    e = ei.value
    assert isinstance(e, subprocess.CalledProcessError)
    assert e.returncode == 3
    assert e.output == b"out\n"
    assert "status 3" in str(e)
    assert os.path.basename(sys.executable) in str(e)
    assert "s3cret" not in str(e)


def test_shellex_timeout_kills_the_command():
    t0 = time.monotonic()
    with pytest.raises(ksys.CommandTimeout) as ei:
        ksys.shellex(["sleep", "30"], timeout=0.3)
    assert time.monotonic() - t0 < 10
    assert isinstance(ei.value, subprocess.TimeoutExpired)
    assert "timed out" in str(ei.value)


def test_shellex_cwd_env_input(tmp_path):
    assert ksys.shellex(["pwd"], cwd=str(tmp_path)).decode().strip() == str(tmp_path)
    out = ksys.shellex(
        ["sh", "-c", 'printf %s "$KC_X"'], env={"KC_X": "42", "PATH": "/usr/bin:/bin"}
    )
    assert out == b"42"
    assert ksys.shellex(["cat"], input=b"piped") == b"piped"


@needs_proc
def test_unreaped_child_becomes_a_zombie_control():
    # Control for the next test: a plain Popen that nobody waits for stays a zombie.
    p = subprocess.Popen(["true"])
    try:
        ktest.wait_for(lambda: _proc_state(p.pid) == "Z", what="zombie")
    finally:
        p.wait()
    assert _proc_state(p.pid) is None


@needs_proc
def test_shellexbg_reaps_its_child():
    p = ksys.shellexbg(["true"])
    assert isinstance(p, subprocess.Popen)
    # reaped by the library's thread: the pid vanishes without our wait()
    ktest.wait_for(lambda: _proc_state(p.pid) is None, what="child reaped")
    # the reaper sets returncode just after waitpid() returns
    ktest.wait_for(lambda: p.returncode is not None, what="returncode")
    assert p.returncode == 0


@needs_proc
def test_shellexbg_runs_in_background_and_can_still_be_waited(tmp_path):
    out = tmp_path / "out.txt"
    t0 = time.monotonic()
    with open(out, "wb") as f:
        p = ksys.shellexbg(["sh", "-c", "sleep 0.3; echo done"], stdout=f)
    assert time.monotonic() - t0 < 0.3  # returned before the command finished
    assert p.wait(timeout=10) == 0
    assert out.read_bytes() == b"done\n"
    ktest.wait_for(lambda: _proc_state(p.pid) is None, what="child reaped")


@needs_proc
def test_shellexbg_shell_string_and_many_children(tmp_path):
    procs = [ksys.shellexbg("exit %d" % (i % 3), shell=True) for i in range(20)]
    for p in procs:
        ktest.wait_for(lambda p=p: _proc_state(p.pid) is None, what="children reaped")
        ktest.wait_for(lambda p=p: p.returncode is not None, what="returncodes")
    assert sorted(p.returncode for p in procs) == sorted(i % 3 for i in range(20))


def test_which():
    sh = ksys.which("sh")
    assert sh is not None and os.path.basename(sh) == "sh" and os.access(sh, os.X_OK)
    assert ksys.which("kc-no-such-program-xyz") is None
    with pytest.raises(ValueError):
        ksys.which("")


def test_namespace_on_an_instance(tmp_path):
    with Kaithem(vardir=str(tmp_path)) as k:
        assert k.sys.shellex(["echo", "ns"]) == b"ns\n"
        assert k.sys.which("sh") == ksys.which("sh")
        assert k.sys.CommandError is ksys.CommandError


def test_errors_and_logs_never_show_arguments_or_environment(tmp_path, capfd):
    secret = "hunter2-token"
    argv = [sys.executable, "-c", "import sys; sys.exit(4)", "--password=" + secret]
    with pytest.raises(ksys.CommandError) as ei:
        ksys.shellex(argv, env={"API_KEY": secret, "PATH": os.environ["PATH"]})
    e = ei.value
    assert e.returncode == 4
    for text in (str(e), repr(e), str(e.args), str(e.cmd)):
        assert secret not in text
        assert "status 4" in str(e)
    with pytest.raises(ksys.CommandTimeout) as ti:
        ksys.shellex(["sh", "-c", "sleep 30", "--" + secret], timeout=0.2)
    assert secret not in repr(ti.value) and secret not in str(ti.value.args)
    assert "'sh'" in str(ti.value)
    # a command failing on the worker pool: the log line and the bus error post
    with Kaithem(vardir=str(tmp_path)) as k:
        posts = []
        k.message.subscribe("/system/errors/workers", posts.append)
        k.misc.do(ksys.shellex, argv)
        assert ktest.wait_until(lambda: posts, timeout=10)
        assert k.settle()
        assert "status 4" in posts[0]["error"] and secret not in str(posts)
    assert secret not in capfd.readouterr().err


@needs_proc
def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    script = "sleep 60 & echo $! > %s; wait" % pidfile
    with pytest.raises(ksys.CommandTimeout):
        ksys.shellex(["sh", "-c", script], timeout=0.5)
    pid = int(ktest.wait_for(lambda: pidfile.exists() and pidfile.read_text().strip()))

    gone = ktest.wait_until(lambda: _proc_state(pid) in (None, "Z"), timeout=5)  # Z: dead
    assert gone, "the command's child outlived the timeout"
