"""kcore.docker_lib's testing helpers that need no engine: files, processes, sockets, web."""

import http.server
import os
import pathlib
import socket
import subprocess
import sys
import threading

import pytest

from kcore import docker_lib as dl
from kcore.common import KcoreError


def test_gen_random_cookie():
    a, b = dl.gen_random_cookie(), dl.gen_random_cookie(40)
    assert len(a) == 15 and len(b) == 40 and a.isalnum() and a != dl.gen_random_cookie()


def test_not_required_host():
    assert dl.not_required_host(socket.gethostname()) is False
    assert dl.not_required_host("surely-not-" + socket.gethostname()) is True


def test_pick_test_port(monkeypatch):
    monkeypatch.delenv("TESTPORT", raising=False)
    port = dl.pick_test_port()
    assert 20000 <= port < 30000
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # it was free
    monkeypatch.setenv("TESTPORT", "12345")
    assert dl.pick_test_port() == 12345
    monkeypatch.setenv("TESTPORT", "http")
    with pytest.raises(ValueError, match="TESTPORT"):
        dl.pick_test_port()


def test_prod_mode_switch(monkeypatch):
    monkeypatch.delenv("KTOOLS_DRUN_TEST_PROD", raising=False)
    assert dl.check_env_for_prod_mode() is False
    monkeypatch.setenv("KTOOLS_DRUN_TEST_PROD", "1")
    assert dl.check_env_for_prod_mode() is True
    monkeypatch.setenv("MY_SWITCH", "no")
    assert dl.check_env_for_prod_mode("MY_SWITCH") is False


def test_file_expect(tmp_path):
    f = tmp_path / "log.txt"
    f.write_text("service started\nlistening on 80\n")
    assert dl.file_expect("listening", str(f))
    assert dl.file_expect(["started", "80"], str(f))
    assert dl.file_expect("error", str(f), invert=True)
    with pytest.raises(dl.ExpectationFailed, match="lacks 'error'") as e:
        dl.file_expect("error", str(f))
    assert isinstance(e.value, AssertionError) and isinstance(e.value, KcoreError)
    with pytest.raises(AssertionError, match="contains 'started'"):
        dl.file_expect("started", str(f), invert=True)
    with pytest.raises(AssertionError, match="does not exist"):
        dl.file_expect("x", str(tmp_path / "nope"))
    assert dl.file_expect("x", str(tmp_path / "nope"), missing_ok=True)


def test_file_expect_within_waits_and_honours_its_flags(tmp_path):
    f = tmp_path / "late.txt"
    timer = threading.Timer(0.1, f.write_text, args=("ready\n",))
    timer.start()
    try:
        assert dl.file_expect_within(10, "ready", str(f))
    finally:
        timer.join()
    assert dl.file_expect_within(0.2, "missing", str(tmp_path / "gone"), missing_ok=True)
    assert dl.file_expect_within(0.2, "absent", str(f), invert=True)
    with pytest.raises(dl.ExpectationFailed):
        dl.file_expect_within(0.2, "never", str(f))


def test_popen_expect():
    code = "import sys; print(sys.stdin.read().upper()); sys.stderr.write('warn'); sys.exit(3)"
    out, err = dl.popen_expect(
        [sys.executable, "-c", code],
        "HELLO",
        expect_err="warn",
        expect_returncode=3,
        send_in="hello",
    )
    assert out.strip() == "HELLO" and err == "warn"
    with pytest.raises(dl.ExpectationFailed, match="exited with 3, expected 0"):
        dl.popen_expect([sys.executable, "-c", code], None, expect_returncode=0)
    with pytest.raises(TypeError, match="argument list"):
        dl.popen_expect("echo hi; rm -rf /", "hi")


def test_init_system_under_test(tmp_path):
    marker = tmp_path / "up"
    code = "import pathlib, sys, time; pathlib.Path(sys.argv[1]).write_text('up'); time.sleep(30)"
    proc = dl.init_system_under_test(
        [sys.executable, "-c", code, str(marker)], startup_wait_time=0.3
    )
    try:
        assert proc.poll() is None
        dl.file_expect_within(10, "up", str(marker))
    finally:
        proc.kill()
        proc.wait()
    with pytest.raises(dl.ExpectationFailed, match="exited with status 2"):
        dl.init_system_under_test([sys.executable, "-c", "raise SystemExit(2)"], 5)


