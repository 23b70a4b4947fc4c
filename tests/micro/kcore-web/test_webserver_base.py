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
    check_host,
    check_path,
    error_bytes,
    mask_credentials,
    parse_form,
    parse_get_params,
    parse_request_head,
    response_head,
    wire_content_type,
)


def _server(**kw):
    kw.setdefault("varz", varz.Store())
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


def test_handler_exception_gives_the_original_response_and_is_logged():
    logged = []
    s = _server(logging_adapter=LoggingAdapter(log_exceptions=logged.append))
    r = s.test_handler("/boom")
    assert r.status_code == -1
    assert r.body == ""
    assert isinstance(r.exception, ValueError)
    assert "handler exception. path=/boom" in logged[0]
    assert "secret" in logged[0]
    assert s.varz_store.get("web-handler-exception") == 1
    assert s.varz_store.get("web-status--1") == 1


def test_varz_page_escapes_and_single_value_is_text():
    s = _server()
    s.varz_store.set("evil<b>", "<script>alert(1)</script>")
    r = s.test_handler("/varz")
    assert r.status_code == 200
    assert "<script>" not in r.body
    assert "&lt;script&gt;" in r.body
    assert "evil&lt;b&gt;" in r.body
    assert r.msg_type == "text/html"
    one = s.test_handler("/varz?evil%3Cb%3E")
    assert one.body == "<script>alert(1)</script>"
    assert one.msg_type == "text"
    assert wire_content_type(one.msg_type) == "text/plain; charset=utf-8"
    assert s.test_handler("/varz?absent-key").body == "None"


def test_servers_keep_separate_counters():
    a, b = _server(), _server()
    a.test_handler("/hello")
    a.test_handler("/hello")
    b.test_handler("/hello")
    assert a.varz_store.get("web-path-hello") == 2
    assert b.varz_store.get("web-path-hello") == 1
    assert "web-path-hello" in a.test_handler("/varz").body
    quiet = _server(varz=False)
    assert quiet.varz_store is None
    assert quiet.test_handler("/hello").body == "hello"
    assert _server(varz=True).varz_store is varz.DEFAULT_STORE


def test_counters_and_path_cap():
    s = _server(max_path_counters=3)
    for p in ("/hello", "/a1", "/a2", "/a3", "/a4"):
        s.test_handler(p)
    v = s.varz_store
    assert v.get("web-path-hello") == 1
    assert v.get("web-path-a3") is None
    assert v.get("web-path-(other)") == 2
    assert v.get("web-status-404") == 4
    assert v.get("web-method-test") == 5
    assert isinstance(v.get("web-server-start"), int)
    s.find_and_run_handler(Request("BREW", "/hello"))
    assert v.get("web-method-other") == 1


def test_flagz_logz_and_favicon():
    s = _server(flagz_args={"name": "<i>x</i>"})
    r = s.test_handler("/flagz")
    assert "&lt;i&gt;x&lt;/i&gt;" in r.body
    assert _server().test_handler("/flagz").status_code == 503
    assert _server().test_handler("/logz").status_code == 503
    s2 = _server(logging_adapter=LoggingAdapter(get_logz_html=lambda: "<p>line&lt;"))
    assert "<p>line&lt;" in s2.test_handler("/logz").body
    favicon = s.test_handler("/favicon.ico")
    assert (favicon.status_code, favicon.body, favicon.msg_type) == (200, "", "?")
    healthz = s.test_handler("/healthz")
    assert (healthz.body, healthz.msg_type) == ("ok", "text")


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


def test_response_keeps_the_original_values():
    assert Response("<p>x</p>").msg_type == "text/html"
    assert Response("x").msg_type == "text"
    assert Response("").msg_type == "?"
    assert Response(None).body == ""
    assert Response(b"\x00").msg_type == "application/octet-stream"
    assert Response("x").ok and Response("x").status_msg == "OK"
    assert not Response("x", 201).ok
    assert Response("x", 404).status_msg == "NOTOK"
    assert Response("x", 299, status_msg="Fine").status_msg == "Fine"
    assert Response("x", 299, status_msg="Fine").reason == "Fine"
    assert Response("x", 404).reason is None
    failed = Response(None, -1, exception=ValueError("bad"))
    assert (failed.status_code, failed.body, failed.ok) == (-1, "", False)
    assert str(failed) == "[-1] bad"
    assert str(Response("a\nb", 200)) == "[200] a\\nb"
    raises(ValueError, Response, "x", -2)
    raises(ValueError, Response, "x", 600)
    raises(ValueError, Response, "x", 200, {"X": "a\r\nSet-Cookie: y"})
    assert Response("ü").body_bytes() == b"\xc3\xbc"


