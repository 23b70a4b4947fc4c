"""What kcore.gpio and kcore.neo share: their error root, the one
``BackendUnavailable`` error, and Raspberry Pi detection.

Private to kcore-hw: use these names through ``kcore.gpio`` or ``kcore.neo``
(``gpio.BackendUnavailable is neo.BackendUnavailable``).

This file runs unchanged on CircuitPython/MicroPython and CPython 3.9+.
"""

from kcore.common.platform import KcoreError, error_class


class HwError(KcoreError):
    """Root of the errors kcore.gpio and kcore.neo raise."""


BackendUnavailable = error_class(
    "BackendUnavailable",
    ImportError,
    HwError,
    "The library a back end needs is missing; the message names what to install.",
    module=__name__,
)


def is_raspberry_pi() -> bool:
    """True on a Raspberry Pi (its device tree says so); False on boards and other machines."""
    try:
        with open("/proc/device-tree/model", "rb") as f:
            return b"Raspberry Pi" in f.read()
    except OSError:
        return False
