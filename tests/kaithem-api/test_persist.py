"""kaithem.persist: formats, compression, atomic save with backup, private
mode, relative paths under <vardir>/data, corrupt files, unsaved."""

import bz2
import gzip
import os
import stat
import threading
from pathlib import Path

import pytest

import kcore.kaithem as kk
from kcore.kaithem import Kaithem
from kcore.kaithem import persist as P


@pytest.fixture
def k(tmp_path):
    inst = Kaithem(vardir=str(tmp_path / "var"))
    yield inst
    inst.close()


@pytest.fixture
def default_k(tmp_path):
    inst = Kaithem(vardir=str(tmp_path / "defvar"))
    previous = kk.set_default(inst)
    yield inst
    kk.set_default(previous)
    inst.close()


SAMPLES = [
    ("x.json", {"a": [1, 2.5, "é", None, True]}),
    ("x.yaml", [1, "two", {"three": 3.0}]),
    ("x.toml", {"name": "kitchen", "n": 3, "sub": {"on": True, "xs": [1, 2]}}),
    ("x.txt", "hello\nwörld\n"),
    ("x.md", "# title\n"),
    ("x.rst", "Title\n=====\n"),
    ("x.bin", bytes(range(256))),
]


@pytest.mark.parametrize("compression", ["", ".gz", ".bz2"])
@pytest.mark.parametrize(("name", "data"), SAMPLES)
def test_round_trip_every_format_and_compression(k, name, data, compression):
    fn = "rt/" + name + compression
    path = k.persist.save(data, fn)
    assert os.path.isfile(path)
    assert k.persist.load(fn) == data
    raw = Path(path).read_bytes()
    if compression == ".gz":
        assert raw[:2] == b"\x1f\x8b"
    elif compression == ".bz2":
        assert raw[:3] == b"BZh"


def test_formats_on_disk_are_the_plain_formats(k):
    k.persist.save({"a": 1}, "f.json")
    k.persist.save("text", "f.txt")
    k.persist.save({"a": 1}, "f.yaml")
    k.persist.save({"a": 1}, "f.toml")
    d = k.persist.data_dir
    assert Path(os.path.join(d, "f.json")).read_bytes() == b'{"a": 1}'
    assert Path(os.path.join(d, "f.txt")).read_bytes() == b"text"  # UTF-8, no BOM
    assert Path(os.path.join(d, "f.yaml")).read_bytes() == b"a: 1\n"
    assert Path(os.path.join(d, "f.toml")).read_bytes() == b"a = 1\n"


def test_txt_saves_str_of_other_objects(k):
    k.persist.save(42, "n.txt")
    assert k.persist.load("n.txt") == "42"


def test_yaml_tuples_can_be_loaded_back(k):
    # the original wrote !!python/tuple with yaml.dump, which its safe loader refused
    k.persist.save({"t": (1, 2)}, "t.yaml")
    assert k.persist.load("t.yaml") == {"t": [1, 2]}


def test_bz2_large_payload_is_not_truncated(k):
    # Above one bz2 block (900 kB); the original kept only the compressor's flush().
    data = os.urandom(1_200_000) + b"tail"
    k.persist.save(data, "big.bin.bz2")
    back = k.persist.load("big.bin.bz2")
    assert len(back) == len(data)
    assert back == data
    assert (
        bz2.decompress(Path(os.path.join(k.persist.data_dir, "big.bin.bz2")).read_bytes()) == data
    )


def test_relative_paths_resolve_under_vardir_data_not_cwd(k, tmp_path, monkeypatch):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = k.persist.save([1], "mod/a.json")
    assert path == os.path.join(str(tmp_path / "var"), "data", "mod", "a.json")
    assert os.path.isfile(path)
    assert not (elsewhere / "mod").exists()
    assert k.persist.load("mod/a.json") == [1]


def test_two_instances_have_their_own_data_dirs(tmp_path):
    with Kaithem(vardir=str(tmp_path / "a")) as a, Kaithem(vardir=str(tmp_path / "b")) as b:
        a.persist.save("A", "x.txt")
        b.persist.save("B", "x.txt")
        assert a.persist.load("x.txt") == "A"
        assert b.persist.load("x.txt") == "B"


