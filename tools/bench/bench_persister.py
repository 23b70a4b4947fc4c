"""Persister save+load of a 10 000-entry dict vs json.dump + json.load, same run.

Both sides write the same data to a file in the same directory and read it
back. The persister also does what json.dump does not: a temp file, fsync,
rename and directory fsync (crash safety), a schema check of every dataclass
field, and building the dataclass instances on load.
Goal: kcore time / (json.dump + json.load) time <= 1.5x.

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

        dc_writer = PersisterDictOfDC(dc_path, Rec)  # a long-lived writer ...
        gen_writer = Persister(gen_path)

        def kcore_dc():
            dc_writer.set_data(recs)  # ... saves; a new reader loads
            assert len(PersisterDictOfDC(dc_path, Rec).get_data()) == N

        def kcore_generic():
            gen_writer.set_data(plain)
            assert len(Persister(gen_path).get_data()) == N

        kcore_dc()
        assert PersisterDictOfDC(dc_path, Rec).get_data() == recs
        kcore_generic()
        assert Persister(gen_path).get_data() == plain

        t_ref = best(ref)
        t_dc = best(kcore_dc)
        t_gen = best(kcore_generic)

    print("%d-entry dict, save + load, best of %d" % (N, REPEAT))
    print("%-46s %9s %8s" % ("", "ms", "ratio"))
    print("%-46s %9.1f %7.2fx" % ("json.dump + json.load (reference)", t_ref * 1e3, 1.0))
    print(
        "%-46s %9.1f %7.2fx" % ("PersisterDictOfDC (dataclass values)", t_dc * 1e3, t_dc / t_ref)
    )
    print("%-46s %9.1f %7.2fx" % ("Persister (plain dict values)", t_gen * 1e3, t_gen / t_ref))
    for name, t in (("PersisterDictOfDC", t_dc), ("Persister", t_gen)):
        ratio = t / t_ref
        print(
            "%s vs json.dump+json.load: %.2fx (goal <= 1.5x): %s"
            % (name, ratio, "MET" if ratio <= 1.5 else "NOT MET")
        )


if __name__ == "__main__":
    main()
