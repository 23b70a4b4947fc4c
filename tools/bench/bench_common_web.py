"""Benchmark kcore.common.web's transports against urllib.request (the reference).

Serves a small page from a local ThreadingHTTPServer on 127.0.0.1 and times
N sequential GETs through each transport, printing requests per second and
the ratio to urllib.request measured in the same run.

    python tools/bench/bench_common_web.py [N]
"""

import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(
    0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "kcore-common", "src")
)

from kcore.common import web

BODY = b"x" * 2048


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # one write per response (else Nagle + delayed ACK stall keep-alive)

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


def bench(name, fetch, n, repeat=3):
    """Best of ``repeat`` runs of ``n`` fetches, in requests per second."""
    fetch()  # warm up (imports, first connection)
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            assert len(fetch()) == len(BODY)
        best = max(best, n / (time.perf_counter() - start))
    return name, best


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    url = "http://127.0.0.1:%d/page" % srv.server_address[1]
    sock_s = web.Session(transport="socket")
    req_s = web.Session(transport="requests")
    import requests

    raw = requests.Session()
    results = [
        bench(
            "urllib.request (reference)", lambda: urllib.request.urlopen(url, timeout=10).read(), n
        ),
        bench("requests.Session (raw)", lambda: raw.get(url, timeout=10).content, n),
        bench("kcore socket transport", lambda: sock_s.get(url).content, n),
        bench("kcore requests transport", lambda: req_s.get(url).content, n),
        bench("kcore web_get (default)", lambda: web.web_get(url).content, n),
    ]
    ref = results[0][1]
    print("%d sequential GETs of %d bytes from 127.0.0.1" % (n, len(BODY)))
    for name, rate in results:
        print("%-28s %8.0f req/s   x%.2f vs urllib.request" % (name, rate, rate / ref))
    sock_s.close()
    req_s.close()
    srv.shutdown()
    srv.server_close()


if __name__ == "__main__":
    main()
