"""kcore.webserver over real HTTP: requests and curl as clients."""

import shutil
import subprocess
import threading

import ktest
import pytest
import requests

from kcore import varz
from kcore.webserver import LoggingAdapter, Response


def _handlers():
    def hello(r):
        return "hello %s" % r.get_params.get("name", "world")

    def echo(r):
        return Response(
            repr((r.method, r.post_params, sorted(r.files), len(r.body or b""))),
            msg_type="text/plain; charset=utf-8",
        )

    def peer(r):
        return str(r.remote_address[1])

    def boom(r):
        raise RuntimeError("do-not-leak-this")

    def stream(r):
        def gen():
            for i in range(5):
                yield "line %d\n" % i
            yield b"bytes too\n"

        return Response(gen())

    def bad_header(r):
        return Response("x", extra_headers={"X-Evil": "a\r\nSet-Cookie: pwned=1"})

    def cookies(r):
        return Response("c", extra_headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])

    def changed_header(r):
        response = Response("x")
        response.extra_headers["X-Evil"] = r.get_params.get("v", "a\x0bb")  # after the checks
        return response

    def upload(r):
        f = r.files["file"][0]
        return "%s %s %d" % (f.filename, f.content_type, len(f.data))

    return {
        "/hello": hello,
        "/echo": echo,
        "/peer": peer,
        "/boom": boom,
        "/stream": stream,
        "/bad-header": bad_header,
        "/cookies": cookies,
        "/changed-header": changed_header,
        "/upload": upload,
        "/item/([a-z]+)/([0-9]+)": lambda r: "%s-%s" % r.route_match_groups,
    }


@pytest.fixture
def srv(serve):
    return serve(_handlers())


def url(s, path):
    return "http://127.0.0.1:%d%s" % (s.port, path)


def test_get_head_and_methods(srv):
    r = requests.get(url(srv, "/hello?name=kcore"))
    assert r.status_code == 200
    assert r.text == "hello kcore"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.headers["Server"] == "k_webserver"
    h = requests.head(url(srv, "/hello?name=kcore"))
    assert h.status_code == 200
    assert h.headers["Content-Length"] == str(len("hello kcore"))
    assert h.content == b""
    for method in ("PUT", "DELETE", "POST"):
        r = requests.request(method, url(srv, "/echo"), data=b"")
        assert r.status_code == 200
        assert r.text.startswith("('%s'" % method)


def test_route_groups_and_404(srv):
    assert requests.get(url(srv, "/item/abc/42")).text == "abc-42"
    r = requests.get(url(srv, "/item/ABC/42"))
    assert r.status_code == 404


def test_forms_urlencoded_and_multipart(srv):
    r = requests.post(url(srv, "/echo"), data={"x": "y", "z": "ü"})
    assert r.text == "('POST', {'x': 'y', 'z': 'ü'}, [], %d)" % len("x=y&z=%C3%BC")
    r = requests.post(url(srv, "/echo"), data={"a": "b"}, files={"f": ("n.bin", b"\x00" * 10)})
    assert "{'a': ['b']}" in r.text
    assert "['f']" in r.text
    r = requests.post(url(srv, "/upload"), files={"file": ("t.txt", b"abc" * 1000, "text/plain")})
    assert r.text == "t.txt text/plain 3000"


def test_keep_alive_reuses_one_connection(srv):
    with requests.Session() as s:
        ports = {s.get(url(srv, "/peer")).text for _ in range(20)}
    assert len(ports) == 1


