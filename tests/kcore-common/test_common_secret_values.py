"""kcore.common.secret_values: special argument values (prompt, environment,
file; '*key' not supported yet) and random_printable."""

import argparse
import sys
import types

import pytest

from kcore.common import platform, secret_values


def test_special_arg_passthrough():
    for v in (None, "", [], {}, 0, "plain", "x$y", 5):
        assert secret_values.special_arg_resolver(v) == v
    obj = "unchanged"
    assert secret_values.special_arg_resolver(obj) is obj


def test_special_arg_env(monkeypatch):
    monkeypatch.setenv("KC_TEST_VAR", "val")
    monkeypatch.delenv("KC_MISSING", raising=False)
    r = secret_values.special_arg_resolver
    assert r("$KC_TEST_VAR") == "val"
    assert r("${KC_TEST_VAR}/suffix") == "val/suffix"
    assert r("$KC_TEST_VAR/suffix") == "val/suffix"
    assert r("$KC_MISSING", env_value_default="dflt") == "dflt"
    with pytest.raises(secret_values.SpecialArgError) as info:
        r("$KC_MISSING", argname="password")
    e = info.value
    assert isinstance(e, ValueError) and isinstance(e, platform.KcoreError)
    assert "password" in str(e) and "KC_MISSING" in str(e)
    with pytest.raises(ValueError, match="unterminated"):
        r("${KC_TEST_VAR")
    with pytest.raises(ValueError, match="environment variable name"):
        r("$/x")


def test_special_arg_file(tmp_path):
    f = tmp_path / "secret.txt"
    f.write_text("s3cret\n")
    assert secret_values.special_arg_resolver("file:" + str(f)) == "s3cret\n"
    assert secret_values.special_arg_resolver("f:" + str(f)) == "s3cret\n"
    with pytest.raises(FileNotFoundError):
        secret_values.special_arg_resolver("file:" + str(tmp_path / "nope"))


def test_special_arg_prompt(monkeypatch):
    prompts = []

    def fake_getpass(prompt):
        prompts.append(prompt)
        return "typed"

    import getpass

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    assert secret_values.special_arg_resolver("-", argname="db_password") == "typed"
    assert prompts == ["Enter value for db_password: "]


def test_special_arg_containers_propagate(monkeypatch):
    monkeypatch.setenv("KC_A", "a")
    monkeypatch.delenv("KC_MISSING", raising=False)
    r = secret_values.special_arg_resolver
    assert r(["$KC_A", "lit", "$KC_MISSING"], env_value_default="d") == ["a", "lit", "d"]
    assert r({"k": "$KC_A", "m": "$KC_MISSING"}, env_value_default="d") == {"k": "a", "m": "d"}
    with pytest.raises(secret_values.SpecialArgError, match=r"tokens\[1\]"):
        r(["$KC_A", "$KC_MISSING"], argname="tokens")
    with pytest.raises(secret_values.SpecialArgError, match=r"cfg\['m'\]"):
        r({"m": "$KC_MISSING"}, argname="cfg")


def test_special_arg_keymaster_lookup_is_not_supported_yet(monkeypatch):
    looked_up = []

    def keymaster_query(*parts):  # must never be called: kcore-common does not reach up
        looked_up.append(parts)
        return "secret"

    fake = types.ModuleType("kcore.auth")
    fake.keymaster_query = fake.query_km = keymaster_query
    monkeypatch.setitem(sys.modules, "kcore.auth", fake)
    for value in ("*mykey/user/pw", "*mykey", "*"):
        with pytest.raises(secret_values.SpecialArgError, match="not supported yet") as e:
            secret_values.special_arg_resolver(value, argname="token")
        assert str(e.value).startswith("token: ")
        assert "mykey" not in str(e.value) and "pw" not in str(e.value)
    assert looked_up == []
    with pytest.raises(secret_values.SpecialArgError, match=r"tokens\[0\]: '\*key' values"):
        secret_values.special_arg_resolver(["*k"], argname="tokens")


def test_resolve_special_arg(monkeypatch):
    monkeypatch.setenv("KC_PW", "pw")
    ns = argparse.Namespace(pw="$KC_PW", empty="")
    assert secret_values.resolve_special_arg(ns, "pw") == "pw" and ns.pw == "pw"
    assert secret_values.resolve_special_arg(ns, "empty", required=False) == ""
    with pytest.raises(secret_values.SpecialArgError, match="empty: a value is required"):
        secret_values.resolve_special_arg(ns, "empty")


def test_random_printable(monkeypatch):
    s = secret_values.random_printable()
    assert len(s) == 16 and set(s) <= set(secret_values.PRINTABLE_CHARSET)
    assert secret_values.random_printable(40, charset="ab").strip("ab") == ""
    assert secret_values.random_printable(0) == ""
    assert len({secret_values.random_printable() for _ in range(20)}) == 20
    for bad in (-1, 2.5, "3"):
        with pytest.raises(ValueError):
            secret_values.random_printable(bad)
    with pytest.raises(ValueError):
        secret_values.random_printable(3, charset="")
    import secrets

    calls = []
    monkeypatch.setattr(secrets, "choice", lambda cs: calls.append(cs) or cs[0])
    assert secret_values.random_printable(5, charset="xyz") == "xxxxx" and len(calls) == 5
