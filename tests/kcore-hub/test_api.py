"""The JSON API, the status page and the introspection pages of an in-process hub."""

from __future__ import annotations

import json
import time

import ktest
import pytest

from kcore.webserver import Request

CONFIG = """
hardware: {gpio: simulation}
tags:
  /pub/temp: {default: 20.5, unit: degC, min: 0, max: 50, public: true}
  /priv/code: {default: 1234}
  /pub/note: {default: "<script>alert(1)</script>", public: true}
  /ro/status: {default: 1, writable: false, public: true}
  /obj/list: {default: [1, 2]}
"""


@pytest.fixture
def hub(make_hub):
    return make_hub(CONFIG)


def names(resp):
    return [t["name"] for t in resp.json()]


def test_list_and_get_follow_read_permissions(hub):
    guest = hub.guest.get("/api/tags", auth=False)
    assert guest.status_code == 200
    assert guest.headers["Content-Type"] == "application/json"
    assert "/pub/temp" in names(guest) and "/priv/code" not in names(guest)
    full = hub.api.get("/api/tags")
    assert {"/pub/temp", "/priv/code", "/obj/list"} <= set(names(full))
    t = hub.guest.get("/api/tags/pub/temp", auth=False).json()
    assert t == {
        "name": "/pub/temp",
        "value": 20.5,
        "unit": "degC",
        "timestamp": None,
        "type": "number",
    }
    r = hub.guest.get("/api/tags/priv/code", auth=False)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert hub.api.tag("/priv/code")["value"] == 1234
    assert hub.api.get("/api/tags/no/such").status_code == 404
    assert hub.api.get("/api/tags/%25bad").status_code == 404


def test_put_writes_and_stamps_the_wall_clock(hub):
    before = time.time()
    r = hub.api.put_tag("/pub/temp", 22.25)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["value"] == 22.25 and before <= t["timestamp"] <= time.time()
    assert hub.kaithem.tags["/pub/temp"].value == 22.25
    assert hub.api.put_tag("/pub/temp", 99).json()["value"] == 50  # max clamps on read
    assert hub.api.put_tag("/obj/list", {"a": [1]}).json()["value"] == {"a": [1]}


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ('{"value": 1}', {}, 415),  # no JSON content type
        ("{not json", {"Content-Type": "application/json"}, 400),
        ('{"value": NaN}', {"Content-Type": "application/json"}, 400),
        ('{"value": 1, "extra": 2}', {"Content-Type": "application/json"}, 400),
        ('{"value": "warm"}', {"Content-Type": "application/json"}, 400),
        ('{"value": "%s"}' % ("x" * 20000), {"Content-Type": "application/json"}, 413),
    ],
)
def test_bad_writes_are_refused_and_change_nothing(hub, body, headers, status):
    headers = {**headers, "Authorization": "Bearer " + hub.api_token}
    r = hub.api.session.put(hub.url + "api/tags/pub/temp", data=body, headers=headers, timeout=5)
    assert r.status_code == status, r.text
    assert "error" in r.json()
    assert hub.kaithem.tags["/pub/temp"].value == 20.5


def test_who_may_write(hub):
    assert hub.guest.put_tag("/pub/temp", 1, auth=False).status_code == 401
    wrong = hub.api.session.put(
        hub.url + "api/tags/pub/temp",
        data='{"value": 1}',
        headers={"Content-Type": "application/json", "Authorization": "Bearer nope"},
        timeout=5,
    )
    assert wrong.status_code == 401 and wrong.json() == {"error": "wrong API token"}
    basic = hub.api.session.get(
        hub.url + "api/tags", headers={"Authorization": "Basic YTpi"}, timeout=5
    )
    assert basic.status_code == 401  # a credential that is not ours is never a guest
    assert hub.api.put_tag("/ro/status", 0).status_code == 403
    assert hub.api.get("/api/tags/pub/temp", auth=True).status_code == 200
    r = hub.api.session.delete(hub.url + "api/tags/pub/temp", timeout=5)
    assert r.status_code == 405 and "PUT" in r.headers["Allow"]
    assert hub.kaithem.tags["/pub/temp"].value == 20.5


def test_without_a_token_file_nothing_can_write(make_hub, tmp_path):
    hub = make_hub(CONFIG, name="notoken", api_token_file=None)
    assert hub.api_token is None
    r = hub.guest.session.put(
        hub.url + "api/tags/pub/temp",
        data='{"value": 1}',
        headers={"Content-Type": "application/json", "Authorization": "Bearer anything"},
        timeout=5,
    )
    assert r.status_code == 401


def test_status_page_escapes_and_hides_private_tags(hub):
    r = hub.guest.get("/status", auth=False)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<script>" not in r.text
    assert "/pub/temp" in r.text and "/priv/code" not in r.text
    assert "20.5 degC" in r.text


def test_healthz_and_metrics(hub):
    assert hub.guest.get("/healthz", auth=False).text == "ok"
    hub.api.put_tag("/pub/temp", 23.5)
    metrics = hub.guest.get("/metrics", auth=False).text  # loopback: allowed
    assert 'kcore_hub_tag_value{tag="/pub/temp",unit="degC"} 23.5' in metrics
    assert 'kcore_hub_tag_value{tag="/priv/code",unit=""} 1234.0' in metrics
    assert "healthz_status" in metrics


def _request(path, address, headers=None):
    return Request("GET", path, headers=headers or [], remote_address=(address, 40000))


