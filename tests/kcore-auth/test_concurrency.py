"""Threads and processes verifying the same tokens at once: no token accepted twice."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import kcore.auth as auth

DB_PASSWORD = "db-pass-Xyz"


def _tokens(make_token, n, t0):
    return [make_token("cmd-%d" % (i % 3), t=t0 + i / 1000) for i in range(n)]


def _hammer(n_threads, fn, items):
    accepted = []
    lock = threading.Lock()
    start = threading.Barrier(n_threads)

    def worker():
        start.wait()
        for i, item in enumerate(items):
            if fn(item):
                with lock:
                    accepted.append(i)

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive()
    return accepted


def test_threads_in_memory_guard(make_token, secret_a, guard):
    now = time.time()
    toks = _tokens(make_token, 300, now)

    def ok(tok):
        cmd = "cmd-%d" % (toks.index(tok) % 3)
        return auth.verify_token_given_shared_secret(
            tok, cmd, secret_a, now=now, replay_guard=guard
        ).ok

    accepted = _hammer(8, ok, toks)
    assert len(accepted) == len(set(accepted))  # never twice
    assert len(accepted) >= 3  # the newest of each command at least


def test_threads_against_the_db_file(registered_db, make_token):
    now = time.time()
    toks = _tokens(make_token, 60, now)

    def ok(tok):
        cmd = "cmd-%d" % (toks.index(tok) % 3)
        return auth.verify_token(
            tok, cmd, None, DB_PASSWORD, db_filename=registered_db, now=now
        ).ok

    accepted = _hammer(6, ok, toks)
    assert len(accepted) == len(set(accepted))
    assert len(accepted) >= 3


CHILD = r"""
import json, sys
import kcore.auth as auth
db, pw, now, path = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
toks = json.load(open(path))
ok = []
for i, tok in enumerate(toks):
    if auth.verify_token(tok, "cmd-%d" % (i % 3), None, pw, db_filename=db, now=now).ok:
        ok.append(i)
print(json.dumps(ok))
"""


def test_processes_against_the_db_file(registered_db, make_token, tmp_path):
    now = time.time()
    toks = _tokens(make_token, 40, now)
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(toks))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, registered_db, DB_PASSWORD, repr(now), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    accepted = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        accepted += json.loads(out)
    assert len(accepted) == len(set(accepted)), "a token was accepted by two processes"
    assert len(accepted) >= 3
    # Everything that was accepted is now a replay for everyone.
    for i in set(accepted):
        r = auth.verify_token(
            toks[i], "cmd-%d" % (i % 3), None, DB_PASSWORD, db_filename=registered_db, now=now
        )
        assert not r.ok and "not later" in r.status
