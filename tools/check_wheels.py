"""Open every built wheel and check what it ships: `python tools/check_wheels.py dist`.

A wheel must not contain `kcore/__init__.py` (it would break the shared
namespace for every other distribution), must ship only its own modules
(those in its only-include list) plus its .dist-info, must carry py.typed in
each of its packages, and must match the workspace version.
Exit 1 with one line per problem.
"""

from __future__ import annotations

import pathlib
import sys
import zipfile

import workspace


def wheel_for(dist_dir: pathlib.Path, dist: str) -> pathlib.Path | None:
    found = sorted(dist_dir.glob("%s-*.whl" % dist.replace("-", "_")))
    return found[-1] if found else None


def check_wheel(path: pathlib.Path, dist: str) -> list[str]:
    out = []
    version = workspace.version()
    if "-%s-" % version not in path.name:
        out.append("%s: not version %s" % (path.name, version))
    own = [m.replace(".", "/") for m in workspace.modules(dist)]
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    for name in names:
        if name.split("/")[0].endswith(".dist-info"):
            continue
        if name == "kcore/__init__.py" or name.startswith("kcore/__init__."):
            out.append("%s: ships %s, which breaks the kcore namespace" % (path.name, name))
            continue
        if not any(name == m + ".py" or name.startswith(m + "/") for m in own):
            out.append("%s: ships %s, which is not one of its modules %s" % (path.name, name, own))
    for m in own:
        if any(n.startswith(m + "/") for n in names) and m + "/py.typed" not in names:
            out.append("%s: package %s has no py.typed" % (path.name, m))
        if not any(n == m + ".py" or n.startswith(m + "/") for n in names):
            out.append("%s: module %s is missing" % (path.name, m))
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    dist_dir = pathlib.Path(argv[0] if argv else "dist")
    problems = []
    for d in workspace.dists():
        path = wheel_for(dist_dir, d)
        if path is None:
            problems.append("%s: no wheel in %s" % (d, dist_dir))
            continue
        problems += check_wheel(path, d)
    for p in problems:
        print(p)
    print("wheels: %d checked, %d problem(s)" % (len(workspace.dists()), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
