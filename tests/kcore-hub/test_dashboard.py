"""The dashboard at /, logins and sessions, CSRF on browser writes, and the
widgets over kaithem's real widget socket (a websockets client), on
in-process hubs."""

from __future__ import annotations

import json
import os
import re

import ktest
import pytest
import requests
from websockets.sync.client import connect

from kcore.webserver import Request

ADMIN_PW = "admin password for tests"
VERA_PW = "vera's password"
CONFIG = """
hardware: {gpio: simulation, button: 17, led: 27, neopixels: {count: 4, backend: headless}}
tags:
  /pub/temp: {default: 20.5, unit: degC, min: 0, max: 50, public: true}
  /pub/label: {default: "<b>bold</b>", public: true}
  /priv/level: {default: 3, min: 0, max: 10}
  /system/gpio/27: {public: true}
  /sim/gpio/17: {public: true}
  /system/neopixels: {public: true}
alerts:
  hot: {tag: /pub/temp, above: 30}
state_machines:
  door:
    public: true
    states: [closed, open]
    rules: [{from: closed, event: open, to: open}, {from: open, event: close, to: closed}]
groups:
  viewers: [/hub/tags.read]
users:
  vera: {password_file: %s, groups: [viewers]}
widgets:
  - {type: meter, tag: /pub/temp, label: "Temp <1>", public: true, min: 0, max: 40}
  - {type: value, tag: /pub/label, label: Label, public: true}
  - {type: slider, tag: /priv/level, label: Level}
  - {type: switch, tag: /system/gpio/27, label: Light, public: true}
  - {type: button, tag: /sim/gpio/17, label: Bell, public: true}
  - {type: led, tag: /system/gpio/27, label: LED, public: true}
  - {type: neopixels, tag: /system/neopixels, label: Strip, public: true}
  - {type: state, machine: door, label: Door, public: true}
  - {type: alerts, label: Alerts, public: true}
  - {type: sun, label: Sun, public: true}
"""


def write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.fixture
def hub(make_hub, tmp_path):
    admin = write(tmp_path / "admin.pw", ADMIN_PW + "\n", 0o600)
    vera = write(tmp_path / "vera.pw", VERA_PW + "\n", 0o600)
    return make_hub(CONFIG % vera, admin_password_file=str(admin))


def fieldsets(page):
    return page.count('<fieldset class="hub-locked" disabled')


