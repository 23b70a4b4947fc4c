"""Portable tests of kcore.common.web (CPython pytest and the micropython binary).

No network: URL handling, request building and response parsing of canned
bytes through the same reader the socket transport uses.
"""

from mtest import raises

import kcore.common._webwire as wire
import kcore.common.web as web
from kcore.common import platform


class CannedSocket:
    """Serves canned bytes in small pieces, like a real socket would."""

    def __init__(self, data, piece=7):
        self.data = data
        self.pos = 0
        self.piece = piece

    def recv(self, n):
        n = min(n, self.piece)
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


class RecvIntoSocket:
    """Only recv_into, as CircuitPython's socketpool sockets."""

    def __init__(self, data):
        self.inner = CannedSocket(data, 5)

    def recv_into(self, buf, nbytes=0):
        chunk = self.inner.recv(nbytes or len(buf))
        buf[: len(chunk)] = chunk
        return len(chunk)


class ReadSocket:
    """Only read(), as MicroPython's TLS socket objects."""

    def __init__(self, data):
        self.inner = CannedSocket(data, 3)

    def read(self, n):
        return self.inner.recv(n)


URL = web.parse_url("http://example.com/x")


def parse(raw, method="GET", limit=1000, sock_class=CannedSocket):
    return wire.read_response(wire._Reader(sock_class(raw)), method, limit, URL)


# ------------------------------------------------------------------ URLs


def test_parse_url_parts():
    u = web.parse_url("HTTP://User:Pw@Example.COM:8080/a/b?q=1&r=2#frag")
    assert u.scheme == "http" and u.host == "example.com" and u.port == 8080
    assert u.target == "/a/b?q=1&r=2" and u.userinfo == "User:Pw"
    assert u.path == "/a/b" and u.hostport == "example.com:8080"
    assert u.redacted() == "http://example.com:8080/a/b"
    assert "Pw" not in repr(u) and "q=1" not in repr(u)
    u = web.parse_url("https://example.com")
    assert u.port == 443 and u.target == "/" and u.hostport == "example.com"
    u = web.parse_url("http://h?x=1")
    assert u.target == "/?x=1"
    u = web.parse_url("  http://[::1]:8000/p q  ")
    assert u.host == "::1" and u.port == 8000 and u.hostport == "[::1]:8000"
    assert u.target == "/p%20q"


def test_parse_url_errors():
    cases = [
        ("ftp://h/", "unsupported URL scheme 'ftp'"),
        ("h/x", "no scheme"),
        ("http://", "no host"),
        ("http://:80/", "no host"),
        ("http://h:0/", "invalid port"),
        ("http://h:65536/", "invalid port"),
        ("http://h:x/", "invalid port"),
        ("http://h/\r\nX: y", "control character"),
        ("http://h\x00/", "control character"),
        ("http://a b/", "invalid character"),
        ("http://[::1/", "IPv6"),
        ("http://[zz]/", "IPv6"),
        ("http://[::1]x/", "IPv6"),
    ]
    for bad, why in cases:
        e = raises(web.InvalidURL, web.parse_url, bad)
        assert why in str(e), (bad, str(e))
        assert isinstance(e, web.WebError)
    e = raises(web.InvalidURL, web.parse_url, b"http://h/")
    assert "must be a str" in str(e)


def test_parse_errors_never_show_a_password():
    for bad in (
        "http://alice:hunter2/x@h/",  # '/' in the password: 'hunter2' parses as the port
        "http://alice:hunter2#x@h/",
        "http://alice:hunter2?x@h/",
        "alice:hunter2@h://x",  # the password would be the 'scheme'
        "http://alice:hunter2@[::1/",
        "http://alice:hunter2@h:99999/",
        "http://alice:hun\r\nter2@h/",
        "http:/alice:hunter2@h/",
    ):
        e = raises(web.InvalidURL, web.parse_url, bad)
        assert "hunter2" not in str(e) and "alice" not in str(e), (bad, str(e))
        assert "hunter2" not in web.mask_url(bad)
    assert web.mask_url("http://a:b@h:8/p?token=T#f") == "http://***@h:8/p?..."
    assert web.mask_url("http://h/p#f") == "http://h/p#..."
    assert web.mask_url("x\r\ny") == "x\\x0d\\x0ay"
    assert len(web.mask_url("http://h/" + "p" * 500)) == 123
    e = raises(web.InvalidURL, web.parse_url, "http://alice:hunter2/x@h/")
    assert str(e).startswith("http://***@h/: ")  # still names what it can