def test_absolute_paths_outside_data_are_refused_unless_configured(k, tmp_path):
    target = str(tmp_path / "abs" / "y.json")
    with pytest.raises(P.PathError, match="leaves"):
        k.persist.save({"y": 1}, target)
    assert not os.path.exists(os.path.dirname(target))
    inside = os.path.join(k.persist.data_dir, "z.json")
    assert k.persist.save({"z": 1}, inside) == inside  # absolute but inside data: fine
    with Kaithem(
        vardir=str(tmp_path / "v2"), config={"persist-roots": [str(tmp_path / "abs")]}
    ) as k2:
        assert k2.persist.save({"y": 1}, target) == target  # the explicit opt-in
        assert k2.persist.load(target) == {"y": 1}


def test_expand_user_and_vars(k, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KC_TEST_DIR", str(tmp_path / "envdir"))
    with pytest.raises(P.PathError):
        k.persist.save("h", "~/h.txt")  # expanded, then outside data: refused
    monkeypatch.setenv("KC_TEST_DIR", k.persist.data_dir)
    p2 = k.persist.save("e", "$KC_TEST_DIR/e.txt")
    assert p2 == os.path.join(k.persist.data_dir, "e.txt")
    roots = {"persist-roots": ["~"]}
    with Kaithem(vardir=str(tmp_path / "v3"), config=roots) as k3:
        p1 = k3.persist.save("h", "~/h.txt")
        assert p1 == str(tmp_path / "home" / "h.txt")
        assert k3.persist.load("~/h.txt") == "h"
    # expand=False: the name is taken literally (and is relative, so under data/)
    p3 = k.persist.save("lit", "~/lit.txt", expand=False)
    assert p3 == os.path.join(k.persist.data_dir, "~", "lit.txt")
    assert k.persist.load("~/lit.txt", expand=False) == "lit"


@pytest.mark.parametrize(
    "name", ["../x.json", "a/../../x.json", "../../x.json", "{tmp}/x.json", "..", "."]
)
def test_paths_leaving_the_data_dir_are_refused(k, tmp_path, name):
    name = name.format(tmp=tmp_path)
    with pytest.raises(P.PathError):
        k.persist.save({"x": 1}, name)
    with pytest.raises(P.PathError):
        k.persist.load(name)
    assert not (tmp_path / "var" / "x.json").exists()
    assert not (tmp_path / "x.json").exists()


def test_normalised_paths_inside_data_are_fine(k):
    assert k.persist.save(1, "a/../b.json") == os.path.join(k.persist.data_dir, "b.json")
    assert k.persist.load("./b.json") == 1


def test_never_writes_through_a_symlinked_directory(k, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.makedirs(k.persist.data_dir)
    os.symlink(elsewhere, os.path.join(k.persist.data_dir, "link"))
    with pytest.raises(P.PathError, match="symbolic link"):
        k.persist.save({"x": 1}, "link/x.json")
    with pytest.raises(P.PathError, match="symbolic link"):
        k.persist.save({"x": 1}, "link/new/deeper.json")
    assert list(elsewhere.iterdir()) == []
    (elsewhere / "x.json").write_text('{"secret": 1}')
    with pytest.raises(P.PathError):
        k.persist.load("link/x.json")


def test_never_writes_through_a_symlinked_file(k, tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text('{"keep": true}')
    os.makedirs(k.persist.data_dir)
    link = os.path.join(k.persist.data_dir, "state.json")
    os.symlink(victim, link)
    with pytest.raises(P.PathError, match="symbolic link"):
        k.persist.save({"x": 1}, "state.json")
    with pytest.raises(P.PathError, match="symbolic link"):
        k.persist.load("state.json")
    assert victim.read_text() == '{"keep": true}'
    assert os.path.islink(link)
    assert not os.path.exists(link + "~")  # the victim's content was not copied either
    # a link as the backup name is refused too
    os.unlink(link)
    k.persist.save({"v": 1}, "state.json")
    os.symlink(victim, link + "~")
    with pytest.raises(P.PathError):
        k.persist.save({"v": 2}, "state.json")
    assert victim.read_text() == '{"keep": true}'


def test_backup_keeps_previous_version(k):
    path = k.persist.save({"v": 1}, "b.json")
    assert not os.path.exists(path + "~")
    k.persist.save({"v": 2}, "b.json")
    assert k.persist.load("b.json") == {"v": 2}
    assert Path(path + "~").read_bytes() == b'{"v": 1}'
    k.persist.save({"v": 3}, "b.json")
    assert Path(path + "~").read_bytes() == b'{"v": 2}'


def test_backup_false_writes_no_tilde_file(k):
    path = k.persist.save("1", "nb.txt", backup=False)
    k.persist.save("2", "nb.txt", backup=False)
    assert k.persist.load("nb.txt") == "2"
    assert not os.path.exists(path + "~")
    leftovers = [f for f in os.listdir(os.path.dirname(path)) if f != "nb.txt"]
    assert leftovers == []  # no temp file left behind either


def test_identical_content_is_not_rewritten(k):
    path = k.persist.save({"same": True}, "s.json")
    before = os.stat(path)
    k.persist.save({"same": True}, "s.json")
    after = os.stat(path)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert not os.path.exists(path + "~")
    # gzip output is deterministic (mtime 0), so compressed files too
    p2 = k.persist.save("z", "z.txt.gz")
    ino = os.stat(p2).st_ino
    k.persist.save("z", "z.txt.gz")
    assert os.stat(p2).st_ino == ino


def test_save_replaces_file_atomically_new_inode(k):
    path = k.persist.save("a", "at.txt")
    ino = os.stat(path).st_ino
    k.persist.save("b", "at.txt")
    assert os.stat(path).st_ino != ino  # renamed over, not truncated in place


def test_private_files_are_created_0600_without_chmod(k, monkeypatch):
    old_umask = os.umask(0)  # the mode must not depend on a restrictive umask
    calls = []
    monkeypatch.setattr(os, "chmod", lambda *a, **kw: calls.append(a))
    monkeypatch.setattr(os, "fchmod", lambda *a, **kw: calls.append(a))
    try:
        path = k.persist.save({"secret": "x"}, "priv/s.json", private=True)
        k.persist.save({"secret": "y"}, "priv/s.json", private=True)
    finally:
        os.umask(old_umask)
    assert calls == []
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path + "~").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_private_save_tightens_an_existing_open_file(k):
    old_umask = os.umask(0o022)
    try:
        path = k.persist.save("same", "open.txt")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        k.persist.save("same", "open.txt", private=True)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_non_private_save_keeps_a_private_files_mode(k):
    path = k.persist.save("a", "keep.txt", private=True)
    k.persist.save("b", "keep.txt")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_unsupported_extension(k):
    with pytest.raises(P.FormatError, match=r"x\.pickle.*unsupported") as ei:
        k.persist.save({}, "x.pickle")
    assert isinstance(ei.value, ValueError)
    with pytest.raises(ValueError, match="unsupported"):
        k.persist.load("x.exe.gz")


def test_unserialisable_data_changes_nothing(k):
    path = k.persist.save({"ok": 1}, "d.json")
    with pytest.raises(P.DataError, match=r"\.json.*set") as ei:
        k.persist.save({"bad": {1, 2}}, "d.json")
    assert isinstance(ei.value, TypeError)
    assert k.persist.load("d.json") == {"ok": 1}
    assert not os.path.exists(path + "~")
    with pytest.raises(P.DataError, match="bytes"):
        k.persist.save("not bytes", "d.bin")
    with pytest.raises(P.DataError, match="dict"):
        k.persist.save([1, 2], "d.toml")

    class Secretive:
        def __repr__(self):
            return "<token hunter2>"

    with pytest.raises(P.DataError, match="YAML cannot represent Secretive objects") as ei:
        k.persist.save({"x": Secretive()}, "d.yaml")
    assert "hunter2" not in str(ei.value)


def test_path_errors(k):
    d = os.path.join(k.persist.data_dir, "adir.json")
    os.makedirs(d)
    with pytest.raises(P.PathError, match="directory"):
        k.persist.save({}, "adir.json")
    k.persist.save("f", "afile.txt")
    with pytest.raises(RuntimeError, match=r"afile\.txt.*is a file"):
        k.persist.save({}, "afile.txt/sub/x.json")


def test_missing_file(k):
    with pytest.raises(FileNotFoundError) as ei:
        k.persist.load("nope.json")
    assert "nope.json" in str(ei.value)


@pytest.mark.parametrize(
    ("name", "garbage"),
    [
        ("c.json", b'{"password": "hunter2", oops'),
        ("c.yaml", b"password: hunter2\n  - : ][ hunter2"),
        ("c.toml", b"password = hunter2"),
        ("c.txt", b"hunter2 \xff\xfe"),
        ("c.json.gz", b"hunter2 not gzip"),
        ("c.json.bz2", b"BZh9hunter2 truncated"),
    ],
)
def test_corrupt_file_clear_error_nothing_lost(k, name, garbage):
    path = k.persist.save({"password": "old"} if ".txt" not in name else "old", name)
    with open(path, "wb") as f:  # simulate damage after the last save
        f.write(garbage)
    with pytest.raises(P.CorruptFileError) as ei:
        k.persist.load(name)
    err = ei.value
    assert isinstance(err, ValueError)
    assert path in str(err)
    assert "hunter2" not in str(err)  # no file content in the message
    assert err.__cause__ is None and err.__suppress_context__
    assert err.filename == path
    assert Path(path).read_bytes() == garbage  # left as it is
    assert err.backup is None
    # once there is a backup, the error points to it and it can be loaded
    k.persist.save({"password": "new"} if ".txt" not in name else "new", name)
    with open(path, "wb") as f:
        f.write(garbage)
    with pytest.raises(P.CorruptFileError) as ei2:
        k.persist.load(name)
    assert ei2.value.backup == path + "~"
    assert repr(path + "~") in str(ei2.value)


def test_backup_of_a_damaged_file_is_loadable(k):
    path = k.persist.save({"v": 1}, "r.json")
    k.persist.save({"v": 2}, "r.json")
    with open(path, "wb") as f:
        f.write(b"{broken")
    with pytest.raises(P.CorruptFileError):
        k.persist.load("r.json")
    # the backup is loadable by its own name (the trailing ~ is ignored for the format)
    assert k.persist.load("r.json~") == {"v": 1}
    assert k.persist.load(path + "~") == {"v": 1}


def test_unsaved_is_a_plain_dict_emptied_by_saving(k):
    assert k.persist.unsaved == {}
    assert type(k.persist.unsaved) is dict
    k.persist.unsaved["cfg.json"] = "edited in the UI"
    k.persist.unsaved["other"] = "something else"
    k.persist.save({"x": 1}, "cfg.json")
    assert k.persist.unsaved == {"other": "something else"}
    # the resolved path is accepted as key too
    full = os.path.join(k.persist.data_dir, "p.json")
    k.persist.unsaved[full] = "x"
    k.persist.save([], "p.json")
    assert full not in k.persist.unsaved


def test_md5_sidecar(k):
    import hashlib

    path = k.persist.save("data", "m.txt", md5=True, nolog=True)
    assert Path(path + ".md5").read_text() == hashlib.md5(b"data").hexdigest()


def test_module_functions_use_the_default_instance(default_k):
    path = P.save({"d": 1}, "def.json")
    assert path.startswith(os.path.join(default_k.vardir, "data"))
    assert P.load("def.json") == {"d": 1}
    assert P.unsaved is default_k.persist.unsaved


def test_default_vardir_is_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with Kaithem() as inst:
        assert inst.persist.data_dir == str(tmp_path / "xdg" / "kaithem" / "data")


def test_concurrent_saves_leave_one_complete_version(k):
    payloads = [{"writer": i, "blob": "x" * 5000} for i in range(16)]
    errors = []

    def writer(p):
        try:
            for _ in range(5):
                k.persist.save(p, "race.json")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert k.persist.load("race.json") in payloads
    leftovers = [f for f in os.listdir(k.persist.data_dir) if f.endswith(".tmp")]
    assert leftovers == []


def test_gz_file_readable_by_gzip(k):
    path = k.persist.save("zip me", "g.txt.gz")
    assert gzip.decompress(Path(path).read_bytes()) == b"zip me"


def test_missing_toml_writer_names_the_package(k, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tomli_w", None)  # makes the import fail
    with pytest.raises(ImportError, match="pip install tomli-w"):
        k.persist.save({"a": 1}, "w.toml")
    assert not os.path.exists(os.path.join(k.persist.data_dir, "w.toml"))
