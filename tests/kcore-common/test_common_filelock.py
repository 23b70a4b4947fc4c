"""kcore.common.filelock: FileLock between real processes and threads; every
wait polls with a deadline."""

import os
import stat
import subprocess
import sys
import threading
import time

import pytest

from kcore.common import filelock, platform

SRC = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "packages", "kcore-common", "src")
)
PY = sys.executable


HOLDER = """
import sys, time
from kcore.common.filelock import FileLock
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
    lock = filelock.FileLock(path, timeout=1)
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
        with pytest.raises(filelock.LockTimeout) as info:
            filelock.FileLock(path, timeout=0.3).acquire()
        assert 0.25 <= time.monotonic() - start < 5
        e = info.value
        assert isinstance(e, TimeoutError) and isinstance(e, platform.KcoreError)
        assert path in str(e)
        holder.kill()  # SIGKILL: no cleanup code runs in the holder
        holder.wait(10)
        with filelock.FileLock(path, timeout=5):  # the kernel released it: not stale
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        holder.stdout.close()


def test_filelock_waits_for_release_by_other_process(tmp_path):
    path = str(tmp_path / "c.lock")
    lock = filelock.FileLock(path)
    lock.acquire()
    waiter = subprocess.Popen(
        [
            PY,
            "-c",
            "import sys; from kcore.common.filelock import FileLock\n"
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
    shared = filelock.FileLock(path)
    other = filelock.FileLock(path)
    shared.acquire()
    result = []

    def contender(lock):
        try:
            lock.acquire(timeout=0.2)
            result.append("acquired")
            lock.release()
        except filelock.LockTimeout:
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
        lock = filelock.FileLock(path, timeout=30)
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
        filelock.FileLock(str(link), timeout=0).acquire()
    assert target.read_text() == "keep"
    with pytest.raises(ValueError):
        filelock.FileLock(str(tmp_path / "x"), timeout=-1)
    with pytest.raises(ValueError):
        filelock.FileLock(str(tmp_path / "x"), poll=0)