def test_msg_types_become_valid_on_the_wire():
    assert wire_content_type("text") == "text/plain; charset=utf-8"
    assert wire_content_type("?") == "text/plain; charset=utf-8"
    assert wire_content_type("text/html") == "text/html; charset=utf-8"
    assert wire_content_type("application/json") == "application/json"
    assert wire_content_type("junk") == "application/octet-stream"


def test_response_head_is_the_one_writer():
    head = response_head(200, "text", 5, {"X-A": "1"}, keep_alive=True)
    assert head == (
        b"HTTP/1.1 200 OK\r\nServer: k_webserver\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n"
    )
    head = response_head(404, "?", 0, None, keep_alive=False, reason="Gone", server="s")
    assert head.startswith(b"HTTP/1.1 404 Gone\r\nServer: s\r\n")
    assert head.count(b"Server:") == 1
    assert b"Connection: close\r\n" in head
    head = response_head(200, None, None, None, keep_alive=True, version="HTTP/1.0", chunked=True)
    assert b"Connection: keep-alive" in head and b"Transfer-Encoding: chunked" in head
    assert b"Content-Type" not in head
    err = error_bytes(413, "too big")
    assert err.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert err.endswith(b"\r\n\r\ntoo big\n")


def test_duck_typed_responses_and_circuitpython_flag():
    class Page:
        body = b"# metrics"
        status_code = 200
        msg_type = "text/plain; version=0.0.4"
        extra_headers = {"X-Page": "1"}

    s = _server()
    s.add_handler("/page", lambda r: Page())
    r = s.test_handler("/page")
    assert isinstance(r, Response)
    assert (r.body, r.msg_type, r.extra_headers) == (b"# metrics", Page.msg_type, {"X-Page": "1"})
    import kcore.webserver_base as wb

    assert wb.CIRCUITPYTHON is False or wb.CIRCUITPYTHON is True


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


def test_access_log_is_rate_limited_and_the_rest_counted():
    lines, general = [], []
    s = _server(
        logging_adapter=LoggingAdapter(log_request=lines.append, log_general=general.append),
        access_log_rate=5,
    )
    now = [7000]
    s._clock_ms = lambda: now[0]
    for _ in range(12):
        s.test_handler("/hello")
    assert len(lines) == 5
    assert s._log_skipped == 7
    now[0] = 8000  # the next second: the count is reported once, logging goes on
    s.test_handler("/hello")
    assert len(general) == 1 and "7 more request lines" in general[0]
    assert len(lines) == 6
    unlimited = _server(
        logging_adapter=LoggingAdapter(log_request=lines.append), access_log_rate=None
    )
    for _ in range(20):
        unlimited.test_handler("/hello")
    assert len(lines) == 26


def test_varz_page_stays_exact_while_values_change():
    from kcore import html as H
    from kcore.webserver_base import varz_page

    d = {"a": 1, "b": "x", "c": 2.5}
    for step in range(6):
        d["a"] = step  # a counter
        if step == 2:
            d["b"] = "<changed>"
        if step == 3:
            d["new"] = None  # a new key: the page is laid out again
        if step == 4:
            del d["c"]
        if step == 5:
            d["obj"] = [1, "<2>"]  # not a plain value: always rendered afresh
        assert varz_page(d, "t2") == str(H.dict_to_page(d, "t2")), step
    d["obj"].append(3)  # same list, changed in place
    assert varz_page(d, "t2") == str(H.dict_to_page(d, "t2"))


# ---------------------------------------------------------------- issue 10: parsing


def _framing_status(line):
    # The status a request with this framing header line gets (None: accepted).
    try:
        _m, _t, _v, h = parse_request_head(b"POST /a HTTP/1.1\r\nHost: x\r\n" + line)
        body_framing(h, 100)
    except HttpError as e:
        return e.status
    return None


