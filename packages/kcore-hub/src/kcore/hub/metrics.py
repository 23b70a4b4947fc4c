"""``/metrics``: kcore's varz (as kcore-web exports them) plus every numeric
tag as the gauge ``kcore_hub_tag_value{tag="<name>", unit="<unit>"}``.

Each hub renders from its own prometheus_client registry, so several hubs in
one process (tests) never mix their tags.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Tuple

TAG_METRIC = "kcore_hub_tag_value"


class TagCollector:
    """A prometheus_client custom collector over a hub's numeric tags."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def describe(self) -> list:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            TAG_METRIC, "Value of each numeric tag point of the hub", labels=["tag", "unit"]
        )
        tags = self.hub.kaithem.tags
        for name in self.hub.table.names():
            tag = tags.get(name)
            if tag is None or tag.type != "number":
                continue
            value = tag.value
            if isinstance(value, (int, float)) and not math.isnan(value):
                family.add_metric([name, getattr(tag, "unit", "") or ""], float(value))
        yield family


def registry(hub: Any) -> Any:
    """The hub's registry (made on first use): varz plus its tags."""
    reg = getattr(hub, "_metrics_registry", None)
    if reg is None:
        from prometheus_client import CollectorRegistry

        from kcore.varz_prom import VarzCollector

        reg = CollectorRegistry(auto_describe=False)
        reg.register(VarzCollector())
        reg.register(TagCollector(hub))
        hub._metrics_registry = reg
    return reg


def render(hub: Any, request: Any, healthz: str) -> Tuple[bytes, str]:
    """The exposition for one scrape (text or OpenMetrics, from the Accept header)."""
    from kcore.varz_prom import render as render_varz
    from kcore.webserver_base import parse_query

    names = parse_query(request.query, multi=True).get("name[]") if request.query else None
    body, ctype = render_varz(
        accept=request.headers.get("accept"), names=names, healthz=healthz, registry=registry(hub)
    )
    return body, ctype
