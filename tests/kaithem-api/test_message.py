"""kaithem.message: topic normalisation, MQTT matching, callback arity,
per-subscriber FIFO delivery, overflow, errors, synchronous mode, lifetimes."""

import gc
import threading
import time

import ktest
import pytest

from kcore.kaithem import message as M


def test_normalize_topic():
    assert M.normalize_topic(" foo ") == "/foo"
    assert M.normalize_topic("/foo/") == "/foo/"  # trailing slash is significant
    with pytest.raises(TypeError):
        M.normalize_topic(5)


@pytest.mark.parametrize(
    "pattern,topic,expected",
    [
        ("/foo/#", "/foo", True),
        ("/foo/#", "/foo/bar/baz", True),
        ("/#", "/anything/at/all", True),
        ("/foo/+", "/foo/bar", True),
        ("/foo/+", "/foo", False),
        ("/foo/+", "/foo/bar/baz", False),
        ("/+/bar", "/x/bar", True),
        ("/+/+/#", "/a/b", True),
        ("/foo", "/foo/", False),
        ("foo/bar", "/foo/bar", True),
    ],
)
def test_matching_follows_mqtt(kai, pattern, topic, expected):
    got = []
    kai.message.subscribe(pattern, got.append)
    kai.message.post(topic, "m", synchronous=True)
    assert got == (["m"] if expected else [])
    assert M.topic_matches(pattern, topic) is expected


@pytest.mark.parametrize("bad", ["/foo/#/bar", "/fo+o", "/foo#"])
def test_bad_patterns_are_rejected(kai, bad):
    with pytest.raises(M.TopicError):
        kai.message.subscribe(bad, print)


def test_cannot_post_to_a_wildcard(kai):
    with pytest.raises(M.TopicError):
        kai.message.post("/foo/+", 1)
    with pytest.raises(TypeError):
        kai.message.post(None, 1)


def test_callback_arities(kai):
    got = []
    kai.message.subscribe("/t", lambda m: got.append(("1", m)))
    kai.message.subscribe("/t", lambda t, m: got.append(("2", t, m)))
    kai.message.subscribe("/t", lambda t, m, ts, a: got.append(("4", t, m, ts, a)))
    kai.message.post("t", "hi", timestamp=12.5, annotation="ann", synchronous=True)
    assert ("1", "hi") in got
    assert ("2", "/t", "hi") in got  # the topic arrives normalised
    assert ("4", "/t", "hi", 12.5, "ann") in got
    with pytest.raises(TypeError):
        kai.message.subscribe("/t", lambda a, b, c: None)


def _cb_default(topic, msg, extra="captured"):
    return (topic, msg, extra)


class _Handler:
    def method(self, topic, msg, extra=1):
        return None

    def __call__(self, msg):
        return None


@pytest.mark.parametrize(
    ("callback", "arity"),
    [
        (lambda: None, 0),
        (lambda m: None, 1),
        (lambda t, m: None, 2),
        (lambda t, m, ts, a: None, 4),
        # defaulted parameters: the largest supported count the function can take
        (_cb_default, 2),
        (lambda m, extra=1: None, 2),
        (lambda m, a=1, b=2, c=3: None, 4),
        (lambda t, m, ts, a, extra=None: None, 4),
        (lambda m=None: None, 1),
        (lambda *args: None, 4),
        (lambda t, *rest: None, 4),
        (lambda t, m, x, *rest: None, 4),
        (lambda m, *, flag=False: None, 1),
        (_Handler().method, 2),
        (_Handler(), 1),
        (print, 4),  # a builtin: read through inspect.signature
    ],
)
def test_arity_from_required_and_total_parameters(callback, arity):
    assert M.callback_arity(callback) == arity


@pytest.mark.parametrize(
    "callback",
    [lambda a, b, c: None, lambda a, b, c, d, e: None, lambda m, *, needed: None],
)
def test_arity_refuses_what_the_bus_cannot_call(callback):
    with pytest.raises(TypeError):
        M.callback_arity(callback)


