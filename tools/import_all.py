"""Import every module of the given distributions: `python tools/import_all.py kcore-web`.

Run in a venv holding only those distributions (nox `isolated`, `meta`): a
module that needs something its distribution does not declare fails here.
Also checks that importing started no thread, and that `kcore` is a
namespace package spanning the installed portions.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading

import workspace


def walk(module_name: str) -> list[str]:
    mod = importlib.import_module(module_name)
    names = [module_name]
    if hasattr(mod, "__path__"):
        for info in pkgutil.walk_packages(mod.__path__, module_name + "."):
            names.append(info.name)
            importlib.import_module(info.name)
    return names


def main(argv=None) -> int:
    dists = sys.argv[1:] if argv is None else argv
    threads_before = threading.active_count()
    imported = []
    failed = []
    for d in dists:
        for top in workspace.modules(d):
            try:
                imported += walk(top)
            except Exception as e:  # report every failure, not just the first
                failed.append("%s (%s): %s: %s" % (top, d, type(e).__name__, e))
    import kcore

    if getattr(kcore, "__file__", None):
        failed.append("kcore is a regular package (%s), not a namespace" % kcore.__file__)
    if threading.active_count() != threads_before:
        failed.append(
            "importing started %d thread(s)" % (threading.active_count() - threads_before)
        )
    for f in failed:
        print("FAILED", f)
    print(
        "imported %d modules of %s; %d failure(s)" % (len(imported), ", ".join(dists), len(failed))
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
