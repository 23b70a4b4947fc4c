"""Lets the portable tests `import hwfakes` under pytest, as MICROPYPATH does under MicroPython."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