def test_loop_capture_idiom_receives_topic_and_message(kai):
    got = []
    for name in ("a", "b"):

        def cb(topic, msg, name=name):
            got.append((name, topic, msg))

        kai.message.subscribe("/loop/" + name, cb)
    kai.message.post("/loop/a", 1, synchronous=True)
    kai.message.post("/loop/b", 2)
    assert ktest.wait_until(lambda: len(got) == 2)
    assert got == [("a", "/loop/a", 1), ("b", "/loop/b", 2)]


def test_weak_subscriber_takes_the_same_paths(kai):
    got = []

    class Sink:
        def on(self, topic, msg):
            got.append((topic, msg))

    sink = Sink()
    kai.message.subscribe("/w", sink.on, weak=True)
    kai.message.post("/w", 1, synchronous=True)
    kai.message.post("/w", 2)
    assert ktest.wait_until(lambda: len(got) == 2)
    assert got == [("/w", 1), ("/w", 2)]


def test_timestamp_defaults_to_monotonic(kai):
    got = []
    kai.message.subscribe("/t", lambda t, m, ts, a: got.append(ts))
    before = time.monotonic()
    kai.message.post("/t", 1, synchronous=True)
    assert before <= got[0] <= time.monotonic()


def test_async_delivery_is_fifo_per_subscriber(kai, wait_until):
    subs = [[] for _ in range(5)]
    for lst in subs:
        kai.message.subscribe("/seq/#", lst.append)
    for i in range(3000):
        kai.message.post("/seq/x", i)
    assert wait_until(lambda: all(len(lst) == 3000 for lst in subs))
    for lst in subs:
        assert lst == list(range(3000))


