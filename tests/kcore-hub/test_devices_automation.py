"""Simulated devices, state machines and alerts, driven through tags and the API."""

from __future__ import annotations

import ktest
import pytest

from kcore.hub import Hub, load_config
from kcore.hub.devices import parse_colors

DEVICES = """
hardware: {gpio: simulation, button: 17, led: 27, neopixels: {count: 4, backend: headless}}
tags:
  /system/gpio/27: {public: true}
state_machines:
  lamp:
    start: dark
    states:
      dark: {tags: {/system/gpio/27: 0, /system/neopixels: ["#000000"]}}
      lit: {tags: {/system/gpio/27: 1, /system/neopixels: ["#ff8000"]}}
    rules:
      - {from: dark, event: toggle, to: lit}
      - {from: lit, event: toggle, to: dark}
    timers:
      - {state: lit, seconds: 0.3, to: dark}
"""


def press(hub, hold=True):
    assert hub.api.put_tag("/sim/gpio/17", 1).status_code == 200
    if not hold:
        assert hub.api.put_tag("/sim/gpio/17", 0).status_code == 200


def test_the_default_demo_button_lights_the_led(tmp_path, client):
    """The embedded configuration and its demo script, as `kcore-hub` runs them."""
    hub = Hub(load_config(), str(tmp_path / "data"), api_token_file=str(tmp_path / "tok"),
              out=lambda s: None)  # fmt: skip
    try:
        hub.start(port=0)
        api = client(hub.url, hub.api_token)
        assert api.tag("/states/porch")["value"] == "off"
        assert api.get("/api/devices").json()["led"]["lit"] is False
        api.put_tag("/sim/gpio/17", 1)
        ktest.wait_for(lambda: api.get("/api/devices").json()["led"]["lit"], 2, what="LED on")
        assert api.tag("/system/gpio/17")["value"] == 1
        assert api.tag("/states/porch")["value"] == "on"
        assert set(api.get("/api/devices").json()["neopixels"]) == {"#ffb060"}
        api.put_tag("/sim/gpio/17", 0)
        ktest.wait_for(lambda: api.tag("/system/gpio/17")["value"] == 0, 2, what="release")
        assert api.tag("/demo/temperature")["timestamp"] is not None  # the simulated sensor
        assert [s["status"] for s in api.get("/api/scripts").json()] == ["loaded"]
    finally:
        hub.stop()


def test_button_release_and_led_follow_tags(make_hub):
    hub = make_hub(DEVICES)
    assert hub.api.get("/api/devices").json()["simulated"] is True
    press(hub)
    ktest.wait_for(lambda: hub.api.tag("/system/gpio/17")["value"] == 1, 2, what="press")
    assert hub.api.put_tag("/system/gpio/17", 0).status_code == 403  # the button is an input
    hub.api.put_tag("/sim/gpio/17", 0)
    ktest.wait_for(lambda: hub.api.tag("/system/gpio/17")["value"] == 0, 2, what="release")
    assert hub.devices.button.stats["presses"] == 1
    hub.api.put_tag("/system/gpio/27", 1)
    assert hub.api.get("/api/devices").json()["led"]["lit"] is True
    hub.api.put_tag("/system/gpio/27", 0.2)
    assert hub.api.get("/api/devices").json()["led"]["lit"] is False


def test_strip_values(make_hub):
    hub = make_hub(DEVICES)
    r = hub.api.put_tag("/system/neopixels", ["#ff0000", "#00ff00"])
    assert r.status_code == 200
    assert hub.api.get("/api/devices").json()["neopixels"] == [
        "#ff0000", "#00ff00", "#000000", "#000000",
    ]  # fmt: skip
    for bad in ("red", ["#12345"], ["#ff0000"] * 5, 7):
        r = hub.api.put_tag("/system/neopixels", bad)
        assert r.status_code == 400, bad
    assert hub.api.get("/api/devices").json()["neopixels"][0] == "#ff0000"
    with pytest.raises(ValueError, match="4 pixels"):
        parse_colors(["#000000"] * 5, 4)


def test_machine_events_timers_and_entry_writes(make_hub):
    hub = make_hub(DEVICES)
    assert hub.api.tag("/states/lamp")["value"] == "dark"
    hub.kaithem.message.post("/states/lamp/event", "toggle")
    ktest.wait_for(lambda: hub.api.get("/api/devices").json()["led"]["lit"], 2, what="lit")
    assert set(hub.api.get("/api/devices").json()["neopixels"]) == {"#ff8000"}
    # the 0.3 s timer takes it back
    ktest.wait_for(lambda: hub.api.tag("/states/lamp")["value"] == "dark", 3, what="timer")
    assert hub.api.get("/api/devices").json()["led"]["lit"] is False
    assert hub.api.put_tag("/states/lamp", "lit").status_code == 403


def test_alert_trips_and_clears_with_its_tag(make_hub):
    hub = make_hub(
        """
        tags:
          /tank/level: {default: 50, unit: percent}
        alerts:
          low: {tag: /tank/level, below: 10, priority: critical, description: refill}
          high: {tag: /tank/level, above: 90}
        """
    )
    alerts = hub.kaithem.alerts
    assert alerts.level() == "none"
    hub.api.put_tag("/tank/level", 5)
    ktest.wait_for(lambda: alerts.get("low").state == "active", 2, what="active alert")
    assert alerts.level() == "critical"
    assert "/tank/level = 5 percent" in alerts.get("low").trip_message
    hub.api.put_tag("/tank/level", 95)
    ktest.wait_for(lambda: alerts.get("high").state == "active", 2, what="high alert")
    assert alerts.get("low").state == "cleared"
    hub.api.put_tag("/tank/level", 50)
    assert alerts.get("high").state == "cleared"
    page = hub.guest.get("/status", auth=False).text
    assert "high" in page and "cleared" in page


def test_state_survives_a_restart(make_hub):
    config = DEVICES.replace(
        "tags:\n", "tags:\n  /kept: {default: 1}\n  /fleeting: {default: 1, persist: false}\n"
    )
    hub = make_hub(config, name="restart")
    hub.api.put_tag("/kept", 42)
    hub.api.put_tag("/fleeting", 42)
    hub.kaithem.message.post("/states/lamp/event", "toggle", synchronous=True)
    stamp = hub.api.tag("/kept")["timestamp"]
    hub.stop()
    again = make_hub(config, name="restart")
    assert again.api.tag("/kept") == {
        **hub.table.describe("/kept"),
        "value": 42.0,
        "timestamp": stamp,
    }
    assert again.api.tag("/fleeting")["value"] == 1
    assert again.api.tag("/states/lamp")["value"] == "lit"


def test_damaged_state_file_is_kept_aside(make_hub, tmp_path):
    data = tmp_path / "damaged" / "data"
    data.mkdir(parents=True)
    (data / "state.json").write_text("{not json")
    hub = make_hub(DEVICES, name="damaged")
    assert (data / "state.json.damaged").read_text() == "{not json"
    assert hub.api.tag("/states/lamp")["value"] == "dark"
