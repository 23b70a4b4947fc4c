"""kcore.varz under concurrency (CPython threads) and its log counters."""

import threading

from kcore import varz


def test_concurrent_bumps_lose_nothing(fresh_varz):
    n_threads, per_thread = 8, 5000
    start = threading.Barrier(n_threads)

    def work():
        start.wait()
        for _ in range(per_thread):
            varz.bump("hits")
            varz.inc("bytes", 2)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert varz.get("hits") == n_threads * per_thread
    assert varz.get("bytes") == 2 * n_threads * per_thread


def test_key_bound_holds_under_concurrent_creation(fresh_varz):
    varz.set_max_keys(50)

    def work(base):
        for i in range(200):
            varz.bump("k-%d-%d" % (base, i))

    threads = [threading.Thread(target=work, args=(b,)) for b in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = [k for k in varz.VARZ if k.startswith("k-")]
    assert len(created) == 50
    assert varz.get(varz.DROPPED_KEY) == 4 * 200 - 50


def test_log_counters_are_exposed(fresh_varz):
    import kcore.common as common

    if not hasattr(common, "log_stats"):
        import pytest

        pytest.skip("kcore.common has no log_stats() yet")
    before = varz.get_dict()
    common.log_error("varz log counter test")
    after = varz.get_dict()
    log_keys = [k for k in after if k.startswith("log-")]
    assert log_keys, after
    changed = [k for k in log_keys if after[k] != before.get(k)]
    assert changed, (before, after)
    assert all(varz.get_kinds()[k] == "counter" for k in log_keys)
