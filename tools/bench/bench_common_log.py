"""Cost of a suppressed kcore log call vs a suppressed stdlib logging call.

Both are measured in the same run: ``log_debug('x')`` with the kcore logger
configured so DEBUG is below every threshold, against
``logging.getLogger('x').debug('x')`` with that logger at WARNING. Also
shows ``log('x', DEBUG)`` and an isolated ``Logger`` instance. Goal: the
kcore/stdlib ratio is <= 1.

Run: python tools/bench/bench_common_log.py [--number N] [--repeat R]
"""

import argparse
import logging
import sys
import tempfile
import timeit

import kcore.common.logger as klog


def ns_per_call(fn, args, number, repeat):
    """Best-of-``repeat`` ns per ``fn(*args)``; the call is timed directly
    (no wrapper lambda), so the figures are the calls' own cost."""
    arglist = ", ".join("a%d" % i for i in range(len(args)))
    env = {"f": fn}
    env.update({"a%d" % i: a for i, a in enumerate(args)})
    timer = timeit.Timer("f(%s)" % arglist, globals=env)
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--number", type=int, default=1_000_000, help="calls per repetition")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions (best is kept)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        # kcore: default thresholds after init_log -> minimum INFO; DEBUG is suppressed.
        klog.init_log("bench", logfile=tmp + "/bench.log")
        std = logging.getLogger("x")
        std.setLevel(logging.WARNING)
        assert klog.log_debug("x") is None
        assert not std.isEnabledFor(logging.DEBUG)
        isolated = klog.Logger()
        isolated.init_log("iso", logfile=None)
        cases = [
            ("stdlib logging.getLogger('x').debug('x')", std.debug, ("x",)),
            ("kcore log_debug('x')", klog.log_debug, ("x",)),
            ("kcore log('x', DEBUG)", klog.log, ("x", klog.DEBUG)),
            ("kcore Logger().log_debug('x')", isolated.log_debug, ("x",)),
            ("stdlib again (drift check)", std.debug, ("x",)),
        ]
        rows = [(label, ns_per_call(fn, a, args.number, args.repeat)) for label, fn, a in cases]
        klog.close_log()
        absorbed = klog.log_stats()["log-absorbed"]

    ref = min(rows[0][1], rows[-1][1])
    print(
        "python %s, %d calls x %d repeats (best)"
        % (sys.version.split()[0], args.number, args.repeat)
    )
    for label, ns in rows:
        print("%-44s %7.1f ns/call   ratio vs stdlib %.2fx" % (label, ns, ns / ref))
    print("kcore absorbed counter: %d" % absorbed)
    ratio = rows[1][1] / ref
    print("RESULT suppressed log_debug / stdlib suppressed debug = %.2fx (goal <= 1.00x)" % ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
