"""Fixtures for kcore-hub: hubs in this process, hubs as real processes, a real
mosquitto broker. Everything runs on 127.0.0.1 with free ports and temporary
directories, and is stopped in teardown."""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import signal
import sys
import textwrap
import threading

import ktest
import pytest
import requests

MOSQUITTO = shutil.which("mosquitto", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
MINIMAL = """
hardware: {gpio: simulation}
"""


def write(path, text, mode=None):
    path.write_text(textwrap.dedent(text))
    if mode is not None:
        os.chmod(path, mode)
    return path


class Api:
    """A small client for one hub: ``get``/``put`` with or without the token."""

    def __init__(self, base, token=None):
        self.base = base.rstrip("/")
        self.token = token
        self.session = requests.Session()

    def _headers(self, auth):
        if auth and self.token:
            return {"Authorization": "Bearer " + self.token}
        return {}

    def get(self, path, auth=True, **kw):
        return self.session.get(self.base + path, headers=self._headers(auth), timeout=10, **kw)

    def put_tag(self, name, value, auth=True):
        return self.session.put(
            self.base + "/api/tags" + name,
            data=json.dumps({"value": value}),
            headers={"Content-Type": "application/json", **self._headers(auth)},
            timeout=10,
        )

    def post(self, path, data, auth=True):
        return self.session.post(
            self.base + path,
            data=json.dumps(data),
            headers={"Content-Type": "application/json", **self._headers(auth)},
            timeout=10,
        )

    def tag(self, name):
        r = self.get("/api/tags" + name)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def client():
    """The Api class: ``client(base_url, token)``."""
    return Api


@pytest.fixture
def make_hub(tmp_path):
    """``make_hub(config_text, **hub_kwargs)`` -> a started in-process Hub with
    ``hub.api`` (token holder) and ``hub.guest`` clients."""
    from kcore.hub import Hub, parse_config

    hubs = []

    def make(config=MINIMAL, name="hub", **kwargs):
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        cfg_path = d / "hub.yaml"
        write(cfg_path, config)
        cfg = parse_config(cfg_path.read_text(), str(cfg_path))
        kwargs.setdefault("api_token_file", str(d / "token"))
        lines = []
        hub = Hub(cfg, str(d / "data"), out=lines.append, **kwargs)
        hubs.append(hub)
        hub.start(port=0)
        hub.lines = lines
        hub.api = Api(hub.url, hub.api_token)
        hub.guest = Api(hub.url)
        return hub

    yield make
    for hub in hubs:
        hub.stop()


@pytest.fixture(name="login")
def login_fixture():
    """``login(base_url, user, password)`` -> a logged-in requests.Session."""
    return login


def login(base, user, password):
    """A requests.Session logged in as ``user`` through the real /login form
    (its CSRF token, its session cookie); ``session.csrf`` is the session's
    CSRF token from the dashboard page."""
    base = base.rstrip("/")
    s = requests.Session()
    form = s.get(base + "/login", timeout=10)
    assert form.status_code == 200, form.text
    token = re.search(r'name="__csrf" value="([^"]+)"', form.text).group(1)
    r = s.post(
        base + "/login",
        data={"username": user, "password": password, "__csrf": token, "go": "/"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303, r.text
    page = s.get(base + "/", timeout=10).text
    s.csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    return s


class HubProcess(ktest.ServerProcess):
    """A hub run by its console script (``kcore-hub``; ``python -m kcore.hub``
    with ``module=True``); ``config=None`` runs the embedded demo."""

    def __init__(self, tmp_path, config, name="hub", extra=(), module=True):
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        self.dir = d
        self.data = d / "data"
        self.token_file = d / "token"
        self.port = ktest.free_port()
        command = [sys.executable, "-m", "kcore.hub"]
        if not module:
            command = [os.path.join(os.path.dirname(sys.executable), "kcore-hub")]
        if config is not None:
            self.config_path = write(d / "hub.yaml", config)
            command += ["--config", str(self.config_path)]
        argv = [
            *command, "--data", str(self.data), "--port", str(self.port),
            "--api-token-file", str(self.token_file), *extra,
        ]  # fmt: skip
        super().__init__(
            argv,
            ready=self._ready,
            timeout=60,
            log_path=str(d / "hub.log"),
        )
        self.url = "http://127.0.0.1:%d" % self.port

    def _ready(self):
        return "serving http://" in self.log()[self._offset :] and ktest.port_open(self.port)

    def start(self):
        log = self.dir / "hub.log"
        self._offset = len(log.read_text(errors="replace")) if log.exists() else 0
        super().start()
        self.api = Api(self.url, self.token_file.read_text().strip())
        return self

    def log(self):
        return (self.dir / "hub.log").read_text(errors="replace")

    def terminate(self, timeout=30):
        """SIGTERM and the exit status (the hub's clean stop)."""
        return self.stop(signal.SIGTERM, timeout)


@pytest.fixture(scope="session")
def hub_process_class():
    """The HubProcess class, for fixtures wider than one test."""
    return HubProcess


@pytest.fixture
def hub_process(tmp_path):
    procs = []

    def make(config=MINIMAL, name="hub", extra=()):
        p = HubProcess(tmp_path, config, name, extra)
        procs.append(p)
        return p.start()

    yield make
    for p in procs:
        p.stop(signal.SIGKILL)


class Mosquitto(ktest.ServerProcess):
    """A real mosquitto on loopback; retained messages persist across restarts."""

    def __init__(self, directory, port=None, extra_conf=""):
        if MOSQUITTO is None:
            pytest.skip("mosquitto is not installed (Debian: apt-get install -y mosquitto)")
        self.dir = directory
        self.dir.mkdir(exist_ok=True)
        self.port = port or ktest.free_port()
        store = self.dir / "store"
        store.mkdir(exist_ok=True)
        conf = self.dir / "mosquitto.conf"
        conf.write_text(
            "per_listener_settings true\n"
            # as root mosquitto drops to user `mosquitto`, which cannot write our store
            "user %s\n"
            "listener %d 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            "persistence_location %s/\n"
            "autosave_interval 1\n"
            "autosave_on_changes true\n"
            "log_dest stdout\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "%s" % (getpass.getuser(), self.port, store, extra_conf)
        )
        super().__init__(
            [MOSQUITTO, "-c", str(conf)],
            ready=lambda: ktest.port_open(self.port),
            timeout=20,
            log_path=str(self.dir / "mosquitto.log"),
        )


@pytest.fixture
def make_broker(tmp_path):
    """``make_broker(name="broker", port=None, extra_conf="")`` -> a started broker;
    the same name again reuses its directory (and retained store)."""
    brokers = []

    def make(name="broker", port=None, extra_conf=""):
        broker = Mosquitto(tmp_path / name, port, extra_conf).start()
        brokers.append(broker)
        return broker

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def mosquitto(make_broker):
    return make_broker()


class Listener:
    """A plain paho client recording every message under ``topic``."""

    def __init__(self, port, topic="test/#", tls=None):
        import paho.mqtt.client as paho

        self.messages = []
        self.lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="")
        if tls:
            self.client.tls_set(**tls)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        try:
            payload = json.loads(msg.payload) if msg.payload else None
        except ValueError:
            payload = msg.payload
        with self.lock:
            self.messages.append((msg.topic, payload, msg.retain))

    def on(self, topic):
        with self.lock:
            return [(p, r) for t, p, r in self.messages if t == topic]

    def last(self, topic):
        got = self.on(topic)
        return got[-1][0] if got else None

    def publish(self, topic, data, retain=False):
        self.client.publish(topic, json.dumps(data), qos=1, retain=retain).wait_for_publish(5)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def make_listener():
    made = []

    def make(port, topic="test/#", tls=None):
        lst = Listener(port, topic, tls)
        made.append(lst)
        return lst

    yield make
    for lst in made:
        lst.close()


@pytest.fixture
def mqtt_config():
    """``mqtt_config(port, hub_id, ...)`` -> config text for a bridged test hub."""
    return _mqtt_config


def _mqtt_config(port, hub_id, tags='["*"]', topics="[]", extra="", more=""):
    return """
    hub_id: %s
    hardware: {gpio: simulation}
    tags:
      /shared/level: {default: 0, unit: percent, public: true}
      /shared/note: {default: "", public: true}
    mqtt: {host: 127.0.0.1, port: %d, prefix: test, tags: %s, topics: %s,
           keepalive: 5, reconnect_max: 1%s}
    %s
    """ % (hub_id, port, tags, topics, extra, more)


def url_in(text):
    m = re.search(r"serving (http://\S+/)", text)
    return m.group(1) if m else None
