"""kaithem.widget: the widget types, and the WebSocket protocol spoken by a
real client (the websockets library) against a real server."""

from __future__ import annotations

import gc
import json
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import _webtest
import ktest

import kcore.kaithem as kk
from kcore.html import raw
from kcore.kaithem import Kaithem
from kcore.kaithem import widget as kwidget
from kcore.kaithem.widget._outbox import Outbox, SenderPool

PW = "correct horse battery staple"
XSS = '<img src=x onerror="alert(1)">'


@pytest.fixture
def k(kai):
    return kai  # conftest's fresh instance, closed after the test


@pytest.fixture
def served(k):
    k.users.add_group("writers", ["/users/widgets.write"])
    k.users.add_group("secret", ["/secret.view"])
    k.users.add_user("alice", PW, groups=["writers", "secret"])
    k.web.serve()
    return k


def _login(k):
    c = _webtest.Client(k.web.url)
    assert c.login("alice", PW).status == 303
    return c


def _entries(sock, wid):
    return [e for e in sock.received if e[0] == wid]


# -- the widget API without a browser ------------------------------------------------


def test_namespace_alias_ids_and_module_classes(k, tmp_path):
    assert k.widgets is k.widget
    span = k.widget.DynamicSpan()
    assert isinstance(span, kwidget.DynamicSpan) and isinstance(span, kwidget.Widget)
    assert span.uuid == span.id and len(span.id) >= 8 and "-" not in span.id
    assert k.widget.get(span.id) is span and span in k.widget.widgets()
    assert k.widget.ScrollingWindow is k.widget.ScrollBox
    with pytest.raises(kwidget.WidgetError, match="exists already"):
        k.widget.DynamicSpan(id=span.id)
    with pytest.raises(kwidget.WidgetError, match="control characters"):
        k.widget.DynamicSpan(id="a\nb")
    other = Kaithem(vardir=str(tmp_path / "other"))
    previous = kk.set_default(other)
    try:
        plain = kwidget.Switch()  # module-level class: the default instance
        assert other.widget.get(plain.id) is plain and k.widget.get(plain.id) is None
    finally:
        kk.set_default(previous)
        other.close()


def test_write_read_callbacks_and_permissions(k):
    sw = k.widget.Switch()
    calls = []
    sw.attach(lambda user, value: calls.append((user, value)))
    sw.attach2(lambda user, value, cid: calls.append((user, value, cid)))
    sw.write(1)
    assert sw.read() is True and sw.value is True
    assert calls == [("__SERVER__", True), ("__SERVER__", True, None)]
    with pytest.raises(TypeError):
        sw.attach(5)
    assert sw.read_permissions == () and sw.write_permissions == ("/users/widgets.write",)
    sw.require_to_write("/a")
    sw.require_to_write("/b")
    assert sw.write_permissions == ("/a", "/b")
    sw.require("/r")
    assert sw.read_permissions == ("/r",)
    sw.set_permissions(write=[])
    assert sw.write_permissions == () and sw.read_permissions == ("/r",)
    sw.set_permissions(read=[], write="/w")
    assert sw.read_permissions == () and sw.write_permissions == ("/w",)
    with pytest.raises(kwidget.WidgetError):
        sw.set_permissions(read=[5])


def test_callback_errors_are_reported_not_raised(k):
    errors = []
    sub = k.message.subscribe("/system/errors/widgets", lambda m: errors.append(m))
    box = k.widget.TextBox()

    def broken(user, value):
        raise RuntimeError("oops")

    box.attach(broken)
    box.write("x")  # does not raise
    assert box.read() == "x"
    assert ktest.wait_until(lambda: errors, timeout=5)
    assert "oops" in errors[0]["error"]
    sub.unsubscribe()


