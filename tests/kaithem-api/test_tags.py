"""kaithem.tags: claims and arbitration, the default claim, subscribers,
getters and intervals, expiration, limits, units, types and lifetimes."""

import gc
import threading

import ktest
import pytest

from kcore.kaithem import tags as T


def test_set_get_and_subscriber_called_synchronously(kai):
    t = kai.tags["/x"]
    got = []
    t.subscribe(lambda v, ts, a: got.append(v))
    t.value = 5
    assert t.value == 5.0 and got == [5.0]
    t.value = 5  # no change: no push
    assert got == [5.0]
    assert t() == 5.0
    t(6)  # the doc's tag(v) form works
    assert t.value == 6.0


def test_claims_priorities_and_default(kai):
    t = kai.tags["/x"]
    got = []
    t.subscribe(lambda v, ts, a: got.append(v))
    t.value = 1
    c60 = t.claim(60, "sixty", 60)
    assert t.value == 60 and t.current_source == "sixty"
    c55 = t.claim(55, "fiftyfive", 55)
    assert t.value == 60
    c10 = t.claim(10, "ten", 10)
    assert t.value == 60
    c60.release()
    assert t.value == 55
    c55.release()
    assert t.value == 1  # a low priority claim never beats the default
    c10.set(11)
    assert t.value == 1
    assert got == [1, 60, 55, 1]


def test_equal_priority_last_writer_wins(kai):
    t = kai.tags["/x"]
    t.claim(7, "other", 50)
    assert t.value == 7  # default claim has timestamp 0
    t.value = 3
    assert t.value == 3 and t.current_source == "default"
    t.get_claim("other").set(8)
    assert t.value == 8


def test_priority_zero_and_limits(kai):
    t = kai.tags["/x"]
    c = t.claim(1, "zero", 0)
    assert c.priority == 0  # the original turned 0 into 50
    with pytest.raises(T.TagError):
        t.claim(1, "big", 101)
    with pytest.raises(T.TagError):
        t.default_claim.release()


def test_reclaim_existing_name(kai):
    t = kai.tags["/x"]
    c = t.claim(5, "c", 70)
    c.release()
    c2 = t.claim(6, "c")
    assert c2 is c and c.priority == 70 and t.value == 6


def test_claim_as_subscriber(kai):
    src = kai.tags["/src"]
    dst = kai.tags["/dst"]
    c = dst.claim(0, "follow", 60)
    src.subscribe(c)
    src.value = 42
    assert dst.value == 42


def test_getter_claim_and_interval_cache(kai):
    t = kai.tags["/g"]
    calls = []

    def getter():
        calls.append(1)
        return len(calls)

    t.interval = 10
    t.claim(getter, "g", 60)
    v1 = t.value
    v2 = t.value
    assert v1 == v2  # cached for the interval
    t.interval = 0
    assert t.value != v1  # now called on every read


def test_getter_none_and_errors_keep_last_value(kai, wait_until):
    errors = []
    kai.message.subscribe(T.ERROR_TOPIC, errors.append)
    t = kai.tags["/g"]
    box = [5]

    def getter():
        if box[0] == "boom":
            raise RuntimeError("sensor")
        return box[0]

    t.claim(getter, "g", 60)
    assert t.value == 5
    box[0] = None
    assert t.value == 5
    box[0] = "boom"
    assert t.value == 5  # reading never raises
    assert wait_until(lambda: errors)


def test_interval_polling_pushes_getter_changes(kai, wait_until):
    t = kai.tags["/p"]
    box = [1]
    t.claim(lambda: box[0], "g", 60)
    got = []
    t.subscribe(lambda v, ts, a: got.append(v))
    t.interval = 0.01
    box[0] = 2
    assert wait_until(lambda: 2 in got)


def test_expiration(kai, wait_until):
    t = kai.tags["/e"]
    t.value = 1
    c = t.claim(30, "sensor", 70)
    c.set_expiration(0.05)
    assert t.value == 30
    assert wait_until(lambda: t.value == 1)
    assert c.expired and c.priority == 1
    c.set(31)  # new data: back, with a fresh timestamp so it stays
    assert t.value == 31
    assert not c.expired and c.priority == 70
    assert wait_until(lambda: t.value == 1)  # and expires again only after another 0.05 s


def test_expiration_does_not_flap_after_set(kai):
    t = kai.tags["/e"]
    c = t.claim(30, "sensor", 70)
    c.setExpiration(0.2)
    c.set(32)
    assert not ktest.wait_until(lambda: t.value != 32, timeout=0.1)


def test_min_max_clamp_and_hi_lo(kai):
    t = kai.tags.NumericTag("/n", min=0, max=10)
    t.value = 20
    assert t.value == 10
    t.max = None
    assert t.value == 20
    t.min = 25
    assert t.value == 25
    assert t.hi == 1e18 and t.lo == -1e18  # unset lo is -1e18 (the original said +1e18)
    t.hi = 5
    assert t.hi == 5


