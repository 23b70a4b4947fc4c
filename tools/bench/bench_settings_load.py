"""Settings load of a 30-key YAML file: kcore.settings vs yaml.safe_load, same run.

kcore.settings reads YAML with PyYAML's C loader (``yaml.CSafeLoader``) when
PyYAML was built with libyaml, so a full load (parse, register 30 settings,
resolve every value) should not be slower than a bare ``yaml.safe_load``.
Goal: speed factor (safe_load time / kcore time) >= 1.0x.

Run: python tools/bench/bench_settings_load.py
"""

import os
import tempfile
import timeit

import yaml

from kcore.settings import Settings

REPEAT = 7


def make_yaml(path):
    lines = ["# 30 settings, a realistic mix"]
    for i in range(10):
        lines.append("host_%d: host-%d.example.org" % (i, i))
        lines.append("port_%d: %d" % (i, 8000 + i))
        lines.append("tags_%d: [alpha, beta, gamma-%d]" % (i, i))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def best_per_call(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=REPEAT)) / number


def main():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.yaml")
        make_yaml(path)

        def ref():
            with open(path) as f:
                return yaml.safe_load(f)

        def c_loader():
            with open(path) as f:
                return yaml.load(f, Loader=yaml.CSafeLoader)

        def kcore_load():
            return Settings(path)

        def kcore_load_and_get_all():
            return Settings(path).get_dict()

        expected = ref()
        got = kcore_load_and_get_all()
        assert {k: got[k] for k in expected} == expected
        assert len(expected) == 30

        number = 200
        t_ref = best_per_call(ref, number)
        rows = [("yaml.safe_load (reference)", t_ref)]
        if hasattr(yaml, "CSafeLoader"):
            rows.append(("yaml.load(CSafeLoader)", best_per_call(c_loader, number)))
        rows.append(("kcore Settings(file)", best_per_call(kcore_load, number)))
        rows.append(
            ("kcore Settings(file).get_dict()", best_per_call(kcore_load_and_get_all, number))
        )

    print("PyYAML %s, C loader (libyaml): %s" % (yaml.__version__, hasattr(yaml, "CSafeLoader")))
    print("%-34s %10s %10s" % ("30-key YAML settings file", "us/load", "speed"))
    for name, t in rows:
        print("%-34s %10.1f %9.2fx" % (name, t * 1e6, t_ref / t))
    factor = t_ref / rows[-1][1]
    print(
        "kcore full load (parse + resolve all 30) vs yaml.safe_load: %.2fx as fast "
        "(goal >= 1.0x): %s" % (factor, "MET" if factor >= 1.0 else "NOT MET")
    )


if __name__ == "__main__":
    main()
