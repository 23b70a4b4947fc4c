"""Cheap denial-of-service attacks: each is bounded per connection, in memory
and in time, and never takes the service away from other clients."""

import os
import socket
import stat
import struct
import threading
import time
import tracemalloc

import ktest
import pytest
import requests

from kcore.webserver._http import Limits, RequestReader


def healthz(s, source="127.0.0.1", timeout=2.0):
    """Seconds to get /healthz on a fresh connection from ``source``."""
    t = time.monotonic()
    with socket.create_connection(
        ("127.0.0.1", s.port), timeout=timeout, source_address=(source, 0)
    ) as c:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 "), data[:100]
    return time.monotonic() - t


# ---------------------------------------------------------------- memory per attack byte


def test_a_body_of_one_byte_chunks_costs_about_the_body():
    """Each chunk used to be kept as its own bytes object (tens of bytes of
    bookkeeping per body byte): now the chunks go into one buffer."""
    n = 10000
    reader = RequestReader(Limits(max_body=n))
    data = b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    data += b"1\r\nx\r\n" * n + b"0\r\n\r\n"
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    tracemalloc.start()
    try:
        for piece in pieces:
            reader.feed(piece)
            request = reader.next_request()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert request is not None and request.body == b"x" * n
    assert peak < 5 * n, "peak %d bytes for a %d-byte body" % (peak, n)


