"""Lockstep versions: the checker passes on the tree, catches drift, and the bump tool works."""

from __future__ import annotations

import shutil
import subprocess
import sys

import check_versions
import workspace


def test_tree_is_consistent():
    assert check_versions.problems() == []


def test_every_code_dist_reports_the_workspace_version():
    for d in workspace.code_dists():
        assert check_versions.declared_version(d) == workspace.version(), d


def _copy_repo(root, dest):
    shutil.copytree(root / "tools", dest / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", dest / "pyproject.toml")
    for d in workspace.dists():
        src = workspace.dist_path(d)
        shutil.copytree(src, dest / "packages" / d, ignore=shutil.ignore_patterns("__pycache__"))


def _run(dest, *args):
    return subprocess.run(
        [sys.executable, *args], cwd=dest, capture_output=True, text=True, check=False
    )


def test_bump_version_rewrites_everything(root, tmp_path):
    _copy_repo(root, tmp_path)
    r = _run(tmp_path, "tools/bump_version.py", "7.8.9")
    assert r.returncode == 0, r.stderr
    r = _run(tmp_path, "tools/check_versions.py")
    assert r.returncode == 0, r.stdout
    assert "at 7.8.9, 0 problem(s)" in r.stdout
    init = (tmp_path / "packages/kcore-common/src/kcore/common/__init__.py").read_text()
    assert '__version__ = "7.8.9"' in init
    meta = (tmp_path / "packages/kcore/pyproject.toml").read_text()
    assert 'version = "7.8.9"' in meta and "kcore-common==7.8.9" in meta


def test_check_versions_catches_a_drifted_pin(root, tmp_path):
    _copy_repo(root, tmp_path)
    meta = tmp_path / "packages/kcore/pyproject.toml"
    meta.write_text(
        meta.read_text().replace(
            'dependencies = ["kcore-common==', 'dependencies = ["kcore-common==9'
        )
    )
    r = _run(tmp_path, "tools/check_versions.py")
    assert r.returncode == 1
    assert "not pinned" in r.stdout


def test_bump_version_rejects_garbage(root, tmp_path):
    _copy_repo(root, tmp_path)
    r = _run(tmp_path, "tools/bump_version.py", "not-a-version")
    assert r.returncode == 2
    assert "not a release version" in r.stderr
