"""The shared `kcore` namespace stays a PEP 420 namespace, in the tree and in every wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import check_wheels
import workspace


def test_no_kcore_init_in_any_source_tree(root):
    strays = sorted(
        str(p.relative_to(root)) for p in root.glob("packages/*/src/kcore/__init__.py*")
    )
    assert strays == []


def test_no_directory_named_kcore_where_it_would_shadow(root):
    # ./kcore (pytest puts the cwd on sys.path) or tests/**/kcore (rootdir-based
    # test imports) would shadow the namespace. packages/kcore, the meta
    # distribution's folder, is never on sys.path.
    bad = [p for p in [root / "kcore", *(root / "tests").rglob("kcore")] if p.is_dir()]
    assert bad == []


def test_no_wheel_ships_kcore_init_or_foreign_files(built_wheels):
    problems = []
    for d in workspace.dists():
        wheel = check_wheels.wheel_for(built_wheels, d)
        assert wheel is not None, d
        problems += check_wheels.check_wheel(wheel, d)
        with zipfile.ZipFile(wheel) as z:
            assert "kcore/__init__.py" not in z.namelist()
    assert problems == []


def test_check_wheels_catches_a_stray_init(tmp_path, built_wheels):
    wheel = check_wheels.wheel_for(built_wheels, "kcore-common")
    bad = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("kcore/__init__.py", "")
    found = check_wheels.check_wheel(bad, "kcore-common")
    assert any("breaks the kcore namespace" in p for p in found)


def test_namespace_spans_path_entries(tmp_path):
    """A probe module in another folder on PYTHONPATH joins the installed kcore namespace."""
    probe = tmp_path / "kcore" / "zz_probe"
    probe.mkdir(parents=True)
    (probe / "__init__.py").write_text("VALUE = 42\n")
    code = (
        "import kcore.common, kcore.zz_probe, kcore\n"
        "assert kcore.zz_probe.VALUE == 42\n"
        "assert getattr(kcore, '__file__', None) is None\n"
        "print(len(list(kcore.__path__)))\n"
    )
    env_path = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout.strip()) >= 2
