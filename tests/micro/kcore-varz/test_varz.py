"""Portable tests of kcore.varz (pytest on CPython, and the micropython binary).

Each test works on its own ``varz.Store()``; the module-level functions,
which act on the global store, are tested on key names no other test uses.
"""

from mtest import raises

from kcore import varz


def test_bump_and_inc_create_at_zero():
    s = varz.Store()
    assert s.bump("a") == 1
    assert s.bump("a") == 2
    assert s.inc("a", 5) == 7
    assert s.inc("b", 3) == 3
    assert s.get("a") == 7
    assert s.values["b"] == 3


def test_set_any_value_and_callable_evaluated_on_read():
    s = varz.Store()
    s.set("mode", "eco")
    box = [1]
    s.set("live", lambda: box[0] * 10)
    assert s.get("mode") == "eco"
    assert s.get("live") == 10
    box[0] = 4
    assert s.get_dict()["live"] == 40


def test_broken_callable_does_not_break_reads():
    s = varz.Store()

    def broken():
        raise KeyError("x")

    s.set("bad", broken)
    assert s.get("bad") == "error: KeyError"
    assert s.get_dict()["bad"] == "error: KeyError"


def test_get_without_name_is_whole_dict_copy():
    s = varz.Store()
    s.bump("x")
    d = s.get()
    assert d["x"] == 1
    d["x"] = 99
    assert s.get("x") == 1
    assert s.get("") == s.get_dict()


def test_absent_key_is_none():
    assert varz.Store().get("nope") is None


def test_stamp_is_int_epoch_seconds_and_counted():
    s = varz.Store()
    s.stamp("t")
    t = s.get("t")
    assert isinstance(t, int)
    assert t > 1600000000
    assert s.get_kinds()["t"] == "stamp"
    s.stamp("t")
    count, first = s.get_stamps()["t"]
    assert count == 2
    assert int(first) <= s.get("t")


def test_reset_one_keeps_key_with_none():
    s = varz.Store()
    s.bump("a")
    s.reset("a")
    assert "a" in s.values
    assert s.get("a") is None
    assert s.bump("a") == 1


def test_reset_all_clears_in_place():
    s = varz.Store()
    held = s.values
    s.bump("a")
    s.stamp("b")
    s.reset()
    assert len(held) == 0
    assert s.values is held
    assert s.get_stamps() == {}


def test_kinds_follow_last_write():
    s = varz.Store()
    s.bump("c")
    s.set("g", 3)
    s.set("s", "text")
    k = s.get_kinds()
    assert k["c"] == "counter"
    assert k["g"] == "gauge"
    s.bump("g")  # a gauge that is bumped stays a gauge
    assert s.get_kinds()["g"] == "gauge"
    assert s.get("g") == 4
    s.bump_many(("g", "c", "new"))
    assert s.get_kinds()["g"] == "gauge"
    assert s.get_kinds()["new"] == "counter"
    assert (s.get("g"), s.get("c"), s.get("new")) == (5, 2, 1)


def test_key_bound_drops_new_keys_and_counts_them():
    s = varz.Store(max_keys=3)
    for name in ("a", "b", "c"):
        s.bump(name)
    assert s.bump("d") is None
    s.set("e", 1)
    s.stamp("f")
    s.bump_many(("g", "a"))
    assert "d" not in s.values
    assert "e" not in s.values
    assert "g" not in s.values
    assert s.get(varz.DROPPED_KEY) == 4
    assert s.bump("a") == 3  # existing keys keep working
    assert s.delete("a") is True
    assert s.delete("a") is False
    assert s.bump("d") == 1  # room again


def test_bad_names_and_limits_are_rejected():
    s = varz.Store()
    raises(ValueError, s.bump, "")
    raises(ValueError, s.set, None, 1)
    raises(ValueError, s.set_max_keys, 0)
    raises(ValueError, varz.Store, 0)
    raises(ValueError, varz.set_max_keys, 0)


def test_stores_are_separate():
    a, b = varz.Store(), varz.Store()
    a.bump("hits")
    assert b.get("hits") is None
    assert "hits" not in b.values


def test_module_functions_act_on_the_default_store():
    name = "micro-test-module-functions"
    assert varz.VARZ is varz.DEFAULT_STORE.values
    assert varz.KINDS is varz.DEFAULT_STORE.kinds
    assert varz.bump(name) == 1
    assert varz.inc(name, 2) == 3
    assert varz.DEFAULT_STORE.get(name) == 3
    assert varz.get_dict()[name] == 3
    assert varz.get_kinds()[name] == "counter"
    varz.reset(name)
    assert varz.get(name) is None
    varz.set(name, "x")
    assert varz.get(name) == "x"
    varz.stamp(name)
    assert varz.get_kinds()[name] == "stamp"
    varz.bump_many((name,))
    assert varz.delete(name) is True
    assert name not in varz.VARZ


def test_store_of_maps_the_varz_argument():
    assert varz.store_of(True) is varz.DEFAULT_STORE
    assert varz.store_of(False) is None
    assert varz.store_of(None) is None
    s = varz.Store()
    assert varz.store_of(s) is s


def test_program_name_is_a_basename():
    assert "/" not in varz.PROGRAM_NAME
    assert varz.PROGRAM_NAME
    assert varz.CIRCUITPYTHON is False or varz.CIRCUITPYTHON is True
