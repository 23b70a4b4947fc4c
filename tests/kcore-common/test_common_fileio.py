"""kcore.common.fileio: read/write helpers, the atomic writer (0600 at
creation, old content kept on failure), console helpers and containers."""

import importlib
import io
import os
import stat
import sys
import types

import pytest

import kcore.common.logger as klog
from kcore.common import fileio

platform = importlib.import_module("kcore.common.platform")


def leftovers(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


@pytest.fixture
def default_log():
    klog.reset_log()
    yield klog.default_logger()
    klog.reset_log()


# ------------------------------------------------------------------ reading


def test_read_file_variants(tmp_path):
    p = tmp_path / "r.txt"
    p.write_bytes("a\n\n  b  \n   \nü\n".encode())
    assert fileio.read_file(str(p)) == "a\n\n  b  \n   \nü\n"
    assert fileio.read_file(str(p), strip=True) == "a\n\n  b  \n   \nü"
    assert fileio.read_file(str(p), list_of_lines=True) == ["a", "", "  b  ", "   ", "ü", ""]
    # '' lines dropped first, then stripped: whitespace-only lines survive as ''
    assert fileio.read_file(str(p), list_of_lines=True, strip=True) == ["a", "b", "", "ü"]


def test_read_file_board_branch_opens_without_encoding(tmp_path, monkeypatch):
    """MicroPython's open() is UTF-8 already and takes no encoding argument."""
    p = tmp_path / "b.txt"
    p.write_text("board")
    seen = []
    real_open = open

    def board_open(path, mode="r", **kwargs):
        seen.append(kwargs)
        return real_open(path, mode)

    monkeypatch.setattr(platform, "CPYTHON", False)
    monkeypatch.setattr("builtins.open", board_open)
    assert fileio.read_file(str(p)) == "board"
    assert seen == [{}]


def test_read_file_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("x\ny\n"))
    assert fileio.read_file("-", list_of_lines=True) == ["x", "y", ""]


def test_read_file_error_false_kept_and_logged(tmp_path, default_log):
    missing = str(tmp_path / "missing.txt")
    assert fileio.read_file(missing) is False
    err = fileio.last_error()
    assert isinstance(err, OSError) and err.errno == 2
    assert "read_file: cannot read %s: FileNotFoundError errno 2" % missing in klog.last_logs()
    with pytest.raises(OSError):
        fileio.read_file(missing, wrap_exceptions=False)


def test_read_file_bad_utf8_is_an_error(tmp_path):
    p = tmp_path / "bin"
    p.write_bytes(b"\xff\xfe")
    assert fileio.read_file(str(p)) is False
    assert isinstance(fileio.last_error(), UnicodeDecodeError)


def test_error_log_never_contains_file_data(tmp_path, default_log):
    p = tmp_path / "secret.txt"
    p.write_bytes(b"password=hunter2\xff")
    assert fileio.read_file(str(p)) is False
    assert "hunter2" not in klog.last_logs()
    assert "UnicodeDecodeError" in klog.last_logs()


# ------------------------------------------------------------------ writing


def test_write_file_str_bytes_and_errors(tmp_path):
    p = tmp_path / "w.txt"
    assert fileio.write_file(str(p), "héllo") is True
    assert p.read_bytes() == "héllo".encode()
    assert fileio.write_file(str(p), b"\x00\xff") is True
    assert p.read_bytes() == b"\x00\xff"
    assert fileio.write_file(str(tmp_path / "no" / "x"), "x") is False
    assert isinstance(fileio.last_error(), OSError)
    assert fileio.write_file(str(p), 12) is False
    assert isinstance(fileio.last_error(), TypeError)
    with pytest.raises(TypeError, match="str or bytes"):
        fileio.write_file(str(p), 12, wrap_exceptions=False)


def test_write_file_dash_goes_to_stdout(capsysbinary):
    assert fileio.write_file("-", "to stdout") is True
    assert fileio.write_file_atomic("-", b"raw") is True
    assert capsysbinary.readouterr().out == b"to stdoutraw"


def test_write_file_dash_without_buffer(monkeypatch):
    out = io.StringIO()  # a board-like stdout: text only, no .buffer
    monkeypatch.setattr(sys, "stdout", out)
    assert fileio.write_file("-", b"bytes ok") is True
    assert out.getvalue() == "bytes ok"


# ----------------------------------------------------------- atomic writes


def test_atomic_write_creates_with_mode_0600(tmp_path, monkeypatch):
    opened = []
    real_open = os.open

    def spy_open(path, flags, mode=0o777, *a, **kw):
        opened.append((path, flags, mode))
        return real_open(path, flags, mode, *a, **kw)

    def no_chmod(*a, **kw):
        raise AssertionError("chmod after writing")

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(os, "fchmod", no_chmod, raising=False)
    target = tmp_path / "secret"
    old_umask = os.umask(0o022)
    try:
        assert fileio.write_file_atomic(str(target), "s3cret", mode=0o600) is True
    finally:
        os.umask(old_umask)
    assert target.read_text() == "s3cret"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    tmp_open = [o for o in opened if o[0].endswith(".tmp")]
    assert len(tmp_open) == 1
    path, flags, mode = tmp_open[0]
    assert mode == 0o600
    assert flags & os.O_CREAT and flags & os.O_EXCL and flags & os.O_WRONLY
    assert os.path.dirname(path) == str(tmp_path)  # same directory as the target
    assert leftovers(tmp_path) == []


