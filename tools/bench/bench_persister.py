"""Persister save+load of a 10 000-entry dict vs json.dump + json.load, same run.

Both sides write the same data to a file in the same directory and read it
back. The persister also does what json.dump does not: a temp file, fsync,
rename and directory fsync (crash safety), a schema check of every dataclass
field, and building the dataclass instances on load. Both file formats are
measured: ``repr`` (the default, the original kcore's text) and ``json``.
Goal: kcore time / (json.dump + json.load) time <= 1.5x for each.

Run: python tools/bench/bench_persister.py
"""

import dataclasses
import json
import os
import tempfile
import time
from dataclasses import dataclass

from kcore.persister import Persister, PersisterDictOfDC

N = 10_000
REPEAT = 7


@dataclass
class Rec:
    name: str
    count: int
    ratio: float
    on: bool


def best(fn):
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    recs = {"key%05d" % i: Rec("name-%d" % i, i, i / 7.0, i % 2 == 0) for i in range(N)}
    plain = {k: dataclasses.asdict(v) for k, v in recs.items()}
    with tempfile.TemporaryDirectory() as d:
        ref_path = os.path.join(d, "ref.json")
        dc_path = os.path.join(d, "dc.data")
        gen_path = os.path.join(d, "generic.data")

        def ref():
            with open(ref_path, "w") as f:
                json.dump(plain, f)
            with open(ref_path) as f:
                assert len(json.load(f)) == N

        def dc_case(fmt):
            writer = PersisterDictOfDC(dc_path, Rec, file_format=fmt)  # a long-lived writer ...

            def run():
                writer.set_data(recs)  # ... saves; a new reader loads
                assert len(PersisterDictOfDC(dc_path, Rec).get_data()) == N

            run()
            assert PersisterDictOfDC(dc_path, Rec).get_data() == recs
            return run

        def generic_case(fmt):
            writer = Persister(gen_path, file_format=fmt)

            def run():
                writer.set_data(plain)
                assert len(Persister(gen_path).get_data()) == N

            run()
            assert Persister(gen_path).get_data() == plain
            return run

        cases = []
        for fmt in ("repr", "json"):
            cases.append(("PersisterDictOfDC, %s (dataclass values)" % fmt, dc_case(fmt)))
            cases.append(("Persister, %s (plain dict values)" % fmt, generic_case(fmt)))
        t_ref = best(ref)
        times = [(name, best(run)) for name, run in cases]

    print("%d-entry dict, save + load, best of %d" % (N, REPEAT))
    print("%-46s %9s %8s" % ("", "ms", "ratio"))
    print("%-46s %9.1f %7.2fx" % ("json.dump + json.load (reference)", t_ref * 1e3, 1.0))
    for name, t in times:
        print("%-46s %9.1f %7.2fx" % (name, t * 1e3, t / t_ref))
    for name, t in times:
        ratio = t / t_ref
        print(
            "%s vs json.dump+json.load: %.2fx (goal <= 1.5x): %s"
            % (name, ratio, "MET" if ratio <= 1.5 else "NOT MET")
        )


if __name__ == "__main__":
    main()
