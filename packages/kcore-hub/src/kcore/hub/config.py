"""The hub's YAML configuration: loaded safely, validated, every error naming
the file, the line and the key (``hub.yaml:12: tags./demo/temp.min: must be a
number, got 'cold'``).

:func:`load_config` reads a file, :func:`parse_config` a string; both return a
:class:`HubConfig`. With no file the hub runs on :data:`DEFAULT_CONFIG`, the
embedded default (``kcore-hub --print-default-config`` prints it). Every
section and every field is optional; unknown keys are errors (a typo must not
silently turn a setting off). Relative paths are resolved against the config
file's folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from kcore.common.platform import KcoreError
from kcore.hub import yamlmarks
from kcore.hub.checks import Checker

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.join(HERE, "default", "hub.yaml")

TAG_TYPES = ("number", "string", "object")
WIDGET_TYPES = (
    "meter", "value", "text", "switch", "button", "slider", "led", "neopixels", "state",
    "alerts", "sun",
)  # fmt: skip
TAG_WIDGETS = ("meter", "value", "text", "switch", "button", "slider", "led", "neopixels")
READ_PERMISSION = "/hub/tags.read"
WRITE_PERMISSION = "/hub/tags.write"
EVENT_PERMISSION = "/hub/machines.event"  # send events to state machines
SCRIPTS_PERMISSION = "/hub/scripts.view"  # see script errors (files and lines)
ADMIN_VIEW_PERMISSION = "/admin/settings.view"  # /varz, /logz, /flagz, /metrics
_HUB_ID = re.compile(r"^[A-Za-z0-9_.]([A-Za-z0-9_.-]{0,63})$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\[\]:-]+$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class ConfigError(KcoreError, ValueError):
    """The configuration is invalid; the message names file, line and key."""


@dataclass
class TagSpec:
    name: str
    type: str = "number"
    default: Any = None
    unit: str = ""
    min: Optional[float] = None
    max: Optional[float] = None
    public: bool = False
    persist: bool = True
    writable: bool = True
    description: str = ""
    read_permission: str = READ_PERMISSION
    write_permission: str = WRITE_PERMISSION


@dataclass
class AlertSpec:
    name: str
    tag: str
    above: Optional[float] = None
    below: Optional[float] = None
    priority: str = "warning"
    trip_delay: float = 0.0
    auto_ack: Any = False
    description: str = ""
    zone: Optional[str] = None


@dataclass
class MachineSpec:
    name: str
    start: str
    states: Dict[str, Dict[str, Any]]  # state -> {tag: value} written on entering it
    rules: List[Tuple[str, str, str]] = field(default_factory=list)  # (from, event, to)
    timers: List[Tuple[str, float, str]] = field(default_factory=list)  # (state, s, to)
    public: bool = False
    description: str = ""


@dataclass
class NeoSpec:
    count: int = 8
    backend: str = "auto"


@dataclass
class HardwareSpec:
    gpio: str = "auto"
    button: Optional[int] = None
    led: Optional[int] = None
    neopixels: Optional[NeoSpec] = None


@dataclass
class LocationSpec:
    lat: float
    lon: float
    name: str = ""
    timezone: Optional[str] = None


@dataclass
class UserSpec:
    name: str
    password_file: Optional[str] = None
    groups: List[str] = field(default_factory=list)


@dataclass
class TlsSpec:
    ca_file: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None


@dataclass
class WebSpec:
    tls_cert_file: Optional[str] = None
    tls_key_file: Optional[str] = None
    allowed_origins: List[str] = field(default_factory=list)
    allow_insecure_login: bool = False


@dataclass
class MqttSpec:
    host: str
    port: int = 1883
    prefix: str = "kcore"
    tags: List[str] = field(default_factory=list)
    topics: List[str] = field(default_factory=list)
    tls: Optional[TlsSpec] = None
    username: Optional[str] = None
    password_file: Optional[str] = None
    keepalive: int = 30
    reconnect_max: float = 30.0
    max_remote_tags: int = 1000


@dataclass
class HubConfig:
    source: str
    title: str = "kcore hub"
    hub_id: Optional[str] = None
    location: Optional[LocationSpec] = None
    api_token_file: Optional[str] = None
    admin_password_file: Optional[str] = None
    tags: Dict[str, TagSpec] = field(default_factory=dict)
    hardware: HardwareSpec = field(default_factory=HardwareSpec)
    widgets: List[Dict[str, Any]] = field(default_factory=list)
    alerts: Dict[str, AlertSpec] = field(default_factory=dict)
    machines: Dict[str, MachineSpec] = field(default_factory=dict)
    users: Dict[str, UserSpec] = field(default_factory=dict)
    groups: Dict[str, List[str]] = field(default_factory=dict)
    scripts: List[str] = field(default_factory=list)
    mqtt: Optional[MqttSpec] = None
    web: WebSpec = field(default_factory=WebSpec)


# ------------------------------------------------------------------ loading


def load_config(path: Optional[str] = None) -> HubConfig:
    """Read and validate a config file (the embedded default when ``path`` is None)."""
    path = os.path.abspath(os.path.expanduser(path or DEFAULT_CONFIG))
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError("%s: cannot read the configuration: %s" % (path, e.strerror)) from None
    except UnicodeDecodeError:
        raise ConfigError("%s: the configuration is not UTF-8 text" % path) from None
    return parse_config(text, path)


def parse_config(text: str, source: str = "<config>") -> HubConfig:
    """Validate configuration text; relative paths resolve against ``source``'s folder."""
    try:
        data, lines = yamlmarks.load(text, source)
    except yamlmarks.YamlError as e:
        raise ConfigError(str(e)) from None
    return _Validator(source, lines, ConfigError).config(data)