def test_atomic_write_keeps_existing_mode_and_default_for_new(tmp_path):
    old_umask = os.umask(0o022)
    try:
        p = tmp_path / "keep"
        p.write_text("old")
        os.chmod(p, 0o600)
        fileio.write_file_atomic(str(p), "new")
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        q = tmp_path / "fresh"
        fileio.write_file_atomic(str(q), b"\x00bin")
        assert stat.S_IMODE(os.stat(q).st_mode) == 0o644  # 0o666 less the umask
        assert q.read_bytes() == b"\x00bin"
    finally:
        os.umask(old_umask)


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace"])
def test_failed_atomic_write_leaves_old_content(tmp_path, monkeypatch, fail_at):
    p = tmp_path / "precious"
    p.write_text("old content")

    def boom(*a, **kw):
        raise OSError(28, "No space left on device")

    if fail_at == "write":
        real_write = os.write

        def partial_then_fail(fd, data):
            if len(data) > 4:
                return real_write(fd, bytes(data[:4]))  # a short write first
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "write", partial_then_fail)
    else:
        monkeypatch.setattr(os, fail_at, boom)
    with pytest.raises(OSError):
        fileio.write_file_atomic(str(p), "new content that is long")
    assert p.read_text() == "old content"
    assert leftovers(tmp_path) == []
    assert fileio.write_file_atomic(str(p), "x", wrap_exceptions=True) is False
    assert isinstance(fileio.last_error(), OSError)
    assert p.read_text() == "old content"