def test_pipelining_answers_in_order(srv, raw):
    c = raw(srv.port)
    c.send(
        b"GET /hello?name=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /hello?name=3 HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert c.response()[2] == b"hello 1"
    assert c.response()[2] == b"('POST', {}, [], 3)"
    assert c.response()[2] == b"hello 3"


def test_http10_closes_unless_keep_alive(srv, raw):
    c = raw(srv.port)
    c.send(b"GET /hello HTTP/1.0\r\n\r\n")
    status, headers, body = c.response()
    assert (status, body) == (200, b"hello world")
    assert headers["connection"] == "close"
    assert c.closed_by_server()
    c = raw(srv.port)
    c.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert c.response()[1]["connection"] == "keep-alive"
    c.send(b"GET /hello?name=again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert c.response()[2] == b"hello again"


def test_chunked_request_body(srv, raw):
    c = raw(srv.port)
    c.send(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        b"4;ext=1\r\na=bc\r\n3\r\n&d=\r\n1\r\ne\r\n0\r\nTrailer: x\r\n\r\n"
    )
    status, _h, body = c.response()
    assert status == 200
    assert body == b"('POST', {'a': 'bc', 'd': 'e'}, [], 8)"


def test_streaming_response_is_chunked(srv, raw):
    r = requests.get(url(srv, "/stream"))
    assert r.headers["Transfer-Encoding"] == "chunked"
    assert r.text == "".join("line %d\n" % i for i in range(5)) + "bytes too\n"
    c = raw(srv.port)
    c.send(b"GET /stream HTTP/1.0\r\n\r\n")
    c.sock.settimeout(5)
    data = b""
    while True:
        chunk = c.sock.recv(65536)
        if not chunk:
            break
        data += chunk
    assert b"Transfer-Encoding" not in data
    assert data.endswith(b"bytes too\n")


def test_handler_exception_gives_500_without_traceback(serve):
    logged = []
    s = serve(_handlers(), logging_adapter=LoggingAdapter(log_exceptions=logged.append))
    r = requests.get(url(s, "/boom"))
    assert r.status_code == 500
    assert r.content == b""  # a bare 500: nothing about the failure leaves the server
    assert s.varz_store.get("web-handler-exception") == 1
    assert "do-not-leak-this" in logged[0] and "Traceback" in logged[0]
    r = requests.get(url(s, "/bad-header"))
    assert r.status_code == 500
    assert "pwned" not in r.headers.get("Set-Cookie", "")


def test_several_set_cookie_headers(srv):
    r = requests.get(url(srv, "/cookies"))
    assert r.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert r.cookies.get_dict() == {"a": "1", "b": "2"}


@pytest.mark.parametrize("value", ["a\x0bb", "a\tb", "a\x7fb", "a\x85b", "a\rSet-Cookie: x=1"])
def test_header_changed_after_the_response_was_made_is_still_checked(srv, value):
    with requests.Session() as session:
        r = session.get(url(srv, "/changed-header"), params={"v": value})
        assert r.status_code == 500 and "X-Evil" not in r.headers
        assert session.get(url(srv, "/hello")).text == "hello world"
    assert srv.varz_store.get("web-response-refused") >= 1


def test_introspection_pages_escaped(srv):
    srv.varz_store.set("xss", "<script>alert('x')</script>")
    r = requests.get(url(srv, "/varz"))
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "&lt;script&gt;" in r.text
    assert "sys-threads" in r.text
    r = requests.get(url(srv, "/varz?xss"))
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text == "<script>alert('x')</script>"
    r = requests.get(url(srv, "/healthz"))
    assert (r.text, r.headers["Content-Type"]) == ("ok", "text/plain; charset=utf-8")
    r = requests.get(url(srv, "/favicon.ico"))
    assert (r.status_code, r.content) == (200, b"")


def test_logz_escapes_logged_paths(serve, raw):
    s = serve(_handlers(), logging_adapter=None)  # default adapter: kcore.common logger
    c = raw(s.port)
    c.send(b"GET /nothing-<script>x</script> HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[0] == 404
    r = requests.get(url(s, "/logz"))
    assert r.status_code == 200
    assert "<script>x" not in r.text
    assert "&lt;script&gt;x" in r.text


def test_metrics_served_when_prometheus_client_present(srv):
    pytest.importorskip("prometheus_client")
    srv.varz_store.bump("metrics-test-counter")
    r = requests.get(url(srv, "/metrics"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=")
    assert "varz_metrics_test_counter_total" in r.text
    assert 'healthz_status{program="' in r.text


def test_varz_prom_init_on_a_web_server(serve):
    pytest.importorskip("prometheus_client")
    import kcore.varz_prom as vp

    s = serve({"/healthz": lambda r: "db down"}, use_standard_handlers=False)
    assert requests.get(url(s, "/metrics")).status_code == 404
    assert vp.init(s) is True
    s.varz_store.bump("init-counter")
    r = requests.get(url(s, "/metrics"), params={"name[]": ["healthz_status"]})
    assert r.status_code == 200
    assert r.text.splitlines()[-1].startswith('healthz_status{program="')
    assert r.text.rstrip().endswith(" 1.0")  # /healthz says "db down"
    assert "varz_init_counter_total" in requests.get(url(s, "/metrics")).text
    assert requests.get(url(s, "/healthz")).text == "db down"  # kept


def test_two_servers_count_separately(serve):
    global_before = varz.get("web-path-hello")
    a = serve(_handlers())
    b = serve(_handlers())
    for _ in range(3):
        requests.get(url(a, "/hello"))
    requests.get(url(b, "/hello"))
    assert a.varz_store.get("web-path-hello") == 3
    assert b.varz_store.get("web-path-hello") == 1
    assert requests.get(url(b, "/varz?web-path-hello")).text == "1"
    assert a.varz_store.get("web-connections-open") >= 0
    assert varz.get("web-path-hello") == global_before  # the global store was not touched


def test_original_msg_types_are_valid_on_the_wire(serve):
    s = serve(
        {
            "/t": lambda r: Response("x", msg_type="text"),
            "/h": lambda r: Response("<p>x</p>"),
            "/e": lambda r: Response(""),
            "/j": lambda r: Response("{}", msg_type="application/json"),
        }
    )
    types = {p: requests.get(url(s, p)).headers["Content-Type"] for p in ("/t", "/h", "/e", "/j")}
    assert types == {
        "/t": "text/plain; charset=utf-8",
        "/h": "text/html; charset=utf-8",
        "/e": "text/plain; charset=utf-8",
        "/j": "application/json",
    }


def test_httpd_stops_and_joins_a_serve_thread():
    from kcore.webserver import WebServer

    s = WebServer({"/hello": lambda r: "hello"}, logging_adapter=LoggingAdapter(), varz=False)
    assert s.httpd is None
    t = s.start(port=0)
    assert s.httpd.server_address == ("127.0.0.1", s.port)
    assert requests.get(url(s, "/hello")).text == "hello"
    s.httpd.shutdown()
    t.join(10)
    assert not t.is_alive()
    s.httpd.server_close()
    with pytest.raises(requests.ConnectionError):
        requests.get(url(s, "/hello"), timeout=2)
    s2 = WebServer({}, logging_adapter=LoggingAdapter(), varz=False)
    holder = []
    t2 = threading.Thread(target=lambda: holder.append(s2.start(port=0, background=False)))
    t2.start()
    ktest.wait_for(lambda: s2.httpd is not None, what="the foreground server to start")
    s2.httpd.shutdown()
    t2.join(10)
    assert holder == [None]


def test_binds_loopback_by_default(srv):
    assert srv.listen_address == "127.0.0.1"
    assert srv._engine.listener.getsockname()[0] == "127.0.0.1"


def test_concurrent_clients(srv):
    errors = []

    def client():
        try:
            with requests.Session() as s:
                for i in range(30):
                    r = s.get(url(srv, "/hello?name=%d" % i))
                    assert r.text == "hello %d" % i
        except Exception as e:  # collected for the main thread
            errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.fixture
def curl():
    path = shutil.which("curl")
    if not path:
        pytest.skip("curl (Debian package curl) is not installed")

    def run(*args):
        r = subprocess.run([path, "-sS", *args], capture_output=True, timeout=30)
        return r

    return run


def test_curl_get_post_head_and_expect_continue(srv, curl):
    r = curl(url(srv, "/hello?name=curl"))
    assert r.stdout == b"hello curl"
    r = curl("-I", url(srv, "/hello"))
    assert b"HTTP/1.1 200 OK" in r.stdout
    assert b"Content-Length: 11" in r.stdout
    big = "a=" + "x" * 5000
    r = curl(
        "-v",
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "20",
        "-d",
        big,
        url(srv, "/echo"),
    )
    assert b"100 Continue" in r.stderr
    assert r.stdout.startswith(b"('POST', {'a': 'xxx")
    r = curl("-w", "%{http_code}", "-o", "/dev/null", "-X", "DELETE", url(srv, "/echo"))
    assert r.stdout == b"200"


def test_curl_keep_alive_and_http10(srv, curl):
    r = curl("-v", url(srv, "/hello"), url(srv, "/hello"))
    assert r.stdout == b"hello worldhello world"
    assert b"Re-using existing connection" in r.stderr or b"Reusing existing" in r.stderr
    r = curl("--http1.0", url(srv, "/hello"))
    assert r.stdout == b"hello world"


def test_introspection_auth_over_http(serve):
    pytest.importorskip("prometheus_client")

    def auth(request):
        token = request.headers.get("authorization", "")
        if token == "Bearer good":
            return True
        if not token:
            return Response("login\n", 401, extra_headers={"WWW-Authenticate": "Bearer"})
        return False

    s = serve(_handlers(), introspection_auth=auth)
    for path in ("/varz", "/logz", "/flagz", "/metrics"):
        r = requests.get(url(s, path))
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        r = requests.get(url(s, path), headers={"Authorization": "Bearer bad"})
        assert r.status_code == 403
        r = requests.get(url(s, path), headers={"Authorization": "Bearer good"})
        assert r.status_code in (200, 503), path  # /flagz has no data: 503
    assert requests.get(url(s, "/healthz")).status_code == 200
    assert requests.get(url(s, "/hello")).status_code == 200


def test_expect_continue_refused_when_too_big(serve, raw):
    s = serve(_handlers(), max_body=100)
    c = raw(s.port)
    c.send(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
    )
    status, _h, _b = c.response()
    assert status == 413  # answered before any body byte was sent
    c = raw(s.port)
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert c.response()[0] == 100
    c.send(b"hello")
    assert c.response()[:3:2] == (200, b"('POST', {}, [], 5)")


def test_options_and_head_on_stream(srv, raw):
    r = requests.options(url(srv, "/hello"))
    assert r.status_code == 200
    c = raw(srv.port)
    c.send(b"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    c.sock.settimeout(5)
    data = b""
    while b"hello world" not in data:
        chunk = c.sock.recv(65536)
        assert chunk
        data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert b"line 0" not in data


def test_stream_with_wrong_content_length_cuts_the_connection(serve, raw):
    def liar(r):
        return Response(iter([b"abc"]), extra_headers={"Content-Length": "10"})

    s = serve({"/liar": liar, "/hello": lambda r: "hello"})
    c = raw(s.port)
    c.send(b"GET /liar HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.closed_by_server()
    assert requests.get(url(s, "/hello")).text == "hello"
