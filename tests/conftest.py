"""Settings for every test run: hypothesis is derandomized so a run is
repeatable (the same examples on every machine); set HYPOTHESIS_PROFILE=explore
locally to search with fresh random examples."""

import os

try:
    from hypothesis import settings
except ImportError:  # a distribution whose tests do not use hypothesis
    settings = None

if settings is not None:
    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
    settings.register_profile("explore", deadline=None, max_examples=1000)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