def test_tiny_chunks_over_the_wire_still_make_the_body(serve, raw):
    s = serve({"/echo": lambda r: "len=%d" % len(r.body or b"")})
    c = raw(s.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    c.send(b"1;ext=v\r\nx\r\n" * 5000 + b"0\r\nX-Trailer: t\r\n\r\n")
    assert c.response()[::2] == (200, b"len=5000")


def _close_code(s, rest=b"", timeout=5.0):
    """The code of the close frame the server sends (None: closed without one)."""
    s.settimeout(timeout)
    buf = rest
    while True:
        while len(buf) >= 2 and len(buf) >= 2 + (buf[1] & 0x7F):
            n = buf[1] & 0x7F
            opcode, payload, buf = buf[0] & 0x0F, buf[2 : 2 + n], buf[2 + n :]
            if opcode == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return None
        if not chunk:
            return None
        buf += chunk


def test_websocket_message_of_endless_empty_fragments_is_refused(serve):
    """Millions of empty continuation frames used to grow a list without
    bound (the size limit never moved): at most ``max_fragments`` frames
    make one message, then close 1009."""
    s = serve({})
    s.add_websocket_handler("/ws", lambda ws: [ws.send(m) for m in ws])
    c, head, rest = ktest.ws_handshake(s.port)
    assert head.startswith("HTTP/1.1 101")
    mask = b"\x00\x00\x00\x00"
    frames = b"\x01\x80" + mask + (b"\x00\x80" + mask) * 5000
    try:
        c.sendall(frames)
    except OSError:
        pass  # the server may cut us off before we are done
    assert _close_code(c, rest) == 1009
    c.close()


def test_websocket_fragments_are_joined_within_the_limit(serve):
    s = serve({})
    s.add_websocket_handler("/ws", lambda ws: [ws.send(m) for m in ws])
    c, _head, rest = ktest.ws_handshake(s.port)
    mask = b"\x00\x00\x00\x00"
    frames = b"\x01\x81" + mask + b"a" + (b"\x00\x81" + mask + b"b") * 1000
    frames += b"\x80\x81" + mask + b"c"
    c.sendall(frames)
    c.settimeout(5)
    data = rest
    want = 4 + 1002
    while len(data) < want:
        data += c.recv(65536)
    assert data[4:want] == b"a" + b"b" * 1000 + b"c"
    c.close()


# ---------------------------------------------------------------- threads and slots


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    with open(root / "big.bin", "wb") as f:
        f.truncate(64 << 20)  # sparse: no disk used
    (root / "small.txt").write_text("small")
    return root


def test_slow_readers_of_a_large_file_take_no_worker(serve, site):
    """A static download used to keep a worker for its whole length: a few
    slow readers took every worker and /healthz went unanswered."""
    s = serve({}, threads=4)
    s.add_static("/static", str(site))
    before = threading.active_count()
    readers = []
    for _ in range(8):  # twice the workers
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        c.connect(("127.0.0.1", s.port))
        c.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        c.setblocking(False)
        readers.append(c)
    stop = []
    got = [0]

    def read_slowly():  # about 16 KB/s each
        while not stop:
            for c in readers:
                try:
                    got[0] += len(c.recv(800))
                except OSError:
                    pass
            time.sleep(0.05)

    t = threading.Thread(target=read_slowly)
    t.start()
    try:
        ktest.wait_for(lambda: len(s._engine._parked) == 8, what="8 downloads in progress")
        ktest.wait_for(lambda: got[0] > 100000, what="the downloads to flow")
        worst = max(healthz(s) for _ in range(10))
        assert worst < 0.5
        assert threading.active_count() == before + 1  # (the reader thread above)
    finally:
        stop.append(1)
        t.join()
        for c in readers:
            c.close()
    r = requests.get("http://127.0.0.1:%d/static/big.bin" % s.port, timeout=30)
    assert len(r.content) == 64 << 20 and r.content.count(0) == 64 << 20


def test_static_file_over_tls_is_sent_whole(serve, site, certs):
    import ssl

    data = os.urandom(3 << 20)
    (site / "rand.bin").write_bytes(data)
    s = serve(
        {}, start={"tls_cert_file": certs["server_cert"], "tls_key_file": certs["server_key"]}
    )
    s.add_static("/static", str(site))
    ctx = ssl.create_default_context(cafile=certs["ca"])
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as raw_sock:
        with ctx.wrap_socket(raw_sock, server_hostname="127.0.0.1") as c:
            c.sendall(b"GET /static/rand.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                got += chunk
    assert got.endswith(b"\r\n\r\n" + data)


def test_files_stream_with_the_selector_fallback_too(serve, site):
    data = os.urandom(5 << 20)
    (site / "rand.bin").write_bytes(data)
    s = serve({}, force_selector=True)
    s.add_static("/static", str(site))
    with requests.Session() as session:
        for _ in range(2):  # keep-alive after a streamed file
            r = session.get("http://127.0.0.1:%d/static/rand.bin" % s.port, timeout=30)
            assert r.content == data
        assert session.get("http://127.0.0.1:%d/static/small.txt" % s.port).text == "small"


def test_a_download_below_the_minimum_rate_is_cut(serve, site):
    s = serve({}, write_timeout=0.5, min_send_rate=200000)
    s.add_static("/static", str(site))
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    c.connect(("127.0.0.1", s.port))
    c.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    c.settimeout(0.2)
    t0 = time.monotonic()
    got = 0
    try:
        while time.monotonic() - t0 < 10:  # reads steadily, ~20 KB/s: too slow
            try:
                chunk = c.recv(2000)
            except socket.timeout:
                continue
            if not chunk:
                break
            got += len(chunk)
            time.sleep(0.1)
    except ConnectionResetError:
        pass
    took = time.monotonic() - t0
    c.close()
    assert took < 6, "a trickling reader was served for %.1f s" % took
    assert got < 1 << 20
    assert s.varz_store.get("web-write-timeouts") >= 1


def test_silent_websockets_time_out_and_free_the_limit(serve):
    """Sessions that never answer a ping used to hold the session limit for
    good: now they are pinged and closed."""
    s = serve({}, max_websockets=2, ws_ping_interval=0.3, ws_ping_timeout=0.3)
    s.add_websocket_handler("/ws", lambda ws: [ws.send(m) for m in ws])
    silent = [ktest.ws_handshake(s.port)[0] for _ in range(2)]  # never read, never answer
    c, head, _rest = ktest.ws_handshake(s.port)
    assert head.startswith("HTTP/1.1 503")
    c.close()
    t0 = time.monotonic()

    def new_session_accepted():
        c, head, _rest = ktest.ws_handshake(s.port)
        c.close()
        return head.startswith("HTTP/1.1 101")

    ktest.wait_for(new_session_accepted, timeout=5, interval=0.1, what="a free session slot")
    assert time.monotonic() - t0 < 3
    assert s.varz_store.get("web-websocket-timeouts") >= 2
    for c in silent:
        c.close()


def test_an_idle_websocket_is_closed_but_a_chatty_one_is_not(serve):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    s = serve({}, ws_idle_timeout=0.8, ws_ping_interval=0.2, ws_ping_timeout=1.0)
    s.add_websocket_handler("/ws", lambda ws: [ws.send(m) for m in ws])
    url = "ws://127.0.0.1:%d/ws" % s.port
    with connect(url) as idle, connect(url) as chatty:  # both answer pings
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.6:
            chatty.send("hi")
            assert chatty.recv(timeout=5) == "hi"
            time.sleep(0.1)
        with pytest.raises(ConnectionClosed) as info:
            idle.recv(timeout=5)
        assert info.value.rcvd.code == 1001 and info.value.rcvd.reason == "idle timeout"
        chatty.send("still here")
        assert chatty.recv(timeout=5) == "still here"


def test_one_address_cannot_take_every_connection(serve, raw):
    s = serve({}, max_connections=20, max_connections_per_address=5)
    held = [raw(s.port) for _ in range(5)]
    ktest.wait_for(lambda: len(s._engine.conns) == 5)
    extra = raw(s.port)
    assert extra.response()[0] == 503  # a sixth from the same address
    assert healthz(s, source="127.0.0.2") < 0.5  # another address is served
    held[0].close()
    ktest.wait_for(lambda: s._engine.per_address.get("127.0.0.1") == 4)
    assert healthz(s) < 0.5
    assert s.varz_store.get("web-connections-rejected-per-address") == 1


def test_websockets_count_for_their_address(serve, raw):
    s = serve({}, max_connections_per_address=2)
    s.add_websocket_handler("/ws", lambda ws: [ws.send(m) for m in ws])
    a = ktest.ws_handshake(s.port)[0]
    b = ktest.ws_handshake(s.port)[0]
    ktest.wait_for(lambda: s._engine.per_address.get("127.0.0.1") == 2)
    assert raw(s.port).response()[0] == 503
    a.close()
    b.close()
    ktest.wait_for(lambda: not s._engine.per_address, what="the sessions to end")
    assert healthz(s) < 0.5


def test_the_per_address_cap_is_on_by_default(serve):
    assert serve({}).max_connections_per_address == 256


def test_fifo_socket_and_device_under_the_static_root_are_refused(serve, site):
    """Opening a FIFO blocked a worker for good (and a device may act when
    opened): only regular files are opened."""
    os.mkfifo(site / "fifo")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(site / "sock"))
    names = ["fifo", "sock", "fifo", "fifo"]
    if os.geteuid() == 0:  # only root may make a device node (here: /dev/zero's)
        os.mknod(site / "zero", stat.S_IFCHR | 0o600, os.makedev(1, 5))
        names.append("zero")
    s = serve({}, threads=2)
    s.add_static("/static", str(site))
    try:
        for name in names:
            r = requests.get("http://127.0.0.1:%d/static/%s" % (s.port, name), timeout=3)
            assert r.status_code == 404, name
        assert requests.get("http://127.0.0.1:%d/static/small.txt" % s.port).text == "small"
        assert healthz(s) < 0.5
    finally:
        unix.close()


def test_open_regular_never_opens_other_files(tmp_path, monkeypatch):
    from kcore.webserver import static

    os.mkfifo(tmp_path / "fifo")
    opened = []
    real_open = os.open
    monkeypatch.setattr(static.os, "open", lambda *a: opened.append(a[0]) or real_open(*a))
    assert static.open_regular(str(tmp_path / "fifo")) is None
    assert static.open_regular("/dev/null") is None
    assert static.open_regular(str(tmp_path)) is None
    assert opened == []
    (tmp_path / "f").write_text("x")
    f = static.open_regular(str(tmp_path / "f"))
    assert f.read() == b"x"
    f.close()
