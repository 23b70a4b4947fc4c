"""Token format and verification: every weakness of the original, each with a clear status."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

import kcore.auth as auth
from kcore.auth import tokens

NOW = 1_800_000_000


def verify(token, ss, guard, command="open-door", client_addr=None, now=NOW, **kw):
    return auth.verify_token_given_shared_secret(
        token, command, ss, client_addr, now=now, replay_guard=guard, **kw
    )


def test_valid_token_verifies(make_token, secret_a, guard):
    r = verify(make_token(t=NOW), secret_a, guard)
    assert r.ok and r.status == "ok"
    assert (r.registered_hostname, r.username, r.sent_time) == ("client1", "alice", NOW)


def test_token_format_is_v3_hmac_sha256_over_canonical_bytes(make_token, secret_a):
    token = make_token("cmd:with:colons", t=NOW)
    version, host, user, t, mac = token.split(":")
    assert (version, host, user, t) == ("v3", "client1", "alice", str(NOW))
    fields = ["kcore-auth", "v3", host, user, t, "cmd:with:colons"]
    msg = b"".join(len(f.encode()).to_bytes(4, "big") + f.encode() for f in fields)
    assert mac == hmac.new(bytes.fromhex(secret_a.secret), msg, hashlib.sha256).hexdigest()


def test_forged_mac_is_rejected(make_token, secret_a, guard):
    token = make_token(t=NOW)
    forged = token[:-64] + "0" * 64
    r = verify(forged, secret_a, guard)
    assert not r.ok and r.status.startswith("Token fails to verify")


def test_token_for_another_command_is_rejected(make_token, secret_a, guard):
    r = verify(make_token("open-door", t=NOW), secret_a, guard, command="disarm")
    assert not r.ok and r.status.startswith("Token fails to verify")


def test_token_from_another_machine_is_rejected(secret_a, secret_b, guard):
    assert secret_a.secret != secret_b.secret  # same user+password, different hardware
    token = auth.generate_token_given_shared_secret("open-door", secret_b, override_time=NOW)
    r = verify(token, secret_a, guard)
    assert not r.ok and r.status.startswith("Token fails to verify")


def test_generate_token_uses_the_machine_identity(monkeypatch, secret_a, guard, machines):
    MACHINE_B = machines[1]

    token = auth.generate_token("open-door", "alice", "alice-pw", "client1", NOW)
    assert verify(token, secret_a, guard).ok
    monkeypatch.setenv("PUID", MACHINE_B)
    auth.reset_machine_identity_cache()
    other = auth.generate_token("open-door", "alice", "alice-pw", "client1", NOW + 1)
    r = verify(other, secret_a, guard)
    assert not r.ok and r.status.startswith("Token fails to verify")


def test_replayed_token_is_rejected(make_token, secret_a, guard):
    token = make_token(t=NOW)
    assert verify(token, secret_a, guard).ok
    r = verify(token, secret_a, guard)
    assert not r.ok and r.status.startswith("Received token is not later")


def test_replay_state_advances_after_every_success(make_token, secret_a, guard):
    """The original only remembered the first token: later ones were replayable."""
    t1, t2 = make_token(t=NOW), make_token(t=NOW + 1)
    assert verify(t1, secret_a, guard).ok
    assert verify(t2, secret_a, guard, now=NOW + 1).ok
    for tok in (t2, t1):
        r = verify(tok, secret_a, guard, now=NOW + 1)
        assert not r.ok and "not later" in r.status


def test_forged_token_cannot_poison_the_replay_floor(make_token, secret_a, guard):
    """The original stored the time before checking the hash: a forged future
    token locked the real client out."""
    future = make_token(t=NOW + 80)
    forged = future[:-64] + "f" * 64
    assert not verify(forged, secret_a, guard).ok
    assert verify(make_token(t=NOW), secret_a, guard).ok


def test_more_than_one_token_per_second(make_token, secret_a, guard):
    for i in range(5):
        r = verify(make_token(t=NOW + i / 10), secret_a, guard)
        assert r.ok, r.status
    assert verify(make_token(t=NOW + 0.25), secret_a, guard).ok is False


def test_expired_token_is_rejected(make_token, secret_a, guard):
    r = verify(make_token(t=NOW - 91), secret_a, guard)
    assert not r.ok and r.status.startswith("Time difference too high")


def test_future_token_inside_window_passes_outside_fails(make_token, secret_a, guard):
    assert verify(make_token(t=NOW + 60), secret_a, guard).ok
    r = verify(make_token(t=NOW + 200), secret_a, guard)
    assert not r.ok and "Time difference too high" in r.status


def test_time_window_can_be_disabled(make_token, secret_a, guard):
    assert verify(make_token(t=1000), secret_a, guard, max_time_delta=0).ok
    assert verify(make_token(t=1001), secret_a, guard, max_time_delta=None).ok


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), -5, True, "90"])
def test_non_finite_or_odd_time_window_is_refused(make_token, secret_a, guard, db_file, bad):
    """NaN compared false with every delta, so the original accepted a token of any
    age; infinity too."""
    old = make_token(t=1000)  # 50 years before NOW
    with pytest.raises(auth.AuthArgumentError, match="max_time_delta"):
        verify(old, secret_a, guard, max_time_delta=bad)
    assert isinstance(auth.AuthArgumentError("x"), ValueError)
    assert auth.register(str(secret_a), "db-pw", db_file)
    with pytest.raises(auth.AuthArgumentError, match="max_time_delta"):
        auth.verify_token(old, "open-door", None, "db-pw", max_time_delta=bad, db_filename=db_file)
    with pytest.raises(auth.AuthArgumentError):
        auth.verify_token(old, "open-door", None, "db-pw", max_time_delta=bad, db_filename=None)
    with pytest.raises(auth.AuthArgumentError):
        auth.VerificationParams("db-pw", db_file, max_time_delta=bad)
    with pytest.raises(auth.AuthArgumentError):
        auth.web_auth_hook("db-pw", max_time_delta=bad)
    assert not verify(old, secret_a, guard, max_time_delta=90.5).ok  # finite floats are fine


@pytest.mark.parametrize(
    ("mangle", "expect"),
    [
        (lambda t: t[:-1], "MAC field truncated or garbled"),
        (lambda t: t[: len(t) // 2], "token fails to parse"),
        (lambda t: ":".join(t.split(":")[:3]), "expected 5 colon-separated fields, got 3"),
        (lambda t: t + ":extra", "expected 5 colon-separated fields, got 6"),
        (lambda t: t[:-64] + "Z" * 64, "MAC field truncated or garbled"),
        (lambda t: t.replace("client1", "cli ent1"), "bad hostname field"),
        (lambda t: t.replace("alice", "al\nice"), "bad username field"),
        (lambda t: t.replace(str(NOW), "soon"), "bad time field"),
        (lambda t: "v9" + t[2:], 'Wrong token/protocol version.   Saw "v9", expected "v3".'),
        (lambda t: "\x00\x01garbage", "token fails to parse"),
        (lambda t: t * 20, "longer than"),
    ],
)
def test_truncated_or_garbled_tokens_get_a_clear_status(
    mangle, expect, make_token, secret_a, guard
):
    r = verify(mangle(make_token(t=NOW)), secret_a, guard)
    assert not r.ok
    assert expect in r.status


def test_non_string_and_empty_tokens(secret_a, guard):
    assert verify("", secret_a, guard).status == "no authN token provided"
    assert verify(None, secret_a, guard).status == "no authN token provided"
    assert verify(12345, secret_a, guard).status == "token fails to parse: not a string"


def test_status_never_contains_the_expected_token_or_secret(make_token, secret_a, guard):
    good = make_token(t=NOW)
    good_mac = good.rsplit(":", 1)[1]
    bad_inputs = [
        good[:-64] + "0" * 64,
        good,
        good[:-2],
        "v3:client1:alice:%d:%s" % (NOW, "a" * 64),
    ]
    statuses = []
    for tok in bad_inputs:
        statuses.append(verify(tok, secret_a, guard, command="other").status)
    statuses.append(verify(good, secret_a, guard).status)  # ok, then replayed
    statuses.append(verify(good, secret_a, guard).status)
    for s in statuses:
        assert good_mac not in s and secret_a.secret not in s
        assert good not in s
    with pytest.raises(auth.TokenRejected) as ei:
        verify(bad_inputs[0], secret_a, guard).raise_for_status()
    assert good_mac not in str(ei.value) and secret_a.secret not in repr(ei.value)


def test_shared_secret_repr_hides_the_secret_str_carries_it(secret_a):
    assert secret_a.secret not in repr(secret_a)
    assert secret_a.secret in str(secret_a)
    assert auth.SharedSecret.from_string(str(secret_a)) == secret_a


def test_shared_secret_from_string_never_evaluates(tmp_path):
    marker = tmp_path / "pwned"
    evil = (
        "SharedSecret(version_tag=__import__('pathlib').Path(%r).write_text('x'), "
        "hostname='h', username='u', secret='%s')" % (str(marker), "a" * 64)
    )
    with pytest.raises(auth.AuthNError, match="string literals"):
        auth.SharedSecret.from_string(evil)
    assert not marker.exists()
    for bad in ["__import__('os').getpid()", "SharedSecret(**{'a': 1})", "[1, 2]", "", "{"]:
        with pytest.raises(auth.AuthNError):
            auth.SharedSecret.from_string(bad)


def test_shared_secret_accepts_json_and_validates_fields():
    ss = auth.SharedSecret.from_string(
        '{"version_tag": "v3", "hostname": "h1", "username": "u", "secret": "%s"}' % ("b" * 64)
    )
    assert ss.lookup_key() == "h1:u"
    with pytest.raises(auth.AuthNError, match="secret"):
        auth.SharedSecret("v3", "h1", "u", "b" * 40)
    with pytest.raises(auth.AuthNError, match="hostname"):
        auth.SharedSecret("v3", "h:1", "u", "b" * 64)
    with pytest.raises(auth.AuthNError, match="unknown field"):
        auth.SharedSecret.from_string(
            '{"version_tag": "v3", "hostname": "h", "username": "u", "secret": "%s", "x": 1}'
            % ("b" * 64)
        )


def test_client_address_check_and_wildcard(secret_a, make_token, guard):
    pinned = auth.SharedSecret("v3", "client1", "alice", secret_a.secret, "10.1.2.3")
    r = verify(make_token(t=NOW), pinned, guard, client_addr="10.9.9.9")
    assert not r.ok and r.status == 'Wrong hostname.  Saw "10.9.9.9", expected "10.1.2.3".'
    assert verify(make_token(t=NOW), pinned, guard, client_addr="10.1.2.3").ok
    anywhere = auth.SharedSecret("v3", "client1", "alice", secret_a.secret, "*")
    assert verify(make_token(t=NOW + 1), anywhere, guard, client_addr="192.0.2.7").ok


def test_forged_token_costs_no_dns_lookup(monkeypatch, make_token, secret_a, guard, db_file):
    """The MAC is checked before the client address, whose names need DNS."""
    lookups = []

    def fake_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        return [(2, 1, 6, "", ("10.1.2.3", 0))]

    monkeypatch.setattr(tokens.socket, "getaddrinfo", fake_getaddrinfo)
    pinned = auth.SharedSecret("v3", "client1", "alice", secret_a.secret, "gate.example")
    forged = make_token(t=NOW)[:-64] + "0" * 64
    r = verify(forged, pinned, guard, client_addr="attacker.example")
    assert r.status.startswith("Token fails to verify") and lookups == []
    assert auth.register(secret_a, "db-pw", db_file)  # expects the address of "client1"
    r = auth.verify_token(
        forged, "open-door", "attacker.example", "db-pw", db_filename=db_file, now=NOW
    )
    assert r.status.startswith("Token fails to verify") and lookups == []
    # A genuine token does get its address checked (here both names resolve alike).
    assert verify(make_token(t=NOW), pinned, guard, client_addr="gate2.example").ok
    assert lookups == ["gate2.example", "gate.example"]


def test_compare_hosts():
    assert auth.compare_hosts("127.0.0.1", "127.0.0.1")
    assert auth.compare_hosts("localhost", "127.0.0.1") or auth.compare_hosts("localhost", "::1")
    assert not auth.compare_hosts("127.0.0.1", "10.0.0.1")
    assert not auth.compare_hosts("no-such-host.invalid", "127.0.0.1")
    assert not auth.compare_hosts(None, "127.0.0.1")


def test_secret_derivation_is_cached_and_depends_on_every_input(machines):
    MACHINE_A = machines[0]

    base = auth.generate_shared_secret("bob", "pw", "h", machine_data=MACHINE_A)
    t0 = time.perf_counter()
    again = auth.generate_shared_secret("bob", "pw", "h", machine_data=MACHINE_A)
    assert time.perf_counter() - t0 < 0.01 and again == base
    variants = [
        ("bob", "pw2", "h", MACHINE_A),
        ("bob2", "pw", "h", MACHINE_A),
        ("bob", "pw", "h2", MACHINE_A),
        ("bob", "pw", "h", MACHINE_A + "x"),
    ]
    for user, pw, host, md in variants:
        assert auth.generate_shared_secret(user, pw, host, machine_data=md).secret != base.secret


def _v2_token(ss, username, t, command):
    """The original's token, built from the spec (section 4.1.2) independently."""
    ss_repr = (
        "SharedSecret(version_tag='v2', hostname=%r, username=%r, secret=%r, "
        "server_override_hostname=None)" % (ss.hostname, ss.username, ss.secret)
    )
    plain = "v2:%s:%s:%d:%s:%s" % (ss.hostname, username, t, command, ss_repr)
    return "v2:%s:%s:%d:%s" % (ss.hostname, username, t, hashlib.sha1(plain.encode()).hexdigest())


