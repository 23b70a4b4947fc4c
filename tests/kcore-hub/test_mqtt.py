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
    ktest.wait_for(lambda: listener.on("test/tags/shared/note"), 5, what="the note on MQTT")
    payload, _retained = listener.on("test/tags/shared/note")[-1]
    assert payload["value"] == "from b" and payload["origin"] == "hub-b"
    assert payload["timestamp"] == pytest.approx(time.time(), abs=10)
    # Loop prevention: each write was published once, by its writer only. A marker
    # written on b afterwards arrives after any echo b could have sent of a's values.
    b.api.put_tag("/shared/level", 99)
    ktest.wait_for(
        lambda: (listener.last("test/tags/shared/level") or {}).get("value") == 99, 5, what="99"
    )
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
        lambda: (listener.last("test/hubs/crashy/status") or {}).get("state") == "offline",
        15,
        what="will",
    )
    assert listener.on("test/hubs/crashy/status")[-1][0]["reason"] == "connection lost"
    assert clean.terminate() == 0
    ktest.wait_for(
        lambda: (listener.last("test/hubs/tidy/status") or {}).get("state") == "offline",
        5,
        what="bye",
    )
    assert listener.on("test/hubs/tidy/status")[-1][0]["reason"] == "shutdown"


def test_bus_topics_cross_and_do_not_loop(mosquitto, make_hub, listener, mqtt_config):
    hub = make_hub(
        mqtt_config(
            mosquitto.port,
            "hub-bus",
            tags="[]",
            topics='["home/*", "states/*"]',
            more="state_machines:\n      door: {states: [shut, open], rules: "
            "[{from: shut, event: open, to: open}]}",
        )
    )
    ktest.wait_for(lambda: connected(hub.api), 10, what="connected")
    k = hub.kaithem
    k.message.post("/home/door", {"open": True})
    k.message.post("/garden/gate", "not bridged")
    k.message.post("/home/marker", 1)
    ktest.wait_for(lambda: listener.on("test/bus/home/marker"), 5, what="marker")
    assert listener.last("test/bus/home/door")["message"] == {"open": True}
    assert listener.last("test/bus/home/door")["origin"] == "hub-bus"
    assert not listener.on("test/bus/garden/gate")
    # in: a message from another machine reaches the local bus (and the state machine)
    listener.publish(
        "test/bus/states/door/event", {"message": "open", "timestamp": time.time(), "origin": "x"}
    )
    ktest.wait_for(lambda: hub.api.tag("/states/door")["value"] == "open", 5, what="event")
    # ...and is not sent back out: a later local post arrives, the echo never did
    k.message.post("/home/marker", 2)
    ktest.wait_for(lambda: len(listener.on("test/bus/home/marker")) == 2, 5, what="marker 2")
    assert [p["origin"] for p, _ in listener.on("test/bus/states/door/event")] == ["x"]
    # our own messages coming back are ignored, junk is counted and dropped
    listener.publish("test/bus/home/junk", {"no": "fields"})
    listener.client.publish("test/bus/home/bytes", b"\xff\x00", qos=1).wait_for_publish(5)
    k.message.post("/home/marker", 3)
    ktest.wait_for(lambda: len(listener.on("test/bus/home/marker")) == 3, 5, what="marker 3")
    assert hub.api.get("/healthz").text == "ok"


def test_remote_values_are_checked(mosquitto, make_hub, listener, mqtt_config):
    hub = make_hub(mqtt_config(mosquitto.port, "hub-check", extra=", max_remote_tags: 1"))
    ktest.wait_for(lambda: connected(hub.api), 10, what="connected")
    hub.api.put_tag("/shared/level", 3)
    now = time.time()
    listener.publish("test/tags/shared/level", {"value": "high", "timestamp": now, "origin": "x"})
    listener.publish("test/tags/shared/level", {"value": 5, "timestamp": now - 60, "origin": "x"})
    listener.publish("test/tags/new/one", {"value": 1, "timestamp": now, "origin": "x"})
    listener.publish("test/tags/new/two", {"value": 2, "timestamp": now, "origin": "x"})
    listener.publish("test/tags/shared/note", {"value": "ok", "timestamp": now, "origin": "x"})
    ktest.wait_for(lambda: hub.api.tag("/shared/note")["value"] == "ok", 5, what="note")
    assert hub.api.tag("/shared/level")["value"] == 3  # a string refused, an older value ignored
    assert hub.api.tag("/new/one")["value"] == 1
    assert hub.api.get("/api/tags/new/two").status_code == 404  # past max_remote_tags


