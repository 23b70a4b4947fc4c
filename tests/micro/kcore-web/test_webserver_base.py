"""Portable tests of kcore.webserver_base (pytest on CPython, and the micropython binary)."""

from mtest import raises

from kcore import varz
from kcore.webserver_base import (
    Headers,
    HttpError,
    LoggingAdapter,
    Request,
    Response,
    WebServerBase,
    body_framing,
    check_path,
    parse_form,
    parse_get_params,
    parse_request_head,
)


def _server(**kw):
    return WebServerBase(
        {
            "/hello": lambda r: "hello",
            "dir1/file2": lambda r: "file2",
            "/item/([0-9]+)/(.*)": lambda r: "item %s %s" % r.route_match_groups,
            "/boom": _boom,
            "/none": lambda r: None,
            "/bytes": lambda r: b"\x00\x01",
        },
        **kw,
    )


def _boom(request):
    raise ValueError("secret")


def test_routes_groups_and_normalisation():
    s = _server()
    assert s.test_handler("/hello").body == "hello"
    assert s.test_handler("/dir1/file2").body == "file2"
    assert s.test_handler("/item/42/x/y").body == "item 42 x/y"
    assert s.test_handler("/hello/more").status_code == 404
    assert s.test_handler("/none").body == ""
    r = s.test_handler("/bytes")
    assert r.body == b"\x00\x01"
    assert r.msg_type == "application/octet-stream"


def test_match_groups_belong_to_the_request_not_the_route():
    s = _server()
    r1 = Request("GET", "/item/1/a")
    r2 = Request("GET", "/item/2/b")
    s.find_and_run_handler(r1)
    s.find_and_run_handler(r2)
    assert r1.route_match_groups == ("1", "a")
    assert r2.route_match_groups == ("2", "b")


def test_user_route_overrides_standard_and_default_handler():
    s = _server()
    assert s.test_handler("/healthz").body == "ok"
    s.add_handler("/healthz", lambda r: "all ok")
    assert s.test_handler("/healthz").body == "all ok"
    assert s.test_handler("/whatever").status_code == 404
    s.add_handler(None, lambda r: "default")
    assert s.test_handler("/whatever").body == "default"
    assert s.del_handler("/healthz")
    assert not s.del_handler("/not-there")
    assert s.test_handler("/healthz").body == "ok"


def test_handler_exception_is_500_without_details_and_logged():
    logged = []
    s = _server(logging_adapter=LoggingAdapter(log_exceptions=logged.append))
    varz.reset("web-handler-exception")
    r = s.test_handler("/boom")
    assert r.status_code == 500
    assert "secret" not in r.body
    assert "handler exception. path=/boom" in logged[0]
    assert "secret" in logged[0]
    assert varz.get("web-handler-exception") == 1


def test_varz_page_escapes_and_single_value_is_text():
    s = _server()
    varz.set("evil<b>", "<script>alert(1)</script>")
    r = s.test_handler("/varz")
    assert r.status_code == 200
    assert "<script>" not in r.body
    assert "&lt;script&gt;" in r.body
    assert "evil&lt;b&gt;" in r.body
    assert r.msg_type.startswith("text/html")
    one = s.test_handler("/varz?evil%3Cb%3E")
    assert one.body == "<script>alert(1)</script>"
    assert one.msg_type.startswith("text/plain")
    assert s.test_handler("/varz?absent-key").body == "None"
    varz.delete("evil<b>")


def test_counters_and_path_cap():
    varz.reset()
    s = _server(max_path_counters=3)
    for p in ("/hello", "/a1", "/a2", "/a3", "/a4"):
        s.test_handler(p)
    assert varz.get("web-path-hello") == 1
    assert varz.get("web-path-a3") is None
    assert varz.get("web-path-(other)") == 2
    assert varz.get("web-status-404") == 4
    assert varz.get("web-method-test") == 5
    s.find_and_run_handler(Request("BREW", "/hello"))
    assert varz.get("web-method-other") == 1


def test_flagz_logz_and_favicon():
    s = _server(flagz_args={"name": "<i>x</i>"})
    r = s.test_handler("/flagz")
    assert "&lt;i&gt;x&lt;/i&gt;" in r.body
    assert _server().test_handler("/flagz").status_code == 503
    assert _server().test_handler("/logz").status_code == 503
    s2 = _server(logging_adapter=LoggingAdapter(get_logz_html=lambda: "<p>line&lt;"))
    assert "<p>line&lt;" in s2.test_handler("/logz").body
    assert s.test_handler("/favicon.ico").status_code == 204


def test_introspection_auth_hook():
    seen = []

    def auth(request):
        seen.append(request.path)
        if request.get_params.get("token") == "good":
            return True
        if request.get_params.get("token") == "ask":
            return Response("login please", 401, extra_headers={"WWW-Authenticate": "Basic"})
        return False

    s = _server(introspection_auth=auth)
    assert s.test_handler("/varz").status_code == 403
    assert s.test_handler("/varz?token=good").status_code == 200
    r = s.test_handler("/logz?token=ask")
    assert r.status_code == 401
    assert r.extra_headers["WWW-Authenticate"] == "Basic"
    assert s.test_handler("/flagz").status_code == 403
    assert s.test_handler("/healthz").status_code == 200  # not guarded
    assert s.test_handler("/hello").status_code == 200
    assert "/healthz" not in seen


