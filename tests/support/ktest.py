"""Helpers every test folder shares: polling with a deadline, free ports,
throwaway TLS certificates, and real servers run as subprocesses.

Tests never wait with fixed sleeps: they poll a condition until a deadline.
`tests/conftest.py` puts this folder on sys.path, so `import ktest` works in
every distribution's tests (each runs in a venv holding only that distribution).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time


def wait_for(predicate, timeout=5.0, interval=0.005, what="condition"):
    """Poll predicate() until it returns something truthy and return that value;
    raise AssertionError naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def wait_until(predicate, timeout=10.0, interval=0.01) -> bool:
    """Poll predicate() until true; return whether it became true before the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def free_port(host="127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the caller binds it soon after)."""
    s = socket.socket()
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_open(port, host="127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def ws_handshake(port, path="/ws", origin=None, version="13", key="dGhlIHNhbXBsZSBub25jZQ=="):
    """Send a raw RFC 6455 upgrade request to 127.0.0.1:port and read the
    response head: returns (socket, head as text, bytes that followed it)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    extra = "Origin: %s\r\n" % origin if origin else ""
    s.sendall(
        (
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: %s\r\n%s\r\n" % (path, port, key, version, extra)
        ).encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return s, head.decode(), rest


def make_certs(directory) -> dict:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate,
    made by the openssl binary in `directory`. Returns the paths by role."""
    openssl = shutil.which("openssl")
    if not openssl:
        import pytest

        pytest.skip("openssl binary (Debian package openssl) is not installed")
    d = str(directory)

    def run(*args):
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True)

    run(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=kcore test CA",
        # Extensions as strict X.509 checking (Python 3.13's default) wants them.
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    leaf = (
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write(leaf + "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write(leaf + "extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        run(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
            "-out", name + ".csr", "-subj", "/CN=kcore-" + name,
        )  # fmt: skip
        run(
            "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext",
        )  # fmt: skip
    # An encrypted copy of the server key, to test key passwords.
    run(
        "pkey", "-in", "server.key", "-out", "server-enc.key", "-aes256", "-passout", "pass:s3cret"
    )
    names = {
        "ca": "ca.pem",
        "server_cert": "server.pem",
        "server_key": "server.key",
        "server_key_enc": "server-enc.key",
        "client_cert": "client.pem",
        "client_key": "client.key",
    }
    paths = {k: os.path.join(d, v) for k, v in names.items()}
    paths["dir"] = d
    return paths


class ServerProcess:
    """A real server (mosquitto, prometheus, mpv, a hub...) run as a subprocess in
    its own process group, stopped with everything it started.

        with ServerProcess(["mosquitto", "-p", str(port)], ready=lambda: port_open(port)):
            ...
    """

    def __init__(self, argv, ready=None, timeout=20.0, env=None, cwd=None, log_path=None):
        self.argv = list(argv)
        self.ready = ready
        self.timeout = timeout
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> ServerProcess:
        if self.log_path:
            self._log = open(self.log_path, "ab")  # closed in stop()
            out = self._log
        else:
            out = subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        if self.ready is not None:
            proc = self.proc

            def up():
                if proc.poll() is not None:
                    raise AssertionError(
                        "%s exited with status %s before it was ready%s"
                        % (self.argv[0], proc.returncode, self._tail())
                    )
                return self.ready()

            try:
                wait_for(up, timeout=self.timeout, what="%s to be ready" % self.argv[0])
            except BaseException:
                self.stop()
                raise
        return self

    def _tail(self) -> str:
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                return ":\n" + f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10.0) -> int | None:
        """Signal the whole process group; SIGKILL it if it outlives the timeout."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        return proc.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
