"""The layering check: the tree passes, and each kind of planted back edge is caught."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import check_layering
import workspace


def test_tree_has_no_layering_problem():
    assert check_layering.problems() == []


def _copy_repo(root, dest):
    shutil.copytree(root / "tools", dest / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", dest / "pyproject.toml")
    for d in workspace.dists():
        shutil.copytree(
            workspace.dist_path(d),
            dest / "packages" / d,
            ignore=shutil.ignore_patterns("__pycache__"),
        )


def _plant(dest, dist, relpath, source):
    path = dest / "packages" / dist / "src" / relpath
    path.write_text(textwrap.dedent(source))
    return path


def _check(dest):
    r = subprocess.run(
        [sys.executable, "tools/check_layering.py"],
        cwd=dest,
        capture_output=True,
        text=True,
        check=False,
    )
    return r.returncode, r.stdout


def test_a_lazy_back_edge_is_caught_with_file_and_line(root, tmp_path):
    _copy_repo(root, tmp_path)
    _plant(
        tmp_path,
        "kcore-common",
        "kcore/common/planted.py",
        """
        def later():
            import kcore.webserver

            return kcore.webserver
        """,
    )
    code, out = _check(tmp_path)
    assert code == 1
    assert (
        "packages/kcore-common/src/kcore/common/planted.py:3: kcore-common imports "
        "kcore.webserver" in out
    )
    assert "imports between distributions form a cycle" in out


def test_imports_by_name_are_edges(root, tmp_path):
    _copy_repo(root, tmp_path)
    _plant(
        tmp_path,
        "kcore-varz",
        "kcore/varz/planted.py",
        """
        import importlib
        import importlib.util
        import sys


        def a():
            return importlib.import_module("kcore.auth")


        def b(name):
            return __import__("kcore.settings." + name)


        def c():
            return importlib.util.find_spec("kcore.docker_lib") is not None


        def d():
            return sys.modules.get("kcore.uncommon")


        def e(name):
            return importlib.import_module(name)


        def f(name):
            return importlib.import_module(name)  # layering: user-named


        def g(name):
            return importlib.import_module("kcore." + name)
        """,
    )
    code, out = _check(tmp_path)
    assert code == 1
    where = "packages/kcore-varz/src/kcore/varz/planted.py"
    assert "%s:8: kcore-varz imports kcore.auth" % where in out
    assert "%s:12: kcore-varz imports kcore.settings" % where in out
    assert "%s:16: kcore-varz imports kcore.docker_lib" % where in out
    assert "%s:20: kcore-varz imports kcore.uncommon" % where in out
    assert "%s:24: import_module(...) with a name the check cannot read" % where in out
    assert "%s:28:" % where not in out
    assert "%s:32: import_module(...) with a name the check cannot read" % where in out


def test_relative_and_from_kcore_imports_resolve(root, tmp_path):
    _copy_repo(root, tmp_path)
    _plant(
        tmp_path,
        "kcore-varz",
        "kcore/varz/planted.py",
        """
        from .. import webserver_base
        from kcore import auth
        from . import __name__ as own
        """,
    )
    code, out = _check(tmp_path)
    where = "packages/kcore-varz/src/kcore/varz/planted.py"
    assert code == 1
    assert "%s:2: kcore-varz imports kcore.webserver_base" % where in out
    assert "%s:3: kcore-varz imports kcore.auth" % where in out
    assert "%s:4:" % where not in out


def test_a_declared_cycle_is_caught(root, tmp_path):
    _copy_repo(root, tmp_path)
    pyproject = tmp_path / "packages" / "kcore-common" / "pyproject.toml"
    text = pyproject.read_text()
    assert "dependencies = [" in text
    pyproject.write_text(
        text.replace(
            "dependencies = [", 'dependencies = ["kcore-varz==%s", ' % workspace.version(), 1
        )
    )
    code, out = _check(tmp_path)
    assert code == 1
    assert "declared dependencies form a cycle: kcore-common -> kcore-varz -> kcore-common" in out


def test_imports_inside_a_distribution_and_declared_ones_pass(root, tmp_path):
    _copy_repo(root, tmp_path)
    before = check_layering.problems(tmp_path)
    _plant(
        tmp_path,
        "kcore-web",
        "kcore/webserver/planted.py",
        """
        import importlib

        from kcore import varz
        from kcore.common import log_info


        def later():
            return importlib.import_module("kcore.webserver_base")
        """,
    )
    assert check_layering.problems(tmp_path) == before


def test_pre_commit_runs_ruff_and_the_layering_check(root):
    import yaml

    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: (repo["repo"], h) for repo in config["repos"] for h in repo["hooks"]}
    assert hooks["ruff"][0].endswith("ruff-pre-commit")
    assert "ruff-format" in hooks
    layering = hooks["kcore-layering"][1]
    assert layering["entry"] == "python tools/check_layering.py"
    assert (root / "tools" / "check_layering.py").is_file()
