"""kcore.common.host: popen, argparse helpers, special args, zenity, FileLock.

Subprocesses and lock holders are real processes; every wait polls with a
deadline.
"""

import argparse
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import types

import pytest

from kcore.common import host, platform
from kcore.common.logger import last_logs

SRC = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "packages", "kcore-common", "src")
)
PY = sys.executable


def wait_until(pred, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


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


# ------------------------------------------------------------------ popen


def test_popen_ok():
    r = host.popen(["echo", "  hi  "])
    assert r.ok is True and r.returncode == 0
    assert r.stdout == "hi" and r.stderr == "" and r.exception_str is None
    assert r.out == "hi" and str(r) == "hi"
    assert isinstance(r.pid, int) and r.done


def test_popen_failure_and_out_format():
    r = host.popen([PY, "-c", "import sys; sys.stderr.write('bad thing\\n'); sys.exit(3)"])
    assert r.ok is False and r.returncode == 3
    assert r.out == "ERROR: [3] bad thing" and str(r) == r.out


def test_popen_stdin_text_bytes_strip():
    up = [PY, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper() + '\\n')"]
    assert host.popen(up, stdin_str="abc").out == "ABC"
    assert host.popen(up, stdin_str="abc", strip=False).stdout == "ABC\n"
    r = host.popen(up, stdin_str=b"abc", text=False)
    assert r.stdout == b"ABC\n"  # bytes mode: no strip
    assert host.popener("echo $((6*7))", shell=True) == "42"


def test_popen_passthrough(capfd):
    r = host.popen([PY, "-c", "print('to the terminal')"], passthrough=True)
    assert r.ok and r.stdout is None and r.out == ""
    assert "to the terminal" in capfd.readouterr().out


def test_popen_missing_program():
    r = host.popen(["/nonexistent/kcore-test-prog"])
    assert r.ok is False and r.returncode == 255
    assert r.stdout is None and r.stderr is None
    assert "No such file" in r.exception_str
    assert r.out.startswith("ERROR: exception: ")


def test_popen_timeout_kills_and_reaps():
    start = time.monotonic()
    r = host.popen([PY, "-c", "import time; time.sleep(30)"], timeout=0.3)
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
    r = host.popen(["sh", "-c", script], timeout=0.5, start_new_session=True)
    assert time.monotonic() - start < 5
    assert r.returncode == 255
    assert wait_until(lambda: pidfile.exists() and pidfile.read_text().strip())
    grandchild = int(pidfile.read_text())
    assert wait_until(lambda: pid_gone(grandchild)), "grandchild survived the timeout"


def test_popen_timeout_returns_even_if_grandchild_holds_pipes(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    script = "sleep 30 & echo $! > %s; wait" % pidfile
    start = time.monotonic()
    r = host.popen(["sh", "-c", script], timeout=0.3)
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
    r = host.popen([PY, "-c", "import time; time.sleep(0.3); print('done')"], background=True)
    assert r.out is None and str(r) == "" and not r.done  # no TypeError while running
    assert r.wait(10) is True
    assert r.out == "done" and r.ok and r.returncode == 0
    r2 = host.popen([PY, "-c", code], stdin_str=proc_input, background=True)
    assert r2.wait(10) and r2.out == "done"


def test_popen_background_timeout():
    r = host.popen([PY, "-c", "import time; time.sleep(30)"], timeout=0.2, background=True)
    assert r.wait(10)
    assert r.returncode == 255 and "timed out" in r.out


# -------------------------------------------------- callers and argparse


def test_get_callers_module_levels_count_from_the_direct_caller(tmp_path, monkeypatch):
    (tmp_path / "kc_callee_mod.py").write_text(
        "from kcore.common import get_callers_module\n"
        "def who(levels=1):\n"
        "    return get_callers_module(levels)\n"
        "def who_default():\n"
        "    return get_callers_module()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import kc_callee_mod

    assert kc_callee_mod.who_default() is kc_callee_mod  # levels=1: the direct caller
    assert kc_callee_mod.who(1) is kc_callee_mod
    assert kc_callee_mod.who(2) is sys.modules[__name__]  # its caller: this test module
    assert kc_callee_mod.who(0).__name__ == host.get_callers_module.__module__
    assert kc_callee_mod.who(10_000) is None


def test_get_initial_python_file_comment(tmp_path):
    f = tmp_path / "prog.py"
    f.write_text("#!/usr/bin/python3\n'''Usage: prog [x]\n\nDoes things.'''\nx = '''other'''\n")
    assert host.get_initial_python_file_comment(str(f)) == "Usage: prog [x]\n\nDoes things."
    assert host.get_initial_python_file_comment(str(tmp_path / "missing.py")) == ""
    f.write_text("no docstring here\n")
    assert host.get_initial_python_file_comment(str(f)) == ""
    # Default: the caller's own file (this module's docstring).
    assert host.get_initial_python_file_comment().startswith("kcore.common.host: popen")


def test_argparse_epilog():
    p = host.argparse_epilog(description="demo", epilog_extra="Extra words.")
    assert isinstance(p, argparse.ArgumentParser)
    assert p.formatter_class is host.RawFormatterWithDefaults
    assert p.epilog.startswith("kcore.common.host: popen")
    assert p.epilog.endswith("\nExtra words.")
    p.add_argument("--count", type=int, default=5, help="how many")
    help_text = p.format_help()
    assert "(default: 5)" in help_text
    assert "kcore.common.host: popen, argparse helpers" in help_text


# ---------------------------------------------------------- special args


def test_special_arg_passthrough():
    for v in (None, "", [], {}, 0, "plain", "x$y", 5):
        assert host.special_arg_resolver(v) == v
    obj = "unchanged"
    assert host.special_arg_resolver(obj) is obj


def test_special_arg_env(monkeypatch):
    monkeypatch.setenv("KC_TEST_VAR", "val")
    monkeypatch.delenv("KC_MISSING", raising=False)
    r = host.special_arg_resolver
    assert r("$KC_TEST_VAR") == "val"
    assert r("${KC_TEST_VAR}/suffix") == "val/suffix"
    assert r("$KC_TEST_VAR/suffix") == "val/suffix"
    assert r("$KC_MISSING", env_value_default="dflt") == "dflt"
    with pytest.raises(host.SpecialArgError) as info:
        r("$KC_MISSING", argname="password")
    e = info.value
    assert isinstance(e, ValueError) and isinstance(e, platform.KcoreError)
    assert "password" in str(e) and "KC_MISSING" in str(e)
    with pytest.raises(ValueError, match="unterminated"):
        r("${KC_TEST_VAR")
    with pytest.raises(ValueError, match="environment variable name"):
        r("$/x")


def test_special_arg_file(tmp_path):
    f = tmp_path / "secret.txt"
    f.write_text("s3cret\n")
    assert host.special_arg_resolver("file:" + str(f)) == "s3cret\n"
    assert host.special_arg_resolver("f:" + str(f)) == "s3cret\n"
    with pytest.raises(FileNotFoundError):
        host.special_arg_resolver("file:" + str(tmp_path / "nope"))


def test_special_arg_prompt(monkeypatch):
    prompts = []

    def fake_getpass(prompt):
        prompts.append(prompt)
        return "typed"

    import getpass

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    assert host.special_arg_resolver("-", argname="db_password") == "typed"
    assert prompts == ["Enter value for db_password: "]


def test_special_arg_containers_propagate(monkeypatch):
    monkeypatch.setenv("KC_A", "a")
    monkeypatch.delenv("KC_MISSING", raising=False)
    r = host.special_arg_resolver
    assert r(["$KC_A", "lit", "$KC_MISSING"], env_value_default="d") == ["a", "lit", "d"]
    assert r({"k": "$KC_A", "m": "$KC_MISSING"}, env_value_default="d") == {"k": "a", "m": "d"}
    with pytest.raises(host.SpecialArgError, match=r"tokens\[1\]"):
        r(["$KC_A", "$KC_MISSING"], argname="tokens")
    with pytest.raises(host.SpecialArgError, match=r"cfg\['m'\]"):
        r({"m": "$KC_MISSING"}, argname="cfg")


def test_special_arg_keymaster_lookup_is_not_supported_yet(monkeypatch):
    looked_up = []

    def keymaster_query(*parts):  # must never be called: kcore-common does not reach up
        looked_up.append(parts)
        return "secret"

    fake = types.ModuleType("kcore.auth")
    fake.keymaster_query = fake.query_km = keymaster_query
    monkeypatch.setitem(sys.modules, "kcore.auth", fake)
    for value in ("*mykey/user/pw", "*mykey", "*"):
        with pytest.raises(host.SpecialArgError, match="not supported yet") as e:
            host.special_arg_resolver(value, argname="token")
        assert str(e.value).startswith("token: ")
        assert "mykey" not in str(e.value) and "pw" not in str(e.value)
    assert looked_up == []
    with pytest.raises(host.SpecialArgError, match=r"tokens\[0\]: '\*key' values"):
        host.special_arg_resolver(["*k"], argname="tokens")


def test_resolve_special_arg(monkeypatch):
    monkeypatch.setenv("KC_PW", "pw")
    ns = argparse.Namespace(pw="$KC_PW", empty="")
    assert host.resolve_special_arg(ns, "pw") == "pw" and ns.pw == "pw"
    assert host.resolve_special_arg(ns, "empty", required=False) == ""
    with pytest.raises(host.SpecialArgError, match="empty: a value is required"):
        host.resolve_special_arg(ns, "empty")


# --------------------------------------------------------------- zenity


def test_zmsg_without_zenity_logs_and_returns_false(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    assert host.zmsg("popup text", send_log=False, background=False) is False
    assert "zenity is not installed" in last_logs()
    assert host.zinfo("x") is False and host.zwarn("y") is False


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
    assert host.zmsg(msg, background=False, send_log=False, timeout=10) is True
    args = json.loads(fake_zenity.read_text().splitlines()[-1])
    assert args[:4] == ["--info", "--no-markup", "--text", msg]
    assert not evil.exists()
    assert host.zwarn("careful", timeout=10) is True
    assert json.loads(fake_zenity.read_text().splitlines()[-1])[0] == "--warning"


def test_zmsg_timeout_kills_dialog(fake_zenity):
    start = time.monotonic()
    assert host.zmsg("x", timeout=0.3, background=False, other_zenity_flags=["--sleep"])
    assert time.monotonic() - start < 5


def test_zfatal_exits(fake_zenity):
    with pytest.raises(SystemExit) as info:
        host.zfatal("fatal problem", timeout=10)
    assert info.value.code == "fatal problem"
    assert json.loads(fake_zenity.read_text().splitlines()[-1])[0] == "--error"


# --------------------------------------------------------------- random


def test_random_printable(monkeypatch):
    s = host.random_printable()
    assert len(s) == 16 and set(s) <= set(host.PRINTABLE_CHARSET)
    assert host.random_printable(40, charset="ab").strip("ab") == ""
    assert host.random_printable(0) == ""
    assert len({host.random_printable() for _ in range(20)}) == 20
    for bad in (-1, 2.5, "3"):
        with pytest.raises(ValueError):
            host.random_printable(bad)
    with pytest.raises(ValueError):
        host.random_printable(3, charset="")
    import secrets

    calls = []
    monkeypatch.setattr(secrets, "choice", lambda cs: calls.append(cs) or cs[0])
    assert host.random_printable(5, charset="xyz") == "xxxxx" and len(calls) == 5


# ------------------------------------------------------------- FileLock

HOLDER = """
import sys, time
from kcore.common.host import FileLock
lock = FileLock(sys.argv[1], timeout=10)
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def _start_holder(path):
    p = subprocess.Popen(
        [PY, "-c", HOLDER, path],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
    )
    line = []
    t = threading.Thread(target=lambda: line.append(p.stdout.readline()), daemon=True)
    t.start()
    t.join(30)
    assert line and line[0].strip() == "locked", "holder did not get the lock"
    return p


def test_filelock_basic_and_mode(tmp_path):
    path = str(tmp_path / "a.lock")
    lock = host.FileLock(path, timeout=1)
    assert not lock.locked
    with lock as held:
        assert held is lock and lock.locked
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not lock.locked
    with pytest.raises(RuntimeError, match="not held"):
        lock.release()
    with lock:  # reusable
        pass


def test_filelock_across_processes_and_holder_death(tmp_path):
    path = str(tmp_path / "b.lock")
    holder = _start_holder(path)
    try:
        start = time.monotonic()
        with pytest.raises(host.LockTimeout) as info:
            host.FileLock(path, timeout=0.3).acquire()
        assert 0.25 <= time.monotonic() - start < 5
        e = info.value
        assert isinstance(e, TimeoutError) and isinstance(e, platform.KcoreError)
        assert path in str(e)
        holder.kill()  # SIGKILL: no cleanup code runs in the holder
        holder.wait(10)
        with host.FileLock(path, timeout=5):  # the kernel released it: not stale
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        holder.stdout.close()


def test_filelock_waits_for_release_by_other_process(tmp_path):
    path = str(tmp_path / "c.lock")
    lock = host.FileLock(path)
    lock.acquire()
    waiter = subprocess.Popen(
        [
            PY,
            "-c",
            "import sys; from kcore.common.host import FileLock\n"
            "with FileLock(sys.argv[1], timeout=20): print('got it')",
            path,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
    )
    try:
        time.sleep(0.2)  # give it a chance to (wrongly) get the lock
        assert waiter.poll() is None
        lock.release()
        out, _ = waiter.communicate(timeout=20)
        assert out.strip() == "got it" and waiter.returncode == 0
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.communicate()


def test_filelock_between_threads(tmp_path):
    path = str(tmp_path / "d.lock")
    shared = host.FileLock(path)
    other = host.FileLock(path)
    shared.acquire()
    result = []

    def contender(lock):
        try:
            lock.acquire(timeout=0.2)
            result.append("acquired")
            lock.release()
        except host.LockTimeout:
            result.append("timeout")

    for lock in (shared, other):  # same object, and a second object on the same file
        t = threading.Thread(target=contender, args=(lock,))
        t.start()
        t.join(10)
    assert result == ["timeout", "timeout"]
    shared.release()
    t = threading.Thread(target=contender, args=(other,))
    t.start()
    t.join(10)
    assert result[-1] == "acquired"


def test_filelock_counter_is_exclusive(tmp_path):
    path = str(tmp_path / "e.lock")
    counter = [0]

    def work():
        lock = host.FileLock(path, timeout=30)
        for _ in range(50):
            with lock:
                v = counter[0]
                time.sleep(0)  # invite a race if the lock did not exclude
                counter[0] = v + 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert counter[0] == 200


def test_filelock_refuses_symlink_and_bad_args(tmp_path):
    target = tmp_path / "victim"
    target.write_text("keep")
    link = tmp_path / "link.lock"
    link.symlink_to(target)
    with pytest.raises(OSError):
        host.FileLock(str(link), timeout=0).acquire()
    assert target.read_text() == "keep"
    with pytest.raises(ValueError):
        host.FileLock(str(tmp_path / "x"), timeout=-1)
    with pytest.raises(ValueError):
        host.FileLock(str(tmp_path / "x"), poll=0)
