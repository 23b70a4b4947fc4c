"""kaithem.web over real HTTP: serving, controllers, the per-request API,
files, logins, sessions, CSRF and throttling."""

from __future__ import annotations

import gc
import io
import ssl
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import _webtest
import ktest

import kcore.kaithem as kk
from kcore.kaithem import Kaithem
from kcore.kaithem import web as kweb
from kcore.kaithem.web import _context, _pages

PW = "correct horse battery staple"


@pytest.fixture
def k(tmp_path):
    inst = Kaithem(vardir=str(tmp_path / "var"), config={"login-max-failures": 3})
    inst.users.add_group("staff", ["/users/widgets.write", "/staff.view"])
    inst.users.add_user("alice", PW, groups=["staff"])
    inst.web.serve()
    yield inst
    inst.close()


@pytest.fixture
def client(k):
    return _webtest.Client(k.web.url)


class Pages:
    """A controller using every per-request function."""

    def __init__(self, web):
        self.web = web

    @kweb.expose
    def index(self):
        return "index of pages"

    @kweb.expose
    def echo(self, *args, **kwargs):
        return "args=%r kwargs=%r" % (list(args), sorted(kwargs.items()))

    @kweb.expose
    def who(self):
        return "user=%r staff=%r" % (self.web.user(), self.web.has_permission("/staff.view"))

    @kweb.expose
    def go(self, to, external="no"):
        try:
            self.web.goto(to, allow_external=external == "yes")
        except kweb.UnsafeRedirect:
            return "refused"

    @kweb.expose
    def back(self):
        self.web.go_back()

    @kweb.expose
    def file(self, path):
        self.web.serve_file(path)

    @kweb.expose
    def download(self):
        data = io.BytesIO(b"a,b\n1,2\n")
        self.web.serveFile(data, "text/csv", "report \u00e9.csv")

    @kweb.expose(permission="/staff.view")
    def staff(self):
        return "staff only"

    @kweb.expose(csrf=False)
    def api(self, **kw):
        return "api %s" % sorted(kw)

    def hidden(self):
        return "not exposed"

    @kweb.expose
    def _private(self):
        return "private"


