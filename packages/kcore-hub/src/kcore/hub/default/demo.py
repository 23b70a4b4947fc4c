"""The demo's automation: a simulated temperature sensor, and the button
toggling the porch light (the `porch` state machine in hub.yaml).

A script runs with `kaithem` (the hub's Kaithem object) and `hub` (its state
machines and devices). What it subscribes, schedules or claims through
`kaithem` is released when the file changes and the hub reloads it.
"""

import math
import time
from typing import Any

from kcore.hub.script import hub, kaithem

temperature = kaithem.tags["/demo/temperature"]
button = kaithem.tags["/system/gpio/17"]
PERIOD = 600.0  # seconds for one swing of the simulated temperature


def read_sensor() -> None:
    """A slow swing between 18 and 26 degC, like a greenhouse over a day."""
    temperature.value = round(22 + 4 * math.sin(2 * math.pi * time.time() / PERIOD), 2)
    kaithem.events.after(5, read_sensor)


def on_button(value: float, timestamp: float, annotation: Any) -> None:
    if value:
        hub.machines["porch"].event("press")


read_sensor()
button.subscribe(on_button)
