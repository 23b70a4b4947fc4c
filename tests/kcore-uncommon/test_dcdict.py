"""DictOfDataclasses: JSON with a schema check, atomic writes, optional encryption, no eval."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import threading
from typing import Optional

import pytest

import kcore.uncommon as u


@dataclasses.dataclass
class Host:
    ip: str
    port: int = 22
    note: Optional[str] = None
    weight: float = 1.0
    enabled: bool = True


def test_round_trip_through_a_file(tmp_path):
    path = str(tmp_path / "hosts.json")
    d = u.DictOfDataclasses(path, Host)
    assert d == {}
    d["pi"] = Host("10.0.0.7", note="it's \"quoted\" ' and: tricky\n")
    d["nas"] = Host("10.0.0.9", 2222, weight=2)
    d.save()
    again = u.DictOfDataclasses(path, Host)
    assert again == d and isinstance(again["pi"], Host)
    doc = json.load(open(path))
    assert doc["format"] == "kcore.dict-of-dataclasses/1" and doc["type"] == "Host"
    os.chmod(path, 0o600)
    again.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # permissions kept on rewrite
    assert [p for p in os.listdir(tmp_path) if p != "hosts.json"] == []  # no temp leftovers


def test_file_content_is_data_never_code(tmp_path):
    path = tmp_path / "hosts.json"
    marker = tmp_path / "pwned"
    payload = "__import__('pathlib').Path(%r).write_text('x')" % str(marker)
    path.write_text(
        json.dumps(
            {
                "format": "kcore.dict-of-dataclasses/1",
                "type": "Host",
                "data": {"x": {"ip": payload}},
            }
        )
    )
    d = u.DictOfDataclasses(str(path), Host)
    assert d["x"].ip == payload and not marker.exists()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"x": {"ip": "1", "shell": "rm"}}, 'field "shell" not defined in @dataclass Host'),
        ({"x": {"ip": 5}}, 'field "ip" has type int, expected str'),
        ({"x": {"ip": "1", "port": "22"}}, 'field "port" has type str'),
        ({"x": {"ip": "1", "enabled": 1}}, 'field "enabled" has type int'),
        ({"x": {"ip": "1", "port": True}}, 'field "port" has type bool'),
        ({"x": {}}, "cannot build Host"),
        ({"x": [1, 2]}, "expected a JSON object"),
    ],
)
def test_schema_violations_are_clear_errors(tmp_path, data, match):
    path = tmp_path / "h.json"
    path.write_text(
        json.dumps({"format": "kcore.dict-of-dataclasses/1", "type": "Host", "data": data})
    )
    with pytest.raises(u.SerializationError, match=match):
        u.DictOfDataclasses(str(path), Host)


def test_corrupt_or_foreign_files(tmp_path):
    path = tmp_path / "h.json"
    for text, match in [
        ("{broken", "not valid JSON"),
        ("[]", "not a kcore"),
        (
            json.dumps({"format": "kcore.dict-of-dataclasses/1", "type": "Other", "data": {}}),
            "holds Other values",
        ),
        ("'k': Host(ip='1')", "not valid JSON"),
    ]:
        path.write_text(text)
        with pytest.raises(u.SerializationError, match=match):
            u.DictOfDataclasses(str(path), Host)


def test_optional_and_int_for_float_are_accepted():
    text = json.dumps(
        {
            "format": "kcore.dict-of-dataclasses/1",
            "type": "Host",
            "data": {"a": {"ip": "1", "note": None, "weight": 3}},
        }
    )
    assert u.loads_dict_of_dataclasses(text, Host)["a"].weight == 3


def test_values_must_be_the_declared_dataclass():
    d = u.DictOfDataclasses(None, Host)
    with pytest.raises(u.SerializationError):
        d["x"] = {"ip": "1"}  # type: ignore[assignment]
    with pytest.raises(u.SerializationError):
        d[1] = Host("1")  # type: ignore[index]
    with pytest.raises(TypeError):
        u.DictOfDataclasses(None, dict)


def test_encrypted_file_is_0600_and_needs_the_password(tmp_path):
    path = str(tmp_path / "secret.json")
    d = u.DictOfDataclasses(path, Host, password="pw")
    d["pi"] = Host("10.0.0.7")
    d.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert open(path).read().startswith("kcrypt1:") and "10.0.0.7" not in open(path).read()
    assert u.DictOfDataclasses(path, Host, password="pw")["pi"].ip == "10.0.0.7"
    with pytest.raises(u.DecryptionError):
        u.DictOfDataclasses(path, Host, password="wrong")


def test_locked_read_modify_write_from_threads(tmp_path):
    @dataclasses.dataclass
    class Counter:
        n: int = 0

    path = str(tmp_path / "c.json")
    u.DictOfDataclasses(path, Counter).save()

    def bump():
        d = u.DictOfDataclasses(path, Counter)
        for _ in range(10):
            with d.locked(timeout=30):
                c = d.get("c") or Counter()
                d["c"] = Counter(c.n + 1)

    threads = [threading.Thread(target=bump) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert u.DictOfDataclasses(path, Counter)["c"].n == 50
