"""Shared fixtures: real kcore web servers on 127.0.0.1 ephemeral ports, raw socket clients."""

import shutil
import socket
import subprocess
import time

import pytest

from kcore.webserver import LoggingAdapter, WebServer


class Raw:
    """A raw TCP client for sending exactly the bytes a test wants."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def response(self):
        """Read one response: (status, headers dict lower-case, body bytes)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        if status in (100, 101):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line, 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2 :]
                if size == 0:
                    return status, headers, body
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed_by_server(self, timeout=5.0):
        """True once the server has closed (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


@pytest.fixture
def raw():
    clients = []

    def make(port, timeout=5.0):
        c = Raw(port, timeout)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


QUIET = LoggingAdapter()


@pytest.fixture
def serve():
    """serve(handlers, **WebServer kwargs, start=dict(...)) -> started WebServer."""
    servers = []

    def make(handlers=None, start=None, **kwargs):
        kwargs.setdefault("logging_adapter", QUIET)
        s = WebServer(handlers or {}, **kwargs)
        s.start(port=0, **(start or {}))
        servers.append(s)
        return s

    yield make
    for s in servers:
        assert s.shutdown(timeout=15), "server did not stop"


def wait_for(predicate, timeout=5.0, interval=0.01):
    """Poll until predicate() is truthy; return its value or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.1f s" % timeout)
        time.sleep(interval)


@pytest.fixture
def poll():
    return wait_for


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A CA, a server cert for 127.0.0.1/localhost and a client cert, made by openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl binary (Debian package openssl) is not installed")
    d = tmp_path_factory.mktemp("certs")

    def run(*args):
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=kcore test CA",
        # Extensions as strict X.509 checking (Python 3.13's default) wants them.
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    leaf = (
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    (d / "server.ext").write_text(
        leaf + "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    (d / "client.ext").write_text(leaf + "extendedKeyUsage=clientAuth\n")
    for name, ext in (("server", "server.ext"), ("client", "client.ext")):
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            name + ".key",
            "-out",
            name + ".csr",
            "-subj",
            "/CN=kcore-" + name,
        )
        run(
            "x509",
            "-req",
            "-in",
            name + ".csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            name + ".pem",
            "-days",
            "2",
            "-extfile",
            ext,
        )
    # An encrypted copy of the server key, to test tls_key_password.
    run(
        "pkey", "-in", "server.key", "-out", "server-enc.key", "-aes256", "-passout", "pass:s3cret"
    )
    return {
        k: str(d / v)
        for k, v in {
            "ca": "ca.pem",
            "server_cert": "server.pem",
            "server_key": "server.key",
            "server_key_enc": "server-enc.key",
            "client_cert": "client.pem",
            "client_key": "client.key",
            "dir": ".",
        }.items()
    } | {"dir": str(d)}
