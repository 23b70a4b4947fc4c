import pytest

from kcore import varz


@pytest.fixture
def fresh_varz():
    """An empty varz store with the default key bound, restored afterwards."""
    saved = dict(varz.VARZ), dict(varz.KINDS), varz.MAX_KEYS
    varz.reset()
    varz.set_max_keys(1000)
    yield varz
    varz.reset()
    varz.VARZ.update(saved[0])
    varz.KINDS.update(saved[1])
    varz.set_max_keys(saved[2])
