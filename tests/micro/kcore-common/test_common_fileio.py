"""Portable tests of kcore.common.fileio (pytest on CPython, and the
micropython binary)."""

import os

from mtest import raises, rm, tmpfile

from kcore.common import fileio


def _tmp_leftovers(path):
    directory, base = fileio._split_path(path)
    names = os.listdir(directory or ".")
    return [n for n in names if n.startswith("." + base + ".") and n.endswith(".tmp")]


def test_write_and_read_file():
    path = tmpfile("rw.txt")
    try:
        assert fileio.write_file(path, "a\n\n  b \n") is True
        assert fileio.read_file(path) == "a\n\n  b \n"
        assert fileio.read_file(path, list_of_lines=True) == ["a", "", "  b ", ""]
        assert fileio.read_file(path, list_of_lines=True, strip=True) == ["a", "b"]
        assert fileio.read_file(path, strip=True) == "a\n\n  b"
        assert fileio.write_file(path, b"\x00\xff") is True
        with open(path, "rb") as f:
            assert f.read() == b"\x00\xff"
    finally:
        rm(path)


def test_errors_return_false_and_are_kept():
    path = tmpfile("missing")
    assert fileio.read_file(path) is False
    err = fileio.last_error()
    assert isinstance(err, OSError) and err.errno == 2
    raises(OSError, fileio.read_file, path, wrap_exceptions=False)
    assert fileio.write_file(path + "/x/y", "x") is False


def test_atomic_write_replaces_and_cleans_up():
    path = tmpfile("atomic.txt")
    try:
        assert fileio.write_file_atomic(path, "first") is True
        assert fileio.write_file_atomic(path, "second", mode=0o600) is True
        assert fileio.read_file(path) == "second"
        assert _tmp_leftovers(path) == []
    finally:
        rm(path)


def test_atomic_write_failure_keeps_old_content():
    path = tmpfile("keep.txt")
    try:
        fileio.write_file_atomic(path, "old")
        raises(TypeError, fileio.write_file_atomic, path, 12345)
        assert fileio.write_file_atomic(path + "/no/such/dir", "x", wrap_exceptions=True) is False
        assert fileio.read_file(path) == "old"
        assert _tmp_leftovers(path) == []
    finally:
        rm(path)


def test_containers():
    assert fileio.dict_to_list_of_pairs({"b": 1, "a": 2}) == [["a", 2], ["b", 1]]
    rows = [[1, "x"], [2, None]]
    assert fileio.list_to_csv(rows) == "1, x\n2, None\n"
    assert fileio.list_to_csv([]) == ""
    assert fileio.list_to_csv([[1], []], ";", "|") == "1||"
    assert rows == [[1, "x"], [2, None]]
    assert fileio.str_in_substring_list("haystack", ["zz", "st"]) is True
    assert fileio.str_in_substring_list("haystack", ["zz"]) is False