def test_types_render_as_text(k):
    span = k.widget.DynamicSpan()
    span.write(XSS)
    html = span.render()
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert 'data-kw-type="span"' in html
    span.write("x" * 300)
    assert len(span.read()) == 255
    span.write(raw("<b>bold</b>"))
    assert "<b>bold</b>" in span.render()
    b = k.widget.Button()
    assert "&lt;go&gt;" in b.render("<go>")
    trigger = b.render("Fire", type="trigger")
    assert "kw-arm" in trigger and "disabled" in trigger
    with pytest.raises(kwidget.WidgetError):
        b.render("x", type="huge")
    t = k.widget.TimeWidget()
    assert "<script>" in t.render() and "kw-time-inline" in t.render(type="inline")
    sl = k.widget.Slider(min=0, max=10, step=0.5)
    assert 'type="range"' in sl.render(unit="V", label="<L>") and "&lt;L&gt;" in sl.render(
        label="<L>"
    )
    assert 'data-kw-mode="onrelease"' in sl.render(type="onrelease")
    with pytest.raises(kwidget.WidgetError):
        sl.render(type="sideways")
    assert "checked" not in k.widget.Switch().render("on?")
    tb = k.widget.TextBox()
    tb.write('"><script>')
    assert 'value="&quot;&gt;&lt;script&gt;"' in tb.render("label")
    sb = k.widget.ScrollBox(length=3)
    for i in range(5):
        sb.write("line <%d>" % i)
    assert sb.read() == ["line <2>", "line <3>", "line <4>"]
    assert "line &lt;4&gt;" in sb.render()
    api = k.widget.APIWidget()
    assert 'window["myObj"]=kaithemapi.APIWidget(' in api.render("myObj")
    for bad in ("1x", "a-b", "x;alert(1)", 5):
        with pytest.raises(kwidget.WidgetError):
            api.render(bad)
    with pytest.raises(NotImplementedError):
        k.widget.DataSource().render()


def test_protected_widgets_render_without_their_value(k):
    span = k.widget.DynamicSpan()
    span.write("secret value")
    span.require("/secret.view")
    assert "secret value" not in span.render()  # no request context: not shown
    meter = k.widget.Meter()
    meter.write(42)
    meter.require("/secret.view")
    assert "42" not in meter.render()


def test_meter_levels_and_units(k):
    m = k.widget.Meter(
        high=100, high_warn=80, low=0, low_warn=10, unit="degC", displayUnits="degC|degF"
    )
    assert m.level(50) == "normal" and m.level(85) == "warning" and m.level(100) == "error"
    assert m.level(5) == "warning" and m.level(0) == "error"
    assert m.format(100) == "100degC | 212degF"
    m.write(85)
    assert m._wire(m.value) == [85.0, "warning", "85degC | 185degF"]
    v = k.widget.Meter(unit="V")
    assert v.format(1500) == "1.5kV"
    assert k.widget.Meter().format(3.14159) == "3.142"
    with pytest.raises(kwidget.WidgetError, match="finite"):
        m.write(float("nan"))
    with pytest.raises(kwidget.WidgetError):
        k.widget.Meter(high="lots")


def test_slider_switch_textbox_values(k):
    s = k.widget.Slider(min=0, max=10, step=0.5)
    s.write(3.3)
    assert s.read() == 3.5
    s.write(99)
    assert s.read() == 10
    s.write(-5)
    assert s.read() == 0
    with pytest.raises(kwidget.WidgetError):
        k.widget.Slider(min=5, max=1)
    with pytest.raises(kwidget.WidgetError):
        s._from_client("abc")
    with pytest.raises(kwidget.WidgetError):
        k.widget.Switch()._from_client("yes")
    with pytest.raises(kwidget.WidgetError):
        k.widget.TextBox()._from_client(5)
    with pytest.raises(kwidget.WidgetError):
        k.widget.Button()._from_client("exploded")
    with pytest.raises(kwidget.WidgetError, match="JSON"):
        k.widget.APIWidget().write({1, 2})


def test_widget_lifetime_is_weak_and_close_deletes(k):
    span = k.widget.DynamicSpan()
    wid = span.id
    del span
    gc.collect()
    assert k.widget.get(wid) is None
    other = k.widget.DynamicSpan()
    other.close()
    assert k.widget.get(other.id) is None


# -- the protocol, against a real server ---------------------------------------------------