def test_join_url():
    base = web.parse_url("http://h:81/a/b/c?q=1")
    j = web.join_url
    assert j(base, "https://o/x") == "https://o/x"
    assert j(base, "//o/x") == "http://o/x"
    assert j(base, "/x/../y?z=1") == "http://h:81/y?z=1"
    assert j(base, "?z=2") == "http://h:81/a/b/c?z=2"
    assert j(base, "d") == "http://h:81/a/b/d"
    assert j(base, "../d") == "http://h:81/a/d"
    assert j(base, "../../../../d") == "http://h:81/d"
    assert j(base, "./") == "http://h:81/a/b/"


def test_add_query():
    assert web.add_query("http://h/p", {"a": "1 2"}) == "http://h/p?a=1+2"
    assert web.add_query("http://h/p?x=1", [["b", "&"]]) == "http://h/p?x=1&b=%26"
    assert web.add_query("http://h/p?", {"a": "1"}) == "http://h/p?a=1"
    assert web.add_query("http://h/p#f", {"a": "1"}) == "http://h/p?a=1"
    assert web.add_query("http://h/p", None) == "http://h/p"


def test_headers_case_insensitive():
    h = web.Headers({"Content-Type": "text/plain"})
    assert h["content-type"] == "text/plain" and "CONTENT-TYPE" in h
    h["content-type"] = "x"
    assert h.keys() == ["content-type"] and len(h) == 1
    assert h.get("missing", "d") == "d" and h.pop("Content-Type") == "x" and len(h) == 0
    assert web.Headers({"A": "1"}) == {"a": "1"}
    assert web.Headers() == {}


# ------------------------------------------------------- request building


def test_build_request_head():
    u = web.parse_url("http://h:8080/p?q=1")
    hdrs = web.Headers({"X-A": "b"})
    head = wire.build_request_head("POST", u, hdrs, b"abc")
    assert head.startswith(b"POST /p?q=1 HTTP/1.1\r\nHost: h:8080\r\n")
    assert b"\r\nContent-Length: 3\r\n" in head and b"\r\nX-A: b\r\n" in head
    assert b"\r\nConnection: close\r\n" in head and head.endswith(b"\r\n\r\n")
    head = wire.build_request_head("GET", u, web.Headers(), None, absolute_form=True)
    assert head.startswith(b"GET http://h:8080/p?q=1 HTTP/1.1\r\n")
    assert b"Content-Length" not in head
    bad = web.Headers({"X-A": "v\r\nX-Evil: 1"})
    raises(web.InvalidHeader, wire.build_request_head, "GET", u, bad, None)
    raises(web.InvalidHeader, wire.build_request_head, "GET", u, web.Headers({"A B": "1"}), None)
    # values are sent as Latin-1, as HTTP/1.1 and requests send them
    head = wire.build_request_head("GET", u, web.Headers({"X-Name": "caf\u00e9"}), None)
    assert b"\r\nX-Name: caf\xe9\r\n" in head


def test_headers_every_transport_can_send():
    ok = web._check_header("X-Api_Key.1", "caf\u00e9 \u00ff")
    assert ok == ("X-Api_Key.1", "caf\u00e9 \u00ff")
    for name, value in (
        ("X-Snow", "\u2603"),
        ("X-Emoji", "ok \U0001f600"),
        ("X-Caf\u00e9", "v"),
        ("X A", "v"),
        ("X:A", "v"),
        ("", "v"),
        ("X-Line", "a\nb"),
    ):
        e = raises(web.InvalidHeader, web._check_header, name, value)
        assert isinstance(e, web.WebError)
        if value != "v":
            assert value not in str(e)  # a header value may be a secret
    s = web.Session(transport="socket")
    raises(web.InvalidHeader, s.prepare, "GET", "http://h/", headers={"X-Snow": "\u2603"})
    assert web.header_bytes("caf\u00e9") == b"caf\xe9"