# ------------------------------------------------------------------ validation


class _Validator(Checker):
    # -- sections -----------------------------------------------------------------

    def config(self, data: Any) -> HubConfig:
        top = self.mapping(
            data,
            (),
            (
                "title", "hub_id", "location", "api_token_file", "admin_password_file", "tags",
                "hardware", "widgets", "alerts", "state_machines", "users", "groups",
                "scripts", "mqtt", "web",
            ),
        )  # fmt: skip
        cfg = HubConfig(source=self.source)
        cfg.title = self.text(top.get("title"), ("title",), cfg.title)
        hub_id = self.text(top.get("hub_id"), ("hub_id",))
        if hub_id is not None and not _HUB_ID.match(hub_id):
            raise self.fail(("hub_id",), "use 1-64 letters, digits, '.', '_' or '-'")
        cfg.hub_id = hub_id
        if top.get("location") is not None:
            cfg.location = self.location(top["location"])
        cfg.api_token_file = self.file_path(top.get("api_token_file"), ("api_token_file",))
        cfg.admin_password_file = self.file_path(
            top.get("admin_password_file"), ("admin_password_file",)
        )
        tags = self.mapping(top.get("tags"), ("tags",))
        for raw_name, spec in tags.items():
            t = self.tag(raw_name, spec)
            if t.name in cfg.tags:
                raise self.fail(("tags", raw_name), "tag %s is configured twice" % t.name)
            cfg.tags[t.name] = t
        cfg.hardware = self.hardware(top.get("hardware"))
        cfg.widgets = [self.widget(w, ("widgets", i)) for i, w in enumerate(
            self.listing(top.get("widgets"), ("widgets",))
        )]  # fmt: skip
        for name, spec in self.mapping(top.get("alerts"), ("alerts",)).items():
            cfg.alerts[name] = self.alert(name, spec)
        for name, spec in self.mapping(top.get("state_machines"), ("state_machines",)).items():
            cfg.machines[name] = self.machine(name, spec)
        for name, perms in self.mapping(top.get("groups"), ("groups",)).items():
            cfg.groups[name] = self.text_list(perms, ("groups", name))
        for name, spec in self.mapping(top.get("users"), ("users",)).items():
            cfg.users[name] = self.user(name, spec, cfg.groups)
        cfg.scripts = [
            self.file_path(s, ("scripts", i)) or ""
            for i, s in enumerate(self.listing(top.get("scripts"), ("scripts",)))
        ]
        if len(set(cfg.scripts)) != len(cfg.scripts):
            raise self.fail(("scripts",), "a script is listed twice")
        if top.get("mqtt") is not None:
            cfg.mqtt = self.mqtt(top["mqtt"])
        cfg.web = self.web(top.get("web"))
        for i, w in enumerate(cfg.widgets):
            if w["type"] != "state":
                continue
            machine = cfg.machines.get(w["machine"])
            if machine is None:
                raise self.fail(
                    ("widgets", i, "machine"), "unknown state machine %r" % w["machine"]
                )
            if w["public"] and not machine.public:
                raise self.fail(
                    ("widgets", i, "public"),
                    "state machine %s is not public (add public: true to it)" % machine.name,
                )
        return cfg

    def location(self, value: Any) -> LocationSpec:
        p = ("location",)
        d = self.mapping(value, p, ("lat", "lon", "name", "timezone"))
        for k in ("lat", "lon"):
            if d.get(k) is None:
                raise self.fail((*p, k), "is required")
        tz = self.text(d.get("timezone"), (*p, "timezone"))
        if tz is not None:
            try:
                import zoneinfo

                zoneinfo.ZoneInfo(tz)
            except (ImportError, ValueError, KeyError, OSError):
                raise self.fail((*p, "timezone"), "unknown time zone %r" % tz) from None
        return LocationSpec(
            lat=float(self.number(d["lat"], (*p, "lat"), lo=-90, hi=90)),
            lon=float(self.number(d["lon"], (*p, "lon"), lo=-180, hi=180)),
            name=self.text(d.get("name"), (*p, "name"), ""),
            timezone=tz,
        )

    def tag(self, raw_name: Any, value: Any) -> TagSpec:
        p: yamlmarks.Path = ("tags", raw_name)
        name = self.tag_name(raw_name, p)
        d = self.mapping(
            value,
            p,
            (
                "type", "default", "unit", "min", "max", "public", "persist", "writable",
                "description", "read_permission", "write_permission",
            ),
        )  # fmt: skip
        default = d.get("default")
        if d.get("type") is None:
            kind = "string" if isinstance(default, str) else "number"
            if isinstance(default, (dict, list)):
                kind = "object"
        else:
            kind = self.choice(d.get("type"), (*p, "type"), TAG_TYPES, "number")
        if kind == "number" and default is not None:
            self.number(default, (*p, "default"))
        if kind == "string" and default is not None:
            self.text(default, (*p, "default"))
        spec = TagSpec(name=name, type=kind, default=default)
        spec.unit = self.text(d.get("unit"), (*p, "unit"), "")
        spec.min = self.number(d.get("min"), (*p, "min"))
        spec.max = self.number(d.get("max"), (*p, "max"))
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            raise self.fail((*p, "min"), "min %r is above max %r" % (spec.min, spec.max))
        if kind != "number":
            for k in ("unit", "min", "max"):
                if d.get(k) is not None:
                    raise self.fail((*p, k), "only number tags have %s" % k)
        spec.public = self.boolean(d.get("public"), (*p, "public"), False)
        spec.persist = self.boolean(d.get("persist"), (*p, "persist"), True)
        spec.writable = self.boolean(d.get("writable"), (*p, "writable"), True)
        spec.description = self.text(d.get("description"), (*p, "description"), "")
        spec.read_permission = self.text(
            d.get("read_permission"), (*p, "read_permission"), READ_PERMISSION
        )
        spec.write_permission = self.text(
            d.get("write_permission"), (*p, "write_permission"), WRITE_PERMISSION
        )
        return spec

    def hardware(self, value: Any) -> HardwareSpec:
        p = ("hardware",)
        d = self.mapping(value, p, ("gpio", "button", "led", "neopixels"))
        hw = HardwareSpec()
        hw.gpio = self.choice(d.get("gpio"), (*p, "gpio"), ("auto", "simulation"), "auto")
        hw.button = self.integer(d.get("button"), (*p, "button"), None, 0, 63)
        hw.led = self.integer(d.get("led"), (*p, "led"), None, 0, 63)
        if hw.button is not None and hw.button == hw.led:
            raise self.fail((*p, "led"), "the button and the LED cannot share pin %d" % hw.led)
        neo = d.get("neopixels")
        if neo is not None and neo is not False:
            n = self.mapping(neo, (*p, "neopixels"), ("count", "backend"))
            hw.neopixels = NeoSpec(
                count=self.integer(n.get("count"), (*p, "neopixels", "count"), 8, 1, 1024),
                backend=self.choice(
                    n.get("backend"),
                    (*p, "neopixels", "backend"),
                    ("auto", "headless", "window"),
                    "auto",
                ),
            )
        return hw

    def widget(self, value: Any, p: yamlmarks.Path) -> Dict[str, Any]:
        d = self.mapping(
            value, p, ("type", "tag", "label", "public", "min", "max", "step", "machine")
        )
        kind = self.choice(d.get("type"), (*p, "type"), WIDGET_TYPES, "value")
        out: Dict[str, Any] = {"type": kind}
        if kind in TAG_WIDGETS:
            if d.get("tag") is None:
                raise self.fail((*p, "tag"), "a %s widget needs a tag" % kind)
            out["tag"] = self.tag_name(d["tag"], (*p, "tag"))
        if kind == "state":
            out["machine"] = self.text(d.get("machine"), (*p, "machine"))
            if not out["machine"]:
                raise self.fail((*p, "machine"), "a state widget needs a machine")
        out["label"] = self.text(d.get("label"), (*p, "label"), out.get("tag", kind))
        out["public"] = self.boolean(d.get("public"), (*p, "public"), False)
        for k in ("min", "max", "step"):
            if d.get(k) is not None:
                out[k] = self.number(d[k], (*p, k))
        if "min" in out and "max" in out and out["min"] >= out["max"]:
            raise self.fail((*p, "min"), "min %r is not below max %r" % (out["min"], out["max"]))
        if out.get("step", 1) <= 0:
            raise self.fail((*p, "step"), "step must be above 0, got %r" % out["step"])
        return out

    def alert(self, name: str, value: Any) -> AlertSpec:
        from kcore.kaithem.alerts import AlertError, check_priority

        p = ("alerts", name)
        d = self.mapping(
            value,
            p,
            ("tag", "above", "below", "priority", "trip_delay", "auto_ack", "description", "zone"),
        )
        if d.get("tag") is None:
            raise self.fail((*p, "tag"), "an alert needs the tag it watches")
        spec = AlertSpec(name=name, tag=self.tag_name(d["tag"], (*p, "tag")))
        spec.above = self.number(d.get("above"), (*p, "above"))
        spec.below = self.number(d.get("below"), (*p, "below"))
        if spec.above is None and spec.below is None:
            raise self.fail(p, "give `above`, `below` or both")
        try:
            spec.priority = check_priority(
                self.text(d.get("priority"), (*p, "priority"), "warning")
            )
        except AlertError as e:
            raise self.fail((*p, "priority"), str(e)) from None
        spec.trip_delay = float(self.number(d.get("trip_delay"), (*p, "trip_delay"), 0, 0, 86400))
        ack = d.get("auto_ack", False)
        if not isinstance(ack, bool):
            ack = self.number(ack, (*p, "auto_ack"), lo=0, hi=86400)
        spec.auto_ack = ack
        spec.description = self.text(d.get("description"), (*p, "description"), "")
        spec.zone = self.text(d.get("zone"), (*p, "zone"))
        return spec

    def machine(self, name: str, value: Any) -> MachineSpec:
        p = ("state_machines", name)
        if not name or name.startswith("__") or "/" in name:
            raise self.fail(p, "machine names must be non-empty, without '/' or a leading __")
        d = self.mapping(value, p, ("start", "states", "rules", "timers", "public", "description"))
        raw_states = d.get("states")
        states: Dict[str, Dict[str, Any]] = {}
        if isinstance(raw_states, list):
            for i, s in enumerate(raw_states):
                states[self._state_name(s, (*p, "states", i))] = {}
        else:
            for s, spec in self.mapping(raw_states, (*p, "states")).items():
                sp = (*p, "states", s)
                self._state_name(s, sp)
                writes = self.mapping(self.mapping(spec, sp, ("tags",)).get("tags"), (*sp, "tags"))
                states[s] = {self.tag_name(t, (*sp, "tags", t)): v for t, v in writes.items()}
        if not states:
            raise self.fail((*p, "states"), "a state machine needs at least one state")
        start = self.text(d.get("start"), (*p, "start"), next(iter(states)))
        if start not in states:
            raise self.fail((*p, "start"), "unknown state %r" % start)
        spec = MachineSpec(name=name, start=start, states=states)
        for i, r in enumerate(self.listing(d.get("rules"), (*p, "rules"))):
            rp = (*p, "rules", i)
            rd = self.mapping(r, rp, ("from", "event", "to"))
            for k in ("from", "event", "to"):
                if not self.text(rd.get(k), (*rp, k)):
                    raise self.fail((*rp, k), "is required")
            for k in ("from", "to"):
                if rd[k] not in states:
                    raise self.fail((*rp, k), "unknown state %r" % rd[k])
            if rd["event"].startswith("__"):
                raise self.fail((*rp, "event"), "event names starting with __ are reserved")
            spec.rules.append((rd["from"], rd["event"], rd["to"]))
        for i, t in enumerate(self.listing(d.get("timers"), (*p, "timers"))):
            tp = (*p, "timers", i)
            td = self.mapping(t, tp, ("state", "seconds", "to"))
            for k in ("state", "to"):
                if self.text(td.get(k), (*tp, k)) not in states:
                    raise self.fail((*tp, k), "unknown state %r" % td.get(k))
            seconds = self.number(td.get("seconds"), (*tp, "seconds"), lo=0, hi=10**7)
            if seconds is None:
                raise self.fail((*tp, "seconds"), "is required")
            spec.timers.append((td["state"], float(seconds), td["to"]))
        spec.public = self.boolean(d.get("public"), (*p, "public"), False)
        spec.description = self.text(d.get("description"), (*p, "description"), "")
        return spec

    def _state_name(self, value: Any, path: yamlmarks.Path) -> str:
        s = self.text(value, path)
        if not s or s.startswith("__"):
            raise self.fail(path, "state names must be non-empty and not start with __")
        return str(s)

    def user(self, name: str, value: Any, groups: Dict[str, List[str]]) -> UserSpec:
        p = ("users", name)
        d = self.mapping(value, p, ("password_file", "groups"))
        spec = UserSpec(
            name=name, password_file=self.file_path(d.get("password_file"), (*p, "password_file"))
        )
        spec.groups = self.text_list(d.get("groups"), (*p, "groups"))
        for i, g in enumerate(spec.groups):
            if g not in groups and g != "admins":
                raise self.fail((*p, "groups", i), "unknown group %r (define it under groups)" % g)
        return spec

    def web(self, value: Any) -> WebSpec:
        p = ("web",)
        d = self.mapping(value, p, ("tls", "allowed_origins", "allow_insecure_login"))
        spec = WebSpec()
        tls = d.get("tls")
        if tls is not None:
            tp = (*p, "tls")
            td = self.mapping(tls, tp, ("cert_file", "key_file"))
            spec.tls_cert_file = self.file_path(td.get("cert_file"), (*tp, "cert_file"))
            spec.tls_key_file = self.file_path(td.get("key_file"), (*tp, "key_file"))
            if spec.tls_cert_file is None or spec.tls_key_file is None:
                raise self.fail(tp, "give both cert_file and key_file")
        spec.allowed_origins = self.text_list(d.get("allowed_origins"), (*p, "allowed_origins"))
        for i, origin in enumerate(spec.allowed_origins):
            if not _ORIGIN.match(origin):
                raise self.fail(
                    (*p, "allowed_origins", i),
                    "an origin is scheme://host[:port] with nothing after it, got %r" % origin,
                )
        spec.allow_insecure_login = self.boolean(
            d.get("allow_insecure_login"), (*p, "allow_insecure_login"), False
        )
        return spec

    def mqtt(self, value: Any) -> MqttSpec:
        p = ("mqtt",)
        d = self.mapping(
            value,
            p,
            (
                "host", "port", "prefix", "tags", "topics", "tls", "username", "password_file",
                "keepalive", "reconnect_max", "max_remote_tags",
            ),
        )  # fmt: skip
        host = self.text(d.get("host"), (*p, "host"))
        if not host:
            raise self.fail((*p, "host"), "the broker's host name is required")
        spec = MqttSpec(host=host)
        tls = d.get("tls")
        if tls is True:
            spec.tls = TlsSpec()
        elif tls not in (None, False):
            tp = (*p, "tls")
            td = self.mapping(tls, tp, ("ca_file", "cert_file", "key_file"))
            spec.tls = TlsSpec(
                ca_file=self.file_path(td.get("ca_file"), (*tp, "ca_file")),
                cert_file=self.file_path(td.get("cert_file"), (*tp, "cert_file")),
                key_file=self.file_path(td.get("key_file"), (*tp, "key_file")),
            )
            if (spec.tls.cert_file is None) != (spec.tls.key_file is None):
                raise self.fail(tp, "give both cert_file and key_file, or neither")
        spec.port = self.integer(d.get("port"), (*p, "port"), 8883 if spec.tls else 1883, 1, 65535)
        prefix = self.text(d.get("prefix"), (*p, "prefix"), "kcore")
        if not _PREFIX.match(prefix):
            raise self.fail((*p, "prefix"), "use levels of letters, digits, '.', '_' or '-'")
        spec.prefix = prefix
        spec.tags = self.text_list(d.get("tags"), (*p, "tags"))
        spec.topics = self.text_list(d.get("topics"), (*p, "topics"))
        spec.username = self.text(d.get("username"), (*p, "username"))
        spec.password_file = self.file_path(d.get("password_file"), (*p, "password_file"))
        if spec.password_file and not spec.username:
            raise self.fail((*p, "password_file"), "a password needs a username")
        spec.keepalive = self.integer(d.get("keepalive"), (*p, "keepalive"), 30, 2, 3600)
        spec.reconnect_max = float(
            self.number(d.get("reconnect_max"), (*p, "reconnect_max"), 30, 1, 3600)
        )
        spec.max_remote_tags = self.integer(
            d.get("max_remote_tags"), (*p, "max_remote_tags"), 1000, 0, 100000
        )
        return spec
