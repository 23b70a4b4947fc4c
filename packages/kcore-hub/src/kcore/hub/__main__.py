"""``python -m kcore.hub``: the same as the ``kcore-hub`` command."""

import sys

if __name__ == "__main__":
    from kcore.hub.cli import main

    sys.exit(main())
