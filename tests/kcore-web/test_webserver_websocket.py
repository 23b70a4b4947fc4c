"""WebSockets against the `websockets` client library and raw frames."""

import contextlib
import os
import socket
import struct
import threading
import time

import ktest
import pytest
import requests

from kcore.webserver import Response
from kcore.webserver.websocket import WebSocketClosed, origin_allowed

websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed  # noqa: E402


@pytest.fixture
def ws_srv(serve):
    s = serve({"/hello": lambda r: "hello"}, max_websockets=4)
    sessions = []

    def echo(ws):
        sessions.append(ws)
        for message in ws:
            if message == "who":
                ws.send("path=%s groups=%s" % (ws.request.path, ws.request.route_match_groups))
            elif message == "boom":
                raise RuntimeError("handler failed")
            else:
                ws.send(message)

    def push(ws):
        sessions.append(ws)
        ws.send("welcome")
        ws.recv()  # wait for the client to close

    s.add_websocket_handler("/ws/echo(.*)", echo)
    s.add_websocket_handler("/ws/push", push)
    s.sessions = sessions
    return s


def _url(s, path):
    return "ws://127.0.0.1:%d%s" % (s.port, path)


def test_echo_text_binary_and_large(ws_srv):
    with websockets_sync.connect(_url(ws_srv, "/ws/echo/x"), max_size=None) as ws:
        ws.send("hello ☃")
        assert ws.recv() == "hello ☃"
        ws.send(b"\x00\x01\x02")
        assert ws.recv() == b"\x00\x01\x02"
        big = os.urandom(300000)
        ws.send(big)
        assert ws.recv() == big
        ws.send("who")
        assert ws.recv() == "path=/ws/echo/x groups=('/x',)"
        ws.ping()
        ws.send(["frag", "mented"])  # a fragmented text message
        assert ws.recv() == "fragmented"


def test_server_push_from_another_thread(ws_srv, poll):
    with websockets_sync.connect(_url(ws_srv, "/ws/push")) as ws:
        assert ws.recv() == "welcome"
        session = poll(lambda: ws_srv.sessions and ws_srv.sessions[-1])
        t = threading.Thread(target=lambda: [session.send("n%d" % i) for i in range(50)])
        t.start()
        got = [ws.recv(timeout=5) for _ in range(50)]
        t.join()
        assert got == ["n%d" % i for i in range(50)]


def test_http_still_works_alongside(ws_srv):
    with websockets_sync.connect(_url(ws_srv, "/ws/echo")) as ws:
        ws.send("a")
        assert requests.get("http://127.0.0.1:%d/hello" % ws_srv.port).text == "hello"
        assert ws.recv() == "a"


def test_plain_get_on_websocket_route_is_426(ws_srv):
    r = requests.get("http://127.0.0.1:%d/ws/echo" % ws_srv.port)
    assert r.status_code == 426
    assert r.headers["Upgrade"] == "websocket"


def test_handler_exception_closes_1011(ws_srv):
    with websockets_sync.connect(_url(ws_srv, "/ws/echo")) as ws:
        ws.send("boom")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        assert info.value.rcvd.code == 1011


def test_message_too_big_closes_1009(ws_srv):
    with websockets_sync.connect(_url(ws_srv, "/ws/echo"), max_size=None) as ws:
        with pytest.raises(ConnectionClosed) as info:
            ws.send(b"x" * (2 << 20))
            ws.recv(timeout=5)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1009


def _read_frame(s, buf):
    while len(buf) < 2:
        buf += s.recv(4096)
    n = buf[1] & 0x7F
    while len(buf) < 2 + n:
        buf += s.recv(4096)
    return buf[0] & 0x0F, buf[2 : 2 + n]


def test_rfc6455_accept_key_and_unmasked_frame_rejected(ws_srv):
    s, head, rest = ktest.ws_handshake(ws_srv.port, "/ws/echo")
    assert head.startswith("HTTP/1.1 101")
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455 example
    s.sendall(b"\x81\x02hi")  # unmasked text frame: protocol error
    opcode, payload = _read_frame(s, rest)
    assert opcode == 8
    assert struct.unpack("!H", payload[:2])[0] == 1002
    s.close()


