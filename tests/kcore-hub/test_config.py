"""The YAML configuration: validated, errors name the file, the line and the key."""

from __future__ import annotations

import textwrap

import pytest

from kcore.hub.config import DEFAULT_CONFIG, ConfigError, load_config, parse_config


def parse(text, source="/etc/hub/hub.yaml"):
    return parse_config(textwrap.dedent(text), source)


def error_of(text):
    with pytest.raises(ConfigError) as e:
        parse(text)
    return str(e.value)


def test_the_embedded_default_is_valid_and_complete():
    cfg = load_config()
    assert cfg.source == DEFAULT_CONFIG
    assert cfg.location is not None and cfg.location.name == "Greenwich"
    assert cfg.tags["/demo/temperature"].unit == "degC"
    assert cfg.tags["/demo/temperature"].public is True
    assert cfg.hardware.button == 17 and cfg.hardware.led == 27
    assert cfg.hardware.neopixels is not None
    assert "porch" in cfg.machines and cfg.machines["porch"].start == "off"
    assert cfg.alerts["too_warm"].above == 24
    assert [w["type"] for w in cfg.widgets][:2] == ["meter", "slider"]
    assert cfg.scripts and cfg.scripts[0].endswith("default/demo.py")


def test_an_empty_file_is_a_hub_with_nothing_configured():
    cfg = parse("")
    assert cfg.tags == {} and cfg.mqtt is None and cfg.location is None


def test_every_tag_field_is_optional_and_types_are_inferred():
    cfg = parse(
        """
        tags:
          plain:
          /t/num: {default: 3}
          /t/text: {default: hi}
          /t/obj: {default: [1, 2]}
          /t/full: {default: 1.5, unit: degC, min: 0, max: 10, public: true}
        """
    )
    assert cfg.tags["/plain"].type == "number"
    assert cfg.tags["/t/text"].type == "string"
    assert cfg.tags["/t/obj"].type == "object"
    full = cfg.tags["/t/full"]
    assert (full.unit, full.min, full.max, full.public) == ("degC", 0, 10, True)
    assert cfg.tags["/t/num"].public is False  # deny by default


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("tags:\n  /a: {min: cold}\n", 2, "tags./a.min", "must be a number, got 'cold'"),
        ("tags:\n  /a:\n    mni: 3\n", 3, "tags./a.mni", "unknown key"),
        ("title: x\nmqtt:\n  port: 1883\n", 2, "mqtt.host", "is required"),
        ("mqtt: {host: h, port: 70000}\n", 1, "mqtt.port", "between 1 and 65535"),
        ("location: {lat: 95, lon: 0}\n", 1, "location.lat", "between -90 and 90"),
        ("hardware:\n  gpio: magic\n", 2, "hardware.gpio", "auto, simulation"),
        (
            "alerts:\n  hot: {tag: /t, priority: loud, above: 1}\n",
            2,
            "alerts.hot.priority",
            "loud",
        ),
        ("alerts:\n  hot: {tag: /t}\n", 2, "alerts.hot", "above"),
        (
            "state_machines:\n  m:\n    states: [a, b]\n"
            "    rules:\n      - {from: a, event: e, to: c}\n",
            5,
            "state_machines.m.rules.0.to",
            "unknown state 'c'",
        ),
        ("widgets:\n  - {type: meter}\n", 2, "widgets.0.tag", "needs a tag"),
        ("widgets:\n  - {type: dial, tag: /x}\n", 2, "widgets.0.type", "must be one of"),
        ("widgets:\n  - {type: state, machine: m}\n", 2, "widgets.0.machine", "unknown state"),
        ("tags:\n  =1+1: {}\n", 2, "tags.=1+1", "expression tags"),
        ("users:\n  bob: {groups: [ghosts]}\n", 2, "users.bob.groups.0", "unknown group"),
        ("hub_id: 'a/b'\n", 1, "hub_id", "letters, digits"),
        ("scripts: [a.py, a.py]\n", 1, "scripts", "twice"),
        ("tags: [a, b]\n", 1, "tags", "must be a mapping"),
    ],
)
def test_errors_name_file_line_and_key(text, line, key, words):
    msg = error_of(text)
    assert msg.startswith("/etc/hub/hub.yaml:%d: %s: " % (line, key)), msg
    assert words in msg


def test_yaml_problems_name_the_line():
    assert error_of("a: [1, 2\nb: 3\n").startswith("/etc/hub/hub.yaml:")
    msg = error_of("tags:\n  /a: {}\n  /a: {}\n")
    assert msg.startswith("/etc/hub/hub.yaml:3:") and "duplicate key" in msg
    assert "unsupported YAML tag" in error_of("title: !!python/object:os.system x\n")


def test_alias_bombs_are_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 7):
        bomb += "l%d: &l%d [%s]\n" % (
            i,
            i,
            ", ".join(["*" + ("a" if i == 1 else "l%d" % (i - 1))] * 10),
        )
    assert "too large" in error_of(bomb)


def test_paths_resolve_against_the_config_folder(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_text("api_token_file: secrets/token\nscripts: [auto/lights.py]\n")
    cfg = load_config(str(path))
    assert cfg.api_token_file == str(tmp_path / "secrets" / "token")
    assert cfg.scripts == [str(tmp_path / "auto" / "lights.py")]


def test_unreadable_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        load_config(str(tmp_path / "nope.yaml"))


def test_mqtt_section():
    cfg = parse(
        """
        mqtt:
          host: broker.lan
          tls: {ca_file: ca.pem}
          tags: ["*"]
          topics: [home/*]
          username: hub
          password_file: mqtt.pw
        """
    )
    m = cfg.mqtt
    assert m.port == 8883 and m.prefix == "kcore" and m.tls.ca_file == "/etc/hub/ca.pem"
    assert m.tags == ["*"] and m.topics == ["home/*"] and m.password_file == "/etc/hub/mqtt.pw"
    assert "prefix" in error_of("mqtt: {host: h, prefix: 'a/#'}\n")
    assert "needs a username" in error_of("mqtt: {host: h, password_file: x}\n")
