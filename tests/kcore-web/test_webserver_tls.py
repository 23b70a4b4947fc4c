"""TLS with real certificates made by openssl: requests, openssl s_client, client certificates."""

import shutil
import socket
import ssl
import subprocess
import time

import pytest
import requests


def _peer(request):
    cert = request.tls_peer_cert
    if not cert:
        return "anonymous"
    return dict(x[0] for x in cert["subject"])["commonName"]


@pytest.fixture
def tls_srv(serve, certs):
    return serve(
        {"/hello": lambda r: "hello tls", "/peer": _peer},
        start={"tls_cert_file": certs["server_cert"], "tls_key_file": certs["server_key"]},
        request_timeout=1.0,
    )


def test_requests_over_tls_verifies(tls_srv, certs):
    base = "https://127.0.0.1:%d" % tls_srv.port
    r = requests.get(base + "/hello", verify=certs["ca"])
    assert r.text == "hello tls"
    with requests.Session() as s:
        texts = [s.get(base + "/hello", verify=certs["ca"]).text for _ in range(5)]
    assert texts == ["hello tls"] * 5
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(base + "/hello")  # not signed by a public CA
    assert requests.get(base + "/peer", verify=certs["ca"]).text == "anonymous"


def test_openssl_s_client(tls_srv, certs):
    openssl = shutil.which("openssl")
    r = subprocess.run(
        [
            openssl,
            "s_client",
            "-connect",
            "127.0.0.1:%d" % tls_srv.port,
            "-CAfile",
            certs["ca"],
            "-verify_return_error",
            "-quiet",
        ],
        input=b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        capture_output=True,
        timeout=30,
    )
    assert b"HTTP/1.1 200 OK" in r.stdout
    assert r.stdout.endswith(b"hello tls")


def test_plain_http_to_tls_port_and_stalled_handshake_do_not_block(tls_srv, certs):
    stalled = socket.create_connection(("127.0.0.1", tls_srv.port))  # never says hello
    plain = socket.create_connection(("127.0.0.1", tls_srv.port))
    plain.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    t = time.monotonic()
    r = requests.get("https://127.0.0.1:%d/hello" % tls_srv.port, verify=certs["ca"])
    assert r.text == "hello tls"
    assert time.monotonic() - t < 1.0
    plain.settimeout(5)
    try:
        data = plain.recv(100)
    except ConnectionResetError:
        data = b""
    assert b"HTTP/1.1 200" not in data
    stalled.settimeout(5)
    try:
        assert stalled.recv(100) == b""  # closed after the handshake timeout
    except ConnectionResetError:
        pass
    stalled.close()
    plain.close()


def test_client_certificates_required(serve, certs):
    s = serve(
        {"/peer": _peer},
        start={
            "tls_cert_file": certs["server_cert"],
            "tls_key_file": certs["server_key_enc"],
            "tls_key_password": "s3cret",
            "tls_client_ca_file": certs["ca"],
        },
    )
    base = "https://127.0.0.1:%d" % s.port
    r = requests.get(
        base + "/peer", verify=certs["ca"], cert=(certs["client_cert"], certs["client_key"])
    )
    assert r.text == "kcore-client"
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(base + "/peer", verify=certs["ca"])
    # openssl s_client with the client certificate too
    r = subprocess.run(
        [
            shutil.which("openssl"),
            "s_client",
            "-connect",
            "127.0.0.1:%d" % s.port,
            "-CAfile",
            certs["ca"],
            "-cert",
            certs["client_cert"],
            "-key",
            certs["client_key"],
            "-quiet",
        ],
        input=b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        capture_output=True,
        timeout=30,
    )
    assert r.stdout.endswith(b"kcore-client")


def test_optional_client_certificate(serve, certs):
    s = serve(
        {"/peer": _peer},
        start={
            "tls_cert_file": certs["server_cert"],
            "tls_key_file": certs["server_key"],
            "tls_client_ca_file": certs["ca"],
            "tls_client_cert_required": False,
        },
    )
    base = "https://127.0.0.1:%d" % s.port
    assert requests.get(base + "/peer", verify=certs["ca"]).text == "anonymous"
    r = requests.get(
        base + "/peer", verify=certs["ca"], cert=(certs["client_cert"], certs["client_key"])
    )
    assert r.text == "kcore-client"


def test_wrong_key_password_fails_clearly(certs):
    from kcore.webserver import WebServer

    s = WebServer({})
    with pytest.raises(ssl.SSLError):
        s.start(
            port=0,
            tls_cert_file=certs["server_cert"],
            tls_key_file=certs["server_key_enc"],
            tls_key_password="wrong",
        )