def test_invalid_utf8_text_closes_1007(ws_srv):
    s, _head, rest = ktest.ws_handshake(ws_srv.port, "/ws/echo")
    mask = b"\x01\x02\x03\x04"
    payload = b"\xff\xfe"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(b"\x81\x82" + mask + masked)
    opcode, data = _read_frame(s, rest)
    assert opcode == 8 and struct.unpack("!H", data[:2])[0] == 1007
    s.close()


def test_bad_handshakes(ws_srv):
    s, head, _ = ktest.ws_handshake(ws_srv.port, "/ws/echo", version="8")
    assert head.startswith("HTTP/1.1 426") and "Sec-WebSocket-Version: 13" in head
    s.close()
    s, head, _ = ktest.ws_handshake(ws_srv.port, "/ws/echo", key="short")
    assert head.startswith("HTTP/1.1 400")
    s.close()


def test_session_limit(ws_srv):
    with contextlib.ExitStack() as stack:
        for _ in range(4):
            stack.enter_context(websockets_sync.connect(_url(ws_srv, "/ws/echo")))
        s, head, _ = ktest.ws_handshake(ws_srv.port, "/ws/echo")
        assert head.startswith("HTTP/1.1 503")
        s.close()


def test_shutdown_closes_sessions_1001(serve):
    s = serve({})
    s.add_websocket_handler("/ws", lambda ws: [ws.send(m) for m in ws])
    with websockets_sync.connect("ws://127.0.0.1:%d/ws" % s.port) as ws:
        ws.send("x")
        assert ws.recv() == "x"
        assert s.shutdown(timeout=10)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        assert info.value.rcvd.code == 1001


def test_websocket_over_tls(serve, certs):
    import ssl

    s = serve(
        {}, start={"tls_cert_file": certs["server_cert"], "tls_key_file": certs["server_key"]}
    )
    s.add_websocket_handler("/ws", lambda ws: [ws.send(m.upper()) for m in ws])
    ctx = ssl.create_default_context(cafile=certs["ca"])
    with websockets_sync.connect("wss://127.0.0.1:%d/ws" % s.port, ssl=ctx) as ws:
        ws.send("secure")
        assert ws.recv(timeout=5) == "SECURE"


# ---------------------------------------------------------------- send and recv apart


def test_sends_from_another_thread_never_disturb_an_idle_recv(serve, poll):
    """send() and recv() used to share the socket's timeout: a send from
    another thread made an idle recv(timeout=None) raise TimeoutError."""
    s = serve({}, write_timeout=0.3)
    trigger = threading.Event()
    got = []

    def handler(ws):
        def pusher():
            trigger.wait(10)
            ws.send("push")

        t = threading.Thread(target=pusher)
        t.start()
        try:
            got.append(ws.recv())
        except Exception as e:  # the test reports it
            got.append(e)
        t.join()

    s.add_websocket_handler("/ws", handler)
    with websockets_sync.connect(_url(s, "/ws")) as ws:
        poll(lambda: s._websockets)
        trigger.set()
        assert ws.recv(timeout=5) == "push"
        ws.ping()  # handled inside the handler's recv(), which then waits on
        assert not ktest.wait_until(lambda: got, timeout=1.0), got  # idle > write_timeout
        ws.send("hello")
        poll(lambda: got)
        assert got == ["hello"]


