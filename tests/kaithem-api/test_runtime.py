"""The runtime: lazy threads, FIFO bounded worker pool, monotonic scheduler,
error reporting, close() joining everything."""

import contextlib
import gc
import sys
import threading
import time

import ktest
import pytest

from kcore.kaithem import Kaithem
from kcore.kaithem._runtime import RuntimeClosedError, Scheduler, WorkerPool


def _kaithem_threads():
    return [t for t in threading.enumerate() if t.name.startswith("kaithem-")]


def test_no_thread_before_use(tmp_path):
    before = set(_kaithem_threads())
    k = Kaithem(vardir=str(tmp_path))
    _ = k.message  # namespaces and the runtime objects start nothing
    _ = k.runtime
    assert set(_kaithem_threads()) == before
    k.close()


def test_import_starts_no_thread():
    import subprocess
    import sys

    code = (
        "import threading, kcore.kaithem, kcore.kaithem.message, kcore.kaithem.tags, "
        "kcore.kaithem.states, kcore.kaithem.alerts, kcore.kaithem.events, "
        "kcore.kaithem._runtime; print(threading.active_count())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_close_joins_threads(tmp_path, wait_until):
    k = Kaithem(vardir=str(tmp_path))
    done = threading.Event()
    k.runtime.workers.submit(done.set)
    k.runtime.scheduler.schedule(lambda: None, 0.001)
    assert done.wait(5)
    threads = [*list(k.runtime.workers._threads), k.runtime.scheduler._thread]
    k.close()
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(RuntimeError):
        _ = k.runtime
    k.close()  # idempotent


def test_pool_is_fifo_and_bounded_by_threads():
    pool = WorkerPool(max_threads=1, queue_size=1000)
    order = []
    done = threading.Event()
    for i in range(200):
        pool.submit(order.append, i)
    pool.submit(done.set)
    assert done.wait(5)
    assert order == list(range(200))
    assert pool.thread_count == 1
    pool.close()


def test_pool_overflow_runs_in_caller():
    pool = WorkerPool(max_threads=1, queue_size=2)
    gate = threading.Event()
    ran_in = []
    pool.submit(gate.wait, 5)
    assert ktest.wait_until(lambda: not pool.pending, timeout=5, interval=0.001)
    pool.submit(lambda: None)
    pool.submit(lambda: None)
    pool.submit(lambda: ran_in.append(threading.current_thread()))  # queue full
    assert ran_in == [threading.current_thread()]
    assert pool.caller_ran == 1
    gate.set()
    pool.close()
    with pytest.raises(RuntimeClosedError):
        pool.submit(print)


def test_pool_rejects_bad_sizes():
    with pytest.raises(ValueError):
        WorkerPool(max_threads=0)
    with pytest.raises(ValueError):
        WorkerPool(queue_size=0)


def test_worker_errors_are_posted(kai, wait_until):
    errors = []
    kai.message.subscribe("/system/errors/workers", errors.append)

    def broken():
        raise ValueError("nope")

    kai.runtime.workers.submit(broken)
    assert wait_until(lambda: errors)
    assert "nope" in errors[0]["error"]
    assert "broken" in errors[0]["function"]


def test_scheduler_one_shot_and_order(kai, wait_until):
    order = []
    s = kai.runtime.scheduler
    s.schedule(lambda: order.append("b"), 0.06)
    s.schedule(lambda: order.append("a"), 0.02)  # earlier job wakes the thread early
    assert wait_until(lambda: len(order) == 2)
    assert order == ["a", "b"]


def test_scheduler_uses_monotonic_clock(kai):
    s = kai.runtime.scheduler
    t0 = time.monotonic()
    fired = threading.Event()
    when = []
    s.at(lambda: (when.append(time.monotonic()), fired.set()), t0 + 0.05)
    assert fired.wait(5)
    assert when[0] >= t0 + 0.05


def test_repeating_job_and_cancel(kai, wait_until):
    runs = []
    job = kai.runtime.scheduler.every(lambda: runs.append(1), 0.01)
    assert wait_until(lambda: len(runs) >= 3)
    job.cancel()
    n = len(runs)
    # after cancel no new run may start; one could have been in flight
    assert not ktest.wait_until(lambda: len(runs) > n + 1, timeout=0.1)


def test_jobs_are_strong_by_default_weak_on_request(kai, wait_until):
    got = []
    kai.runtime.scheduler.schedule(lambda: got.append("strong"), 0.01)

    class Target:
        def hit(self):
            got.append("weak")

    t = Target()
    kai.runtime.scheduler.schedule(t.hit, 0.01, weak=True)
    del t
    gc.collect()
    assert wait_until(lambda: "strong" in got)
    assert not ktest.wait_until(lambda: "weak" in got, timeout=0.05, interval=0.005)


def test_repeating_job_never_overlaps(kai, wait_until):
    active = [0]
    overlaps = []
    runs = []

    def slow():
        active[0] += 1
        if active[0] > 1:
            overlaps.append(1)
        time.sleep(0.02)
        active[0] -= 1
        runs.append(1)

    job = kai.runtime.scheduler.every(slow, 0.002)
    assert wait_until(lambda: len(runs) >= 3)
    job.cancel()
    assert overlaps == []


def test_scheduler_errors_are_posted(kai, wait_until):
    errors = []
    kai.message.subscribe("/system/errors/scheduler", errors.append)
    kai.runtime.scheduler.schedule(lambda: 1 / 0, 0)
    assert wait_until(lambda: errors)
    assert "ZeroDivisionError" in errors[0]["error"]


def test_scheduler_validates_arguments(kai):
    s = kai.runtime.scheduler
    with pytest.raises(TypeError):
        s.schedule("not callable", 1)
    with pytest.raises(TypeError):
        s.schedule(print, "soon")
    with pytest.raises(ValueError):
        s.every(print, 0)


def test_standalone_scheduler_close():
    pool = WorkerPool()
    s = Scheduler(pool)
    s.schedule(print, 100)
    s.close()
    pool.close()
    with pytest.raises(RuntimeClosedError):
        s.schedule(print, 1)


@contextlib.contextmanager
def no_thread_switch():
    """Keep this thread on the GIL (no switch for a second) so a thread
    woken by notify() cannot start running between two submit() calls."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def test_woken_but_not_running_thread_counts_as_busy():
    pool = WorkerPool(max_threads=4)
    try:
        warm = threading.Event()
        pool.submit(warm.set)
        assert warm.wait(5)
        ktest.wait_for(pool.idle, what="the first thread to go idle")
        release, done = threading.Event(), threading.Event()
        with no_thread_switch():
            pool.submit(release.wait, 10)  # takes the one idle thread, and blocks
            pool.submit(done.set)  # must get a thread of its own
        assert done.wait(5), "a blocking task starved the next one while the pool had room"
        assert pool.thread_count == 2
        release.set()
    finally:
        pool.close()


def test_one_blocking_subscriber_never_starves_another(kai):
    bus = kai.message
    warm = threading.Event()
    bus.subscribe("/warm", lambda m: warm.set())
    bus.post("/warm", 1)
    assert warm.wait(5)
    assert kai.settle()
    release, got = threading.Event(), threading.Event()
    bus.subscribe("/room/#", lambda m: release.wait(10))
    bus.subscribe("/room/+", lambda m: got.set())
    with no_thread_switch():
        bus.post("/room/1", "x")
    assert got.wait(5)
    release.set()


def test_a_full_pool_is_reported_at_once(tmp_path):
    with Kaithem(vardir=str(tmp_path), config={"worker-threads": 1}) as k:
        release, started = threading.Event(), threading.Event()
        k.message.subscribe("/slow", lambda m: (started.set(), release.wait(10)))
        k.message.subscribe("/other", lambda m: None)
        k.message.post("/slow", 1)
        assert started.wait(5)
        k.message.post("/other", 1)  # the one thread is busy: a stall
        assert k.runtime.bus.stalls == 1 == k.runtime.workers.stalls
        (report,) = [m for _, t, m in k.message.history() if t == "/system/errors/messagebus"]
        assert report["stalls"] == 1 and report["queued"] == 1
        assert "all 1 worker threads are busy" in report["stall"]
        for i in range(5):  # counted every time, posted at most once a second
            k.message.subscribe("/more/%d" % i, lambda m: None)
            k.message.post("/more/%d" % i, i)
        assert k.runtime.workers.stalls == 6
        assert len([1 for _, t, _ in k.message.history() if t.startswith("/system/err")]) == 1
        release.set()
        assert k.settle()