def test_redirect_to_another_origin_keeps_only_allowlisted_headers():
    s = web.Session(transport="socket")
    req = s.prepare(
        "POST",
        "http://bob:pw@h/a",
        data=b"body",
        headers={
            "Authorization": "Bearer A",
            "Cookie": "c=1",
            "Proxy-Authorization": "Basic P",
            "X-Kcore-Auth": "tok",
            "X-Api-Key": "key",
            "X-Unknown-Secret": "s",
            "Accept-Language": "de",
            "Content-Type": "text/plain",
            "User-Agent": "mine",
        },
    )
    sent = []
    hops = [
        (307, "/b"),  # same origin: everything stays
        (307, "http://h:81/c"),  # another origin (port): only the allowlist
        (302, "http://carol:pw2@h:81/d"),  # credentials of its own, from its own URL
        (200, None),
    ]

    def send_once(method, url, headers, body):
        code, location = hops[len(sent)]
        sent.append((method, url.geturl(), dict(headers.lower_items()), body))
        return web.Response(code, {"Location": location} if location else {}, b"", url.geturl())

    resp = web.follow_redirects(req, send_once)
    assert resp.status_code == 200 and len(resp.history) == 3
    first, same, other, own = [h for _m, _u, h, _b in sent]
    assert first["authorization"] == "Bearer A"  # set by the caller: the URL's user info waits
    assert same == first
    assert sorted(other) == ["accept-language", "content-type", "user-agent"]
    assert sent[2][3] == b"body" and sent[2][1] == "http://h:81/c"
    assert sorted(own) == ["accept-language", "authorization", "user-agent"]
    assert own["authorization"].startswith("Basic ") and sent[3][0] == "GET"
    # with no Authorization of the caller's, the URL's user info becomes one
    req = s.prepare("GET", "http://bob:pw@h/a")
    del sent[:]
    hops[:] = [(302, "/same"), (302, "//other/x"), (200, None)]
    web.follow_redirects(req, send_once)
    assert sent[0][2]["authorization"] == sent[1][2]["authorization"]
    assert "authorization" not in sent[2][2]
    assert sorted(sent[0][2]) == ["authorization"]


def test_session_prepare():
    s = web.Session(transport="socket")
    r = s.prepare("post", "http://h/p", params={"a": "1"}, data={"k": "v w"})
    assert r.method == "POST" and r.url == "http://h/p?a=1"
    assert r.body == b"k=v+w"
    assert r.headers["content-type"] == "application/x-www-form-urlencoded"
    assert r.timeout == web.DEFAULT_TIMEOUT and r.max_redirects == web.DEFAULT_MAX_REDIRECTS
    r = s.prepare("POST", "http://h/", json={"a": [1]})
    assert r.body == b'{"a": [1]}' or r.body == b'{"a":[1]}'
    assert r.headers["content-type"] == "application/json"
    assert s.prepare("POST", "http://h/").body == b""
    assert s.prepare("GET", "http://h/").body is None
    r = s.prepare("GET", "https://h/", verify="/ca.pem")
    assert r.verify is True and r.cafile == "/ca.pem"
    for bad in (0, -1, "5", None):
        if bad is not None:
            raises(ValueError, s.prepare, "GET", "http://h/", timeout=bad)
    raises(ValueError, s.prepare, "GE T", "http://h/")
    raises(web.InvalidURL, s.prepare, "GET", "mailto:x@y")


# ------------------------------------------------------ response parsing


def test_parse_content_length_on_every_socket_flavour():
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloEXTRA"
    for cls in (CannedSocket, RecvIntoSocket, ReadSocket):
        code, reason, headers, body = parse(raw, sock_class=cls)
        assert code == 200 and reason == "OK" and body == b"hello"
        assert headers["content-type"] == "text/plain"


