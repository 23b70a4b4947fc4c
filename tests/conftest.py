"""Settings for every test run: hypothesis is derandomized so a run is
repeatable (the same examples on every machine); set HYPOTHESIS_PROFILE=explore
locally to search with fresh random examples."""

import os
import sys

# tests/support/ktest.py: the helpers every test folder shares (wait_for, free_port, ...).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))

try:
    from hypothesis import settings
except ImportError:  # a distribution whose tests do not use hypothesis
    settings = None

if settings is not None:
    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
    settings.register_profile("explore", deadline=None, max_examples=1000)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# In CI (CI=true, as the workplace's runner and GitHub Actions set it), a test
# that skips because a real component is missing is a failure: `.ci/run` and
# `nox -s system` install every component, so such a skip means the real path
# went untested. Only the reasons below are skips there too: this machine
# kind cannot start containers, and the external-engine tests run only when
# DOCKER_HOST names an engine of the user's.
CI_ALLOWED_SKIPS = (
    "cannot start containers here",
    "$DOCKER_HOST is not set",
)


def pytest_runtest_makereport(item, call):
    if not os.environ.get("CI"):
        return None
    import pytest

    outcome = call.excinfo
    if outcome is None or not outcome.errisinstance(pytest.skip.Exception):
        return None
    reason = str(outcome.value)
    if any(allowed in reason for allowed in CI_ALLOWED_SKIPS):
        return None
    report = pytest.TestReport.from_item_and_call(item, call)
    report.outcome = "failed"
    report.longrepr = "skipped in CI, where every real component is installed: %s" % reason
    return report
