"""Crash safety: a writer killed with SIGKILL at random moments never leaves a
torn, empty or stale file behind; the file always holds the last complete state."""

import ast
import os
import random
import select
import signal
import time

from kcore.persister import Persister

ITERATIONS = 60
TIME_LIMIT_S = 90


def _state(n):
    # Sizes vary (10..150 kB), so a torn or truncated write cannot parse.
    return {"n": n, "blob": ("%d-" % n) * (2000 + (n * 7919) % 30000)}


def _writer(path, ack_fd):
    """Child: increment under the file lock forever, acking each completed save."""
    p = Persister(path, default_value={"n": 0})
    while True:
        with p.get_rw_locked_file() as data:
            n = data["n"] + 1
            data.clear()
            data.update(_state(n))
        os.write(ack_fd, b"%d\n" % n)


def _read_acks(fd, buf, until_first, deadline):
    """Read acks from the pipe: until one arrives, or (after the kill) until EOF."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        if until_first and b"\n" in buf:
            break
    return buf


def test_sigkill_writer_at_random_points(tmp_path):
    path = str(tmp_path / "state.data")
    rng = random.Random(20261123)
    deadline = time.monotonic() + TIME_LIMIT_S
    seen_states = set()
    for i in range(ITERATIONS):
        assert time.monotonic() < deadline, "crash test over its time budget at iteration %d" % i
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(r)
                _writer(path, w)
            finally:
                os._exit(1)
        os.close(w)
        try:
            buf = _read_acks(r, b"", True, deadline)
            assert b"\n" in buf, "writer made no complete save"
            time.sleep(rng.uniform(0, 0.03))  # the random kill point (not a wait for a condition)
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            buf = _read_acks(r, buf, False, deadline)
        finally:
            os.close(r)
        acked = [int(x) for x in buf.split(b"\n")[:-1]]  # complete lines only
        last = acked[-1]

        raw = open(path, encoding="utf-8").read()
        assert raw.strip(), "empty file after kill at iteration %d" % i
        on_disk = ast.literal_eval(raw)  # a torn file would not parse
        loaded = Persister(path).get_data()
        assert loaded == on_disk
        assert loaded == _state(loaded["n"]), "inconsistent state"
        # The last acknowledged save, or the one that completed its rename
        # just before the kill (its ack never got written).
        assert loaded["n"] in (last, last + 1), (loaded["n"], last)
        seen_states.add(loaded["n"] - last)
    assert ITERATIONS >= 50