def test_a_blocked_send_and_a_recv_do_not_disturb_each_other(serve, poll):
    """While a send from another thread waits on a client that does not
    read, recv() goes on receiving, and the send gives up after its
    write_timeout: not sooner, not never. (Each recv() used to reset the
    shared socket timeout: the send could block for good, or the recv fail.)"""
    s = serve({}, write_timeout=0.5)
    trigger = threading.Event()
    outcome = []
    received = []

    def handler(ws):
        def pusher():
            trigger.wait(10)
            t0 = time.monotonic()
            try:
                ws.send(b"x" * (8 << 20))
                outcome.append(("sent", time.monotonic() - t0, len(received)))
            except WebSocketClosed:
                outcome.append(("gave up", time.monotonic() - t0, len(received)))

        threading.Thread(target=pusher, daemon=True).start()
        for message in ws:  # re-entered for every message the client sends
            received.append(message)

    s.add_websocket_handler("/ws", handler)
    c, head, _rest = ktest.ws_handshake(s.port, "/ws")
    assert head.startswith("HTTP/1.1 101")
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and never reads
    trigger.set()
    deadline = time.monotonic() + 5
    try:
        while not outcome and time.monotonic() < deadline:
            c.sendall(b"\x81\x82\x00\x00\x00\x00hi")  # masked (all-zero mask) "hi"
            time.sleep(0.05)
    except OSError:
        pass
    c.close()
    poll(lambda: outcome, timeout=2, what="the send to give up")
    what, took, messages_meanwhile = outcome[0]
    assert what == "gave up"
    assert 0.4 < took < 3
    assert messages_meanwhile >= 3  # recv() kept receiving while the send waited


# ---------------------------------------------------------------- refusing an upgrade


def _echo(ws):
    for message in ws:
        ws.send(message)


def _upgrade_status(port, path, origin=None):
    s, head, _rest = ktest.ws_handshake(port, path, origin)
    s.close()
    return int(head.split(" ")[1])


def test_accept_refuses_before_the_upgrade(serve):
    s = serve({})
    s.add_websocket_handler(
        "/ws", _echo, accept=lambda r: r.headers.get("origin") in (None, "http://good.example")
    )
    s.add_websocket_handler(
        "/auth",
        _echo,
        accept=lambda r: Response("log in\n", 401, extra_headers={"WWW-Authenticate": "Basic"}),
    )
    s.add_websocket_handler("/boom", _echo, accept=lambda r: 1 / 0)
    assert _upgrade_status(s.port, "/ws", "https://evil.example") == 403
    assert _upgrade_status(s.port, "/ws", "http://good.example") == 101
    assert _upgrade_status(s.port, "/ws") == 101
    assert _upgrade_status(s.port, "/auth") == 401
    assert _upgrade_status(s.port, "/boom") == 500
    assert s.varz_store.get("web-websocket-refused") == 3


def test_same_origin_option(serve):
    s = serve({}, websocket_same_origin=True, websocket_allowed_origins=["https://dash.example"])
    s.add_websocket_handler("/ws", _echo)
    own = "http://127.0.0.1:%d" % s.port
    assert _upgrade_status(s.port, "/ws", "https://evil.example") == 403
    assert _upgrade_status(s.port, "/ws", "null") == 403
    assert _upgrade_status(s.port, "/ws", "http://127.0.0.1:1") == 403
    assert _upgrade_status(s.port, "/ws", own) == 101
    assert _upgrade_status(s.port, "/ws", "https://dash.example") == 101
    assert _upgrade_status(s.port, "/ws") == 101  # not a browser
    with websockets_sync.connect(_url(s, "/ws"), origin=own) as ws:
        ws.send("same")
        assert ws.recv(timeout=5) == "same"


def test_no_origin_check_unless_asked(serve):
    s = serve({})
    s.add_websocket_handler("/ws", _echo)
    assert _upgrade_status(s.port, "/ws", "https://evil.example") == 101


def test_origin_allowed():
    from kcore.webserver import Request

    def req(origin, host):
        return Request("GET", "/ws", headers=[("Origin", origin), ("Host", host)])

    assert origin_allowed(req("https://example.com", "example.com"))  # behind a TLS proxy
    assert origin_allowed(req("http://example.com", "EXAMPLE.com:80"))
    assert origin_allowed(req("https://[::1]:8443", "[::1]:8443"))
    assert not origin_allowed(req("https://example.com", "example.com:8080"))
    assert not origin_allowed(req("https://example.com.evil", "example.com"))
    assert not origin_allowed(req("https://u@example.com", "example.com"))
    assert not origin_allowed(req("https://example.com", "other.com"), same_origin=True)
    assert origin_allowed(req("https://a.example", "other.com"), allowed=["https://a.example"])
    assert not origin_allowed(req("https://example.com", "example.com"), same_origin=False)
    assert origin_allowed(Request("GET", "/ws", headers=[("Host", "x")]))