def test_subscribe_snapshot_update_and_unsubscribe(served):
    k = served
    span = k.widget.DynamicSpan()
    span.write("first")
    with _webtest.Socket(k.web.url) as a, _webtest.Socket(k.web.url) as b:
        a.send({"subsc": [span.id]})
        assert a.sync() == [[span.id, "first"]]
        b.send({"subsc": [span.id]})
        assert b.sync() == [[span.id, "first"]]
        assert a.sync() == []  # the snapshot went to the new subscriber only
        span.write(XSS)
        assert a.wait_entry(lambda e: e[0] == span.id) == [span.id, XSS]  # text, not HTML
        assert b.wait_entry(lambda e: e[0] == span.id) == [span.id, XSS]
        span.write(raw("<b>ok</b>"))
        assert a.wait_entry(lambda e: e[0] == span.id)[1] == {"__html__": "<b>ok</b>"}
        a.send({"unsub": [span.id]})
        a.sync()
        span.write("after")
        assert b.wait_entry(lambda e: e[0] == span.id and e[1] == "after")
        assert a.sync() == []  # unsubscribing really stops the pushes
        a.received.clear()
        a.send({"subsc": [span.id, span.id]})
        assert a.sync() == [[span.id, "after"]]


def test_writes_need_permission_by_default(served):
    k = served
    slider = k.widget.Slider()
    got = []
    slider.attach(lambda user, value: got.append((user, value)))
    with _webtest.Socket(k.web.url) as guest:
        guest.send({"subsc": [slider.id], "upd": [[slider.id, 42]]})
        out = guest.sync()
        assert [
            "__WIDGETERROR__",
            {"id": slider.id, "error": "permission denied: you may not change this widget"},
        ] in out
        assert got == [] and slider.read() == 0
        guest.send({"upd": [[slider.id, 5]]})  # subscribed now: the real value comes back
        assert [slider.id, 0] in guest.sync()
        slider.set_permissions(write=[])  # public writes, by choice
        guest.send({"upd": [[slider.id, "high"]]})
        out = guest.sync()
        assert [slider.id, 0] in out and out[-1][1][
            "error"
        ] == "a Slider needs a number, got 'high'"
        guest.send({"upd": [[slider.id, 42]]})
        assert guest.sync() == [[slider.id, 42.0]]  # echoed
        assert got == [("__guest__", 42.0)]
    c = _login(k)
    slider.set_permissions(write=["/users/widgets.write"])
    with _webtest.Socket(k.web.url, cookies=c.cookies) as alice:
        alice.send({"upd": [[slider.id, 7.26]]})
        alice.sync()
        assert got[-1] == ("alice", 7.3) and slider.read() == 7.3


def test_read_permissions_and_live_rechecks(served):
    k = served
    secret = k.widget.DynamicSpan()
    secret.write("the plan")
    secret.require("/secret.view")
    with _webtest.Socket(k.web.url) as guest:
        guest.send({"subsc": [secret.id]})
        out = guest.sync()
        assert out == [
            [
                "__WIDGETERROR__",
                {"id": secret.id, "error": "permission denied: you may not see this widget"},
            ]
        ]
        secret.write("still secret")
        assert guest.sync() == []
    c = _login(k)
    public = k.widget.DynamicSpan()
    with _webtest.Socket(k.web.url, cookies=c.cookies) as alice:
        alice.send({"subsc": [secret.id, public.id]})
        assert [secret.id, "still secret"] in alice.sync()
        public.require("/nobody.has.this")  # a widget's own permissions change
        out = alice.sync()
        assert out[0][0] == "__WIDGETERROR__" and out[0][1]["id"] == public.id
        public.write("x")
        assert alice.sync() == []


def _wait_closed(sock, timeout=5.0):
    from websockets.exceptions import ConnectionClosed

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sock.recv_entries(0.2)
        except TimeoutError:
            continue
        except ConnectionClosed as e:
            return e.rcvd
    raise AssertionError("the socket stayed open")