def test_atomic_write_handles_short_writes(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    p = tmp_path / "short"
    fileio.write_file_atomic(str(p), "0123456789" * 10)
    assert p.read_text() == "0123456789" * 10


def test_atomic_write_retries_on_temp_name_collision(tmp_path, monkeypatch):
    tokens = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(fileio, "_token", lambda: next(tokens))
    (tmp_path / ".t.aaaa.tmp").write_text("someone else's")
    fileio.write_file_atomic(str(tmp_path / "t"), "mine")
    assert (tmp_path / "t").read_text() == "mine"
    assert (tmp_path / ".t.aaaa.tmp").read_text() == "someone else's"  # untouched


def test_atomic_write_fsyncs_file_and_directory(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    fileio.write_file_atomic(str(tmp_path / "d"), "x")
    assert synced == [False, True]


def test_atomic_write_through_symlink_keeps_link(tmp_path):
    real = tmp_path / "real.conf"
    real.write_text("old")
    link = tmp_path / "link.conf"
    link.symlink_to(real)
    fileio.write_file_atomic(str(link), "new")
    assert link.is_symlink()
    assert real.read_text() == "new"


def test_atomic_write_bad_arguments():
    with pytest.raises(ValueError, match="filename"):
        fileio.write_file_atomic("", "x")
    with pytest.raises(ValueError, match="mode"):
        fileio.write_file_atomic("x", "x", mode="600")
    with pytest.raises(TypeError):
        fileio.write_file_atomic("x", 1.5)


def test_atomic_write_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fileio.write_file_atomic("rel.txt", "r")
    assert (tmp_path / "rel.txt").read_text() == "r"
    assert fileio._split_path("a/b/c") == ("a/b/", "c")
    assert fileio._split_path("c") == ("", "c")


def _board_os(tmp_path, rename_over_existing):
    """A fake `os` like CircuitPython's: no open/fsync/replace/realpath."""
    calls = []

    def rename(a, b):
        calls.append(("rename", os.path.basename(a), os.path.basename(b)))
        if not rename_over_existing and os.path.exists(b):
            raise OSError(17, "EEXIST")  # FAT refuses to rename over a file
        os.rename(a, b)

    def remove(p):
        calls.append(("remove", os.path.basename(p)))
        os.remove(p)

    def sync():
        calls.append(("sync",))

    fake = types.SimpleNamespace(
        stat=os.stat, rename=rename, remove=remove, sync=sync, urandom=os.urandom, sep="/"
    )
    return fake, calls


@pytest.mark.parametrize("rename_over_existing", [True, False])
def test_atomic_write_board_branch(tmp_path, monkeypatch, rename_over_existing):
    fake, calls = _board_os(tmp_path, rename_over_existing)
    monkeypatch.setattr(fileio, "os", fake)
    monkeypatch.setattr(platform, "CPYTHON", False)
    p = tmp_path / "code.txt"
    p.write_text("old")
    assert fileio.write_file_atomic(str(p), "new") is True
    assert p.read_text() == "new"
    assert ("sync",) in calls
    if rename_over_existing:
        assert [c[0] for c in calls] == ["sync", "rename"]
    else:
        assert [c[0] for c in calls] == ["sync", "rename", "remove", "rename"]
    assert leftovers(tmp_path) == []
    # a new file on a board
    assert fileio.write_file_atomic(str(tmp_path / "new.txt"), b"b") is True
    assert (tmp_path / "new.txt").read_bytes() == b"b"


def test_atomic_write_board_branch_failure_cleans_up(tmp_path, monkeypatch):
    fake, _calls = _board_os(tmp_path, True)

    def bad_rename(a, b):
        raise OSError(5, "EIO")

    fake.rename = bad_rename
    monkeypatch.setattr(fileio, "os", fake)
    monkeypatch.setattr(platform, "CPYTHON", False)
    p = tmp_path / "keep.txt"
    p.write_text("old")
    assert fileio.write_file_atomic(str(p), "new", wrap_exceptions=True) is False
    assert p.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_atomic_write_board_branch_lost_target_keeps_temp(tmp_path, monkeypatch):
    fake, _calls = _board_os(tmp_path, False)  # FAT: EEXIST when renaming over a file
    real_rename = fake.rename
    state = {"n": 0}

    def rename_fails_twice(a, b):
        state["n"] += 1
        if state["n"] == 2:
            raise OSError(5, "EIO")
        real_rename(a, b)

    fake.rename = rename_fails_twice
    monkeypatch.setattr(fileio, "os", fake)
    monkeypatch.setattr(platform, "CPYTHON", False)
    p = tmp_path / "cfg.txt"
    p.write_text("old")
    with pytest.raises(OSError, match="new content kept in"):
        fileio.write_file_atomic(str(p), "new")
    kept = leftovers(tmp_path)
    assert len(kept) == 1 and (tmp_path / kept[0]).read_text() == "new"


def test_board_temp_name_collision_and_exhaustion(tmp_path, monkeypatch):
    fake, _calls = _board_os(tmp_path, True)
    monkeypatch.setattr(fileio, "os", fake)
    monkeypatch.setattr(platform, "CPYTHON", False)
    (tmp_path / ".c.tok.tmp").write_text("taken")
    monkeypatch.setattr(fileio, "_token", lambda: "tok")
    with pytest.raises(OSError, match="unique temp file"):
        fileio.write_file_atomic(str(tmp_path / "c"), "x")
    assert not (tmp_path / "c").exists()
    assert (tmp_path / ".c.tok.tmp").read_text() == "taken"


def test_directory_fsync_failures_are_ignored(tmp_path, monkeypatch):
    real_open, real_fsync = os.open, os.fsync

    def fsync_refuses_dirs(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(22, "EINVAL")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_refuses_dirs)
    fileio.write_file_atomic(str(tmp_path / "a"), "1")

    def open_refuses_dirs(path, flags, mode=0o777):
        if flags == os.O_RDONLY:
            raise OSError(13, "EACCES")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_refuses_dirs)
    fileio.write_file_atomic(str(tmp_path / "b"), "2")
    assert (tmp_path / "a").read_text() == "1" and (tmp_path / "b").read_text() == "2"


def test_split_path_with_other_separator(monkeypatch):
    monkeypatch.setattr(fileio.os, "sep", "\\")
    assert fileio._split_path("C:\\dir\\f.txt") == ("C:\\dir\\", "f.txt")


def test_token_without_urandom(monkeypatch):
    fake = types.SimpleNamespace()  # no urandom: falls back to the clock
    monkeypatch.setattr(fileio, "os", fake)
    tok = fileio._token()
    assert tok and all(ch in "0123456789abcdef" for ch in tok)


# ------------------------------------------------------------------ console


def test_console_helpers(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("  answer  \n"))
    assert fileio.get_input("Q? ") == "answer"
    fileio.raw_print("no newline")
    fileio.raw_print(42)
    fileio.stderr("to stderr")
    out = capsys.readouterr()
    assert out.out == "Q? no newline42"
    assert out.err == "to stderr\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(EOFError):
        fileio.get_input()


# --------------------------------------------------------------- containers


def test_dict_to_list_of_pairs():
    assert fileio.dict_to_list_of_pairs({"b": 2, "a": 1}) == [["a", 1], ["b", 2]]
    mixed = fileio.dict_to_list_of_pairs({1: "x", "a": "y"})  # sorted by repr
    assert mixed == [["a", "y"], [1, "x"]]
    assert fileio.dict_to_list_of_pairs({}) == []


def test_list_to_csv_does_not_mutate():
    rows = [[1, "a", None], [2.5, "b", True]]
    copy = [list(r) for r in rows]
    assert fileio.list_to_csv(rows) == "1, a, None\n2.5, b, True\n"  # every row ended
    assert rows == copy and rows[0][0] == 1  # not replaced by '1'
    assert fileio.list_to_csv(rows, field_sep=";", line_sep="|") == "1;a;None|2.5;b;True|"
    assert fileio.list_to_csv([(1, 2)]) == "1, 2\n"
    assert fileio.list_to_csv([]) == ""


def test_str_in_substring_list():
    assert fileio.str_in_substring_list("hello world", ["xyz", "lo w"]) is True
    assert fileio.str_in_substring_list("hello", ["xyz"]) is False
    assert fileio.str_in_substring_list("hello", []) is False
