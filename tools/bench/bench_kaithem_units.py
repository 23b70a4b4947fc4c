"""Benchmark kcore.kaithem.units against pint, both measured in the same run.

    python tools/bench/bench_kaithem_units.py [--seconds 1.0] [--imports 21]

1. Conversion throughput: the fast table (``Kaithem().units.convert``, the
   module-level ``units.convert`` and a bare ``UnitTable.convert``) against
   pint doing what the original did for every call outside its table:
   ``ureg.Quantity(v, fr).to(to).magnitude`` (a new Quantity per call).
   Pairs: a linear one (psi -> Pa), an offset one (degC -> degF), a prefixed
   one (kft -> in) and a log one (dBm -> W). Goal: >= 40x pint.
2. Import cost of ``kcore.kaithem.units`` in fresh interpreters (median of
   ``--imports`` runs), checking that pint is not imported. Bytecode is
   cached first in a temporary PYTHONPYCACHEPREFIX (as an installed wheel
   would have it) since this machine may set PYTHONDONTWRITEBYTECODE; the
   uncached figure is printed too. Shown for the whole import (package
   ``kcore.kaithem`` included) and for the units module alone (package
   already imported). Goal: <= 5 ms. Reference: ``import pint`` alone.

Figures are printed, never asserted.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PAIRS = [(14.7, "psi", "Pa"), (21.5, "degC", "degF"), (1.5, "kft", "in"), (3.0, "dBm", "W")]


def rate(fn, seconds):
    """Calls per second of ``fn(v, fr, to)`` over PAIRS, best of 3 rounds."""
    best = 0.0
    for _ in range(3):
        n = 0
        deadline = time.perf_counter() + seconds / 3
        start = time.perf_counter()
        while True:
            for v, fr, to in PAIRS:
                fn(v, fr, to)
                fn(v, fr, to)
                fn(v, fr, to)
                fn(v, fr, to)
            n += 4 * len(PAIRS)
            if time.perf_counter() >= deadline:
                break
        best = max(best, n / (time.perf_counter() - start))
    return best


def import_ms(statement, runs, cached):
    env = dict(os.environ)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="kcore-bench-pyc-")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    pre, _, target = statement.partition(";")
    if not target:
        pre, target = "", statement
    code = (
        "import sys, time\n%s\n"
        "t = time.perf_counter()\n%s\n"
        "dt = (time.perf_counter() - t) * 1000\n"
        "print(dt, 'pint' in sys.modules)\n" % (pre, target.strip())
    )
    if cached:
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    times, pint_seen = [], False
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        )
        ms, seen = out.stdout.split()
        times.append(float(ms))
        pint_seen = pint_seen or seen == "True"
    return statistics.median(times), pint_seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per throughput figure")
    ap.add_argument("--imports", type=int, default=21, help="fresh interpreters per import figure")
    args = ap.parse_args()

    import pint

    import kcore.kaithem.units as units
    from kcore.kaithem import Kaithem

    k = Kaithem()
    ureg = pint.UnitRegistry()

    def pint_convert(v, fr, to):
        return ureg.Quantity(v, fr).to(to).magnitude

    for v, fr, to in PAIRS:  # same answers, and warm-up
        a, b = k.units.convert(v, fr, to), pint_convert(v, fr, to)
        assert abs(a - b) <= 1e-9 * abs(b), (fr, to, a, b)

    print("== conversion throughput (pairs: %s)" % ", ".join("%s->%s" % p[1:] for p in PAIRS))
    ref = rate(pint_convert, args.seconds)
    print("pint Quantity(v, fr).to(to)      %12.0f conv/s  (reference)" % ref)
    for label, fn in (
        ("Kaithem().units.convert", k.units.convert),
        ("units.convert (default instance)", units.convert),
        ("UnitTable().convert", units.UnitTable().convert),
    ):
        r = rate(fn, args.seconds)
        print("%-32s %12.0f conv/s  %6.1fx pint  (goal >= 40x)" % (label, r, r / ref))

    print("\n== import cost, median of %d fresh interpreters" % args.imports)
    cases = (
        ("import kcore.kaithem.units (whole)", "import kcore.kaithem.units"),
        ("package kcore.kaithem alone", "import kcore.kaithem"),
        ("units module alone (pkg imported)", "import kcore.kaithem; import kcore.kaithem.units"),
        ("typing (stdlib, for scale)", "import typing"),
        ("import pint (reference)", "import pint"),
    )
    for cached in (True, False):
        print("-- bytecode %s" % ("cached (installed wheel)" if cached else "NOT cached"))
        figures = {}
        for label, stmt in cases:
            ms, pint_seen = import_ms(stmt, args.imports, cached)
            figures[stmt] = ms
            note = ""
            if "units" in stmt:
                note = "  pint imported: %s  (goal <= 5 ms)" % ("YES" if pint_seen else "no")
            print("%-36s %8.2f ms%s" % (label, ms, note))
        whole = figures["import kcore.kaithem.units"]
        print(
            "(import pint alone costs %.0fx the whole units import)"
            % (figures["import pint"] / whole)
        )
    k.close()


if __name__ == "__main__":
    main()