def test_socket_exchange():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def echo():
        conn, _ = server.accept()
        with conn:
            while True:
                data = conn.recv(1024)
                if not data:
                    return
                conn.sendall(b"echo:" + data)

    t = threading.Thread(target=echo)
    t.start()
    with socket.create_connection(server.getsockname(), timeout=5) as sock:
        replies = dl.socket_exchange(sock, ["a", b"b"], add_eol=True)
    t.join(5)
    server.close()
    assert replies == ["echo:a\n", "echo:b\n"]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 404 if self.path == "/missing" else 200
        body = (
            "host=%s path=%s x=%s" % (self.headers["Host"], self.path, self.headers.get("X-Test"))
        ).encode()
        if self.path == "/big":
            body = b"A" * 100000 + b"TAIL"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        body = b"posted " + self.rfile.read(n)
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever)
    t.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    t.join(5)


def test_web_expect(web_server):
    port = web_server
    body = dl.web_expect(
        "path=/status",
        "127.0.0.1",
        "/status",
        port=port,
        expect_status=200,
        headers={"X-Test": "yes"},
    )
    assert "x=yes" in body
    assert "posted a=1&b=two+words" == dl.web_expect(
        "posted",
        "127.0.0.1",
        "/form",
        port=port,
        expect_status=201,
        post_params={"a": 1, "b": "two words"},
    )
    with pytest.raises(dl.ExpectationFailed, match="answered 404, expected 200"):
        dl.web_expect(None, "127.0.0.1", "/missing", port=port, expect_status=200)
    # proxy_host: connect to 127.0.0.1, ask for another host name
    body = dl.web_expect(
        "host=service.example:%d" % port, "service.example", "/", port=port, proxy_host="127.0.0.1"
    )
    with pytest.raises(dl.ExpectationFailed, match="lacks 'TAIL'"):
        dl.web_expect("TAIL", "127.0.0.1", "/big", port=port, size_limit=1000)
    assert dl.web_expect("TAIL", "127.0.0.1", "/big", port=port).endswith("TAIL")


def test_web_expect_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(dl.ExpectationFailed, match="cannot fetch"):
        dl.web_expect("x", "127.0.0.1", "/", port=port, timeout=2)


def test_read_settings(tmp_path):
    f = tmp_path / "settings.yaml"
    f.write_text(
        "# comment\nimage: 'ktools/web:latest'\ncommand: /bin/sh -c 'echo hi'\nports=80:8080\n"
    )
    conf = dl.read_settings(str(f))
    assert conf == {
        "image": "ktools/web:latest",
        "command": "/bin/sh -c 'echo hi'",
        "ports": "80:8080",
    }
    assert dl.read_settings(str(tmp_path / "none.yaml")) == {}


def test_no_shell_anywhere():
    files = sorted(pathlib.Path(dl.__file__).parent.glob("*.py"))
    assert len(files) > 1
    for f in files:
        src = f.read_text()
        assert "shell=True" not in src and "os.system" not in src and "os.popen" not in src, f


def test_import_without_docker_sdk_and_clear_error():
    code = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'docker':
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
from kcore import docker_lib as dl
assert 'docker' not in sys.modules
assert dl.gen_random_cookie()
try:
    dl.get_client()
except dl.DockerUnavailable as e:
    assert isinstance(e, ImportError)
    print(e)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'kcore-docker'" in proc.stdout


def test_unreachable_engine_is_an_engine_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", "unix://%s" % (tmp_path / "no.sock"))
    dl.set_client(None)
    try:
        with pytest.raises(dl.EngineError) as e:
            dl.get_cid("anything")
        assert isinstance(e.value, ConnectionError)
    finally:
        dl.set_client(None)


def test_emit_and_socket_transcript(monkeypatch):
    import io

    buf = io.StringIO()
    monkeypatch.setattr(dl, "OUT", buf)
    dl.emit("step one")
    a, b = socket.socketpair()
    with a, b:
        b.sendall(b"hello back")
        assert dl.socket_exchange(a, ["hi"], emit_transcript=True) == ["hello back"]
        assert b.recv(10) == b"hi"
    assert buf.getvalue().splitlines() == ["step one", "sent: b'hi'", "got:  'hello back'"]
