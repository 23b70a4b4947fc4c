"""Alias of :mod:`kcore.common`, under the original's name ``kcore.common0``.

On CPython this *is* the same module object, so reading or writing a module
setting through either name has one effect (the original's star-import made
copies that silently went stale). MicroPython cannot swap modules in
``sys.modules``, so there every attribute is looked up live on kcore.common.
"""

import sys

from kcore import common as _common

if sys.implementation.name == "cpython":
    sys.modules[__name__] = _common
else:

    def __getattr__(name):
        return getattr(_common, name)
