"""Portable tests of kcore.webserver_circpy on a fake socket pool (no network).

The real-socket tests (micropython binary on loopback, fetched with requests)
are in tests/kcore-web/test_webserver_circpy.py.
"""

from kcore.webserver_base import LoggingAdapter, Response
from kcore.webserver_circpy import WebServer


class FakeClient:
    def __init__(self, chunks, recv_into_only=False, timeout_after=False):
        self.chunks = list(chunks)
        self.sent = b""
        self.closed = False
        self.timeout_after = timeout_after
        if recv_into_only:
            self.recv = None

    def settimeout(self, t):
        pass

    def setblocking(self, b):
        pass

    def _next(self, n):
        if not self.chunks:
            if self.timeout_after:
                raise OSError(110)
            return b""
        data = self.chunks[0][:n]
        rest = self.chunks[0][n:]
        if rest:
            self.chunks[0] = rest
        else:
            self.chunks.pop(0)
        return data

    def recv(self, n):
        return self._next(n)

    def recv_into(self, buf):
        data = self._next(len(buf))
        buf[: len(data)] = data
        return len(data)

    def send(self, data):
        data = bytes(data[:7])  # partial sends, as on a board
        self.sent += data
        return len(data)

    def close(self):
        self.closed = True


class FakeListener:
    def __init__(self, pool):
        self.pool = pool

    def setsockopt(self, *a):
        pass

    def bind(self, addr):
        self.pool.bound = addr

    def listen(self, n):
        pass

    def setblocking(self, b):
        pass

    def settimeout(self, t):
        pass

    def accept(self):
        if not self.pool.pending:
            raise OSError(11)
        return self.pool.pending.pop(0), ("10.0.0.9", 5555)

    def close(self):
        pass


class FakePool:
    AF_INET = 2
    SOCK_STREAM = 1
    SOL_SOCKET = 1
    SO_REUSEADDR = 2

    def __init__(self):
        self.pending = []
        self.bound = None

    def socket(self, family, kind):
        return FakeListener(self)

    def getaddrinfo(self, host, port):
        return [(2, 1, 0, "", (host, port))]


def _boom(request):
    raise ValueError("secret")


def _changed_header(request):
    response = Response("x")
    response.extra_headers["X-Evil"] = "a\r\nSet-Cookie: x=1"  # after Response() checked it
    return response


def _server(pool, **kw):
    return WebServer(
        {
            "/hello": lambda r: "hello %s" % r.get_params.get("n", "x"),
            "/cookies": lambda r: Response(
                "c", extra_headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
            ),
            "/changed": _changed_header,
            "/form": lambda r: "form %s" % r.post_params.get("a"),
            "/body": lambda r: "len %d" % len(r.body),
            "/u": lambda r: "ü",
            "/boom": _boom,
        },
        port=8080,
        pool=pool,
        logging_adapter=LoggingAdapter(),
        **kw,
    )


def _serve(server, pool, chunks, **kw):
    client = FakeClient(chunks, **kw)
    pool.pending.append(client)
    code = server.listen()
    assert client.closed
    head, _, body = client.sent.partition(b"\r\n\r\n")
    return code, head.decode(), body


def test_binds_loopback_by_default_and_idle_is_0():
    pool = FakePool()
    s = _server(pool)
    assert pool.bound == ("127.0.0.1", 8080)
    assert s.listen() == 0


def test_handled_404_and_exception_codes():
    pool = FakePool()
    s = _server(pool)
    code, head, body = _serve(s, pool, [b"GET /hello?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert code == 1
    assert head.startswith("HTTP/1.1 200 OK")
    assert "Connection: close" in head
    assert body == b"hello 1"
    code, head, body = _serve(s, pool, [b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert code == -3 and head.startswith("HTTP/1.1 404")
    code, head, body = _serve(s, pool, [b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert code == -1 and head.startswith("HTTP/1.1 500")
    assert b"secret" not in body


def test_body_read_exactly_in_pieces_and_forms():
    pool = FakePool()
    s = _server(pool)
    req = b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    req += b"Content-Length: 7\r\n\r\na=b%20c"
    code, _head, body = _serve(s, pool, [req[:10], req[10:40], req[40:], b"GARBAGE"])
    assert code == 1
    assert body == b"form b c"
    code, _head, body = _serve(
        s,
        pool,
        [b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab", b"cEXTRA"],
        recv_into_only=True,
    )
    assert body == b"len 3"


def test_content_length_counts_bytes():
    pool = FakePool()
    s = _server(pool)
    _code, head, body = _serve(s, pool, [b"GET /u HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert "Content-Length: 2" in head
    assert body.decode("utf-8") == "ü"


def test_errors_get_statuses():
    pool = FakePool()
    s = _server(pool, max_body=10, max_header_bytes=200)
    for chunks, status in (
        ([b"NONSENSE\r\n\r\n"], "400"),
        ([b"GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n"], "400"),
        ([b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"], "413"),
        ([b"POST /body HTTP/1.1\r\nHost: x\r\n\r\n"], "411"),
        (
            [
                b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Length: 1\r\n\r\n"
            ],
            "400",
        ),
        ([b"GET /hello HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 300], "431"),
        ([b"BREW /hello HTTP/1.1\r\nHost: x\r\n\r\n"], "501"),
        ([b"GET /hello HTTP/1.1\r\nHost: x\r\nHo"], "400"),
    ):
        code, head, _body = _serve(s, pool, chunks)
        assert code == -2, chunks
        assert head.startswith("HTTP/1.1 " + status), (chunks, head)


def test_read_timeout_is_408():
    pool = FakePool()
    s = _server(pool)
    code, head, _body = _serve(
        s, pool, [b"GET /hello HTTP/1.1\r\nHost: x\r\nHo"], timeout_after=True
    )
    assert code == -2
    assert head.startswith("HTTP/1.1 408")


def test_head_sends_no_body():
    pool = FakePool()
    s = _server(pool)
    _code, head, body = _serve(s, pool, [b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert "Content-Length: 7" in head
    assert body == b""


def test_heads_parsed_as_strictly_as_the_cpython_server():
    pool = FakePool()
    s = _server(pool)
    for chunks in (
        [b"GET /hello HTTP/1.1\r\n\r\n"],  # no Host
        [b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
        [b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: \x0b3\r\n\r\nabc"],
        [b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\xa0\r\n\r\nabc"],
        [b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"],
        [b"GET /hello HTTP/1.1\r\nHost: x\r\n\xff\xfe: 1\r\n\r\n"],  # was an exception
    ):
        code, head, _body = _serve(s, pool, chunks)
        assert code == -2, chunks
        assert head.startswith("HTTP/1.1 400"), (chunks, head)
    code, head, body = _serve(s, pool, [b"GET /hello HTTP/1.0\r\n\r\n"])
    assert code == 1 and body == b"hello x"  # HTTP/1.0 needs no Host


def test_several_set_cookie_headers():
    pool = FakePool()
    s = _server(pool)
    _code, head, _body = _serve(s, pool, [b"GET /cookies HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert "\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2" in head


def test_a_header_changed_after_the_response_was_made_is_refused():
    pool = FakePool()
    s = _server(pool)
    _code, head, body = _serve(s, pool, [b"GET /changed HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert head.startswith("HTTP/1.1 500") and "Set-Cookie" not in head and body == b""
    code, _head, body = _serve(s, pool, [b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert code == 1 and body == b"hello x"