def test_guests_see_the_public_widgets_and_no_controls(hub):
    r = requests.get(hub.url, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"
    page = r.text
    assert "<h2>Temp &lt;1&gt;</h2>" in page  # labels are text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert "20.5degC" in page  # the meter's value in the page, before any socket
    assert "<h2>Level</h2>" not in page and "hub:2" not in page  # private: not there
    assert "and 1 more widgets" in page and 'href="/login?go=/"' in page
    assert fieldsets(page) == 2  # switch, button: disabled; the slider is not shown
    assert 'name="csrf-token"' not in page
    assert requests.post(hub.url, timeout=10).status_code == 405
    for path in ("static/widget.js", "hub/static/dashboard.js", "hub/static/dashboard.css"):
        assert requests.get(hub.url + path, timeout=10).status_code == 200, path


def test_login_sessions_and_csrf_on_api_writes(hub, login):
    wrong = requests.Session()
    form = wrong.get(hub.url + "login", timeout=10).text
    token = re.search(r'name="__csrf" value="([^"]+)"', form).group(1)
    r = wrong.post(
        hub.url + "login",
        data={"username": "admin", "password": "nope", "__csrf": token},
        timeout=10,
    )
    assert r.status_code == 401 and "Wrong user name or password" in r.text

    admin = login(hub.url, "admin", ADMIN_PW)
    page = admin.get(hub.url, timeout=10).text
    assert '<span class="hub-user-name">admin</span>' in page
    assert "<h2>Level</h2>" in page and fieldsets(page) == 0
    url = hub.url + "api/tags/priv/level"

    def put(session, value, **headers):
        headers.setdefault("Content-Type", "application/json")
        return session.put(url, data=json.dumps({"value": value}), headers=headers, timeout=10)

    assert put(admin, 5).status_code == 403  # the cookie alone is not enough
    assert put(admin, 5, **{"X-CSRF-Token": "x" * 43}).status_code == 403
    cross = put(admin, 5, **{"X-CSRF-Token": admin.csrf, "Origin": "http://evil.example"})
    assert cross.status_code == 403 and cross.json() == {"error": "cross-site request refused"}
    assert hub.kaithem.tags["/priv/level"].value == 3
    origin = hub.url.rstrip("/")
    ok = put(admin, 5, **{"X-CSRF-Token": admin.csrf, "Origin": origin})
    assert ok.status_code == 200 and ok.json()["value"] == 5
    assert hub.table.origins["/priv/level"].source == "admin"
    event = admin.post(
        hub.url + "api/machines/door/events",
        data='{"event": "open"}',
        headers={"Content-Type": "application/json", "X-CSRF-Token": admin.csrf},
        timeout=10,
    )
    assert event.json() == {"state": "open"}

    vera = login(hub.url, "vera", VERA_PW)
    assert vera.get(url, timeout=10).json()["value"] == 5  # /hub/tags.read
    refused = put(vera, 1, **{"X-CSRF-Token": vera.csrf})
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "writing tag /priv/level needs the permission /hub/tags.write"
    }
    assert vera.get(hub.url + "api/devices", timeout=10).status_code == 200
    assert vera.get(hub.url + "api/scripts", timeout=10).status_code == 200
    page = vera.get(hub.url, timeout=10).text
    assert "<h2>Level</h2>" in page and fieldsets(page) == 3  # sees it, cannot change it

    out = admin.post(hub.url + "logout", data={"__csrf": admin.csrf}, allow_redirects=False)
    assert out.status_code == 303
    after = put(admin, 6, **{"X-CSRF-Token": admin.csrf})
    assert after.status_code == 401 and "needs a login or an API token" in after.json()["error"]
    assert "Log in" in admin.get(hub.url, timeout=10).text


class Socket:
    """kaithem's widget protocol over a real WebSocket to the hub."""

    def __init__(self, hub, session=None):
        url = hub.url.replace("http://", "ws://") + "widgets/ws"
        cookies = "; ".join("%s=%s" % kv for kv in (session.cookies.items() if session else []))
        self._cm = connect(url, additional_headers={"Cookie": cookies} if cookies else {})
        self.ws = self._cm.__enter__()
        self.values = {}
        self.errors = []

    def send(self, **message):
        self.ws.send(json.dumps(message))

    def pump(self, timeout=0.05):
        try:
            frame = self.ws.recv(timeout)
        except TimeoutError:
            return
        for entry in json.loads(frame):
            if entry[0] == "__WIDGETERROR__":
                self.errors.append(entry[1])
            elif len(entry) == 2:
                self.values[entry[0]] = entry[1]

    def until(self, predicate, what):
        def check():
            self.pump()
            return predicate()

        return ktest.wait_for(check, 5, what=what)

    def close(self):
        self._cm.__exit__(None, None, None)


