"""Shared fixtures: real kcore web servers on 127.0.0.1 ephemeral ports, raw socket clients.

Every server counts into a varz store of its own (``server.varz_store``), so
tests never touch, save or restore the global one.
"""

import socket

import ktest
import pytest

from kcore import varz
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
        kwargs.setdefault("varz", varz.Store())
        s = WebServer(handlers or {}, **kwargs)
        s.start(port=0, **(start or {}))
        servers.append(s)
        return s

    yield make
    for s in servers:
        assert s.shutdown(timeout=15), "server did not stop"


@pytest.fixture
def poll():
    return ktest.wait_for


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A CA, a server cert for 127.0.0.1/localhost and a client cert, made by openssl."""
    return ktest.make_certs(tmp_path_factory.mktemp("certs"))