def test_legacy_v2_tokens_are_opt_in(guard):
    v2 = auth.SharedSecret("v2", "oldbox", "carol", "c" * 40)
    token = _v2_token(v2, "carol", NOW, "status")
    r = verify(token, v2, guard, command="status")
    assert not r.ok and "legacy=True" in r.status
    r = verify(token, v2, guard, command="status", legacy=True)
    assert r.ok, r.status
    r = verify(token, v2, guard, command="status", legacy=True)
    assert not r.ok and "not later" in r.status
    forged = token[:-40] + "0" * 40
    r = verify(forged, v2, guard, command="status", legacy=True, now=NOW)
    assert not r.ok and r.status.startswith("Token fails to verify")


def test_v2_secret_cannot_make_new_tokens():
    with pytest.raises(auth.AuthNError, match="original format"):
        auth.generate_token_given_shared_secret("x", auth.SharedSecret("v2", "h", "u", "c" * 40))


def test_replay_guard_is_bounded():
    g = tokens.ReplayGuard(max_entries=10)
    for i in range(25):
        assert g.check_and_advance("k%d" % i, i)
    assert len(g.last) <= 10
    assert "k24" in g.last


def test_in_memory_registration_path(secret_a, make_token):
    assert auth.register(secret_a, "unused", db_filename=None)
    r = auth.verify_token(
        make_token(t=NOW), "open-door", None, "unused", db_filename=None, now=NOW
    )
    assert r.ok, r.status
    r = auth.verify_token(
        make_token(t=NOW), "open-door", None, "unused", db_filename=None, now=NOW
    )
    assert not r.ok and "not later" in r.status
    other = auth.generate_token_given_shared_secret(
        "x", auth.SharedSecret("v3", "ghost", "alice", "d" * 64), override_time=NOW
    )
    r = auth.verify_token(other, "x", None, "unused", db_filename=None, now=NOW)
    assert r.status == "could not find client registration for ghost:alice"


def test_register_refuses_wrong_versions(db_file):
    v2 = auth.SharedSecret("v2", "oldbox", "carol", "c" * 40)
    assert auth.register(v2, "pw", db_file) is False
    assert auth.register(v2, "pw", db_file, legacy=True) is True