def test_one_subscriber_never_runs_concurrently(kai, wait_until):
    active = [0]
    overlap = []
    done = []
    lock = threading.Lock()

    def slow(m):
        with lock:
            active[0] += 1
            if active[0] > 1:
                overlap.append(m)
        time.sleep(0.0005)
        with lock:
            active[0] -= 1
        done.append(m)

    kai.message.subscribe("/slow", slow)
    threads = [
        threading.Thread(target=lambda: [kai.message.post("/slow", j) for j in range(50)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert wait_until(lambda: len(done) == 200)
    assert overlap == []


def test_unsubscribe_normalises_and_handle_works(kai):
    got = []
    kai.message.subscribe("foo", got.append)
    assert kai.message.unsubscribe("foo", got.append)
    kai.message.post("/foo", 1, synchronous=True)
    sub = kai.message.subscribe("/foo/+", got.append)
    kai.message.post("/foo/a", 2, synchronous=True)
    sub.unsubscribe()
    kai.message.post("/foo/a", 3, synchronous=True)
    assert got == [2]
    assert kai.message.bus.subscribers("/foo/a") == ()


def test_strong_reference_by_default(kai, wait_until):
    got = []
    kai.message.subscribe("/s", lambda m: got.append(m))  # nobody else holds the lambda
    gc.collect()
    kai.message.post("/s", 1)
    assert wait_until(lambda: got == [1])


def test_weak_subscription_on_request(kai):
    got = []

    def f(m):
        got.append(m)

    kai.message.subscribe("/w", f, weak=True)
    kai.message.post("/w", 1, synchronous=True)
    del f
    gc.collect()
    kai.message.post("/w", 2, synchronous=True)
    assert got == [1]
    assert kai.message.bus.subscribers("/w") == ()


def test_subscriber_errors_go_to_the_error_topic(kai, wait_until):
    errors = []
    kai.message.subscribe(M.ERROR_TOPIC, errors.append)

    def bad(m):
        raise RuntimeError("boom %s" % m)

    sub = kai.message.subscribe("/bad", bad)
    kai.message.post("/bad", 1)
    assert wait_until(lambda: errors)
    assert errors[0]["topic"] == "/bad"
    assert "boom 1" in errors[0]["error"]
    assert sub.errors == 1


def test_error_topic_subscriber_failure_does_not_recurse(kai, wait_until):
    calls = []

    def bad(m):
        calls.append(m)
        raise RuntimeError("again")

    kai.message.subscribe("/system/errors/#", bad)
    kai.message.post("/system/errors/x", 1)
    assert wait_until(lambda: calls == [1])
    assert kai.runtime.workers.pending == 0 or wait_until(lambda: kai.runtime.workers.pending == 0)
    assert calls == [1]


def test_overflow_drops_oldest_and_counts(tmp_path, wait_until):
    from kcore.kaithem import Kaithem

    with Kaithem(vardir=str(tmp_path), config={"message-queue-size": 10}) as k:
        gate = threading.Event()
        got = []
        reports = []
        k.message.subscribe(M.ERROR_TOPIC, reports.append)

        def slow(m):
            gate.wait(5)
            got.append(m)

        sub = k.message.subscribe("/q", slow)
        k.message.post("/q", -1)  # occupies the subscriber
        assert wait_until(lambda: sub.pending == 0)
        for i in range(30):
            k.message.post("/q", i)
        assert sub.pending == 10
        assert sub.dropped == 20
        gate.set()
        assert wait_until(lambda: len(got) == 11)
        assert got == [-1, *range(20, 30)]  # the newest survive, in order
        assert wait_until(lambda: any(r.get("dropped") for r in reports))


def test_synchronous_post_runs_before_returning_and_keeps_order(kai):
    gate = threading.Event()
    got = []

    def f(m):
        if m == 0:
            gate.wait(5)
        got.append(m)

    kai.message.subscribe("/o", f)
    kai.message.post("/o", 0)  # async, blocked in the callback
    threading.Timer(0.05, gate.set).start()
    kai.message.post("/o", 1, synchronous=True)
    assert got == [0, 1]  # waited for the earlier async message, then ran


def test_synchronous_post_from_inside_own_callback(kai):
    got = []

    def f(m):
        got.append(m)
        if m < 3:
            kai.message.post("/r", m + 1, synchronous=True)

    kai.message.subscribe("/r", f)
    kai.message.post("/r", 0, synchronous=True)
    assert got == [0, 1, 2, 3]


def test_history_is_bounded(tmp_path):
    from kcore.kaithem import Kaithem

    with Kaithem(vardir=str(tmp_path), config={"message-log-size": 5}) as k:
        for i in range(20):
            k.message.post("/h/%d" % (i % 2), i)
        hist = k.message.history()
        assert [e[2] for e in hist] == list(range(15, 20))
        assert [e[2] for e in k.message.history("/h/1")] == [15, 17, 19]


def test_subscribe_1000_topics_is_cheap(kai):
    def cb(m):
        pass

    t0 = time.perf_counter()
    for i in range(1000):
        kai.message.subscribe("/bench/%d/+" % i, cb)
    assert time.perf_counter() - t0 < 2.0  # sanity only; the figure is in tools/bench


def test_module_functions_use_the_default_instance(default_kai, wait_until):
    got = []
    M.subscribe("/mod", got.append)
    M.post("/mod", "x")
    assert wait_until(lambda: got == ["x"])
    assert M.unsubscribe("/mod", got.append)


def test_bus_without_runtime_works(wait_until):
    bus = M.MessageBus()
    got = []
    bus.subscribe("/a", got.append)
    bus.post("/a", 1)
    assert wait_until(lambda: got == [1])
    bus.close()


def test_route_cache_is_bounded_in_bytes():
    import tracemalloc

    bus = M.MessageBus(log_size=0)
    try:
        bus.subscribe("/big/#", lambda m: None)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1500):  # 1500 distinct 10 kB topics: 15 MB if every route were kept
            bus.post("/big/%d/%s" % (i, "x" * 10_000), i)
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert bus.route_cache_bytes <= bus.route_cache_limit == M.ROUTE_CACHE_BYTES
        assert grown < 3 * M.ROUTE_CACHE_BYTES, grown
        # a route bigger than the whole cache is used, not kept
        small = M.MessageBus(log_size=0, route_cache_bytes=1000)
        got = []
        small.subscribe("/t/#", got.append)
        small.post("/t/" + "y" * 5000, 1, synchronous=True)
        assert got == [1] and small.route_cache_bytes == 0
        small.close()
    finally:
        bus.close()
