"""The main job until the hub exists: a short tour of what kcore holds today.

Runs with no configuration, no root and no hardware:
- logs through kcore.common's multi-level logger (queue for /logz, stderr);
- schedules events on a kcore.timequeue TimeQueue and runs them;
- serves a page built with kcore.html on 127.0.0.1 (stdlib server for now);
- fetches it back with kcore.common's web client.

`python tools/demo.py --serve` keeps the page up until Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
import time

from kcore import common as C
from kcore import html as H
from kcore import timequeue as TQ


def make_handler(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/healthz":
                body, ctype = "ok", "text/plain"
            elif self.path == "/logz":
                body, ctype = C.last_logs(), "text/plain"
            elif self.path == "/":
                table = H.list_to_table(state, title="demo state")
                body = str(H.html_page_wrap(H.raw(str(table) + C.last_logs_html()), "kcore demo"))
                ctype = "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            data = body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            C.log_debug("http: " + fmt % args)

    return Handler


def run_queue(state):
    fired = []
    q = TQ.TimeQueue()
    for i, delay in enumerate((30, 60, 90)):
        q.add(delay, lambda i=i: fired.append(i) or C.log_info("timequeue event %d fired" % i))
    deadline = time.monotonic() + 5
    while len(fired) < 3 and time.monotonic() < deadline:
        q.check()
        nxt = q.next_due_ms()
        time.sleep(0.005 if nxt is None else min(max(nxt, 1), 50) / 1000.0)
    state["timequeue events fired"] = len(fired)
    return fired


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", action="store_true", help="keep serving until Ctrl-C")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    args = ap.parse_args(argv)

    C.init_log("kcore-demo", logfile=None, filter_level_stderr=C.WARNING)
    C.log_info("demo starting; <script>alert('escaped')</script> shows how data is escaped")
    state = {"kcore-common version": C.__version__, "platform": C.IMPLEMENTATION}
    run_queue(state)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = "http://127.0.0.1:%d" % port
    try:
        resp = C.web_get(base + "/", timeout=5)
        print(C.c0("page", "GET / -> %s, %d bytes" % (resp.status_code, len(resp.text))))
        print(C.c0("healthz", C.read_web(base + "/healthz", timeout=5)))
        if "<script>" in resp.text:
            print(C.c0("error", "unescaped data in the page"), file=sys.stderr)
            return 1
        print("last logs:\n" + C.last_logs())
        if args.serve:
            print("serving %s (Ctrl-C to stop)" % base)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0 if resp.ok and state["timequeue events fired"] == 3 else 1


if __name__ == "__main__":
    sys.exit(main())