def test_introspection_needs_loopback_or_the_token(hub):
    from kcore.hub.web import introspection_guard, metrics

    guard = introspection_guard(hub)
    assert guard(_request("/varz", "127.0.0.1")) is True
    assert guard(_request("/varz", "::1")) is True
    assert guard(_request("/varz", "192.168.1.20")) is False
    token = [("Authorization", "Bearer " + hub.api_token)]
    assert guard(_request("/varz", "192.168.1.20", token)) is True
    bad = guard(_request("/varz", "192.168.1.20", [("Authorization", "Bearer x")]))
    assert bad.status_code == 401
    remote = metrics(hub)(_request("/metrics", "10.0.0.9"))
    assert remote.status_code == 403 and "kcore_hub" not in remote.body
    assert b"kcore_hub_tag_value" in metrics(hub)(_request("/metrics", "10.0.0.9", token)).body


def test_machines_alerts_sun_scripts_devices(make_hub):
    hub = make_hub(
        """
        location: {lat: 48.85, lon: 2.35, name: Paris, timezone: Europe/Paris}
        hardware: {gpio: simulation, button: 5, led: 6}
        tags:
          /t: {default: 1}
        alerts:
          high: {tag: /t, above: 10, priority: error}
        state_machines:
          door:
            public: true
            states: [closed, open]
            rules: [{from: closed, event: open, to: open}]
        """
    )
    assert hub.guest.get("/api/machines", auth=False).json()["door"]["state"] == "closed"
    assert (
        hub.guest.post("/api/machines/door/events", {"event": "open"}, auth=False).status_code
        == 401
    )
    assert hub.api.post("/api/machines/door/events", {"event": "open"}).json() == {"state": "open"}
    assert hub.api.post("/api/machines/nope/events", {"event": "x"}).status_code == 404
    hub.api.put_tag("/t", 11)
    # A tripped alert becomes active on the instance's scheduler (trip_delay 0).
    alerts = ktest.wait_for(
        lambda: (
            (a := hub.guest.get("/api/alerts", auth=False).json())["alerts"]["high"]["state"]
            == "active"
            and a
        ),
        what="alert 'high' to become active",
    )
    assert alerts["level"] == "error"
    acked = hub.api.post("/api/alerts/high/acknowledge", {})
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    sun = hub.guest.get("/api/sun", auth=False).json()
    assert sun["location"] == "Paris" and sun["sunrise"] < sun["sunset"]
    page = hub.guest.get("/status", auth=False).text
    assert "sun today at Paris" in page and "door" in page
    assert hub.guest.get("/api/devices", auth=False).status_code == 401
    devices = hub.api.get("/api/devices").json()
    assert devices["button"]["pin"] == 5 and devices["led"] == {"pin": 6, "lit": False}
    assert hub.guest.get("/api/scripts", auth=False).json() == []


def test_admin_password_printed_once_and_stored_as_a_private_hash(make_hub, tmp_path):
    import os
    import stat

    hub = make_hub(CONFIG, name="users")
    printed = [line for line in hub.lines if "password" in line]
    assert len(printed) == 1
    password = printed[0].split("password: ")[1].split("\n")[0]
    users_file = hub.kaithem.users.filename
    assert stat.S_IMODE(os.stat(users_file).st_mode) == 0o600
    stored = json.loads(open(users_file).read())
    assert stored["users"]["admin"]["password"].startswith("$scrypt$")
    assert password not in open(users_file).read()
    assert hub.kaithem.users.authenticate("admin", password) == "admin"
    hub.stop()
    again = make_hub(CONFIG, name="users")
    assert not [line for line in again.lines if "password" in line]
    assert again.kaithem.users.authenticate("admin", password) == "admin"


def test_admin_password_from_a_file(make_hub, tmp_path):
    pw = tmp_path / "admin.pw"
    pw.write_text("correct horse battery\n")
    pw.chmod(0o600)
    hub = make_hub(CONFIG, name="pwfile", admin_password_file=str(pw))
    assert not [line for line in hub.lines if "password" in line]
    assert hub.kaithem.users.authenticate("admin", "correct horse battery") == "admin"
    assert hub.kaithem.users.check_permission("admin", "/anything") is True


def test_secret_files_readable_by_others_are_refused(make_hub, tmp_path):
    from kcore.hub.datadir import HubError

    tok = tmp_path / "shared-token"
    tok.write_text("a" * 40)
    tok.chmod(0o644)
    with pytest.raises(HubError, match=r"readable by other users.*chmod 600"):
        make_hub(CONFIG, name="leaky", api_token_file=str(tok))
    fresh = tmp_path / "new" / "token"
    hub = make_hub(CONFIG, name="fresh", api_token_file=str(fresh))
    assert (fresh.stat().st_mode & 0o777) == 0o600 and len(hub.api_token) >= 32


def test_a_second_hub_on_the_same_data_directory_refuses(make_hub, tmp_path):
    from kcore.hub import Hub, parse_config
    from kcore.hub.datadir import DataDirInUse

    first = make_hub(CONFIG, name="shared")
    other = Hub(parse_config(CONFIG), first.data.path, out=lambda s: None)
    with pytest.raises(DataDirInUse, match="in use by another kcore-hub"):
        other.start(port=0)
    assert ktest.port_open(first.server.port)


def test_configured_users_and_groups(make_hub, tmp_path):
    pw = tmp_path / "bob.pw"
    pw.write_text("bobs password\n")
    pw.chmod(0o600)
    config = CONFIG + (
        "groups:\n  operators: [/hub/tags.read, /hub/tags.write]\n"
        "users:\n  bob: {password_file: %s, groups: [operators]}\n" % pw
    )
    hub = make_hub(config, name="people")
    users = hub.kaithem.users
    assert users.authenticate("bob", "bobs password") == "bob"
    assert users.check_permission("bob", "/hub/tags.write") is True
    assert users.check_permission("bob", "/settings.edit") is False
    hub.stop()
    pw.write_text("a new one\n")
    again = make_hub(config, name="people")
    assert again.kaithem.users.authenticate("bob", "a new one") == "bob"