def test_parse_chunked():
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n"
    )
    code, _, _headers, body = parse(raw)
    assert code == 200 and body == b"hello 0123456789"
    e = raises(web.WebError, parse, raw, "GET", 10)
    assert "max_body=10" in str(e)
    e = raises(web.WebError, parse, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert "chunk size" in str(e)


def test_parse_read_to_close_and_no_body_cases():
    assert parse(b"HTTP/1.0 200 OK\r\n\r\nuntil close")[3] == b"until close"
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD")[3] == b""
    assert parse(b"HTTP/1.1 204 No Content\r\n\r\n")[:2] == (204, "No Content")
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    assert parse(raw)[0] == 201 and parse(raw)[3] == b"ok"
    raw = b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n"
    assert parse(raw)[2]["Set-Cookie"] == "a=1, b=2"


def test_parse_errors():
    e = raises(web.WebError, parse, b"SSH-2.0-OpenSSH\r\n\r\n")
    assert "malformed HTTP status line" in str(e) and "example.com" in str(e)
    e = raises(web.WebError, parse, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
    assert "5 of 10" in str(e)
    e = raises(web.WebError, parse, b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
    assert "max_body=1000" in str(e)
    e = raises(web.WebError, parse, b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 1500)
    assert "max_body=1000" in str(e)
    e = raises(web.WebError, parse, b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")
    assert "content-length" in str(e)
    e = raises(web.WebError, parse, b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab")
    assert "content-length" in str(e)
    e = raises(web.WebError, parse, b"HTTP/1.1 200 OK\r\nBad header\r\n\r\n")
    assert "malformed response header" in str(e)
    many = b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (web.MAX_HEADERS + 5) + b"\r\n"
    assert "more than" in str(raises(web.WebError, parse, many))
    e = raises(web.WebError, parse, b"HTTP/1.1 200 OK\r\nX: " + b"y" * (web.MAX_HEADER_LINE + 9))
    assert "longer than" in str(e)
    e = raises(web.WebError, parse, b"HTTP/1.1 200 OK\r\nContent")
    assert "closed inside the response headers" in str(e)
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"
    assert "transfer-encoding" in str(raises(web.WebError, parse, raw))


# ----------------------------------------------------- responses, errors


def test_response_object():
    r = web.Response(
        200,
        {"Content-Type": "application/json; charset=utf-8"},
        b'{"a": "\xc3\xa9"}',
        "http://h/",
        1500,
    )
    assert r.ok and bool(r) and r.exception is None and r.encoding == "utf-8"
    assert r.json() == {"a": "\u00e9"} and str(r) == r.text == '{"a": "\u00e9"}'
    assert r.elapsed.total_seconds() == 1.5
    assert repr(r) == "<Response [200]>"
    bad = web.Response(500, {}, b"ab\xffcd")
    assert bad.text == "ab\ufffdcd" and not bad.ok and not bad
    e = raises(web.WebError, bad.raise_for_status)
    assert "500" in str(e)
    assert web.Response(302).ok and not web.Response(404).ok
    raises(AttributeError, getattr, r, "no_such_attribute")


def test_fake_response():
    err = web.WebTimeout("http://h/: timed out")
    f = web.FakeResponse(err, "http://u:secretpw@h:1/p?token=SECRET", 250)
    assert f.ok is False and f.status_code is None and f.text == "" and f.headers == {}
    assert f.exception is err and f.url.endswith("token=SECRET") and not f
    s = str(f)
    assert s.startswith("FakeResponse(ok=False, status_code=None, url='http://h:1/p'")
    assert "WebTimeout" in s and "0.250s" in s
    assert "secretpw" not in s and "SECRET" not in s
    assert raises(web.WebTimeout, f.json) is err
    assert raises(web.WebTimeout, f.raise_for_status) is err


def test_error_tree():
    for cls in (web.WebTimeout, web.WebConnectionError, web.InvalidURL, web.InvalidHeader):
        assert issubclass(cls, web.WebError), cls
    assert issubclass(web.WebSSLError, web.WebConnectionError)
    assert issubclass(web.WebError, OSError)
    if platform.CPYTHON:
        assert issubclass(web.WebError, platform.KcoreError)
        assert issubclass(web.WebTimeout, TimeoutError)
        assert issubclass(web.InvalidURL, ValueError)
    e = web._error(web.WebTimeout, "timed out", web.parse_url("http://u:p@h:2/x?y=1"))
    assert str(e) == "http://h:2/x: timed out" and e.host == "h" and e.url == "http://h:2/x"


def test_wrapping_functions_without_network():
    r = web.web_get("gopher://h/")
    assert isinstance(r, web.FakeResponse) and isinstance(r.exception, web.InvalidURL)
    assert web.read_web("gopher://h/") == ""
    e = web.read_web_e("gopher://h/")
    assert isinstance(e, str) and e.startswith("ERROR: ") and "gopher" in e
    raises(web.InvalidURL, web.web_get, "gopher://h/", wrap_exceptions=False)
