"""kaithem.alerts: the full transition table, trip_delay, auto_ack,
priorities, permissions, zones and the bus topics."""

import os
import time

import ktest
import pytest

from kcore.kaithem import alerts as A


@pytest.fixture
def bus_log(kai):
    got = []
    kai.message.subscribe("/system/alerts/#", lambda t, m: got.append((t, m)))
    return got


def test_trip_becomes_active_then_ack_then_clear(kai, wait_until, bus_log):
    a = kai.alerts.Alert("pump fail", priority="warning", zone="home.shed")
    assert a.state == "normal" and a.zone == "home.shed"
    a.trip("pressure low")
    assert wait_until(lambda: a.state == "active")
    assert a.trip_message == "pressure low"
    assert wait_until(lambda: ("/system/alerts/level", "warning") in bus_log)
    a.acknowledge(by="ann", notes="on it")
    assert a.state == "acknowledged" and a.acknowledged_by == "ann"
    assert wait_until(lambda: bus_log[-1] == ("/system/alerts/level", "none"))
    a.clear()
    assert a.state == "normal"


def test_active_clear_then_ack(kai, wait_until):
    a = kai.alerts.Alert("x")
    a.trip()
    assert wait_until(lambda: a.state == "active")
    a.clear()
    assert a.state == "cleared"
    a.acknowledge()
    assert a.state == "normal"


def test_tripped_clears_back_before_delay(kai):
    a = kai.alerts.Alert("x", trip_delay=60)
    a.trip()
    assert a.state == "tripped"
    a.clear()
    assert a.state == "normal"


def test_trip_delay(kai, wait_until):
    a = kai.alerts.Alert("x", trip_delay=0.1)
    t0 = time.monotonic()
    a.trip()
    assert a.state == "tripped"
    assert wait_until(lambda: a.state == "active")
    assert time.monotonic() - t0 >= 0.1
    assert a.trip_delay == 0.1


def test_retrip_from_cleared(kai, wait_until):
    a = kai.alerts.Alert("x")
    a.trip()
    assert wait_until(lambda: a.state == "active")
    a.clear()
    a.trip()
    assert a.state in ("retripped", "active")
    assert wait_until(lambda: a.state == "active")
    assert a.sm.prev_state == "retripped"


def test_retripped_clears_to_cleared(kai):
    a = kai.alerts.Alert("x", trip_delay=60)
    a.trip()
    a.sm.jump("active")
    a.clear()
    a.trip()
    assert a.state == "retripped"
    a.clear()
    assert a.state == "cleared"


def test_auto_ack(kai, wait_until):
    a = kai.alerts.Alert("x", auto_ack=0.05)
    a.trip()
    assert wait_until(lambda: a.state == "active")
    a.clear()
    assert wait_until(lambda: a.state == "normal")
    b = kai.alerts.Alert("y", auto_ack=True)
    assert b.auto_ack == A.DEFAULT_AUTO_ACK


def test_ignored_events(kai):
    a = kai.alerts.Alert("x")
    a.clear()
    a.acknowledge()
    assert a.state == "normal"


def test_error_state_is_visible_and_acked_to_normal(kai, wait_until, bus_log):
    a = kai.alerts.Alert("sensor", priority="info")
    a.error("sensor unplugged")
    assert a.state == "error"
    assert a.id in kai.alerts.visible()
    assert kai.alerts.level() == "error"
    assert wait_until(lambda: ("/system/alerts/level", "error") in bus_log)
    a.trip()
    a.clear()
    assert a.state == "error"
    a.acknowledge()
    assert a.state == "normal"
    assert kai.alerts.level() == "none"


def test_state_topic_payload(kai, wait_until, bus_log):
    a = kai.alerts.Alert("door", priority="critical", id="door1", description="front")
    a.trip()
    assert wait_until(lambda: a.state == "active")

    def has_active():
        states = [m for t, m in bus_log if t == "/system/alerts/state"]
        return states and states[-1].get("door1", {}).get("state") == "active"

    assert wait_until(has_active)
    payload = [m for t, m in bus_log if t == "/system/alerts/state"][-1]["door1"]
    assert payload["name"] == "door" and payload["description"] == "front"
    assert payload["priority"] == "critical"


def test_notifications_on_active(kai, wait_until):
    notes = []
    kai.message.subscribe("/system/notifications/#", lambda t, m: notes.append(t))
    a = kai.alerts.Alert("x", priority="error")
    a.trip()
    assert wait_until(lambda: "/system/notifications/errors" in notes)


def test_priorities(kai):
    with pytest.raises(A.AlertError, match="unknown alert priority"):
        kai.alerts.Alert("x", priority="loud")
    assert kai.alerts.Alert("x", priority="normal").priority == "info"  # help page default
    assert kai.alerts.Alert("y").priority == "info"


def test_level_is_highest_unacknowledged(kai, wait_until):
    w = kai.alerts.Alert("w", priority="warning")
    c = kai.alerts.Alert("c", priority="critical")
    s = kai.alerts.Alert("s", priority="critical", silent=True)
    for a in (w, c, s):
        a.trip()
    assert wait_until(lambda: all(a.state == "active" for a in (w, c, s)))
    assert kai.alerts.level() == "critical"
    c.acknowledge()
    assert kai.alerts.level() == "warning"


