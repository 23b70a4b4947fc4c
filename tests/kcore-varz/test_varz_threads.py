"""kcore.varz under concurrency (CPython threads) and its log counters."""

import threading

from kcore import varz


def test_concurrent_bumps_lose_nothing(store):
    n_threads, per_thread = 8, 5000
    start = threading.Barrier(n_threads)

    def work():
        start.wait()
        for _ in range(per_thread):
            store.bump("hits")
            store.inc("bytes", 2)
            store.bump_many(("many",))

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("hits") == n_threads * per_thread
    assert store.get("bytes") == 2 * n_threads * per_thread
    assert store.get("many") == n_threads * per_thread


def test_key_bound_holds_under_concurrent_creation():
    store = varz.Store(max_keys=50)

    def work(base):
        for i in range(200):
            store.bump("k-%d-%d" % (base, i))

    threads = [threading.Thread(target=work, args=(b,)) for b in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = [k for k in store.values if k.startswith("k-")]
    assert len(created) == 50
    assert store.get(varz.DROPPED_KEY) == 4 * 200 - 50


def test_log_counters_are_exposed_by_the_default_store_only(store):
    import kcore.common as common

    before = varz.get_dict()
    common.log_error("varz log counter test")
    after = varz.get_dict()
    log_keys = [k for k in after if k.startswith("log-")]
    assert log_keys, after
    changed = [k for k in log_keys if after[k] != before.get(k)]
    assert changed, (before, after)
    assert all(varz.get_kinds()[k] == "counter" for k in log_keys)
    assert not [k for k in store.get_dict() if k.startswith("log-")]