def test_widgets_follow_tags_and_refuse_guest_writes(hub):
    guest = Socket(hub)
    try:
        guest.send(subsc=["hub:0", "hub:1", "hub:2", "hub:3", "hub:5", "hub:6", "hub:health"])
        guest.until(lambda: guest.values.get("hub:0") == [20.5, "normal", "20.5degC"], "meter")
        assert guest.until(lambda: guest.values.get("hub:1"), "label") == "<b>bold</b>"
        assert guest.until(lambda: guest.values.get("hub:health"), "health") == "ok"
        guest.until(lambda: guest.errors, "the private slider refused")
        assert guest.errors[0] == {
            "id": "hub:2",
            "error": "permission denied: you may not see this widget",
        }
        hub.api.put_tag("/pub/temp", 31)  # an API write shows at once, with the alert's colour
        guest.until(lambda: guest.values.get("hub:0") == [31, "warning", "31degC"], "update")
        guest.send(upd=[["hub:3", True]])  # a guest flips the switch: refused
        guest.until(lambda: len(guest.errors) == 2, "the guest's write refused")
        assert guest.errors[1]["error"] == "permission denied: you may not change this widget"
        assert hub.kaithem.tags["/system/gpio/27"].value == 0
        assert guest.values["hub:5"] is False  # the LED
    finally:
        guest.close()


def test_logged_in_browser_writes_go_to_tags_machines_and_alerts(hub, login):
    admin = Socket(hub, login(hub.url, "admin", ADMIN_PW))
    try:
        admin.send(subsc=["hub:2", "hub:3", "hub:5", "hub:6", "hub:7", "hub:8"])
        door = {"state": "closed", "events": ["close", "open"]}
        admin.until(lambda: admin.values.get("hub:7") == door, "the door")
        admin.send(upd=[["hub:2", 7.4]])  # the slider
        ktest.wait_for(lambda: hub.kaithem.tags["/priv/level"].value == 7.4, what="slider")
        assert hub.table.origins["/priv/level"].kind == "web"
        admin.send(upd=[["hub:3", True]])  # the switch lights the LED
        admin.until(lambda: admin.values.get("hub:5") is True, "the LED widget")
        assert hub.devices.led.is_lit
        assert admin.values["hub:6"] == ["#000000"] * 4  # the strip, one colour per pixel
        hub.api.put_tag("/system/neopixels", ["#ff0000", "#00ff00"])
        admin.until(
            lambda: admin.values["hub:6"] == ["#ff0000", "#00ff00", "#000000", "#000000"], "strip"
        )
        admin.send(upd=[["hub:7", {"event": "open"}]])
        admin.until(lambda: admin.values["hub:7"]["state"] == "open", "the door opened")
        admin.send(upd=[["hub:7", {"event": "fly"}], ["hub:7", "junk"]])  # ignored
        admin.until(lambda: admin.values["hub:7"]["state"] == "open", "the door still open")
        assert hub.automation.machines["door"].state == "open"
        # a tap shorter than a debounced input needs is held long enough to count
        admin.send(upd=[["hub:4", "pushed"], ["hub:4", "released"]])
        ktest.wait_for(lambda: hub.devices.button.stats.get("presses") == 1, what="a press")
        ktest.wait_for(lambda: hub.kaithem.tags["/sim/gpio/17"].value == 0, what="released")
        hub.api.put_tag("/pub/temp", 35)
        admin.until(lambda: [a["name"] for a in admin.values.get("hub:8", [])] == ["hot"], "alert")
        ktest.wait_for(lambda: hub.kaithem.alerts.get("hot").state == "active", what="active")
        admin.send(upd=[["hub:8", {"ack": "hot"}]])
        admin.until(lambda: admin.values["hub:8"][0]["state"] == "acknowledged", "acknowledged")
        assert admin.errors == []
    finally:
        admin.close()


def test_a_failing_script_shows_on_the_dashboard(make_hub, tmp_path):
    bad = write(tmp_path / "bad.py", "1 / 0\n")
    hub = make_hub("hardware: {gpio: simulation}\nscripts: [%s]\n" % bad, name="failing")
    page = requests.get(hub.url, timeout=10).text
    assert '<td class="hub-script-status">error</td>' in page
    assert "ZeroDivisionError" not in page  # error texts name files and lines: not for guests
    assert "degraded: scripts: bad.py failed" in page
    assert "No widgets are configured" in page
    full = requests.get(hub.url, headers={"Authorization": "Bearer " + hub.api_token}).text
    assert "ZeroDivisionError: division by zero (bad.py, line 1)" in full
    guest = Socket(hub)
    try:
        guest.send(subsc=["hub:scripts", "hub:script-errors"])
        guest.until(lambda: guest.values.get("hub:scripts"), "scripts")
        assert guest.values["hub:scripts"] == [{"name": "bad.py", "status": "error"}]
        guest.until(lambda: guest.errors, "errors refused to guests")
        assert guest.errors[0]["id"] == "hub:script-errors"
    finally:
        guest.close()