def test_permissions(kai):
    a = kai.alerts.Alert("x", permissions=["/users/x.view"], ackPermissions=["/users/x.ack"])
    assert "/users/alerts.view" in a.permissions
    assert "/users/alerts.acknowledge" in a.ack_permissions  # leading slash fixed
    assert not a.can_view(["/users/alerts.view"])
    assert a.can_view(["/users/alerts.view", "/users/x.view"])
    a.trip()
    a.sm.jump("active")
    with pytest.raises(A.AlertPermissionError):
        a.acknowledge(by="guest", permissions=["/users/alerts.acknowledge"])
    with pytest.raises(PermissionError):
        a.acknowledge(by="guest", permissions=[])
    assert a.state == "active"
    a.acknowledge(by="admin", permissions=["/users/alerts.acknowledge", "/users/x.ack"])
    assert a.state == "acknowledged"
    assert kai.alerts.visible(["/users/alerts.view"]) == {}


def test_names_and_ids(kai):
    with pytest.raises(A.AlertError):
        kai.alerts.Alert("  ")
    a = kai.alerts.Alert("bad<name>")
    assert a.name == "bad name"
    kai.alerts.Alert("x", id="same")
    with pytest.raises(A.AlertError, match="already exists"):
        kai.alerts.Alert("y", id="same")
    b, c = kai.alerts.Alert("z"), kai.alerts.Alert("z")
    assert b.id != c.id
    assert kai.alerts.get(b.id) is b
    b.close()
    assert kai.alerts.get(b.id) is None


def test_bad_arguments(kai):
    with pytest.raises(A.AlertError):
        kai.alerts.Alert("x", trip_delay=-1)
    with pytest.raises(A.AlertError):
        kai.alerts.Alert("x", auto_ack="soon")


# ------------------------------------------------------------- beeping


@pytest.fixture
def beeping(tmp_path):
    """An instance on a manual clock whose alerts beep into the recording
    sound back end, without jitter."""
    from kcore.kaithem import Kaithem, ManualClock

    clock = ManualClock(start=0.0)
    config = {
        "sound-backend": "recording",
        "alert-sound-output": "@auto",
        "alert-sounds": {"warning": "notify.ogg", "error": "alert.ogg", "critical": "error.ogg"},
        "alert-beep-jitter": 0,
    }
    k = Kaithem(vardir=str(tmp_path), config=config, clock=clock)
    yield k, clock
    k.close()


def beeps(k):
    return [
        (os.path.basename(entry[2]), entry[1])
        for entry in k.sound.backend.log
        if entry[0] == "play"
    ]


def advance_to(k, clock, t):
    """Move the clock to ``t`` and let what became due run."""
    clock.set(t)
    assert k.settle()


def test_critical_alert_beeps_every_36_seconds(beeping):
    k, clock = beeping
    a = k.alerts.Alert("fire", priority="critical")
    a.trip()
    ktest.wait_for(lambda: a.state == "active" and len(beeps(k)) == 1, what="first beep")
    assert beeps(k) == [("error.ogg", A.BEEP_HANDLE)]
    advance_to(k, clock, 35.9)
    assert len(beeps(k)) == 1
    advance_to(k, clock, 36.0)
    ktest.wait_for(lambda: len(beeps(k)) == 2, what="beep at 36 s")
    advance_to(k, clock, 72.0)
    ktest.wait_for(lambda: len(beeps(k)) == 3, what="beep at 72 s")
    a.acknowledge()
    advance_to(k, clock, 1000.0)
    assert len(beeps(k)) == 3  # acknowledged: silent


@pytest.mark.parametrize(
    ("priority", "sound"), [("warning", "notify.ogg"), ("error", "alert.ogg")]
)
def test_warning_and_error_beep_hourly(beeping, priority, sound):
    k, clock = beeping
    a = k.alerts.Alert("door", priority=priority)
    a.trip()
    ktest.wait_for(lambda: len(beeps(k)) == 1, what="first beep")
    advance_to(k, clock, 3599.0)
    assert len(beeps(k)) == 1
    advance_to(k, clock, 3600.0)
    ktest.wait_for(lambda: len(beeps(k)) == 2, what="hourly beep")
    assert {b[0] for b in beeps(k)} == {sound}


def test_beeps_follow_the_highest_unacknowledged_priority(beeping):
    k, clock = beeping
    w = k.alerts.Alert("w", priority="warning")
    w.trip()
    ktest.wait_for(lambda: len(beeps(k)) == 1, what="warning beep")
    c = k.alerts.Alert("c", priority="critical")
    c.trip()
    ktest.wait_for(lambda: len(beeps(k)) == 2, what="critical beep at once")
    advance_to(k, clock, 36.0)
    ktest.wait_for(lambda: len(beeps(k)) == 3, what="critical interval")
    c.acknowledge()
    ktest.wait_for(lambda: k.alerts.level() == "warning", what="level back to warning")
    advance_to(k, clock, 36.0 + 3600.0)
    ktest.wait_for(lambda: len(beeps(k)) == 4, what="warning interval again")
    assert [b[0] for b in beeps(k)] == ["notify.ogg", "error.ogg", "error.ogg", "notify.ogg"]


def test_silent_info_and_disabled_alerts_do_not_beep(beeping, tmp_path):
    k, clock = beeping
    k.alerts.Alert("quiet", priority="critical", silent=True).trip()
    k.alerts.Alert("fyi", priority="info").trip()
    advance_to(k, clock, 100.0)
    assert beeps(k) == []
    from kcore.kaithem import Kaithem

    with Kaithem(vardir=str(tmp_path / "d"), config={"sound-backend": "recording"}) as d:
        a = d.alerts.Alert("fire", priority="critical")  # output off by default, as in Kaithem
        a.trip()
        ktest.wait_for(lambda: a.state == "active", what="active")
        assert d.alerts._registry.beeper.enabled is False
        assert d.sound._backend is None  # the sound back end was never even created
