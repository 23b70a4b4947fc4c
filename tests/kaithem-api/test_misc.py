"""kaithem.misc: vardir, do, errors, lorem, effwords, uptime, version(_info), breakpoint."""

import hashlib
import itertools
import os
import subprocess
import sys
import threading

import pytest

import kcore.kaithem
import kcore.kaithem.misc as misc
from kcore.kaithem import Kaithem
from kcore.kaithem.time import LocationError

# sha256 of the EFF's eff_large_wordlist.txt (identical in PyPI's diceware and xkcdpass)
EFF_SHA256 = "addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e"


# ------------------------------------------------------------------ vardir


def test_vardir_is_the_instance_vardir(tmp_path):
    with Kaithem(vardir=str(tmp_path)) as k:
        assert k.misc.vardir == str(tmp_path)


def test_vardir_default_is_per_user(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with Kaithem() as k:
        assert k.misc.vardir == os.path.join(str(tmp_path), "kaithem")
        assert not os.path.exists(k.misc.vardir)  # nothing created by asking


def test_module_vardir_reads_default_instance(default_kai):
    assert misc.vardir == default_kai.misc.vardir


# ------------------------------------------------------------------ do


def test_do_runs_in_the_background_with_args(kai, wait_until):
    seen = []
    done = threading.Event()

    def task(a, b):
        seen.append((a + b, threading.current_thread() is threading.main_thread()))
        done.set()

    assert kai.misc.do(task, 2, 3) is None
    assert done.wait(5)
    assert seen == [(5, False)]


def test_do_errors_are_posted_on_the_bus(kai, wait_until):
    got = []
    sub = kai.message.subscribe("/system/errors/workers", lambda topic, msg: got.append(msg))

    def broken():
        raise ZeroDivisionError("boom")

    kai.misc.do(broken)
    assert wait_until(lambda: got)
    assert "boom" in repr(got[0])
    del sub


def test_do_rejects_non_callables(kai):
    with pytest.raises(TypeError, match="callable"):
        kai.misc.do(42)


def test_module_do_uses_default_instance(default_kai):
    done = threading.Event()
    misc.do(done.set)
    assert done.wait(5)


# ------------------------------------------------------------------ errors


def test_errors_returns_the_exception_or_none():
    err = misc.errors(lambda: 1 / 0)
    assert isinstance(err, ZeroDivisionError)
    assert misc.errors(lambda: None) is None

    def interrupt():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        misc.errors(interrupt)


# ------------------------------------------------------------------ lorem


def test_lorem_varies_and_looks_like_text(kai):
    texts = {kai.misc.lorem() for _ in range(30)}
    assert len(texts) > 5
    for text in texts:
        assert text[0].isupper() and text.endswith(".")
        assert 6 <= len(text.split()) <= 60


def test_lorem_from_config():
    sentences = ["The birch canoe slid on the smooth planks.", "Glue the sheet to the board."]
    with Kaithem(config={"lorem": sentences}) as k:
        assert {k.misc.lorem() for _ in range(50)} == set(sentences)
    with Kaithem(config={"lorem": "not a list"}) as k:
        with pytest.raises(TypeError, match="lorem"):
            k.misc.lorem()


def test_module_lorem(default_kai):
    assert isinstance(misc.lorem(), str)


# ------------------------------------------------------------------ effwords


def test_effwords_is_the_eff_long_list():
    words = misc.effwords
    assert len(words) == 7776
    assert words[0] == "abacus"
    assert words[-1] == "zoom"
    assert words[1:3] == ("abdomen", "abdominal")
    assert "zoology" in words and "kaithem" not in words
    assert len(set(words)) == 7776
    assert list(words) == sorted(words)
    assert all(w.replace("-", "").isalpha() and w.islower() for w in words)


def test_effwords_data_file_is_byte_identical_to_the_eff_list():
    with open(misc.EFF_WORDLIST_PATH, "rb") as f:
        data = f.read()
    assert hashlib.sha256(data).hexdigest() == EFF_SHA256
    dice = [line.split(b"\t")[0].decode() for line in data.splitlines()]
    assert dice == ["".join(p) for p in itertools.product("123456", repeat=5)]


def test_effwords_are_loaded_lazily():
    code = (
        "import kcore.kaithem.misc as m\n"
        "assert 'not loaded' in repr(m.effwords)\n"
        "assert m.effwords[1234]\n"
        "assert '7776 words' in repr(m.effwords)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_effwords_on_the_namespace(kai):
    assert kai.misc.effwords[0] == "abacus"


# ------------------------------------------------------------------ version


def test_version_is_a_value_and_a_call(kai):
    v = kai.misc.version
    assert v == kcore.kaithem.__version__
    assert v() == v
    assert isinstance(v, str) and isinstance(v(), str)
    assert misc.version.startswith("0.")


def test_version_info_is_a_value_and_a_call(kai):
    info = kai.misc.version_info
    major, minor, micro, level, serial = info
    assert (major, minor, micro) == tuple(int(x) for x in kcore.kaithem.__version__.split(".")[:3])
    assert level in ("dev", "alpha", "beta", "candidate", "final")
    assert info() == tuple(info)
    assert info() >= (0, 1)
    assert isinstance(serial, int)


# ------------------------------------------------------------------ the rest


def test_uptime_matches_time_namespace(kai):
    a = kai.misc.uptime()
    b = kai.time.uptime()
    assert 0 <= a <= b < 60


def test_module_uptime(default_kai):
    assert 0 <= misc.uptime() < 60


def test_breakpoint_prints_a_notice(capsys):
    assert misc.breakpoint() is None
    assert "breakpoint" in capsys.readouterr().err


def test_location():
    with Kaithem(location=(51.5, -0.1)) as k:
        assert k.misc.location() == (51.5, -0.1)
    with Kaithem(location=(0, 0)) as k:  # a real place, not "unset"
        assert k.misc.location() == (0.0, 0.0)
    with Kaithem() as k:
        with pytest.raises(LocationError):
            k.misc.location()


def test_datadir_holds_the_package_data():
    assert os.path.isfile(os.path.join(misc.datadir, "eff_large_wordlist.txt"))
