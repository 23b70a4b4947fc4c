"""The original's name for :mod:`kcore.common`: see
:func:`kcore.common.platform.alias_module`."""

from kcore import common as _target
from kcore.common.platform import alias_module

__getattr__ = alias_module(__name__, _target)
