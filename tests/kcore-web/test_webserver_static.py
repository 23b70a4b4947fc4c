"""Static files: served, streamed, and no way out of the directory."""

import os

import pytest
import requests


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "sub" / "a b.txt").write_text("spaced ü")
    (root / "app.js").write_text("console.log(1)")
    (root / ".secret").write_text("hidden")
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    (tmp_path / "outside.txt").write_text("OUTSIDE")
    os.symlink(tmp_path / "outside.txt", root / "link-out.txt")
    os.symlink(tmp_path, root / "dir-out")
    return root


@pytest.fixture
def srv(serve, site):
    s = serve({"/api": lambda r: "api"})
    s.add_static("/static", str(site))
    return s


def get(s, path):
    return requests.get("http://127.0.0.1:%d%s" % (s.port, path), timeout=10)


def test_files_types_and_index(srv, site):
    r = get(srv, "/static/sub/a%20b.txt")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.content.decode() == "spaced ü"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert get(srv, "/static/").text == "<h1>home</h1>"
    assert "javascript" in get(srv, "/static/app.js").headers["Content-Type"]
    assert get(srv, "/api").text == "api"


def test_large_file_streams_with_length(srv, site):
    r = get(srv, "/static/big.bin")
    assert r.headers["Content-Length"] == str(3 * 1024 * 1024 + 7)
    assert r.content == (site / "big.bin").read_bytes()
    h = requests.head("http://127.0.0.1:%d/static/big.bin" % srv.port)
    assert h.headers["Content-Length"] == str(3 * 1024 * 1024 + 7)
    assert h.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/static/.secret",
        "/static/link-out.txt",
        "/static/dir-out/outside.txt",
        "/static/sub/",
        "/static/missing.txt",
        "/static/sub%2f..%2f..%2foutside.txt",
        "/static/%2e%2e%2foutside.txt",
    ],
)
def test_nothing_outside_or_hidden_is_served(srv, path):
    r = get(srv, path)
    assert r.status_code in (400, 404)
    assert "OUTSIDE" not in r.text and "hidden" not in r.text


@pytest.mark.parametrize(
    "path",
    [
        b"/static/../outside.txt",
        b"/static/sub/../../outside.txt",
        b"/static/%2E%2E/outside.txt",
        b"/static/..%5coutside.txt",
    ],
)
def test_dot_dot_in_raw_path_is_400(srv, raw, path):
    c = raw(srv.port)
    c.send(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _h, body = c.response()
    assert status == 400
    assert b"OUTSIDE" not in body


def test_post_to_static_is_405(srv):
    r = requests.post("http://127.0.0.1:%d/static/app.js" % srv.port, data=b"x")
    assert r.status_code == 405
