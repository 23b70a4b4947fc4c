#!/usr/bin/env python3
"""kcore.auth token generate+verify per second, against a bare hmac+hashlib loop.

The reference does the irreducible work of one round: HMAC-SHA256 a message to
make the token, HMAC-SHA256 it again and ``hmac.compare_digest`` to verify. The
kcore round adds parsing, validation, the time window, the canonical encoding
and the locked replay check. Goal: kcore >= 0.4x the reference (the machine
identity and the client secret are derived once and cached, never per token).

Also printed, for information: the full client path (``generate_token`` from
user+password, cached) and verification against the DB file (lock, read,
replay update, atomic fsync'ed write per token).

    python tools/bench/bench_auth_tokens.py [--rounds 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import tempfile
import time

GOAL = 0.4
MACHINE = "v3p:bench:0123456789abcdef"


def bench_reference(key: bytes, rounds: int) -> float:
    t0 = 1_800_000_000.0
    start = time.perf_counter()
    for i in range(rounds):
        msg = b"v3:bench:alice:%d:open-door" % (t0 + i)
        token = hmac.new(key, msg, hashlib.sha256).hexdigest()
        check = hmac.new(key, msg, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(token.encode(), check.encode()):
            raise AssertionError("reference mismatch")
    return rounds / (time.perf_counter() - start)


def bench_kcore(ss, rounds: int) -> float:
    from kcore.auth import tokens

    guard = tokens.ReplayGuard()
    t0 = 1_800_000_000.0
    gen = tokens.generate_token_given_shared_secret
    ver = tokens.verify_token_given_shared_secret
    start = time.perf_counter()
    for i in range(rounds):
        tok = gen("open-door", ss, override_time=t0 + i * 1e-6)
        if not ver(tok, "open-door", ss, None, now=t0, replay_guard=guard).ok:
            raise AssertionError("kcore token did not verify")
    return rounds / (time.perf_counter() - start)


def bench_full_client(ss, rounds: int) -> float:
    import kcore.auth as auth

    guard = auth.ReplayGuard()
    t0 = 1_800_000_000.0
    start = time.perf_counter()
    for i in range(rounds):
        tok = auth.generate_token("open-door", "alice", "pw", "bench", t0 + i * 1e-6)
        if not auth.verify_token_given_shared_secret(
            tok, "open-door", ss, None, now=t0, replay_guard=guard
        ).ok:
            raise AssertionError("full-path token did not verify")
    return rounds / (time.perf_counter() - start)


def bench_db(ss, rounds: int) -> float:
    import kcore.auth as auth

    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "auth_db.json")
        auth.register(ss, "db-pw", db)
        t0 = time.time()
        toks = [
            auth.generate_token_given_shared_secret("c", ss, override_time=t0 + i * 1e-6)
            for i in range(rounds)
        ]
        auth.verify_token(toks[0], "c", None, "db-pw", db_filename=db)  # warm the cache
        start = time.perf_counter()
        for tok in toks[1:]:
            if not auth.verify_token(tok, "c", None, "db-pw", db_filename=db, now=t0).ok:
                raise AssertionError("DB token did not verify")
        return (rounds - 1) / (time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--db-rounds", type=int, default=200)
    args = ap.parse_args()

    os.environ["PUID"] = MACHINE
    import kcore.auth as auth

    auth.reset_machine_identity_cache()
    ss = auth.generate_shared_secret("alice", "pw", "bench")
    key = bytes.fromhex(ss.secret)
    ref, kc, full = [], [], []
    for _ in range(args.repeats):  # interleaved, best of N: noise hits both alike
        ref.append(bench_reference(key, args.rounds))
        kc.append(bench_kcore(ss, args.rounds))
        full.append(bench_full_client(ss, args.rounds // 4))
    best_ref, best_kc, best_full = max(ref), max(kc), max(full)
    db_rate = bench_db(ss, args.db_rounds)
    ratio = best_kc / best_ref
    print("reference hmac+hashlib generate+verify : %10.0f rounds/s" % best_ref)
    print("kcore.auth generate+verify (in memory) : %10.0f rounds/s" % best_kc)
    print("kcore.auth generate_token(user, pw)+ver: %10.0f rounds/s" % best_full)
    print("kcore.auth verify against the DB file  : %10.0f tokens/s (fsync per token)" % db_rate)
    print(
        "ratio kcore / reference                : %10.2fx (goal >= %.1fx) %s"
        % (ratio, GOAL, "OK" if ratio >= GOAL else "BELOW GOAL")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
