"""WebSockets against the `websockets` client library and raw frames."""

import contextlib
import os
import socket
import struct
import threading

import pytest
import requests

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


def _raw_handshake(port, path="/ws/echo", version="13", key="dGhlIHNhbXBsZSBub25jZQ=="):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(
        (
            "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: %s\r\n\r\n" % (path, key, version)
        ).encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return s, head.decode(), rest


def _read_frame(s, buf):
    while len(buf) < 2:
        buf += s.recv(4096)
    n = buf[1] & 0x7F
    while len(buf) < 2 + n:
        buf += s.recv(4096)
    return buf[0] & 0x0F, buf[2 : 2 + n]


def test_rfc6455_accept_key_and_unmasked_frame_rejected(ws_srv):
    s, head, rest = _raw_handshake(ws_srv.port)
    assert head.startswith("HTTP/1.1 101")
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455 example
    s.sendall(b"\x81\x02hi")  # unmasked text frame: protocol error
    opcode, payload = _read_frame(s, rest)
    assert opcode == 8
    assert struct.unpack("!H", payload[:2])[0] == 1002
    s.close()


def test_invalid_utf8_text_closes_1007(ws_srv):
    s, _head, rest = _raw_handshake(ws_srv.port)
    mask = b"\x01\x02\x03\x04"
    payload = b"\xff\xfe"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(b"\x81\x82" + mask + masked)
    opcode, data = _read_frame(s, rest)
    assert opcode == 8 and struct.unpack("!H", data[:2])[0] == 1007
    s.close()


def test_bad_handshakes(ws_srv):
    s, head, _ = _raw_handshake(ws_srv.port, version="8")
    assert head.startswith("HTTP/1.1 426") and "Sec-WebSocket-Version: 13" in head
    s.close()
    s, head, _ = _raw_handshake(ws_srv.port, key="short")
    assert head.startswith("HTTP/1.1 400")
    s.close()


def test_session_limit(ws_srv):
    with contextlib.ExitStack() as stack:
        for _ in range(4):
            stack.enter_context(websockets_sync.connect(_url(ws_srv, "/ws/echo")))
        s, head, _ = _raw_handshake(ws_srv.port)
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