def test_framing_headers_are_trimmed_of_spaces_and_tabs_only():
    # RFC 9110 OWS is SP and HTAB: VT, FF, \x1c-\x1f, NEL and NBSP are not
    # whitespace (str.strip() removes them; a front end may not: smuggling).
    for pad in (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f", b"\x85", b"\xa0"):
        for line in (
            b"Content-Length: " + pad + b"5",
            b"Content-Length: 5" + pad,
            b"Transfer-Encoding: chunked" + pad,
            b"Transfer-Encoding: " + pad + b"chunked",
        ):
            assert _framing_status(line) in (400, 501), line
    assert _framing_status(b"Content-Length: \t 5 \t") is None
    assert _framing_status(b"Transfer-Encoding:  chunked\t") is None


def test_control_characters_and_non_ascii_names_are_400():
    for bad in (
        b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x01b",
        b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x0bb",
        b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x0cb",
        b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x1bb",
        b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb",
        b"GET /a HTTP/1.1\r\nHost: x\r\n\xff\xfe: 1",
        b"GET /a HTTP/1.1\r\nHost: x\r\n\xc3\xa4: 1",
        b"GET /a HTTP/1.1\r\nHost: x\r\nX\x85: 1",
    ):
        e = raises(HttpError, parse_request_head, bad)
        assert e.status == 400, bad
    h = parse_request_head(b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\tb\r\nX-B: caf\xe9")[3]
    assert h["x-a"] == "a\tb"
    assert len(h["x-b"]) == 4  # obs-text is allowed in values


def test_host_header_required_once_and_valid():
    check_host("HTTP/1.1", Headers([("Host", "example.com:8080")]))
    check_host("HTTP/1.1", Headers([("Host", "[::1]:80")]))
    check_host("HTTP/1.1", Headers([("Host", "")]))  # allowed by RFC 9112 3.2
    check_host("HTTP/1.0", Headers())
    for version, headers in (
        ("HTTP/1.1", []),
        ("HTTP/1.1", [("Host", "a"), ("Host", "b")]),
        ("HTTP/1.1", [("Host", "a"), ("host", "a")]),
        ("HTTP/1.0", [("Host", "a"), ("Host", "b")]),
        ("HTTP/1.1", [("Host", "a b")]),
        ("HTTP/1.1", [("Host", "a/b")]),
        ("HTTP/1.1", [("Host", "user@a")]),
    ):
        e = raises(HttpError, check_host, version, Headers(headers))
        assert e.status == 400, headers


def test_response_header_values_refuse_every_control_character():
    for value in (
        "a\rb",
        "a\nb",
        "a\x00b",
        "a\tb",
        "a\x0bb",
        "a\x0cb",
        "a\x1fb",
        "a\x7fb",
        "a\x85b",
    ):
        raises(ValueError, Response, "x", 200, {"X-A": value})
        raises(ValueError, Response, "x", 200, [("X-A", "ok"), ("X-B", value)])
        raises(ValueError, Response, "x", 200, {"Set-Cookie": ["a=1", value]})
        # response_head is the last line of defence (headers changed after the fact)
        raises(ValueError, response_head, 200, "text", 1, {"X-A": value})
    raises(ValueError, response_head, 200, "text", 1, {"Bad Name": "x"})
    r = Response("x", extra_headers={"X-A": "caf\xe9 \u2603 a=b; c"})
    assert r.extra_headers["X-A"] == "caf\xe9 \u2603 a=b; c"


def test_several_headers_of_one_name():
    r = Response("x", extra_headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-A", "1")])
    assert r.extra_headers == {"Set-Cookie": ["a=1", "b=2"], "X-A": "1"}
    r2 = Response("x", extra_headers={"Set-Cookie": ["a=1", "b=2"], "X-A": "1"})
    assert r2.extra_headers == r.extra_headers
    head = response_head(200, "text", 1, r.extra_headers)
    assert b"\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-A: 1\r\n\r\n" in head
    assert response_head(200, "text", 1, [("A", "1"), ("A", "2")]).count(b"\r\nA: ") == 2
    raises(ValueError, Response, "x", 200, [("Content-Length", "1"), ("Content-Length", "2")])
    raises(ValueError, Response, "x", 200, {"Location": ["/a", "/b"]})


# ---------------------------------------------------------------- issue 10: /flagz


def test_flagz_masks_credentials_in_any_value():
    s = _server(
        flagz_args={
            "broker": "mqtt://alice:hunter2@broker.lan:1883",
            "upstream": "Bearer eyJhbGciOi.secretpart",
            "dsn": "host=db user=app password=s3cr3t dbname=x",
            "query": "https://api.example/v1?key=AKIA123&page=2",
            "extra": {"api_key": "K-42", "port": 80},
            "header": "Authorization: Basic YWxpY2U6cHc=",
            "plain": "https://example.com/path?page=2",
            "port": 8080,
        }
    )
    body = s.test_handler("/flagz").body
    for secret in ("hunter2", "secretpart", "s3cr3t", "AKIA123", "K-42", "YWxpY2U6cHc="):
        assert secret not in body, secret
    for kept in ("alice", "broker.lan", "dbname=x", "page=2", "8080", "https://example.com/path"):
        assert kept in body, kept


def test_mask_credentials():
    assert mask_credentials("mqtt://u:pw@h/x") == "mqtt://u:(redacted)@h/x"
    assert mask_credentials("Bearer abc") == "Bearer (redacted)"
    assert mask_credentials("a=1&password=x&b=2") == "a=1&password=(redacted)&b=2"
    assert mask_credentials("{'token': 'abc def'}") == "{'token': '(redacted)'}"
    assert mask_credentials("http://h/a?b=c") == "http://h/a?b=c"
    assert mask_credentials("12:30 x=y") == "12:30 x=y"
    assert mask_credentials("") == ""