def test_tls_with_client_certificates_and_a_password(make_broker, make_hub, make_listener,
                                                      mqtt_config, tmp_path):  # fmt: skip
    import shutil
    import subprocess

    (tmp_path / "certs").mkdir()
    certs = ktest.make_certs(tmp_path / "certs")
    passwd = shutil.which("mosquitto_passwd")
    assert passwd, "mosquitto_passwd is part of the mosquitto package"
    pwfile = tmp_path / "mosquitto.passwd"
    subprocess.run([passwd, "-c", "-b", str(pwfile), "hub", "s3cret pass"], check=True)
    tls_port = ktest.free_port()
    broker = make_broker(
        extra_conf="listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
        "require_certificate true\nallow_anonymous false\npassword_file %s\n"
        % (tls_port, certs["ca"], certs["server_cert"], certs["server_key"], pwfile)
    )
    listener = make_listener(broker.port)
    (tmp_path / "hub.pw").write_text("s3cret pass\n")
    (tmp_path / "hub.pw").chmod(0o600)
    tls = "{ca_file: %s, cert_file: %s, key_file: %s}" % (
        certs["ca"], certs["client_cert"], certs["client_key"],
    )  # fmt: skip
    extra = ", tls: %s, username: hub, password_file: %s" % (tls, tmp_path / "hub.pw")
    hub = make_hub(mqtt_config(tls_port, "hub-tls", extra=extra), name="tls")
    ktest.wait_for(lambda: connected(hub.api), 10, what="TLS connection")
    hub.api.put_tag("/shared/level", 7)
    ktest.wait_for(lambda: listener.last("test/tags/shared/level"), 5, what="over TLS")
    assert listener.last("test/tags/shared/level")["value"] == 7
    (tmp_path / "bad.pw").write_text("wrong\n")
    (tmp_path / "bad.pw").chmod(0o600)
    extra = ", tls: %s, username: hub, password_file: %s" % (tls, tmp_path / "bad.pw")
    refused = make_hub(mqtt_config(tls_port, "hub-bad", extra=extra), name="bad")
    ktest.wait_for(lambda: "refused" in refused.api.get("/healthz").text, 10, what="refusal")
    assert refused.api.get("/healthz").status_code == 503
    assert "s3cret" not in refused.api.get("/healthz").text + refused.api.get("/logz").text
    nocert = make_hub(
        mqtt_config(tls_port, "hub-nocert", extra=", tls: {ca_file: %s}" % certs["ca"]),
        name="nocert",
    )
    ktest.wait_for(lambda: "retrying" in nocert.api.get("/healthz").text, 10, what="no cert")
    assert nocert.api.get("/healthz").status_code == 503


def test_glob_patterns():
    from kcore.hub.mqtt import GlobSet

    every = GlobSet(["*"])
    assert every("/demo/temp") and every("demo") and not every("/system/mqtt/state")
    assert GlobSet(["system/gpio/*"])("/system/gpio/27")
    home = GlobSet(["/home/*", "ho?se/a"])
    assert home("/home/x/y") and home("/house/a") and not home("/garden/home")
    assert GlobSet(["home/*", "home/kitchen/*", "x"]).bus_patterns() == ["/x/#", "/home/#"]
    assert GlobSet(["ho*", "home/a"]).bus_patterns() == ["/#"]
    assert not GlobSet([])
