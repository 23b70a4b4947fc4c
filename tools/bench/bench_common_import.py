#!/usr/bin/env python3
"""Import cost of ``kcore.common`` on CPython, against stdlib ``logging``.

Every kcore program starts with ``import kcore.common``, so it must stay cheap:
the goal is <= 15 ms cumulative, with none of requests / ssl / urllib3 /
socket / typing pulled in at import time. Each figure is the median of fresh
``python -X importtime -c "import X"`` subprocesses (first run discarded: it
writes the .pyc files, into a private PYTHONPYCACHEPREFIX), runs of both
modules interleaved so machine noise hits both alike. Installed wheels have
.pyc files, so that is the main figure; the cost without them is shown too.

    python tools/bench/bench_common_import.py [--runs 9] [--python PATH]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tools/
import cpy_modules  # noqa: E402

GOAL_US = 15000
HEAVY = ("requests", "ssl", "urllib3", "socket", "typing")
REFERENCE = "logging"


def parse_importtime(stderr):
    """[(level, self_us, cumulative_us, module)] in the order printed."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cum_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue  # the header line
        name = parts[2].rstrip()
        stripped = name.lstrip(" ")
        rows.append(((len(name) - len(stripped)) // 2, self_us, cum_us, stripped))
    return rows


def subtree(rows, module):
    """(cumulative µs of ``module``, {name: self µs} of it and what it imported).
    importtime prints children before their parent, one indent level deeper."""
    for i, (level, self_us, cum, name) in enumerate(rows):
        if name == module:
            names = {name: self_us}
            j = i - 1
            while j >= 0 and rows[j][0] > level:
                names[rows[j][3]] = rows[j][1]
                j -= 1
            return cum, names
    return None, {}


def measure(python, module, env):
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", "import %s" % module],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if proc.returncode != 0:
        raise SystemExit("bench: `import %s` failed:\n%s" % (module, proc.stderr[-2000:]))
    cum, names = subtree(parse_importtime(proc.stderr), module)
    if cum is None:
        raise SystemExit(
            "bench: %s not in the -X importtime trace (already imported at startup?)" % module
        )
    return cum, names


def environment(python, root):
    """An env in which ``python`` can import kcore.common: as installed, or from the tree."""
    env = dict(os.environ)
    probe = subprocess.run([python, "-c", "import kcore.common"], capture_output=True, env=env)
    if probe.returncode == 0:
        return env, "installed"
    srcs = [
        cpy_modules.src_dir(root, d)
        for d in cpy_modules.dists(root)
        if os.path.isdir(cpy_modules.src_dir(root, d))
    ]
    env["PYTHONPATH"] = os.pathsep.join([*srcs, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env, "from packages/*/src via PYTHONPATH"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="measured runs per module (>= 7)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    args = parser.parse_args(argv)
    runs = max(7, args.runs)
    root = cpy_modules.find_root(HERE)
    env, how = environment(args.python, root)
    # Installed wheels come with .pyc files (pip compiles them), so measure with a
    # bytecode cache: a private one, so neither the tree nor the stdlib is touched.
    cache = tempfile.mkdtemp(prefix="bench-pyc-")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache
    cold_env = dict(
        env, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=os.path.join(cache, "never-written")
    )
    try:
        measure(args.python, "kcore.common", env)  # warm-up: writes the .pyc files
        measure(args.python, REFERENCE, env)
        ours, ref, cold = [], [], []
        selfs: dict = {}
        for _ in range(runs):
            cum, names = measure(args.python, "kcore.common", env)
            ours.append(cum)
            for name, us in names.items():
                selfs.setdefault(name, []).append(us)
            ref.append(measure(args.python, REFERENCE, env)[0])
            cold.append(measure(args.python, "kcore.common", cold_env)[0])
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    imported = set(selfs) - {"kcore.common"}

    med, ref_med = statistics.median(ours), statistics.median(ref)
    heavy = sorted(n for n in imported if n.split(".")[0] in HEAVY)
    kcore_mods = sorted(n for n in imported if n.startswith("kcore."))
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(
        "bench_common_import: CPython %s, kcore.common %s, %d runs each (median)"
        % (version, how, runs)
    )
    print(
        "  import kcore.common   cumulative %8.0f us  (min %d, max %d)"
        % (med, min(ours), max(ours))
    )
    print(
        "  import %-14s cumulative %8.0f us  (min %d, max %d)  [reference]"
        % (REFERENCE, ref_med, min(ref), max(ref))
    )
    print("  ratio kcore.common / %s = %.2f" % (REFERENCE, med / ref_med if ref_med else 0))
    print(
        "  without .pyc (compiled from source each time): %.0f us median" % statistics.median(cold)
    )
    print(
        "  goal <= %d us: %s (%.0f%% of goal)"
        % (GOAL_US, "met" if med <= GOAL_US else "MISSED", 100.0 * med / GOAL_US)
    )
    print("  kcore modules loaded: %s" % (", ".join(kcore_mods) or "-"))
    top = sorted(selfs, key=lambda n: -statistics.median(selfs[n]))[:6]
    print(
        "  largest self times: %s"
        % ", ".join("%s %.0f us" % (n, statistics.median(selfs[n])) for n in top)
    )
    print(
        "  heavy modules (%s) in the trace: %s"
        % ("/".join(HEAVY), ", ".join(heavy) if heavy else "none")
    )
    others = sorted(n for n in imported if not n.startswith("kcore"))
    print("  non-kcore modules it pulled in: %d (%s)" % (len(others), ", ".join(others) or "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
