"""kcore.persister: formats, safety (no eval), freshness, locking, falsy values."""

import ast
import datetime
import enum
import os
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pytest

from kcore.persister import (
    DictOfDataclasses,
    ListOfDataclasses,
    Persister,
    PersisterDC,
    PersisterDictOfDC,
    PersisterError,
    PersisterListOfDC,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Inner:
    x: int = 0


@dataclass
class Rec:
    name: str
    count: int = 0
    ratio: float = 0.0
    on: bool = False
    when: Optional[datetime.datetime] = None
    tags: List[str] = field(default_factory=list)
    pair: Tuple[int, int] = (0, 0)
    inner: Inner = field(default_factory=Inner)
    color: Color = Color.RED
    extra: Dict[str, int] = field(default_factory=dict)


@dataclass
class Conf:
    host: str = "localhost"
    port: int = 22
    when: Optional[datetime.datetime] = None
    tags: List[str] = field(default_factory=list)


TRICKY = "it's a \"quote\" \\ back\nslash, 'both' and unicode: é ✓"


# ------------------------------------------------------------------ generic Persister


@pytest.mark.parametrize(
    "value",
    [
        0,
        "",
        [],
        {},
        False,
        0.0,
        TRICKY,
        {"a": [1, 2.5, None, True], "b": {"c": TRICKY}},
        {1: "int key", (1, 2): "tuple key", "s": {1, 2}, "t": (1,), "b": b"\x00\xff"},
        [1, [2, [3, [4]]]],
    ],
)
def test_round_trip_including_falsy_values_and_quotes(tmp_path, value):
    path = str(tmp_path / "p.data")
    p = Persister(path, default_value="default")
    p.set_data(value)
    assert Persister(path, default_value="default").get_data() == value
    assert type(Persister(path).get_data()) is type(value)


def _original_serialize(data):
    """What the original kcore Persister wrote (for ordinary values)."""
    return ("'%s'" % data if isinstance(data, str) else str(data)) + "\n"


@pytest.mark.parametrize("value", ["text", 42, 2.5, [1, "a", None], {"a": 1, "b": [True, "x"]}])
def test_default_format_is_the_originals(tmp_path, value):
    path = tmp_path / "p.data"
    Persister(str(path)).set_data(value)
    assert path.read_text() == _original_serialize(value)
    assert Persister(str(path)).get_data() == value


def test_json_is_opt_in_and_both_formats_are_read(tmp_path):
    path = tmp_path / "p.data"
    Persister(str(path), file_format="json").set_data({"a": 1, "b": "x"})
    assert path.read_text() == '{\n"a": 1,\n"b": "x"\n}\n'
    assert Persister(str(path)).get_data() == {"a": 1, "b": "x"}  # read whatever the setting
    Persister(str(path), file_format="json").set_data({"t": (1, 2)})  # not JSON: a literal
    assert path.read_text() == "{'t': (1, 2)}\n"
    with pytest.raises(ValueError, match="file_format must be one of repr, json"):
        Persister(None, file_format="yaml")


def test_reads_original_format_files(tmp_path):
    path = tmp_path / "old.data"
    path.write_text("{'a': 1, 'b': [True, None], 'c': 'x'}\n")
    assert Persister(str(path)).get_data() == {"a": 1, "b": [True, None], "c": "x"}


def test_unstorable_values_are_refused_before_writing(tmp_path):
    path = tmp_path / "p.data"
    p = Persister(str(path), default_value={})
    p.set_data({"ok": 1})
    for bad in ({"o": object()}, {"r": Rec("x")}, float("nan")):
        with pytest.raises(PersisterError, match="cannot save"):
            p.set_data(bad)
    assert ast.literal_eval(path.read_text()) == {"ok": 1}  # the file is untouched


def test_never_evaluates_the_file(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "p.data"
    path.write_text("__import__('os').system('touch %s')\n" % marker)
    with pytest.raises(PersisterError, match=r"p\.data, line 1: not a valid value"):
        Persister(str(path))
    assert not marker.exists()


def test_corrupt_file_is_an_error_not_a_silent_reset(tmp_path):
    path = tmp_path / "p.data"
    path.write_text('{\n"a": 1,\n"b": \n')
    with pytest.raises(PersisterError, match=r"p\.data, line \d+"):
        Persister(str(path), default_value={})
    assert path.read_text() == '{\n"a": 1,\n"b": \n'


def test_missing_and_empty_files_give_the_default(tmp_path):
    default = {"list": [1]}
    p = Persister(str(tmp_path / "none.data"), default_value=default)
    assert p.get_data() == default
    p.get_data()["list"].append(2)
    assert default == {"list": [1]}  # the default is copied deeply
    (tmp_path / "empty.data").write_text("\n")
    assert Persister(str(tmp_path / "empty.data"), default_value=5).get_data() == 5


def test_memory_only_and_stdin_stdout(tmp_path, monkeypatch, capsys):
    m = Persister(None, default_value=[1])
    m.set_data([2])
    assert m.get_data() == [2] and m.save_to_file() is False
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("{'from': 'stdin'}"))
    s = Persister("-")
    assert s.get_data() == {"from": "stdin"}
    s.set_data({"to": "stdout"})
    assert capsys.readouterr().out == "{'to': 'stdout'}\n"


def test_set_data_none_saves_the_cache(tmp_path):
    path = str(tmp_path / "p.data")
    p = Persister(path, default_value={})
    p.get_data()["k"] = "v"
    p.set_data()
    assert Persister(path).get_data() == {"k": "v"}


def test_context_managers(tmp_path):
    path = str(tmp_path / "p.data")
    p = Persister(path, default_value={"n": 0})
    with p.get_rw() as d:
        d["n"] = 1
    assert Persister(path).get_data() == {"n": 1}
    with p.get_ro() as d:
        assert d["n"] == 1
    with pytest.raises(RuntimeError), p.get_rw() as d:
        d["n"] = 99
        raise RuntimeError("abort")
    assert Persister(path).get_data() == {"n": 1}  # not saved after an exception
    with p.get_rw_locked_thread() as d:
        d["n"] = 2
    with p.get_rw_locked_file() as d:
        d["n"] += 1
        with p.get_rw_locked_file() as d2:  # re-entrant in the same thread
            d2["n"] += 1
    assert Persister(path).get_data() == {"n": 4}


def test_thread_lock_api_counts_exactly(tmp_path):
    p = Persister(str(tmp_path / "p.data"), default_value={"n": 0})

    def work():
        for _ in range(25):
            with p.get_rw_locked_thread() as d:
                n = d["n"]
                d["n"] = n + 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert p.get_data()["n"] == 150
    assert Persister(p.filename).get_data()["n"] == 150


def test_file_lock_between_processes(tmp_path):
    path = str(tmp_path / "p.data")
    Persister(path).set_data({"n": 0})
    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:  # child: increment 20 times under the file lock
            code = 1
            try:
                p = Persister(path)
                for _ in range(20):
                    with p.get_rw_locked_file() as d:
                        d["n"] += 1
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert Persister(path).get_data() == {"n": 60}
    assert os.path.exists(path + ".lock")


def test_freshness_sees_same_second_same_size_edits(tmp_path):
    path = tmp_path / "p.data"
    a = Persister(str(path), default_value={})
    a.set_data({"v": "aaaa"})
    st = os.stat(path)
    # Another writer edits in place: same size, same mtime *second*.
    with open(path, "r+") as f:
        f.write("{'v': 'bbbb'}\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert os.stat(path).st_mtime == pytest.approx(st.st_mtime, abs=1e-6)
    assert a.get_data() == {"v": "bbbb"}
    b = Persister(str(path))
    b.set_data({"v": "cccc"})  # atomic rename: a new inode
    assert a.get_data() == {"v": "cccc"}
    assert a.is_cache_fresh()
    assert a.get_file_mtime() == os.stat(path).st_mtime


def test_plain_file_keeps_its_mode(tmp_path):
    path = tmp_path / "p.data"
    path.write_text("{}")
    os.chmod(path, 0o640)
    Persister(str(path)).set_data({"a": 1})
    assert os.stat(path).st_mode & 0o777 == 0o640


# ------------------------------------------------------------------ dataclasses


def _rec():
    return Rec(
        TRICKY,
        count=3,
        ratio=0.5,
        on=True,
        when=datetime.datetime(2030, 1, 2, 3, 4, 5),
        tags=["a", "b"],
        pair=(1, 2),
        inner=Inner(7),
        color=Color.BLUE,
        extra={"k": 1},
    )


@dataclass
class Plain:
    name: str
    n: int = 0
    x: float = 0.5
    on: bool = False
    note: Optional[str] = None
    when: Optional[datetime.datetime] = None
    inner: Inner = field(default_factory=Inner)


def test_dataclass_files_are_written_as_the_original_wrote_them(tmp_path):
    plain = {"a": Plain("x"), "b": Plain("y", 3, 1e-7, True, "n", datetime.datetime(2030, 1, 2))}
    path = tmp_path / "d.data"
    PersisterDictOfDC(str(path), Plain).set_data(plain)
    # The original: "'%s': %s" % (key, str(value)) per line, str() being the dataclass repr.
    assert path.read_text() == "".join("'%s': %s\n" % (k, v) for k, v in plain.items())
    assert PersisterDictOfDC(str(path), Plain).get_data() == plain
    path = tmp_path / "l.data"
    PersisterListOfDC(str(path), Plain).set_data(list(plain.values()))
    assert path.read_text() == "".join("%s\n" % v for v in plain.values())
    path = tmp_path / "c.data"
    PersisterDC(str(path), Conf).set_data(Conf("h", 2, None, ["t"]))
    assert path.read_text() == "host = 'h'\nport = 2\nwhen = None\ntags = ['t']\n"


def test_dict_of_dc_round_trip_both_formats(tmp_path):
    path = tmp_path / "d.data"
    p = PersisterDictOfDC(str(path), Rec)
    assert p.get_data() == {}
    data = {"k1": _rec(), "k'2": Rec("plain"), "a: b": Rec("colon"), "": Rec("empty key")}
    p.set_data(data)
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("'k1': Rec(name=")
    assert PersisterDictOfDC(str(path), Rec).get_data() == data
    PersisterDictOfDC(str(path), Rec, file_format="json").set_data(data)
    lines = path.read_text().splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and len(lines) == 6
    assert lines[1].startswith('"k1": {"name": ')
    assert PersisterDictOfDC(str(path), Rec).get_data() == data
    p.set_data({})
    assert path.read_text() == "{}\n"
    assert PersisterDictOfDC(str(path), Rec, default_value={"d": Rec("d")}).get_data() == {}


def test_dict_of_dc_skips_junk_lines_as_the_original(tmp_path):
    path = tmp_path / "d.data"
    path.write_text("'a': Rec(name='a')\njunk without the separator\n# note\n'b': Rec(name='b')\n")
    assert PersisterDictOfDC(str(path), Rec).get_data() == {"a": Rec("a"), "b": Rec("b")}


def test_dict_of_dc_reads_the_original_format(tmp_path):
    path = tmp_path / "old.data"
    path.write_text(
        "# written by the original kcore\n"
        "'k1': Rec(name='a', count=2, when=datetime.datetime(2030, 1, 2, 3, 4, 5), tags=['z'])\n"
        "\n"
        "\t'k2':\tRec(name=\"b\", inner=Inner(x=3))\n"
    )
    data = PersisterDictOfDC(str(path), Rec).get_data()
    assert data["k1"] == Rec("a", 2, when=datetime.datetime(2030, 1, 2, 3, 4, 5), tags=["z"])
    assert data["k2"] == Rec("b", inner=Inner(3))


@pytest.mark.parametrize(
    "text, match",
    [
        ('{\n"k": {"name": "a", "count": "3"}\n}\n', r"line 2: key 'k': .count: expected int"),
        ('{\n"k": {"name": "a", "bogus": 1}\n}\n', r'line 2: .*field "bogus" not defined'),
        ('{\n"k": {"count": 1}\n}\n', r"line 2: .*missing field\(s\) name"),
        ('{\n"k": {"name": "a"},\n"j": {"name": 5}\n}\n', r"line 3: key 'j': .name: expected str"),
        ('{\n"k": {"name": "a"}\n', r"line \d: not valid JSON"),
        ("'k': Rec(name=__import__('os').getcwd())\n", r"line 1: calling an expression"),
        ("'k': Rec(name='a').__class__\n", r"line 1: Attribute is not allowed"),
        ("'k': os.system('x')\n", r"line 1: calling os.system is not allowed"),
        ("'k': Conf(host='x')\n", r"line 1: calling Conf is not allowed"),
        ("'k': Rec(name='a', bogus=1)\n", r'line 1: field "bogus" not defined'),
        ("'j': Rec(name='a')\n'k': Rec(name=5)\n", r"line 2: \.name: expected str"),
    ],
)
def test_dict_of_dc_bad_files(tmp_path, text, match):
    path = tmp_path / "bad.data"
    path.write_text(text)
    with pytest.raises(PersisterError, match=match) as e:
        PersisterDictOfDC(str(path), Rec)
    assert str(e.value).startswith(str(path))


def test_dict_of_dc_refuses_wrong_values(tmp_path):
    p = PersisterDictOfDC(str(tmp_path / "d.data"), Rec)
    with pytest.raises(PersisterError, match="expected a Rec, got Conf"):
        p.set_data({"k": Conf()})
    with pytest.raises(PersisterError, match=r"\.count: expected int, got str"):
        p.set_data({"k": Rec("a", count="3")})
    with pytest.raises(PersisterError, match="keys must be str"):
        p.set_data({1: Rec("a")})
    with pytest.raises(TypeError, match="must be a @dataclass class"):
        PersisterDictOfDC(None, dict)


def test_list_of_dc(tmp_path):
    path = tmp_path / "l.data"
    p = PersisterListOfDC(str(path), Rec)
    p.set_data([_rec(), Rec("b")])
    assert len(path.read_text().splitlines()) == 2
    assert PersisterListOfDC(str(path), Rec).get_data() == [_rec(), Rec("b")]
    PersisterListOfDC(str(path), Rec, file_format="json").set_data([_rec(), Rec("b")])
    assert len(path.read_text().splitlines()) == 4
    assert PersisterListOfDC(str(path), Rec).get_data() == [_rec(), Rec("b")]
    p.set_data([])
    assert path.read_text() == "[]\n"
    assert PersisterListOfDC(str(path), Rec, default_value=[Rec("d")]).get_data() == []


def test_list_of_dc_reads_original_format_with_eval_globals(tmp_path):
    @dataclass
    class Event:
        fire_dt: datetime.datetime
        func_name: str
        args: list
        kwargs: dict
        repeat_after_ms: Optional[int] = None

    path = tmp_path / "q.data"
    path.write_text(
        "Event(fire_dt=datetime.datetime(2030, 1, 2, 3, 4, 5), func_name='f', args=[7], "
        "kwargs={}, repeat_after_ms=1000)\n"
    )
    g = {"Event": Event, "os": os, "datetime": datetime}
    data = PersisterListOfDC(str(path), Event, eval_globals=g).get_data()
    assert data == [Event(datetime.datetime(2030, 1, 2, 3, 4, 5), "f", [7], {}, 1000)]
    path.write_text("os.getcwd()\n")
    with pytest.raises(PersisterError, match=r"calling os\.getcwd is not allowed"):
        PersisterListOfDC(str(path), Event, eval_globals=g)


def test_dc_field_lines(tmp_path):
    path = tmp_path / "c.data"
    p = PersisterDC(str(path), Conf)
    assert p.get_data() == Conf()
    p.set_data(Conf(TRICKY, 2222, datetime.datetime(2030, 1, 1), ["x"]))
    text = path.read_text()
    assert text.startswith("host = ") and "\nport = 2222\n" in text
    assert PersisterDC(str(path), Conf).get_data() == Conf(
        TRICKY, 2222, datetime.datetime(2030, 1, 1), ["x"]
    )


def test_dc_reader_tolerances(tmp_path):
    path = tmp_path / "c.data"
    path.write_text(
        "# comment\n; another\n\n  host = my host name # trailing comment\n"
        "port = 2200 ; comment\ntags = ['#not-a-comment', 'a;b']\n"
    )
    assert PersisterDC(str(path), Conf).get_data() == Conf(
        "my host name", 2200, None, ["#not-a-comment", "a;b"]
    )


@pytest.mark.parametrize(
    "text, match",
    [
        ("nope = 1\n", r'line 1: field "nope" not defined in @dataclass Conf'),
        ("host = 'x'\nport = many\n", r"line 2: field port"),
        ("host = 'x'\njust words\nnope = 1\n", r'line 3: field "nope" not defined'),
        ("port = '22'\n", r"\.port: expected int, got str"),
    ],
)
def test_dc_bad_files(tmp_path, text, match):
    path = tmp_path / "c.data"
    path.write_text(text)
    with pytest.raises(PersisterError, match=match):
        PersisterDC(str(path), Conf)


def test_dc_skips_junk_lines_as_the_original(tmp_path):
    path = tmp_path / "c.data"
    path.write_text("[section]\nhost = 'x'\njust words\n\nport = 9\n")
    assert PersisterDC(str(path), Conf).get_data() == Conf("x", 9)


def test_dc_json_opt_in(tmp_path):
    path = tmp_path / "c.data"
    PersisterDC(str(path), Conf, file_format="json").set_data(Conf("h", 1))
    assert path.read_text().splitlines()[:2] == ["{", '"host": "h",']
    assert PersisterDC(str(path), Conf).get_data() == Conf("h", 1)


def test_dict_of_dataclasses_is_its_own_cache(tmp_path):
    path = str(tmp_path / "d.data")
    d = DictOfDataclasses(path, Rec)
    assert d == {}
    d["a"] = Rec("a")
    d.save()
    other = DictOfDataclasses(path, Rec)
    assert other == {"a": Rec("a")}
    with other.get_rw_locked_file() as o:
        o["b"] = Rec("b")
    d.load()
    assert set(d) == {"a", "b"} and d.persister.cache is d


@pytest.mark.parametrize("kind", ["dict", "list"])
def test_self_cached_containers_carry_the_persister_api(tmp_path, kind):
    make = (
        (lambda p: DictOfDataclasses(p, Rec))
        if kind == "dict"
        else (lambda p: ListOfDataclasses(p, Rec))
    )
    first = tmp_path / "first.data"
    c = make(str(first))
    assert isinstance(c, Persister) and c.get_data() is c and c.cache is c
    one = {"a": Rec("a")} if kind == "dict" else [Rec("a")]
    two = {"a": Rec("a"), "b": Rec("b")} if kind == "dict" else [Rec("a"), Rec("b")]
    c.set_data(one)  # replaces the contents (the object stays the same) and saves
    assert c == one and make(str(first)).get_data() == one
    with c.get_ro() as data:
        assert data is c
    with c.get_rw() as data:
        data.clear()
        data.update(two) if kind == "dict" else data.extend(two)
    assert make(str(first)) == two
    with c.get_rw_locked_thread() as data:
        assert data is c
    with c.get_rw_locked_file() as data:
        assert data is c
    # A settable filename, used at the next save; the old file is left alone.
    second = tmp_path / "second.data"
    c.filename = str(second)
    assert c.get_data() == two  # the new file does not exist yet: the data stays
    c.set_data()
    assert make(str(second)) == two and make(str(first)) == two
    c.set_data(one)
    assert make(str(second)) == one and make(str(first)) == two
    c.filename = str(first)  # an existing file is loaded at the next get_data()
    assert c.get_data() == two


def test_filename_can_be_set_after_construction(tmp_path):
    p = Persister(None, default_value={})
    p.get_data()["k"] = 1
    assert p.save_to_file() is False
    p.filename = str(tmp_path / "later.data")
    p.set_data()
    assert Persister(str(tmp_path / "later.data")).get_data() == {"k": 1}
    with p.get_rw_locked_file() as d:
        d["k"] = 2
        with pytest.raises(PersisterError, match="inside get_rw_locked_file"):
            p.filename = str(tmp_path / "other.data")
    assert os.path.exists(str(tmp_path / "later.data.lock"))


def test_list_of_dataclasses_is_its_own_cache(tmp_path):
    path = str(tmp_path / "l.data")
    lst = ListOfDataclasses(path, Rec)
    lst.append(Rec("a"))
    lst.save()
    other = ListOfDataclasses(path, Rec)
    assert other == [Rec("a")]
    with other.get_rw_locked_file() as o:
        o.append(Rec("b"))
    lst.load()
    assert lst == [Rec("a"), Rec("b")] and lst.persister.cache is lst


def test_none_default_allows_none_and_custom_init(tmp_path):
    class Event:  # a plain base class, as in time_queue_persisted
        pass

    @dataclass
    class EventDC(Event):
        fire_dt: datetime.datetime
        func_name: str
        args: List[str]
        kwargs: Dict[str, str]
        repeat_after_ms: int = None  # type: ignore[assignment]

        def __init__(self, fire_dt, func_name, args=(), kwargs=None, repeat_after_ms=None):
            self.fire_dt, self.func_name = fire_dt, func_name
            self.args, self.kwargs = list(args), dict(kwargs or {})
            self.repeat_after_ms = repeat_after_ms

    path = str(tmp_path / "q.data")
    ev = [EventDC(datetime.datetime(2030, 1, 2), "f", ["a"]), EventDC(None, "g", [], {}, 5)]
    with pytest.raises(PersisterError, match=r"item 1: \.fire_dt: expected datetime"):
        PersisterListOfDC(path, EventDC).set_data(ev)
    ev[1].fire_dt = datetime.datetime(2031, 1, 1)
    PersisterListOfDC(path, EventDC).set_data(ev)
    back = PersisterListOfDC(path, EventDC).get_data()
    assert [(e.fire_dt, e.func_name, e.args, e.kwargs, e.repeat_after_ms) for e in back] == [
        (datetime.datetime(2030, 1, 2), "f", ["a"], {}, None),
        (datetime.datetime(2031, 1, 1), "g", [], {}, 5),
    ]


def test_file_lock_timeout_names_the_lock(tmp_path):
    path = str(tmp_path / "p.data")
    holder = Persister(path, default_value={})
    waiter = Persister(path, default_value={}, lock_timeout=0.2)
    with holder.get_rw_locked_file():
        with pytest.raises(TimeoutError, match=r"p\.data\.lock"):
            with waiter.get_rw_locked_file():
                pass  # pragma: no cover
    with waiter.get_rw_locked_file() as d:  # free again
        d["ok"] = True
    assert Persister(path).get_data() == {"ok": True}
