"""Capture, rate limiter, module loading, ParallelQueue, pgrep, re-exports."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types

import ktest
import pytest

import kcore.common
import kcore.uncommon as u


def test_capture_stdout_stderr_and_restore():
    real_out, real_err = sys.stdout, sys.stderr
    with u.Capture() as cap:
        print("  hello  ")
        print("oops", file=sys.stderr)
    assert (cap.out, cap.err, str(cap)) == ("hello", "oops", "hello")
    assert sys.stdout is real_out and sys.stderr is real_err
    with u.Capture(strip=False) as cap:
        print("x")
    assert cap.out == "x\n"
    with pytest.raises(RuntimeError), u.Capture():
        raise RuntimeError("restored even on error")
    assert sys.stdout is real_out


def test_capture_call_and_exec_wrapper():
    def f(a, b=1):
        print("sum", a + b)
        return a + b

    cap = u.capture_call(f, 2, b=3)
    assert cap.out == "sum 5" and cap.result == 5 and cap.exception is None
    cap = u.capture_call(lambda: 1 / 0)
    assert isinstance(cap.exception, ZeroDivisionError)
    assert u.exec_wrapper(lambda: print("hi")).out == "hi"
    with pytest.raises(TypeError, match="no longer executes strings"):
        u.exec_wrapper("print('hi')")  # type: ignore[arg-type]


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s


def test_rate_limiter_token_bucket():
    clock = FakeClock()
    rl = u.RateLimiter(rate=2, per=1.0, clock=clock, sleep=clock.sleep)
    assert [rl.check() for _ in range(3)] == [True, True, False]
    clock.t += 0.5
    assert rl.check() and not rl.check()
    clock.t += 10  # refill is capped at `rate`
    assert [rl.check() for _ in range(3)] == [True, True, False]
    start = clock.t
    assert rl.wait(polling_interval=None)
    assert 0.49 <= clock.t - start <= 0.51  # None: slept just long enough
    assert not rl.wait(timeout=0.1)


def test_rate_limiter_wait_sleeps_in_polling_interval_steps():
    clock = FakeClock()
    naps = []

    def sleep(s):
        naps.append(s)
        clock.sleep(s)

    rl = u.RateLimiter(rate=1, per=1.0, clock=clock, sleep=sleep)
    assert rl.check()
    assert rl.wait()  # the original's default: 0.5 s steps until a token is there
    assert naps == [0.5, 0.5]
    naps.clear()
    assert rl.wait(polling_interval=0.3)
    assert naps == [0.3, 0.3, 0.3, 0.3]  # 1.2 s: the first check after the token came
    naps.clear()
    assert not rl.wait(polling_interval=0.3, timeout=0.5)  # 0.2 of a token left: 0.8 s
    assert naps == [0.3, pytest.approx(0.2)]  # never past the deadline
    with pytest.raises(ValueError, match="polling_interval"):
        rl.wait(polling_interval=0)


def test_rate_limiter_serialize_and_bad_input():
    clock = FakeClock()
    rl = u.RateLimiter(3, 2.0, clock=clock)
    rl.check()
    s = rl.serialize()
    other = u.RateLimiter(clock=clock)
    other.deserialize(s)
    assert (other.rate, other.per, other.allowance) == (3.0, 2.0, 2.0)
    for bad in ["1, 2", "a, b, c, d", "0, 1, 1, 1"]:
        with pytest.raises(ValueError):
            other.deserialize(bad)
    with pytest.raises(ValueError):
        u.RateLimiter(rate=0)


def test_rate_limiter_is_thread_safe():
    clock = FakeClock()
    rl = u.RateLimiter(rate=50, per=1.0, clock=clock)
    wins = []
    lock = threading.Lock()

    def worker():
        for _ in range(100):
            if rl.check():
                with lock:
                    wins.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 50  # frozen clock: exactly the burst, never more


def test_load_file_as_module_and_into_module(tmp_path):
    src = tmp_path / "plugin_x.py"
    src.write_text("VALUE = 42\ndef hello():\n    return 'hi'\n__secret__ = 1\n")
    mod = u.load_file_as_module(str(src))
    assert mod.__name__ == "plugin_x" and mod.VALUE == 42 and "plugin_x" not in sys.modules
    assert u.load_file_as_module(str(src), "custom").__name__ == "custom"
    target = types.ModuleType("target")
    assert u.load_file_into_module(str(src), target)
    assert target.VALUE == 42 and target.hello() == "hi" and not hasattr(target, "__secret__")
    assert u.load_file_into_module(str(tmp_path / "missing.py"), target) is False
    with pytest.raises(FileNotFoundError):
        u.load_file_as_module(str(tmp_path / "missing.py"))


def test_parallel_queue_order_timeout_and_exceptions():
    gate = threading.Event()
    pq = u.ParallelQueue()
    pq.add(lambda: "a")
    pq.add(lambda x, y=0: x + y, 2, y=3)
    pq.add(lambda: 1 / 0)
    pq.add(gate.wait, 30)
    results = pq.join(timeout=0.5)
    assert results[:2] == ["a", 5] and results[2] is None and results[3] is None
    assert pq.timed_out and isinstance(pq.exceptions[2], ZeroDivisionError)
    gate.set()
    assert pq.join(timeout=10)[3] is True
    assert u.para_queue([lambda: 1, lambda: 2]) == [1, 2]


def test_parallel_queue_single_threaded_runs_each_call_at_once_in_the_caller():
    seen = []
    single = u.ParallelQueue(single_threaded=True)
    single.add(lambda: seen.append(threading.get_ident()) or "a")
    assert seen == [threading.get_ident()]  # ran inside add(), in this thread
    single.add(lambda x: x * 2, 21)
    with pytest.raises(ZeroDivisionError):  # as the original: the error reaches the caller
        single.add(lambda: 1 / 0)
    assert single.join() == ["a", 42, None]
    assert isinstance(single.exceptions[2], ZeroDivisionError) and not single.timed_out


def test_parallel_queue_bounds_threads():
    running, peak, lock = [0], [0], threading.Lock()

    def work():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    pq = u.ParallelQueue(max_threads=3)
    for _ in range(12):
        pq.add(work)
    pq.join(timeout=30)
    assert peak[0] <= 3 and not pq.timed_out


def test_pgrep_finds_a_process_by_command_line():
    marker = "kcore-pgrep-marker-%d" % time.perf_counter_ns()
    p = subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(60)", marker])
    try:
        ktest.wait_for(lambda: str(p.pid) in u.pgrep(marker), timeout=10, what="pgrep")
    finally:
        p.kill()
        p.wait()
    assert u.pgrep("no-such-process-%d" % time.perf_counter_ns()) == set()
    assert u.pgrep("x", proc_root="/nonexistent") == set()


def test_popen_and_filelock_are_kcore_commons():
    assert u.popen is kcore.common.popen
    assert u.FileLock is kcore.common.FileLock
    assert u.popener is kcore.common.popener
    out = u.popen(["echo", "hi"], timeout=10)
    assert out.ok and out.out == "hi"


def test_getch_reads_one_character_from_a_pipe():
    code = "from kcore.uncommon import getch; c = getch('key? ', echo=False); print(repr(c))"
    r = subprocess.run(
        [sys.executable, "-c", code],
        input="xyz",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "key? 'x'\n"