def test_response_defaults_and_validation():
    assert Response("<p>x</p>").msg_type.startswith("text/html")
    assert Response("x").msg_type.startswith("text/plain")
    assert Response("").msg_type.startswith("text/plain")
    assert Response("x", 201).ok
    assert not Response("x", 404).ok
    assert Response("x", 299, status_msg="Fine").status_msg == "Fine"
    assert str(Response("a\nb", 200)) == "[200] a\\nb"
    raises(ValueError, Response, "x", -1)
    raises(ValueError, Response, "x", 200, {"X": "a\r\nSet-Cookie: y"})
    assert Response("ü").body_bytes() == b"\xc3\xbc"


def test_parse_get_params():
    p = parse_get_params("/x?a=1&b=c%20d+e&flag&a=2&eq=x=y")
    assert p == {"a": "2", "b": "c d e", "flag": "", "eq": "x=y"}
    assert parse_get_params("/x") == {}


def test_parse_request_head_good_and_bad():
    m, t, v, h = parse_request_head(b"GET /a?b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2")
    assert (m, t, v) == ("GET", "/a?b", "HTTP/1.1")
    assert h["host"] == "x"
    assert h.get_all("X-A") == ["1", "2"]
    assert isinstance(h, Headers)
    for bad, status in (
        (b"GET /a", 400),
        (b"GET  /a HTTP/1.1", 400),
        (b"G\x01T /a HTTP/1.1", 400),
        (b"GET /a HTTP/2.0", 505),
        (b"GET /a HTTP/x", 400),
        (b"GET a HTTP/1.1", 400),
        (b"GET /\xc3\xa4 HTTP/1.1", 400),
        (b"GET /a HTTP/1.1\r\n folded", 400),
        (b"GET /a HTTP/1.1\r\nNo colon", 400),
        (b"GET /a HTTP/1.1\r\nBad Name: x", 400),
    ):
        e = raises(HttpError, parse_request_head, bad)
        assert e.status == status, (bad, e.status)


def test_body_framing():
    assert body_framing(Headers([("Content-Length", "5")]), 10) == ("length", 5)
    assert body_framing(Headers([("Content-Length", "5"), ("content-length", "5")]), 10) == (
        "length",
        5,
    )
    assert body_framing(Headers([("Transfer-Encoding", "chunked")]), 10) == ("chunked", None)
    assert body_framing(Headers(), 10) == ("length", 0)
    for headers, status in (
        ([("Content-Length", "5"), ("Content-Length", "6")], 400),
        ([("Content-Length", "-1")], 400),
        ([("Content-Length", "1e3")], 400),
        ([("Content-Length", "")], 400),
        ([("Content-Length", "11")], 413),
        ([("Content-Length", "5"), ("Transfer-Encoding", "chunked")], 400),
        ([("Transfer-Encoding", "gzip")], 501),
    ):
        e = raises(HttpError, body_framing, Headers(headers), 10)
        assert e.status == status, (headers, e.status)


def test_check_path():
    assert check_path("/a%20b/c") == "/a b/c"
    for bad in ("/../etc/passwd", "/a/%2e%2e/b", "/a/..", "/%ff", "/a%zz", "/a%00b", "/a\\..\\b"):
        e = raises(HttpError, check_path, bad)
        assert e.status == 400


def test_parse_form():
    params, files = parse_form("application/x-www-form-urlencoded", b"x=y&a=1&a=2")
    assert params == {"x": "y", "a": "1"}
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="f"; filename="t.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nfile\r\ndata\r\n--XX--\r\n"
    )
    params, files = parse_form("multipart/form-data; boundary=XX", body)
    assert params == {"a": ["b"]}
    assert files["f"][0].filename == "t.txt"
    assert files["f"][0].data == b"file\r\ndata"
    assert parse_form("application/json", b"{}") == ({}, {})
    e = raises(HttpError, parse_form, "multipart/form-data; boundary=XX", b"--XX\r\nbroken")
    assert e.status == 400
    e = raises(HttpError, parse_form, "multipart/form-data", body)
    assert e.status == 400


def test_varz_page_is_exactly_dict_to_page():
    from kcore import html as H
    from kcore.webserver_base import varz_page

    cases = (
        {"a": 1, "b": "<x>", "c": None, "z&": 3.5, "q": 'it\'s "quoted"'},
        {},
        {"x\x00y": "a\x01<"},
    )
    for d in cases:
        for title in ("varz", "x<y", "a\x00b"):
            assert varz_page(d, title) == str(H.dict_to_page(d, title)), (d, title)


def test_flagz_redacts_secret_looking_flags():
    s = _server(
        flagz_args={"db_password": "hunter2", "api_token": "abc", "port": 8080, "passfile": ""}
    )
    body = s.test_handler("/flagz").body
    assert "hunter2" not in body and "abc" not in body
    assert body.count("(redacted)") == 2
    assert "8080" in body
