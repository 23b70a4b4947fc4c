"""Capture, rate limiter, module loading, ParallelQueue, pgrep, re-exports."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types

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
    assert rl.wait(polling_interval=5)
    assert 0.49 <= clock.t - start <= 0.51  # slept just long enough
    assert not rl.wait(timeout=0.1)


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
    single = u.ParallelQueue(single_threaded=True)
    single.add(threading.get_ident)
    assert single.join() == [threading.get_ident()]


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
        deadline = time.monotonic() + 10
        found = set()
        while time.monotonic() < deadline and str(p.pid) not in found:
            found = u.pgrep(marker)
        assert str(p.pid) in found
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


def test_dataclass_validation_errors_become_serialization_errors():
    import dataclasses

    @dataclasses.dataclass
    class Positive:
        n: int

        def __post_init__(self):
            if self.n <= 0:
                raise ValueError("n must be positive")

    with pytest.raises(u.SerializationError, match="n must be positive"):
        u.dataclass_from_dict(Positive, {"n": -1})
