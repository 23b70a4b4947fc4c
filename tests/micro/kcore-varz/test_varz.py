"""Portable tests of kcore.varz (pytest on CPython, and the micropython binary)."""

from mtest import raises

from kcore import varz


def _fresh(max_keys=1000):
    varz.reset()
    varz.set_max_keys(max_keys)


def test_bump_and_inc_create_at_zero():
    _fresh()
    assert varz.bump("a") == 1
    assert varz.bump("a") == 2
    assert varz.inc("a", 5) == 7
    assert varz.inc("b", 3) == 3
    assert varz.get("a") == 7
    assert varz.VARZ["b"] == 3


def test_set_any_value_and_callable_evaluated_on_read():
    _fresh()
    varz.set("mode", "eco")
    box = [1]
    varz.set("live", lambda: box[0] * 10)
    assert varz.get("mode") == "eco"
    assert varz.get("live") == 10
    box[0] = 4
    assert varz.get_dict()["live"] == 40


def test_broken_callable_does_not_break_reads():
    _fresh()

    def broken():
        raise KeyError("x")

    varz.set("bad", broken)
    assert varz.get("bad") == "error: KeyError"
    assert varz.get_dict()["bad"] == "error: KeyError"


def test_get_without_name_is_whole_dict_copy():
    _fresh()
    varz.bump("x")
    d = varz.get()
    assert d["x"] == 1
    d["x"] = 99
    assert varz.get("x") == 1
    assert varz.get("") == varz.get_dict()


def test_absent_key_is_none():
    _fresh()
    assert varz.get("nope") is None


def test_stamp_is_int_epoch_seconds():
    _fresh()
    varz.stamp("t")
    t = varz.get("t")
    assert isinstance(t, int)
    assert t > 1600000000
    assert varz.get_kinds()["t"] == "stamp"


def test_reset_one_keeps_key_with_none():
    _fresh()
    varz.bump("a")
    varz.reset("a")
    assert "a" in varz.VARZ
    assert varz.get("a") is None
    assert varz.bump("a") == 1


def test_reset_all_clears_in_place():
    _fresh()
    held = varz.VARZ
    varz.bump("a")
    varz.reset()
    assert len(held) == 0
    assert varz.VARZ is held


def test_kinds_follow_last_write():
    _fresh()
    varz.bump("c")
    varz.set("g", 3)
    varz.set("s", "text")
    k = varz.get_kinds()
    assert k["c"] == "counter"
    assert k["g"] == "gauge"
    varz.bump("g")  # a gauge that is bumped stays a gauge
    assert varz.get_kinds()["g"] == "gauge"
    assert varz.get("g") == 4


def test_key_bound_drops_new_keys_and_counts_them():
    _fresh(max_keys=3)
    for name in ("a", "b", "c"):
        varz.bump(name)
    assert varz.bump("d") is None
    varz.set("e", 1)
    varz.stamp("f")
    assert "d" not in varz.VARZ
    assert "e" not in varz.VARZ
    assert varz.get(varz.DROPPED_KEY) == 3
    assert varz.bump("a") == 2  # existing keys keep working
    assert varz.delete("a") is True
    assert varz.bump("d") == 1  # room again
    _fresh()


def test_bad_names_and_limits_are_rejected():
    _fresh()
    raises(ValueError, varz.bump, "")
    raises(ValueError, varz.set, None, 1)
    raises(ValueError, varz.set_max_keys, 0)


def test_program_name_is_a_basename():
    assert "/" not in varz.PROGRAM_NAME
    assert varz.PROGRAM_NAME