def test_serve_url_static_client_and_close(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    server = inst.web.serve()
    url = inst.web.url
    assert url == "http://127.0.0.1:%d" % server.port
    c = _webtest.Client(url)
    js = c.get("/static/widget.js")
    assert js.status == 200
    assert "javascript" in js.header("content-type")
    assert "kaithemapi" in js.text
    assert c.get("/static/widget.css").status == 200
    home = c.get("/")
    assert home.status == 200 and "Log in" in home.text
    assert home.header("x-content-type-options") == "nosniff"
    assert c.get("/widgets/ws").status == 426  # the widget socket lives there
    with pytest.raises(RuntimeError, match="already serving"):
        inst.web.serve()
    inst.close()
    assert ktest.wait_until(lambda: not ktest.port_open(server.port), timeout=10)
    with pytest.raises(RuntimeError):
        inst.web.url  # noqa: B018


def test_serve_argument_errors(tmp_path):
    with Kaithem(vardir=str(tmp_path)) as inst:
        with pytest.raises(TypeError, match="tls must be"):
            inst.web.serve(tls="cert.pem")
        with pytest.raises(ValueError, match="certificate and a key"):
            inst.web.serve(tls={"cert": "x.pem"})


def test_controllers_dispatch(k, client):
    pages = Pages(k.web)
    k.web.controllers[("hello", "test")] = pages
    assert client.get("/hello/test").text == "index of pages"
    assert client.get("/hello/test/").text == "index of pages"
    r = client.get("/hello/test/echo/a/b%20c?x=1&y=two")
    assert r.text == "args=['a', 'b c'] kwargs=[('x', '1'), ('y', 'two')]"
    assert r.header("content-type").startswith("text/html")
    assert client.get("/hello/test/hidden").status == 404
    assert client.get("/hello/test/_private").status == 404
    assert client.get("/hello/test/who/extra").status == 404  # signature mismatch: 404
    assert client.get("/hello").status == 404
    assert client.get("/nothing/here").status == 404
    assert client.post("/hello/test/api", {"a": "1"}).text == "api ['a']"  # csrf=False
    # form fields arrive as keyword arguments; without a token a POST is refused
    assert client.post("/hello/test/echo", {"x": "1"}).status == 403


def test_longest_mount_wins_and_subdomains(k, client):
    class Named:
        def __init__(self, name):
            self.name = name

        @kweb.expose
        def index(self, *args):
            return "%s %s" % (self.name, "/".join(args))

    short, long_, sub, subroot = Named("short"), Named("long"), Named("sub"), Named("subroot")
    k.web.controllers[("a",)] = short
    k.web.controllers[("a", "b")] = long_
    k.web.controllers.mount(("foo", "bar", "/", "a"), sub)
    k.web.controllers.mount(("kitchen", "/"), subroot)
    assert client.get("/a/x").text == "short x"
    assert client.get("/a/b/x/y").text == "long x/y"
    port = k.web.server.port
    host = {"Host": "bar.foo.localhost:%d" % port}
    assert client.get("/a/z", headers=host).text == "sub z"
    assert client.get("/a/z", headers={"Host": "baz.foo.localhost"}).text == "short z"
    assert client.get("/q", headers={"Host": "kitchen.example.com"}).text == "subroot q"
    assert client.get("/q", headers={"Host": "kitchen.localhost"}).text == "subroot q"
    assert client.get("/q", headers={"Host": "example.com"}).status == 404
    assert k.web._subdomains("10.0.0.1:80") == ()
    k.config["web-domains"] = ["home.example.org"]
    assert k.web._subdomains("bar.foo.home.example.org") == ("foo", "bar")


def test_mount_errors_and_exception_mounts(k, client):
    with pytest.raises(ValueError, match="root"):
        k.web.controllers[()] = Pages(k.web)
    with pytest.raises(ValueError, match="belongs to the server"):
        k.web.controllers[("static", "x")] = Pages(k.web)
    with pytest.raises(ValueError, match="non-empty"):
        k.web.controllers[("a", "")] = Pages(k.web)
    with pytest.raises(ValueError, match="one '/'"):
        k.web.controllers[("a", "/", "b", "/")] = Pages(k.web)
    with pytest.raises(TypeError, match="strong=True"):
        k.web.controllers[("x",)] = {"a": 1}  # dicts cannot be weakly referenced
    k.web.controllers[("gone",)] = kweb.HTTPError(410, "moved <away>")
    k.web.controllers[("old",)] = kweb.Redirect("/new")
    k.web.controllers[("boom",)] = ValueError("no")
    for _ in range(3):
        r = client.get("/gone/x")
        assert r.status == 410 and "moved &lt;away&gt;" in r.text
    r = client.get("/old")
    assert r.status == 303 and r.header("location") == "/new"
    assert client.get("/boom").status == 500


def test_weak_and_strong_controllers(k, client):
    pages = Pages(k.web)
    k.web.controllers[("weak",)] = pages
    k.web.controllers.mount(("strong",), Pages(k.web), strong=True)
    assert set(k.web.controllers) == {("weak",), ("strong",)}
    assert k.web.controllers[("weak",)] is pages
    del pages
    gc.collect()
    assert client.get("/weak").status == 404
    assert ("weak",) not in k.web.controllers
    assert client.get("/strong").text == "index of pages"
    del k.web.controllers[("strong",)]
    assert client.get("/strong").status == 404
    assert len(k.web.controllers) == 0


def test_redirects_stay_on_the_site(k, client):
    k.web.controllers[("p",)] = pages = Pages(k.web)  # noqa: F841
    host = "127.0.0.1:%d" % k.web.server.port
    for target in ("/x?y=1", "relative", "http://%s/ok" % host):
        r = client.get("/p/go?to=" + _quote(target))
        assert r.status == 303 and r.header("location") == target
    for target in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil",
        "javascript:alert(1)",
        "http://user@evil.example/",
        "http:evil.example",
        "///evil.example",
    ):
        assert client.get("/p/go?to=" + _quote(target)).text == "refused", target
    r = client.get("/p/go?external=yes&to=" + _quote("https://example.com/"))
    assert r.header("location") == "https://example.com/"
    # go_back: the Referer when it is this site, else a safe fallback
    assert client.get("/p/back").header("location") == "/"
    r = client.get("/p/back", headers={"Referer": "http://%s/from?x=1" % host})
    assert r.header("location") == "http://%s/from?x=1" % host
    assert (
        client.get("/p/back", headers={"Referer": "https://evil.example/"}).header("location")
        == "/"
    )


