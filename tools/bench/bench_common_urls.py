"""Pure-Python URL quoting (kcore.common.urls.py_*) vs urllib.parse, same run.

Decides which implementation kcore.common.urls uses on CPython: the public
names use urllib.parse only where it is faster on this mix of realistic
inputs. Run: python tools/bench/bench_common_urls.py
"""

import timeit
import urllib.parse as up

from kcore.common import urls

SAMPLES = [
    "abc",
    "12345",
    "path/to/file.txt",
    "hello world",
    "a@b.com",
    "x=1&y=2?z#frag",
    "Grüße aus Köln",
    "hello world/é and some more text?x=1&y=2",
]
QUOTED = [up.quote_plus(s) for s in SAMPLES] + ["plainstring", "%zz%4"]

CASES = [
    ("quote", up.quote, urls.py_quote, SAMPLES),
    ("quote_plus", up.quote_plus, urls.py_quote_plus, SAMPLES),
    ("unquote", up.unquote, urls.py_unquote, QUOTED),
    ("unquote_plus", up.unquote_plus, urls.py_unquote_plus, QUOTED),
]


def per_call_ns(fn, inputs, number=5000, repeat=7):
    def run():
        for s in inputs:
            fn(s)

    best = min(timeit.repeat(run, number=number, repeat=repeat))
    return best / number / len(inputs) * 1e9


def main():
    print("%-14s %12s %12s %8s  %s" % ("function", "urllib ns", "pure ns", "ratio", "faster"))
    for name, ref, pure, inputs in CASES:
        for s in inputs:
            assert ref(s) == pure(s), (name, s)
        t_ref = per_call_ns(ref, inputs)
        t_pure = per_call_ns(pure, inputs)
        print(
            "%-14s %12.0f %12.0f %7.2fx  %s"
            % (name, t_ref, t_pure, t_pure / t_ref, "pure" if t_pure < t_ref else "urllib")
        )
    print(
        "public names now bound to:",
        {n: getattr(urls, n).__module__ for n in ("quote", "quote_plus", "unquote")},
    )


if __name__ == "__main__":
    main()
