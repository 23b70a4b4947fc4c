"""Hubs across machines through a real mosquitto broker on loopback: tags and bus
messages cross, nothing loops back, retained values survive a broker restart and
the hubs reconnect by themselves, the will and the clean offline notice."""

from __future__ import annotations

import signal
import time

import ktest
import pytest


@pytest.fixture
def listener(mosquitto, make_listener):
    return make_listener(mosquitto.port)


def wait_value(api, name, value, timeout=5.0):
    return ktest.wait_for(
        lambda: api.tag(name)["value"] == value, timeout, 0.002, "%s = %r" % (name, value)
    )


def connected(api):
    return api.get("/healthz").text == "ok"


def test_tags_cross_between_two_hub_processes(mosquitto, hub_process, listener, mqtt_config):
    a = hub_process(mqtt_config(mosquitto.port, "hub-a"), name="a")
    b = hub_process(mqtt_config(mosquitto.port, "hub-b"), name="b")
    for hub in (a, b):
        ktest.wait_for(lambda hub=hub: connected(hub.api), 10, what="connected")
        assert hub.api.tag("/system/mqtt/connected")["value"] == 1
    took = []
    for i in range(1, 11):
        start = time.monotonic()
        assert a.api.put_tag("/shared/level", i).status_code == 200
        wait_value(b.api, "/shared/level", i)
        took.append(time.monotonic() - start)
    took.sort()
    assert took[len(took) // 2] < 0.2, took  # the median write shows on the other hub in 200 ms
    b.api.put_tag("/shared/note", "from b")
    wait_value(a.api, "/shared/note", "from b")
    payload, retained = listener.on("test/tags/shared/note")[-1]
    assert payload["value"] == "from b" and payload["origin"] == "hub-b"
    assert payload["timestamp"] == pytest.approx(time.time(), abs=10)
    # Loop prevention: each write was published once, by its writer only. A marker
    # written on b afterwards arrives after any echo b could have sent of a's values.
    b.api.put_tag("/shared/level", 99)
    ktest.wait_for(lambda: listener.on("test/tags/shared/level")[-1:] and
                   listener.on("test/tags/shared/level")[-1][0]["value"] == 99, 5)  # fmt: skip
    origins = [p["origin"] for p, _ in listener.on("test/tags/shared/level")]
    assert origins == ["hub-a"] * 10 + ["hub-b"], origins
    # a's system tags are its own: "*" does not bridge /system/...
    assert not [t for t, _, _ in listener.messages if t.startswith("test/tags/system/")]


def test_broker_restart_loses_nothing_and_hubs_resume(
    mosquitto, make_broker, hub_process, make_listener, mqtt_config
):
    a = hub_process(mqtt_config(mosquitto.port, "hub-a"), name="a")
    b = hub_process(mqtt_config(mosquitto.port, "hub-b"), name="b")
    for hub in (a, b):
        ktest.wait_for(lambda hub=hub: connected(hub.api), 10, what="connected")
    a.api.put_tag("/shared/level", 42)
    wait_value(b.api, "/shared/level", 42)
    mosquitto.stop(signal.SIGKILL)
    for hub in (a, b):
        ktest.wait_for(lambda hub=hub: hub.api.get("/healthz").status_code == 503, 15)
        assert "mqtt:" in hub.api.get("/healthz").text
        assert hub.api.tag("/system/mqtt/connected")["value"] == 0
    assert a.api.put_tag("/shared/note", "written while the broker was down").status_code == 200
    make_broker(port=mosquitto.port)  # same directory, same store: retained values kept
    for hub in (a, b):
        ktest.wait_for(lambda hub=hub: connected(hub.api), 20, what="reconnected")
    wait_value(b.api, "/shared/note", "written while the broker was down", timeout=10)
    fresh = make_listener(mosquitto.port)
    ktest.wait_for(lambda: fresh.on("test/tags/shared/level"), 5, what="retained")
    payload, retained = fresh.on("test/tags/shared/level")[0]
    assert (payload["value"], payload["origin"], retained) == (42, "hub-a", True)
    ktest.wait_for(lambda: fresh.on("test/tags/shared/note"), 5, what="retained note")


def test_will_on_crash_and_offline_notice_on_sigterm(
    mosquitto, hub_process, listener, mqtt_config
):
    crash = hub_process(mqtt_config(mosquitto.port, "crashy"), name="crashy")
    clean = hub_process(mqtt_config(mosquitto.port, "tidy"), name="tidy")
    for hub in (crash, clean):
        ktest.wait_for(lambda hub=hub: connected(hub.api), 10, what="connected")
    ktest.wait_for(lambda: listener.on("test/hubs/crashy/status"), 5, what="online")
    assert listener.on("test/hubs/crashy/status")[-1][0]["state"] == "online"
    crash.stop(signal.SIGKILL)
    ktest.wait_for(
        lambda: listener.on("test/hubs/crashy/status")[-1][0]["state"] == "offline",
        15,
        what="will",
    )
    assert listener.on("test/hubs/crashy/status")[-1][0]["reason"] == "connection lost"
    assert clean.terminate() == 0
    ktest.wait_for(
        lambda: listener.on("test/hubs/tidy/status")[-1][0]["state"] == "offline", 5, what="bye"
    )
    assert listener.on("test/hubs/tidy/status")[-1][0]["reason"] == "shutdown"
