"""A short mixed-load run: many clients, fast and slow handlers, bodies, pipelining,
closes and keep-alive at once; every answer must be right (races would show here)."""

import random
import socket
import threading
import time

import requests


def test_mixed_concurrent_load(serve):
    def echo(r):
        return r.body or b""

    def slow(r):
        time.sleep(0.02)
        return "slow %s" % r.get_params.get("i")

    s = serve(
        {"/echo": echo, "/slow": slow, "/fast": lambda r: "fast %s" % r.get_params.get("i")},
        request_timeout=5,
        keepalive_timeout=0.3,  # idle connections get swept while others are busy
    )
    base = "http://127.0.0.1:%d" % s.port
    errors = []
    deadline = time.monotonic() + 3.0

    def session_client(seed):
        rnd = random.Random(seed)
        try:
            with requests.Session() as sess:
                i = 0
                while time.monotonic() < deadline:
                    i += 1
                    kind = rnd.random()
                    if kind < 0.5:
                        r = sess.get("%s/fast?i=%d" % (base, i), timeout=10)
                        assert r.text == "fast %d" % i
                    elif kind < 0.7:
                        r = sess.get("%s/slow?i=%d" % (base, i), timeout=10)
                        assert r.text == "slow %d" % i
                    else:
                        body = rnd.randbytes(rnd.randint(0, 200000))
                        r = sess.post(base + "/echo", data=body, timeout=10)
                        assert r.content == body
                    if rnd.random() < 0.05:
                        time.sleep(0.8)  # outlive the keep-alive timeout (and its sweep)
        except Exception as e:  # handed to the main thread
            errors.append(repr(e))

    def pipeline_client(seed):
        rnd = random.Random(seed)
        try:
            while time.monotonic() < deadline:
                n = rnd.randint(1, 8)
                with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
                    c.sendall(
                        b"".join(
                            b"GET /fast?i=%d HTTP/1.1\r\nHost: x\r\n\r\n" % k for k in range(n)
                        )
                    )
                    c.sendall(b"GET /fast?i=last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    data = b""
                    while True:
                        chunk = c.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                for k in range(n):
                    assert b"fast %d" % k in data
                assert data.endswith(b"fast last")
                assert data.count(b"HTTP/1.1 200 OK") == n + 1
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=session_client, args=(i,)) for i in range(8)]
    threads += [threading.Thread(target=pipeline_client, args=(100 + i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    assert requests.get(base + "/fast?i=end").text == "fast end"
