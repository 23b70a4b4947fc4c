"""kaithem.globals: free attributes, one namespace per Kaithem instance."""

import threading

import pytest

import kcore.kaithem.globals as kglobals
from kcore.kaithem import Kaithem


def test_any_attribute_can_be_set_and_read(kai):
    g = kai.globals
    g.counter = 1
    g.counter += 1
    g.kaithem = "user value"  # no reserved names
    g.Namespace = 3
    assert (g.counter, g.kaithem, g.Namespace) == (2, "user value", 3)
    assert kai.globals is g
    del g.counter
    with pytest.raises(AttributeError):
        g.counter  # noqa: B018


def test_globals_are_per_instance():
    with Kaithem() as a, Kaithem() as b:
        a.globals.shared = "a"
        assert not hasattr(b.globals, "shared")


def test_starts_empty_and_repr_lists_names(kai):
    assert vars(kai.globals) == {}
    assert "empty" in repr(kai.globals)
    kai.globals.zeta = 1
    kai.globals.alpha = 2
    assert "alpha, zeta" in repr(kai.globals)


def test_module_reads_default_instance(default_kai):
    default_kai.globals.answer = 42
    assert kglobals.answer == 42
    with pytest.raises(AttributeError):
        kglobals.no_such_thing  # noqa: B018
    with pytest.raises(AttributeError):
        kglobals.__wrapped__  # noqa: B018 - dunders never reach the instance


def test_concurrent_writers_lose_nothing(kai):
    def work(i):
        for j in range(200):
            setattr(kai.globals, "t%d_%d" % (i, j), j)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(vars(kai.globals)) == 8 * 200