def test_units(kai):
    t = kai.tags["/temp"]
    t.unit = "degC"
    t.value = 100
    assert abs(t.convert_to("degF") - 212) < 1e-9
    with pytest.raises(T.TagError):
        t.unit = "K"
    t.unit = ""
    t.unit = "K"
    c = t.claim(0, "c", 60)
    c.set_as(0, "degC")
    assert abs(t.value - 273.15) < 1e-9


def test_string_object_binary_tags(kai):
    s = kai.tags.StringTag("/s")
    s.value = 5
    assert s.value == "5"
    o = kai.tags.ObjectTag("/o")
    o.value = '{"a": [1, 2]}'
    assert o.value == {"a": [1, 2]}
    src = {"b": [1]}
    o.value = src
    src["b"].append(2)
    assert o.value == {"b": [1]}  # deep copied
    with pytest.raises(T.TagTypeError):
        o.value = object()
    b = kai.tags.BinaryTag("/b")
    b.value = bytearray(b"ab")
    assert b.value == b"ab"
    with pytest.raises(TypeError):
        b.value = 5  # bytes(5) would be five zero bytes
    n = kai.tags["/n"]
    with pytest.raises(T.TagTypeError):
        n.value = "not a number"


def test_registry(kai, wait_until):
    posts = []
    kai.message.subscribe("/system/tags/#", lambda t, m: posts.append((t, m)))
    t = kai.tags["x"]
    assert kai.tags["/x"] is t and "/x" in kai.tags and list(kai.tags) == ["/x"]
    with pytest.raises(T.TagTypeError):
        kai.tags.StringTag("/x")
    with pytest.raises(T.TagExistsError):
        T.NumericTagPointClass("/x", kaithem=kai)
    kai.tags.delete("/x")
    assert "/x" not in kai.tags
    assert wait_until(
        lambda: ("/system/tags/created", "/x") in posts and ("/system/tags/deleted", "/x") in posts
    )


def test_tags_live_without_user_references(kai):
    kai.tags["/kept"].value = 5
    gc.collect()
    assert kai.tags["/kept"].value == 5  # the original could read 0 here


@pytest.mark.parametrize("bad", ["", "1abc", "a-b", "a,b", "=tv('/x') + 7"])
def test_bad_names(kai, bad):
    with pytest.raises(T.TagError):
        kai.tags[bad]


def test_subscribers_strong_weak_unsubscribe_dedupe(kai):
    t = kai.tags["/x"]
    got = []
    t.subscribe(lambda v, ts, a: got.append(("strong", v)))

    class S:
        def f(self, v, ts, a):
            got.append(("weak", v))

    s = S()
    t.subscribe(s.f, weak=True)
    t.value = 1
    del s
    gc.collect()
    t.value = 2

    def g(v, ts, a):
        got.append(("g", v))

    t.subscribe(g)
    t.subscribe(g)
    t.value = 3
    t.unsubscribe(g)
    t.value = 4
    assert got == [
        ("strong", 1.0),
        ("weak", 1.0),
        ("strong", 2.0),
        ("strong", 3.0),
        ("g", 3.0),
        ("strong", 4.0),
    ]


def test_immediate_subscribe_and_handler(kai):
    t = kai.tags["/x"]
    got = []
    t.subscribe(lambda v, ts, a: got.append("early"), immediate=True)
    assert got == []  # never set: nothing to report
    t.value = 1
    t.set_handler(lambda v, ts, a: got.append(("handler", v)))
    t.subscribe(lambda v, ts, a: got.append(("late", v)), immediate=True)
    t.value = 2
    assert got == ["early", ("late", 1.0), ("handler", 2.0), "early", ("late", 2.0)]


def test_subscriber_runs_outside_lock_and_errors_reported(kai, wait_until):
    errors = []
    kai.message.subscribe(T.ERROR_TOPIC, errors.append)
    t = kai.tags["/x"]
    seen = []

    def sub(v, ts, a):
        th = threading.Thread(target=lambda: seen.append(t.claim(9, "other", 10).name))
        th.start()
        th.join(2)

    t.subscribe(sub)
    t.subscribe(lambda v, ts, a: 1 / 0)
    t.value = 1
    assert seen == ["other"]  # another thread could take the tag lock meanwhile
    assert wait_until(lambda: errors)


def test_timestamp_and_annotation(kai):
    t = kai.tags["/x"]
    assert t.timestamp == 0
    c = t.claim(3, "c", 60, annotation="web:ann")
    assert t.annotation == "web:ann"
    assert 0 <= t.age < 5
    got = []
    t.subscribe(lambda v, ts, a: got.append((v, ts, a)))
    c.set(4, timestamp=123.0, annotation="x")
    assert got == [(4.0, 123.0, "x")]


def test_module_functions(default_kai):
    t = T.get_tag("/modtag")
    assert T.StringTag("/mods").value == ""
    assert default_kai.tags["/modtag"] is t
