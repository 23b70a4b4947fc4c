"""kcore-hub: a small home-automation hub on kcore and the Kaithem API.

``kcore-hub`` (or ``python -m kcore.hub``) starts one with no configuration,
no root and no hardware: tag points, a simulated button, LED and NeoPixel
strip, a state machine, alerts, sun times, automation scripts, a JSON API and
the introspection pages, on a kcore web server; an MQTT broker links hubs
on several machines. See :mod:`kcore.hub.config` for the YAML file.

Importing this package starts nothing and imports nothing heavy.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["ConfigError", "Hub", "HubError", "load_config", "main", "parse_config"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: importing kcore.hub stays cheap.
    if name == "Hub":
        from kcore.hub.hub import Hub

        return Hub
    if name == "HubError":
        from kcore.hub.datadir import HubError

        return HubError
    if name in ("ConfigError", "load_config", "parse_config"):
        from kcore.hub import config

        return getattr(config, name)
    if name == "main":
        from kcore.hub.cli import main

        return main
    raise AttributeError("module 'kcore.hub' has no attribute %r" % name)
