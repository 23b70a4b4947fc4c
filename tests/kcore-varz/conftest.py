import pytest

from kcore import varz


@pytest.fixture
def store():
    """A varz store of the test's own (the global one stays untouched)."""
    return varz.Store()