@pytest.mark.parametrize(
    ("widgets", "message"),
    [
        ("[{type: meter, tag: /hidden, public: true}]", "tag /hidden is not public"),
        ("[{type: meter, tag: /words}]", "a meter widget needs a number tag"),
        ("[{type: led, tag: /nowhere, label: Lamp}]", "widgets.0 (Lamp): no tag /nowhere"),
        ("[{type: text, tag: /hidden}]", "a text widget needs a string tag"),
    ],
)
def test_widgets_that_cannot_work_stop_the_hub_with_a_clear_error(make_hub, widgets, message):
    from kcore.hub import HubError

    config = """
    hardware: {gpio: simulation}
    tags: {/hidden: {default: 1}, /words: {default: "hello"}}
    widgets: %s
    """
    with pytest.raises(HubError, match=re.escape(message)):
        make_hub(config % widgets, name="bad")


def test_widget_configuration_errors_name_the_line():
    from kcore.hub import ConfigError, parse_config

    message = "<config>:3: widgets.0.public: state machine door is not public"
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(
            "state_machines: {door: {states: [a]}}\n"
            "widgets:\n"
            "  - {type: state, machine: door, public: true}\n"
        )
    with pytest.raises(ConfigError, match=r"widgets\.0\.min: min 5 is not below max 5"):
        parse_config("widgets: [{type: slider, tag: /x, min: 5, max: 5}]")
    with pytest.raises(ConfigError, match=r"web\.allowed_origins\.0: an origin is scheme"):
        parse_config("web: {allowed_origins: ['http://a.example/path']}")


def test_introspection_for_logged_in_administrators(hub):
    from kcore.hub.web import introspection_guard

    guard = introspection_guard(hub)

    def request(user):
        token, _session = hub.kaithem.web.sessions.create(user)
        headers = [("Cookie", "kaithem_session=" + token)]
        return Request("GET", "/varz", headers=headers, remote_address=("10.0.0.9", 4000))

    assert guard(request("admin")) is True
    assert guard(request("vera")) is False


def test_tls(make_hub, tmp_path):
    certs = ktest.make_certs(tmp_path)
    pw = write(tmp_path / "admin.pw", ADMIN_PW + "\n", 0o600)
    config = "web: {tls: {cert_file: %s, key_file: %s}}\n" % (
        certs["server_cert"],
        certs["server_key"],
    )
    hub = make_hub(config, name="tls", admin_password_file=str(pw))
    assert hub.url.startswith("https://127.0.0.1:")
    s = requests.Session()
    ca = certs["ca"]
    form = s.get(hub.url + "login", timeout=10, verify=ca).text
    token = re.search(r'name="__csrf" value="([^"]+)"', form).group(1)
    r = s.post(
        hub.url + "login",
        data={"username": "admin", "password": ADMIN_PW, "__csrf": token},
        allow_redirects=False,
        timeout=10,
        verify=ca,
    )
    assert r.status_code == 303 and "Secure" in r.headers["Set-Cookie"]
    assert "hub-user-name" in s.get(hub.url, timeout=10, verify=ca).text
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(hub.url, timeout=10)  # not trusted without the CA
    from kcore.hub import HubError

    missing = config.replace(certs["server_key"], str(tmp_path / "nokey.pem"))
    with pytest.raises(HubError, match=r"web\.tls: cannot read .*nokey\.pem"):
        make_hub(missing, name="tls-missing")