def test_revoking_a_permission_closes_the_socket(served):
    k = served
    secret = k.widget.DynamicSpan()
    secret.require("/secret.view")
    public = k.widget.DynamicSpan()
    c = _login(k)
    with (
        _webtest.Socket(k.web.url, cookies=c.cookies) as relies,
        _webtest.Socket(k.web.url, cookies=c.cookies) as other,
    ):
        relies.send({"subsc": [secret.id]})
        other.send({"subsc": [public.id]})
        relies.sync()
        other.sync()
        k.users.remove_group_permission("secret", "/secret.view")
        close = _wait_closed(relies)
        assert close.code == 1008 and close.reason == "permission revoked"
        assert other.sync() == []  # did not rely on it: stays open
        k.users.set_password("alice", PW + "!")
        assert _wait_closed(other).reason == "your password changed: log in again"


def test_logout_closes_the_sessions_sockets(served):
    k = served
    c = _login(k)
    with _webtest.Socket(k.web.url, cookies=c.cookies) as s:
        s.sync()
        token = k.web.sessions.get(c.cookies["kaithem_session"]).csrf
        assert c.post("/logout", {"__csrf": token}).status == 303
        assert _wait_closed(s).reason == "logged out"


def test_origin_check_on_the_upgrade(served):
    k = served
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:  # refused before the 101
        _webtest.Socket(k.web.url, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    with _webtest.Socket(k.web.url, origin=k.web.url) as s:
        s.sync()  # same origin: served
    k.config["web-allowed-origins"] = ["https://dash.example"]
    with _webtest.Socket(k.web.url, origin="https://dash.example") as s:
        s.sync()


def test_bad_frames_get_errors_and_the_socket_survives(served):
    k = served
    with _webtest.Socket(k.web.url) as s:
        s.ws.send("not json")
        s.ws.send("[1, 2]")
        s.ws.send(b"\x00binary")
        s.send({"upd": "x"})
        s.send({"upd": [[1, 2], ["only-id"]]})
        s.send({"subsc": ["no-such-widget"], "upd": [["no-such-widget", 1]]})
        errors = [e[1]["error"] for e in s.sync() if e[0] == "__WIDGETERROR__"]
        assert errors[:4] == [
            "malformed message: not JSON",
            "malformed message: expected a JSON object",
            "binary frames are not understood: send JSON text",
            "malformed message: upd, subsc and unsub must be lists",
        ]
        assert errors.count("malformed update: expected [id, value]") == 2
        assert errors.count("this widget no longer exists on the server: reload the page") == 2
        s.send({"upd": [["__url__", "http://page"], ["__ERROR__", "boom"], ["__BATTERY__", {}]]})
        s.sync()
        assert k.widget.connections[0].url == "http://page"


def test_time_sync_and_server_messages(served):
    k = served
    api = k.widget.APIWidget()
    api.set_permissions(write=[])
    with _webtest.Socket(k.web.url) as s:
        before = time.time() * 1000
        s.send({"upd": [["_ws_timesync_channel", 123.5]]})
        entry = s.wait_entry(lambda e: e[0] == "_ws_timesync_channel")
        assert entry[1][0] == 123.5 and before <= entry[1][1] <= time.time() * 1000
        s.send({"subsc": [api.id]})
        s.sync()
        for i in range(3):
            api.send({"n": i})  # messages: each one arrives, in order
        assert [e[1] for e in s.sync() if e[0] == api.id][-3:] == [{"n": 0}, {"n": 1}, {"n": 2}]
        conn = k.widget.connections[0]
        k.widget.get(api.id).send_to("only you", conn.id)
        assert s.sync() == [[api.id, "only you"]]


def test_deletion_is_announced(served):
    k = served
    span = k.widget.DynamicSpan()
    log = k.widget.ScrollBox()
    with _webtest.Socket(k.web.url) as s:
        s.send({"subsc": [span.id, log.id]})
        s.sync()
        wid = span.id
        del span
        gc.collect()
        assert s.sync() == [[wid]]
        log.close()
        assert s.sync() == [[log.id]]


def test_scrollbox_snapshot_then_appends_in_order(served):
    k = served
    log = k.widget.ScrollBox(length=3)
    for i in range(4):
        log.write("line %d" % i)
    with _webtest.Socket(k.web.url) as s:
        s.send({"subsc": [log.id]})
        assert s.sync() == [[log.id, {"all": ["line 1", "line 2", "line 3"]}]]
        for i in range(4, 20):
            log.write("line %d" % i)
        log.write(raw("<i>html</i>"))
        got = [e[1] for e in s.sync()]
        assert got == [{"add": "line %d" % i} for i in range(4, 20)] + [
            {"add": {"__html__": "<i>html</i>"}}
        ]


def test_client_only_widgets_refuse_browser_writes(served):
    k = served
    for w in (k.widget.DynamicSpan(), k.widget.Meter(), k.widget.ScrollBox()):
        w.set_permissions(write=[])
        with _webtest.Socket(k.web.url) as s:
            s.send({"upd": [[w.id, "x"]]})
            assert s.sync()[0][1]["error"] == "this widget cannot be changed from the browser"


def test_message_rate_limit(tmp_path):
    inst = Kaithem(vardir=str(tmp_path), config={"widget-max-messages-per-second": 5})
    try:
        inst.web.serve()
        box = inst.widget.APIWidget(echo=False)
        box.set_permissions(write=[])
        got = []
        box.attach(lambda u, v: got.append(v))
        with _webtest.Socket(inst.web.url) as s:
            for i in range(40):
                s.send({"upd": [[box.id, i]]})
            errors = []
            ktest.wait_for(
                lambda: (
                    errors.extend(e for e in s.recv_entries() if e[0] == "__WIDGETERROR__")
                    or errors
                ),
                what="a rate-limit error",
            )
            assert "too many messages" in errors[0][1]["error"]
        assert 5 <= len(got) < 40
    finally:
        inst.close()


def test_tags_as_widgets(served):
    k = served
    k.users.add_group("tags", ["/users/tagpoints.view", "/users/tagpoints.edit"])
    k.users.add_user_to_group("alice", "tags")
    tag = k.tags["/garden/pump"]
    tag.value = 3
    source = k.widget.expose_tag(tag)
    assert source.id == "tag:/garden/pump" and k.widget.expose_tag(tag) is source
    assert source.read_permissions == ("/users/tagpoints.view",)
    c = _login(k)
    with _webtest.Socket(k.web.url) as guest:
        guest.send({"subsc": [source.id]})
        assert guest.sync()[0][0] == "__WIDGETERROR__"
    with _webtest.Socket(k.web.url, cookies=c.cookies) as s:
        s.send({"subsc": [source.id]})
        assert s.sync() == [[source.id, 3.0]]
        tag.value = 4
        assert s.wait_entry(lambda e: e[0] == source.id) == [source.id, 4.0]
        s.send({"upd": [[source.id, 9]]})
        s.sync()
        assert tag.value == 9 and tag.current_source == "WebAPIClaim"
        assert tag.annotation == "alice"
        tag.claim(1, "override", priority=80)
        s.send({"upd": [[source.id, 12]]})
        assert [source.id, 1.0] in s.sync()  # lost arbitration: the real value comes back
        tag.release("override")
        s.send({"upd": [[source.id, None]]})  # null releases the web claim
        s.sync()
        assert tag.current_source == "default" and tag.value == 4
    slider = k.widget.Slider(min=0, max=20, step=1).bind_tag(tag, priority=60)
    slider.set_permissions(write=[])
    with _webtest.Socket(k.web.url) as s:
        s.send({"subsc": [slider.id], "upd": [[slider.id, 15]]})
        s.sync()
        assert tag.value == 15
        tag.value = 2  # default claim (50) loses to the slider's claim (60)
        assert tag.value == 15
    slider.unbind_tag()
    k.widget.unexpose_tag(tag)
    assert k.widget.get("tag:/garden/pump") is None
    k.widget.expose_tag(tag)
    k.widget.Meter().bind_tag(tag)
    k.close()  # with a tag still exposed and bound


# -- bounded queues --------------------------------------------------------------------------


class _FakeSocket:
    """A WebSocket stand-in. ``stall()`` makes it look like a browser that
    stopped reading: its socket is full (not writable) and send() blocks
    until ``release`` is set; ``drain()`` makes room again."""

    write_timeout = 30

    def __init__(self):
        self.release = threading.Event()
        self.release.set()
        self.sending = threading.Event()
        self.sent = []
        self.closed_with = None
        self.sock = None
        self._pair = None

    def stall(self):
        if self._pair is None:
            self._pair = socket.socketpair()
            self._pair[0].setblocking(False)
            self._pair[1].setblocking(False)
        a = self.sock = self._pair[0]
        try:
            while True:
                a.send(b"x" * 65536)
        except BlockingIOError:
            pass
        self.release.clear()

    def drain(self):
        try:
            while self._pair[1].recv(1 << 20):
                pass
        except BlockingIOError:
            pass

    def send(self, text):
        self.sending.set()
        self.release.wait(10)
        self.sent.append(json.loads(text))

    def close(self, code=1000, reason=""):
        self.closed_with = (code, reason)

    def cleanup(self):
        for s in self._pair or ():
            s.close()


def _last_values(frames):
    out = {}
    for frame in frames:
        for key, value in frame:
            out[key] = value
    return out


def test_outbox_coalesces_values_bounds_messages_and_never_blocks_the_lane():
    pool = SenderPool(1)
    stalled, healthy = _FakeSocket(), _FakeSocket()
    stalled.stall()
    slow = Outbox(stalled, pool, limit=10, name="slow")
    fast = Outbox(healthy, pool, limit=10, name="fast")
    try:
        slow.offer("a", json.dumps(["a", 0]))
        ktest.wait_for(lambda: slow._slow, what="the stalled socket to get its own lane")
        t0 = time.monotonic()
        for i in range(1, 1001):
            slow.offer("a", json.dumps(["a", i]))
            slow.offer("b", json.dumps(["b", i]))
        assert time.monotonic() - t0 < 2  # offering never waits for the browser
        assert slow.coalesced >= 1998
        fast.offer("x", json.dumps(["x", 1]))  # the shared lane is not held up
        ktest.wait_for(lambda: healthy.sent == [[["x", 1]]], what="the healthy socket's frame")
        stalled.drain()  # room again, but send() itself blocks: a slow browser
        assert stalled.sending.wait(5)
        slow.offer("a", json.dumps(["a", 1001]))
        stalled.release.set()
        ktest.wait_for(
            lambda: _last_values(stalled.sent) == {"a": 1001, "b": 1000}, what="the latest values"
        )
        assert len(stalled.sent) <= 3  # coalesced, not 2000 frames
        ktest.wait_for(lambda: not slow._slow, what="the socket to return to the shared lane")
        # messages that must all arrive are bounded: overflowing closes the socket
        stalled.stall()
        slow.offer_stream(json.dumps(["m", 0]))
        ktest.wait_for(lambda: slow._slow, what="the slow lane")
        for i in range(1, 12):
            slow.offer_stream(json.dumps(["m", i]))  # the 11th waiting one overflows
        assert slow.closing
        ktest.wait_for(lambda: stalled.closed_with is not None, what="the close")
        assert stalled.closed_with == (1013, "client too slow: reconnect")
        assert "m" not in _last_values(stalled.sent)  # dropped, not delivered late
    finally:
        stalled.release.set()
        pool.close()
        stalled.cleanup()
        healthy.cleanup()


def test_a_stalled_browser_does_not_delay_the_others(served):
    """A client that stops reading entirely: writes stay fast and the other
    client still gets every value."""
    k = served
    span = k.widget.DynamicSpan(max_length=100000)
    stalled = socket.create_connection(("127.0.0.1", k.web.server.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(
        b"GET /widgets/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    assert stalled.recv(4096).startswith(b"HTTP/1.1 101")
    payload = json.dumps({"subsc": [span.id]}).encode()
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    stalled.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    try:
        ktest.wait_for(
            lambda: any(span.id in c.subscriptions for c in k.widget.connections),
            what="the stalled client's subscription",
        )
        with _webtest.Socket(k.web.url) as healthy:
            healthy.send({"subsc": [span.id]})
            healthy.sync()
            t0 = time.monotonic()
            for i in range(200):
                span.write("%d %s" % (i, "x" * 20000))  # 4 MB: far more than buffers hold
            assert time.monotonic() - t0 < 2
            last = healthy.wait_entry(lambda e: e[0] == span.id and e[1].startswith("199 "))
            assert last[1].startswith("199 ")
    finally:
        stalled.close()