def _quote(s):
    import urllib.parse

    return urllib.parse.quote(s, safe="")


def test_serve_file(k, client, tmp_path):
    k.web.controllers[("p",)] = pages = Pages(k.web)  # noqa: F841
    f = tmp_path / "photo.txt"
    f.write_text("hello file")
    r = client.get("/p/file?path=" + _quote(str(f)))
    assert r.status == 200 and r.text == "hello file"
    assert r.header("content-type").startswith("text/plain")
    assert r.header("content-disposition").startswith('inline; filename="photo.txt"')
    assert r.header("content-length") == "10"
    assert client.get("/p/file?path=" + _quote(str(tmp_path / "missing"))).status == 404
    r = client.get("/p/download")
    assert r.text == "a,b\n1,2\n" and r.header("content-type") == "text/csv"
    disposition = r.header("content-disposition")
    assert disposition.startswith('attachment; filename="report _.csv"')
    assert "filename*=UTF-8''report%20%C3%A9.csv" in disposition


def test_per_request_functions_need_a_request(k):
    for call in (
        k.web.user,
        lambda: k.web.has_permission("x"),
        lambda: k.web.goto("/"),
        k.web.go_back,
        lambda: k.web.serve_file("/etc/hostname"),
    ):
        with pytest.raises(kweb.NoRequestError, match="inside a web request"):
            call()


