"""``python -m kcore.settings`` is the ``k_settings`` command."""

import sys

from kcore.settings.cli import main

if __name__ == "__main__":
    sys.exit(main())
