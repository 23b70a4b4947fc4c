"""Hostile and broken clients: each gets the right status, everyone else keeps being served."""

import socket
import threading
import time

import ktest
import pytest
import requests

SLEEPING = []  # one entry per /slow handler running now


@pytest.fixture
def srv(serve):
    def echo(r):
        return "len=%d" % len(r.body or b"")

    def slow(r):
        SLEEPING.append(1)
        try:
            time.sleep(float(r.get_params.get("s", "0.3")))
        finally:
            SLEEPING.pop()
        return "slept"

    return serve(
        {"/echo": echo, "/hello": lambda r: "hello", "/slow": slow},
        max_header_bytes=4096,
        max_body=10000,
        request_timeout=0.5,
        keepalive_timeout=1.0,
        threads=4,
    )


def ok(s):
    """The server still answers a normal request, quickly."""
    t = time.monotonic()
    r = requests.get("http://127.0.0.1:%d/hello" % s.port, timeout=5)
    assert r.status_code == 200 and r.text == "hello"
    return time.monotonic() - t


POST = b"POST /echo HTTP/1.1\r\nHost: x\r\n"
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"

BAD_REQUESTS = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /hello\r\n\r\n", 400),
    (b"GET /hello HTTP/1.1 extra\r\n\r\n", 400),
    (b"GET /hello HTTP/9.9\r\n\r\n", 505),
    (b"G(T /hello HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET hello HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"BREW /hello HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"GET /hello HTTP/1.1\r\nHost x\r\n\r\n", 400),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\n continued\r\n\r\n", 400),
    (b"GET /hello HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400),
    (b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /a/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /a/%2e%2e/%2E%2E/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (POST + b"\r\nabc", 411),
    (POST + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    (POST + b"Content-Length: 3, 4\r\n\r\nabcd", 400),
    (POST + b"Content-Length: -3\r\n\r\nabc", 400),
    (POST + b"Content-Length: 0x10\r\n\r\nabc", 400),
    (
        POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (POST + b"Transfer-Encoding: gzip\r\n\r\n", 501),
    (
        CHUNKED + b"zz\r\nabc\r\n0\r\n\r\n",
        400,
    ),
    (
        CHUNKED + b"3\r\nabcXX0\r\n\r\n",
        400,
    ),
    (
        CHUNKED + b"-1\r\nabc\r\n0\r\n\r\n",
        400,
    ),
    (
        CHUNKED + b"1" * 2000 + b"\r\n",
        400,
    ),
    (CHUNKED + b"FFFFF\r\n", 413),
    (POST + b"Content-Length: 10001\r\n\r\n", 413),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nExpect: coffee\r\n\r\n", 417),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"y" * 5000 + b"\r\n\r\n", 431),
    (
        b"GET /hello HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-%d: 1\r\n" % i for i in range(150))
        + b"\r\n",
        431,
    ),
]


# Issue 10: header values trimmed of SP/HTAB only (never str.strip()), control
# characters, non-ASCII names, lone CR in chunk extensions, the Host rules.
BAD_REQUESTS += (
    [
        (POST + b"Content-Length: " + pad + b"\r\n\r\nabc", 400)
        for pad in (b"\x0b3", b"3\x0c", b"\x1c3", b"3\x1f", b"3\x85", b"\xa03")
    ]
    + [
        (
            POST + b"Transfer-Encoding: " + te + b"\r\n\r\n0\r\n\r\n",
            status,
        )
        for te, status in (
            (b"chunked\x0b", 400),  # a control character
            (b"\x0cchunked", 400),
            (b"chunked\x1e", 400),
            (b"chunked\x85", 501),  # obs-text: a transfer coding we do not know
            (b"\xa0chunked", 501),
        )
    ]
    + [
        (
            CHUNKED + b"3;a=b\rc\r\nabc",
            400,
        ),
        (
            CHUNKED + b"3;a\x00\r\nabc",
            400,
        ),
        (
            CHUNKED + b"0\r\nT: a\rb\r\n\r\n",
            400,
        ),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\x0bb\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\n\xff\xfe: 1\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX\xe9: 1\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET /hello HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    ]
)


@pytest.mark.parametrize("data,status", BAD_REQUESTS, ids=range(len(BAD_REQUESTS)))
def test_bad_request_gets_status_and_server_keeps_serving(srv, raw, data, status):
    c = raw(srv.port)
    c.send(data)
    got, headers, _body = c.response()
    assert got == status
    assert headers["connection"] == "close"
    assert c.closed_by_server()
    ok(srv)


def test_oversized_body_with_requests_gets_413(srv):
    r = requests.post("http://127.0.0.1:%d/echo" % srv.port, data=b"x" * 200000, timeout=10)
    assert r.status_code == 413
    ok(srv)


def test_ows_and_tabs_around_values_are_fine(srv, raw):
    c = raw(srv.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost:\tx \r\nContent-Length: \t3 \r\nX-A: a\tb\r\n\r\nabc")
    assert c.response()[::2] == (200, b"len=3")
    c.send(b"GET /hello HTTP/1.0\r\n\r\n")  # HTTP/1.0 needs no Host
    assert c.response()[::2] == (200, b"hello")


def test_body_at_limit_is_accepted(srv):
    r = requests.post("http://127.0.0.1:%d/echo" % srv.port, data=b"x" * 10000)
    assert r.text == "len=10000"


def test_duplicate_equal_content_length_is_fine(srv, raw):
    c = raw(srv.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
    assert c.response()[:3:2] == (200, b"len=3")


def test_client_stopping_mid_request_gets_408_others_unaffected(srv, raw):
    c = raw(srv.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-a-bit")
    t0 = time.monotonic()
    assert ok(srv) < 0.5  # served while the stalled request waits
    status, _h, _b = c.response()
    assert status == 408
    assert 0.4 < time.monotonic() - t0 < 3.0
    c2 = raw(srv.port)
    c2.send(b"GET /hello HTTP/1.1\r\nHost: x\r\nHo")  # stops inside the head
    assert c2.response()[0] == 408
    ok(srv)


def test_slowloris_is_cut_off(srv, raw):
    c = raw(srv.port)
    start = time.monotonic()
    closed = False
    for ch in b"GET /hello HTTP/1.1\r\nHost: x\r\nX-a: " + b"b" * 100:
        try:
            c.send(bytes([ch]))
        except OSError:
            closed = True
            break
        time.sleep(0.05)
        if time.monotonic() - start > 3:
            break
    assert closed or c.closed_by_server(timeout=2)
    assert time.monotonic() - start < 3.5
    ok(srv)


def test_client_disconnecting_mid_request_and_mid_response(srv, raw):
    for data in (b"GET /hel", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nab"):
        c = raw(srv.port)
        c.send(data)
        c.close()
    c = raw(srv.port)
    c.send(b"GET /slow?s=0.2 HTTP/1.1\r\nHost: x\r\n\r\n")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()  # reset before the response is written
    ok(srv)


def test_idle_keepalive_connection_closes_after_timeout(srv, raw):
    c = raw(srv.port)
    c.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[0] == 200
    t0 = time.monotonic()
    assert c.closed_by_server(timeout=5)
    assert 0.8 < time.monotonic() - t0 < 3.0


def test_garbage_after_valid_request_on_same_connection(srv, raw):
    c = raw(srv.port)
    c.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n")
    assert c.response()[0] == 200
    assert c.response()[0] == 400
    assert c.closed_by_server()


def test_connection_limit_answers_503(serve, raw):
    s = serve({"/hello": lambda r: "hello"}, max_connections=3)
    held = [raw(s.port) for _ in range(3)]
    for c in held:
        c.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.response()[0] == 200
    extra = raw(s.port)
    assert extra.response()[0] == 503
    held[0].close()

    def answered():
        try:
            return requests.get("http://127.0.0.1:%d/hello" % s.port, timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    ktest.wait_for(answered, what="a connection slot to free up")


def test_many_idle_clients_do_not_starve_a_normal_one(serve, raw, poll):
    s = serve({"/hello": lambda r: "hello"}, threads=4, request_timeout=30, keepalive_timeout=30)
    before = threading.active_count()
    idle = []
    for i in range(200):
        c = raw(s.port)
        if i % 2:
            c.send(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # half a request, then silence
        idle.append(c)
    poll(lambda: len(s._engine.conns) >= 200)
    worst = max(ok(s) for _ in range(10))
    assert worst < 0.5
    assert threading.active_count() == before  # no thread per connection
    assert len(s._engine.conns) >= 200


def test_slow_handlers_do_not_block_the_reader(srv):
    results = []

    def call():
        results.append(requests.get("http://127.0.0.1:%d/slow?s=1" % srv.port).text)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    ktest.wait_for(lambda: len(SLEEPING) == 3, what="three handlers asleep")
    assert ok(srv) < 0.5  # a fourth worker is free
    for t in threads:
        t.join()
    assert results == ["slept"] * 3


def test_clients_that_do_not_read_responses_do_not_hold_workers(serve, raw, poll):
    big = "x" * (8 << 20)
    s = serve({"/big": lambda r: big, "/hello": lambda r: "hello"}, threads=1, write_timeout=1.0)
    counters = s.varz_store
    sleepers = []
    for _ in range(3):
        c = raw(s.port)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")  # then never reads
        sleepers.append(c)
    poll(lambda: len(s._engine._parked) >= 3)
    assert ok(s) < 0.5  # the only worker is free: the big writes are parked
    # Each stalled write is cut once write_timeout passes.
    poll(lambda: (counters.get("web-write-timeouts") or 0) >= 3, timeout=5)
    r = requests.get("http://127.0.0.1:%d/big" % s.port)  # a normal reader gets all of it
    assert len(r.content) == 8 << 20


def test_request_waiting_for_a_busy_worker_is_not_swept_as_idle(serve, raw):
    started = threading.Event()

    def slow(r):
        started.set()
        time.sleep(1.0)
        return "slow"

    s = serve({"/slow": slow, "/hello": lambda r: "hello"}, threads=1, keepalive_timeout=0.3)
    a = raw(s.port)
    a.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert a.response()[2] == b"hello"  # a is now an idle keep-alive connection
    b = raw(s.port)
    b.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")  # occupies the only worker for 1 s
    assert started.wait(5)
    a.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")  # arrives while the worker is busy
    assert a.response()[2] == b"hello"  # answered, not cut as "idle" after 0.3 s
    assert b.response()[2] == b"slow"


def test_a_computing_handler_hands_over_and_others_are_served(serve):
    """A handler that computes keeps the lead only for a while: quick
    requests are served meanwhile (the GIL is shared between them)."""
    computing = threading.Event()

    def compute(r):
        computing.set()
        end = time.monotonic() + 1.5
        n = 0
        while time.monotonic() < end:
            n += 1
        return "computed"

    s = serve({"/compute": compute, "/hello": lambda r: "hello"}, threads=2)
    t = threading.Thread(target=lambda: requests.get("http://127.0.0.1:%d/compute" % s.port))
    t.start()
    try:
        assert computing.wait(5)
        assert ok(s) < 1.0  # served long before the computation ends
    finally:
        t.join(10)
    assert s.varz_store.get("web-workers-activated") >= 1