def test_login_sessions_and_user(k, client):
    k.web.controllers[("p",)] = pages = Pages(k.web)  # noqa: F841
    assert client.get("/p/who").text == "user='' staff=False"
    r = client.get("/p/staff")
    assert r.status == 303 and r.header("location") == "/login?go=/p/staff"
    login_page = client.get("/login")
    csrf_cookie = login_page.header("set-cookie")
    assert "kaithem_csrf=" in csrf_cookie and "HttpOnly" in csrf_cookie
    assert "SameSite=Strict" in csrf_cookie and "Secure" not in csrf_cookie
    token = client.csrf()
    # no token, wrong token, foreign origin: refused before any password check
    assert client.post("/login", {"username": "alice", "password": PW}).status == 403
    bad = {"username": "alice", "password": PW, "__csrf": "x" * 40}
    assert client.post("/login", bad).status == 403
    good = {"username": "alice", "password": PW, "__csrf": token, "go": "/p/who"}
    assert client.post("/login", good, headers={"Origin": "https://evil.example"}).status == 403
    wrong = client.post("/login", {**good, "password": "nope"})
    assert wrong.status == 401 and "Wrong user name or password" in wrong.text
    assert PW not in wrong.text
    r = client.post("/login", good)
    assert r.status == 303 and r.header("location") == "/p/who"
    cookie = r.header("set-cookie")
    assert cookie.startswith("kaithem_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP (loopback); see the TLS test
    assert client.get("/p/who").text == "user='alice' staff=True"
    assert client.get("/p/staff").text == "staff only"
    assert "Log out" in client.get("/").text
    # state-changing requests need the session's token
    assert client.post("/p/api", {"a": "1"}).status == 200  # csrf=False
    assert client.post("/p/echo", {"x": "1"}).status == 403
    session_token = k.web.sessions.get(client.cookies["kaithem_session"]).csrf
    ok = client.post("/p/echo", {"x": "1", "__csrf": session_token})
    assert ok.status == 200 and "('x', '1')" in ok.text and "__csrf" not in ok.text
    assert client.post("/p/echo", headers={"X-CSRF-Token": session_token}).status == 200
    cross = client.post("/p/echo", headers={"X-CSRF-Token": session_token, "Origin": "http://x"})
    assert cross.status == 403
    # logout: POST with the token only
    assert client.get("/logout").status == 200
    assert client.post("/logout").status == 403
    out = client.post("/logout", {"__csrf": session_token})
    assert out.status == 303 and "Max-Age=0" in out.header("set-cookie")
    assert client.get("/p/who").text == "user='' staff=False"
    assert len(k.web.sessions) == 0


def test_session_ends_with_password_change_and_user_removal(k, client):
    k.web.controllers[("p",)] = pages = Pages(k.web)  # noqa: F841
    assert client.login("alice", PW).status == 303
    assert "alice" in client.get("/p/who").text
    k.users.set_password("alice", PW + "!")
    assert client.get("/p/who").text == "user='' staff=False"
    assert client.login("alice", PW + "!").status == 303
    k.users.remove_user("alice")
    assert client.get("/p/who").text == "user='' staff=False"


def test_permissions_follow_group_changes_live(k, client):
    k.web.controllers[("p",)] = pages = Pages(k.web)  # noqa: F841
    client.login("alice", PW)
    assert client.get("/p/staff").status == 200
    k.users.remove_group_permission("staff", "/staff.view")
    assert client.get("/p/staff").status == 403
    k.users.add_group_permission("staff", "/staff.view")
    assert client.get("/p/staff").status == 200


def test_failed_logins_are_throttled(k, client):
    token = client.csrf()
    form = {"username": "alice", "password": "wrong", "__csrf": token}
    for _ in range(3):
        assert client.post("/login", form).status == 401
    r = client.post("/login", {**form, "password": PW})  # even the right password waits
    assert r.status == 429 and int(r.header("retry-after")) > 0
    assert "Too many failed logins" in r.text
    with pytest.raises(k.users.LoginThrottled) as info:
        k.users.login("alice", PW, source="10.1.2.3")
    assert info.value.retry_after > 0
    assert k.users.check_password("alice", PW)  # authenticate() itself is not throttled


def test_login_throttle_per_address_and_reset_on_success(tmp_path):
    config = {"login-max-failures": 2, "login-max-failures-per-address": 3}
    with Kaithem(vardir=str(tmp_path), config=config) as inst:
        inst.users.add_user("bob", PW)
        inst.users.add_user("carol", PW)
        with pytest.raises(inst.users.WrongPassword):
            inst.users.login("bob", "x", source="a")
        assert inst.users.login("bob", PW, source="a") == "bob"  # success forgets bob
        with pytest.raises(inst.users.WrongPassword):
            inst.users.login("bob", "x", source="a")
        with pytest.raises(inst.users.UnknownUser):
            inst.users.login("nobody", "x", source="a")
        with pytest.raises(inst.users.LoginThrottled):  # address a: 3 failures
            inst.users.login("carol", PW, source="a")
        assert inst.users.login("carol", PW, source="b") == "carol"


def test_tls_session_cookie_is_secure(tmp_path):
    certs = ktest.make_certs(tmp_path)
    inst = Kaithem(vardir=str(tmp_path / "var"))
    try:
        inst.users.add_user("alice", PW)
        inst.web.serve(tls=(certs["server_cert"], certs["server_key"]))
        assert inst.web.url.startswith("https://127.0.0.1:")
        ctx = ssl.create_default_context(cafile=certs["ca"])
        c = _webtest.Client(inst.web.url, ssl_context=ctx)
        assert "Secure" in c.get("/login").header("set-cookie")
        r = c.login("alice", PW)
        assert r.status == 303
        cookie = r.header("set-cookie")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        # the widget socket over TLS knows the user
        with _webtest.Socket(inst.web.url, cookies=c.cookies, ssl_context=ctx) as s:
            s.sync()
            assert [conn.user for conn in inst.widget.connections] == ["alice"]
    finally:
        inst.close()


def test_nologin_hosts_and_loopback_rule(k, client):
    r = client.get("/login", headers={"Host": "x.__nologin__.localhost"})
    assert r.status == 403
    assert _pages.is_loopback(("127.0.0.1", 5)) and _pages.is_loopback(("::1", 5, 0, 0))
    assert not _pages.is_loopback(("192.168.1.2", 5)) and not _pages.is_loopback("junk")


def test_introspection_pages_need_a_permission(k, client):
    assert client.get("/logz").status == 403
    assert client.get("/healthz").status == 200
    k.users.add_group("admins", ["__all_permissions__"])
    k.users.add_user("root", PW, groups=["admins"])
    client.login("root", PW)
    assert client.get("/logz").status == 200


def test_nav_bar_plugins_and_page(k, client):
    def plugin():
        return (10, '<a href="/lights">Lights</a>')

    def later():
        return (60, "<b>later</b>")

    k.web.nav_bar_plugins["lights"] = plugin
    k.web.nav_bar_plugins["later"] = later
    k.web.nav_bar_plugins["none"] = none = lambda: None  # noqa: F841
    text = client.get("/").text
    assert text.index("Lights") < text.index("later") < text.index("Log in")
    del plugin
    gc.collect()
    assert "Lights" not in client.get("/").text  # weak values, as documented
    page = k.web.page("<p>body</p>", title="<T>")
    assert "<title>&lt;T&gt;</title>" in page and "/static/widget.js" in page


def test_module_functions_use_the_default_instance(tmp_path):
    inst = Kaithem(vardir=str(tmp_path))
    previous = kk.set_default(inst)
    try:
        inst.web.serve()

        class P:
            @kweb.expose
            def index(self):
                return "u=%r p=%r" % (kweb.user(), kweb.has_permission("__guest__"))

        p = P()
        inst.web.controllers[("m",)] = p
        assert _webtest.Client(inst.web.url).get("/m").text == "u='' p=True"
        assert kweb.serveFile is kweb.serve_file or kweb.serveFile.__name__ == "serve_file"
    finally:
        kk.set_default(previous)
        inst.close()


def test_same_site_rules():
    host = "h:1"
    assert _context.same_site("/a", host) == "/a"
    assert _context.same_site("http://h:1/a", host) == "http://h:1/a"
    for bad in (None, "", " /a", "/a\n", "//h:1/a", "ftp://h:1/", "http://h:2/", "x" * 5000):
        assert _context.same_site(bad, host) is None


def test_check_csrf_guards_handlers_mounted_outside_controllers(k, client):
    from kcore.webserver import Response

    def raw(request):
        try:
            k.web.check_csrf(request)
        except kweb.HTTPError as e:
            return Response(e.message, 403)
        return "written"

    k.web.server.add_handler("/raw", raw)
    assert client.post("/raw").status == 403  # no token at all
    assert client.login("alice", PW).status == 303
    token = k.web.sessions.get(client.cookies["kaithem_session"]).csrf
    assert client.post("/raw", headers={"X-CSRF-Token": "x" * 43}).status == 403
    cross = client.post("/raw", headers={"X-CSRF-Token": token, "Origin": "http://evil.example"})
    assert cross.status == 403 and "cross-site" in cross.text
    assert client.post("/raw", headers={"X-CSRF-Token": token}).text == "written"
