"""kcore.common.cli: argparse helpers and get_callers_module; and every name of
the CPython-only modules is importable from kcore.common as before the split."""

import argparse
import sys

import pytest

import kcore.common as kc
from kcore.common import cli


def test_get_callers_module_levels_count_from_the_direct_caller(tmp_path, monkeypatch):
    (tmp_path / "kc_callee_mod.py").write_text(
        "from kcore.common import get_callers_module\n"
        "def who(levels=1):\n"
        "    return get_callers_module(levels)\n"
        "def who_default():\n"
        "    return get_callers_module()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import kc_callee_mod

    assert kc_callee_mod.who_default() is kc_callee_mod  # levels=1: the direct caller
    assert kc_callee_mod.who(1) is kc_callee_mod
    assert kc_callee_mod.who(2) is sys.modules[__name__]  # its caller: this test module
    assert kc_callee_mod.who(0).__name__ == cli.get_callers_module.__module__
    assert kc_callee_mod.who(10_000) is None


def test_get_initial_python_file_comment(tmp_path):
    f = tmp_path / "prog.py"
    f.write_text("#!/usr/bin/python3\n'''Usage: prog [x]\n\nDoes things.'''\nx = '''other'''\n")
    assert cli.get_initial_python_file_comment(str(f)) == "Usage: prog [x]\n\nDoes things."
    assert cli.get_initial_python_file_comment(str(tmp_path / "missing.py")) == ""
    f.write_text("no docstring here\n")
    assert cli.get_initial_python_file_comment(str(f)) == ""
    # Default: the caller's own file (this module's docstring).
    assert cli.get_initial_python_file_comment().startswith("kcore.common.cli: argparse")


def test_argparse_epilog():
    p = cli.argparse_epilog(description="demo", epilog_extra="Extra words.")
    assert isinstance(p, argparse.ArgumentParser)
    assert p.formatter_class is cli.RawFormatterWithDefaults
    assert p.epilog.startswith("kcore.common.cli: argparse")
    assert p.epilog.endswith("\nExtra words.")
    p.add_argument("--count", type=int, default=5, help="how many")
    help_text = p.format_help()
    assert "(default: 5)" in help_text
    assert "kcore.common.cli: argparse helpers" in help_text


@pytest.mark.parametrize(
    "module,names",
    [
        ("processes", ["PopenOutput", "popen", "popener"]),
        (
            "cli",
            [
                "RawFormatterWithDefaults",
                "argparse_epilog",
                "get_callers_module",
                "get_initial_python_file_comment",
            ],
        ),
        (
            "secret_values",
            ["SpecialArgError", "random_printable", "resolve_special_arg", "special_arg_resolver"],
        ),
        ("popups", ["zfatal", "zinfo", "zmsg", "zwarn"]),
        ("filelock", ["FileLock", "LockTimeout"]),
    ],
)
def test_every_name_is_importable_from_kcore_common(module, names):
    import importlib

    mod = importlib.import_module("kcore.common." + module)
    assert set(names) <= set(mod.__all__)
    for name in names:
        assert getattr(kc, name) is getattr(mod, name), name
        assert name in kc.__all__


def test_the_grab_bag_host_module_is_gone():
    with pytest.raises(ImportError):
        __import__("kcore.common.host")
    assert sys.modules.get("kcore.common.host") is None
