"""Benchmark kcore.webserver against reference servers, all measured in the same run.

    python tools/bench/bench_web.py [--duration 5] [--rounds 1] [--only kcore,stdlib,...]

Loopback only, every run bounded (wrk -d). For a trivial "hello" handler it
measures requests/s and p50/p99 latency with wrk (Debian package ``wrk``) at
8 and 64 keep-alive connections and at 64 connections with
``Connection: close``, for:

* kcore       - kcore.webserver.WebServer (access log off, like the others)
* kcore-default - kcore.webserver.WebServer as it starts with no arguments
                (access log on, as shipped: to stderr, a file here)
* stdlib      - http.server.ThreadingHTTPServer, HTTP/1.1, TCP_NODELAY
                (``disable_nagle_algorithm``), backlog 128, no request log
* waitress    - waitress (WSGI), default 4 threads
* uvicorn     - uvicorn with http="httptools", loop="asyncio", no access log
* uvicorn-std - ``uvicorn[standard]`` as it runs by default when installed:
                httptools and uvloop, one worker, no access log

and prints each kcore figure as a ratio against each reference, with the
server's CPU time per request (user + system, from /proc) beside it: on a
machine others load too, CPU per request is the steadier figure. Then the
kcore-only checks of the issue: /varz vs the trivial handler, a normal
request's latency with 200 idle slow clients connected (and the server's
thread count), idle keep-alive timeout, 413 for a body over the limit,
listen-queue overflows during the Connection: close run, and the import
cost of kcore.webserver. Figures are printed, never asserted.

Every server runs in its own process (this script re-invoked with --serve).
"""

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HELLO = b"hello"


# ---------------------------------------------------------------- servers (child side)


def serve_kcore(port, threads):
    from kcore.webserver import LoggingAdapter, WebServer

    def hello(request):
        return "hello"

    s = WebServer(
        {"/": hello},
        logging_adapter=LoggingAdapter(),
        threads=threads,
        keepalive_timeout=2.0,
        max_body=100000,
    )
    s.start(port=port, background=False)


def serve_kcore_default(port, threads):
    from kcore.webserver import WebServer

    WebServer({"/": lambda request: "hello"}).start(port=port, background=False)


def serve_stdlib(port, threads):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(HELLO)))
            self.end_headers()
            self.wfile.write(HELLO)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128

    Server(("127.0.0.1", port), Handler).serve_forever()


def _wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [HELLO]


def serve_waitress(port, threads):
    import logging

    import waitress

    # Its "Task queue depth is N" warning per request would measure logging.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    waitress.serve(_wsgi_app, host="127.0.0.1", port=port, _quiet=True)


async def _asgi_app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": HELLO})


def _uvicorn(port, loop):
    import uvicorn

    uvicorn.run(
        _asgi_app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop=loop,
        workers=1,
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


def serve_uvicorn(port, threads):
    _uvicorn(port, "asyncio")


def serve_uvicorn_std(port, threads):
    _uvicorn(port, "uvloop")


def serve_kcore_attack(port, threads):
    # The target of --attacks: static files (a 64 MB file, a FIFO), an echo
    # route, a WebSocket echo, a small connection and WebSocket budget, and
    # short WebSocket keep-alive limits (when this version has them).
    from kcore.webserver import LoggingAdapter, WebServer

    root = tempfile.mkdtemp(prefix="kweb-attack-")
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.truncate(64 << 20)  # sparse: costs no disk
    os.mkfifo(os.path.join(root, "fifo"))
    options = {
        "logging_adapter": LoggingAdapter(),
        "threads": threads,
        "max_connections": 300,
        "max_websockets": 16,
    }
    newer = {"ws_ping_interval": 1.0, "ws_ping_timeout": 1.0, "ws_idle_timeout": 3.0}
    try:
        s = WebServer({"/echo": lambda r: "len=%d" % len(r.body or b"")}, **options, **newer)
    except TypeError:  # a version without them
        s = WebServer({"/echo": lambda r: "len=%d" % len(r.body or b"")}, **options)
    s.add_static("/static", root)
    s.add_websocket_handler("/ws", lambda ws: [ws.send(m) for m in ws])
    s.start(port=port, background=False)


SERVERS = {
    "kcore": serve_kcore,
    "kcore-attack": serve_kcore_attack,
    "kcore-default": serve_kcore_default,
    "stdlib": serve_stdlib,
    "waitress": serve_waitress,
    "uvicorn": serve_uvicorn,
    "uvicorn-std": serve_uvicorn_std,
}


# ---------------------------------------------------------------- driver side


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Child:
    def __init__(self, name, threads):
        self.name = name
        self.port = free_port()
        # stderr to a file, never a pipe nobody reads (a full pipe stalls the server)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", name, str(self.port), str(threads)],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("%s server died: %s" % (name, self.log.read().decode()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("%s server did not start" % name)
                time.sleep(0.05)

    def threads(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if m is None:
        raise ValueError("cannot read a wrk latency from %r" % text)
    if m.group(2) == "m":
        return float(m.group(1)) * 60000
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def cpu_seconds(pid):
    """User and system CPU seconds a process has used so far (Linux), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port, path, connections, duration, close=False, pid=None):
    args = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % duration, "--latency", "--timeout", "5s"]
    if close:
        args += ["-H", "Connection: close"]
    cpu_before = cpu_seconds(pid) if pid else None
    out = subprocess.run(
        [*args, "http://127.0.0.1:%d%s" % (port, path)],
        capture_output=True,
        text=True,
        timeout=duration + 30,
    ).stdout
    cpu_after = cpu_seconds(pid) if pid else None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    cpu_us = None
    if cpu_before is not None and cpu_after is not None and total:
        cpu_us = (cpu_after - cpu_before) * 1e6 / total
    # Anchored: the Stdev column of "Thread Stats" also holds percentages.
    p50 = _to_ms(re.search(r"^\s*50%[ \t]+(\S+)", out, re.M).group(1))
    p99 = _to_ms(re.search(r"^\s*99%[ \t]+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "cpu_us": cpu_us,
        "p50": p50,
        "p99": p99,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1).strip() if errors else "",
    }


def _median_run(runs):
    """One figure per column: the median over the rounds (non-2xx and
    overflows summed, socket errors listed)."""
    out = {}
    for k in ("rps", "p50", "p99"):
        out[k] = statistics.median([r[k] for r in runs])
    cpu = [r["cpu_us"] for r in runs if r.get("cpu_us") is not None]
    out["cpu_us"] = statistics.median(cpu) if cpu else None
    out["non2xx"] = sum(r["non2xx"] for r in runs)
    out["errors"] = "; ".join(r["errors"] for r in runs if r["errors"])
    if all("overflows" in r for r in runs):
        out["overflows"] = sum(r["overflows"] for r in runs)
    out["rounds"] = len(runs)
    out["rps_range"] = (min(r["rps"] for r in runs), max(r["rps"] for r in runs))
    return out


def listen_overflows():
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for i in range(0, len(lines) - 1, 2):
        if lines[i].startswith("TcpExt:"):
            names, values = lines[i].split()[1:], lines[i + 1].split()[1:]
            return int(dict(zip(names, values)).get("ListenOverflows", 0))
    return None


def timed_get(port, path="/"):
    t = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return (time.perf_counter() - t) * 1000, r.status


def slow_clients_check(port, child, n=200):
    idle = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if i % 2:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        idle.append(s)
    time.sleep(0.3)
    times = [timed_get(port)[0] for _ in range(50)]
    threads = child.threads()
    for s in idle:
        s.close()
    return max(times), statistics.median(times), threads


def idle_timeout_check(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(4096)
    t = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
    return time.monotonic() - t


def body_limit_check(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/", body=b"x" * 200000)
        status = c.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        status = "connection reset"
    c.close()
    return status


def import_cost_ms(runs=7):
    # Bytecode caching on (as for an installed package), one warm-up run.
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    code = (
        "import time; t = time.perf_counter(); import kcore.webserver; "
        "print((time.perf_counter() - t) * 1000)"
    )
    values = []
    for _ in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        ).stdout
        values.append(float(out))
    return statistics.median(values[1:])


# ---------------------------------------------------------------- attacks (--attacks)


def _proc_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def healthz_ms(port, source="127.0.0.1", timeout=2.0):
    """(ms, status) of /healthz on a fresh connection from ``source``;
    (None, None) without an answer within ``timeout``."""
    t = time.perf_counter()
    data = b""
    try:
        with socket.create_connection(
            ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
        ) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        if not data:
            return None, None
    if not data.startswith(b"HTTP/"):
        return None, None
    return (time.perf_counter() - t) * 1000, int(data.split(b" ", 2)[1])


def _healthz_while(port, busy, seconds=None):
    """Sample /healthz every 50 ms while ``busy()`` (or for ``seconds``):
    'worst X ms, median Y ms' or how many went unanswered."""
    times, missed = [], 0
    end = time.monotonic() + (seconds or 60)
    while time.monotonic() < end and (seconds or busy()):
        ms, status = healthz_ms(port)
        if ms is None or status != 200:
            missed += 1
        else:
            times.append(ms)
        time.sleep(0.05)
    if not times:
        return "never answered (%d tries)" % missed
    text = "worst %.1f ms, median %.1f ms" % (max(times), statistics.median(times))
    return text + (", %d unanswered" % missed if missed else "")


def _ws_connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return s, head.split(b"\r\n", 1)[0]


def _feed(sock, pieces, done):
    # Send pieces until the server stops taking them; ``done`` gets the bytes sent.
    sent = 0
    try:
        for piece in pieces:
            sock.sendall(piece)
            sent += len(piece)
    except OSError:
        pass
    done.append(sent)


def attack_chunks(port, pid):
    import threading

    n = 1000000
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"1\r\nx\r\n" * n + b"0\r\n\r\n"
    pieces = [head] + [body[i : i + 65536] for i in range(0, len(body), 65536)]
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    before = _proc_kb(pid, "VmHWM")
    done = []
    t = threading.Thread(target=_feed, args=(s, pieces, done))
    t.start()
    health = _healthz_while(port, t.is_alive)
    t.join()
    try:
        answer = s.recv(200).split(b"\r\n", 1)[0].decode()
    except OSError as e:
        answer = repr(e)
    s.close()
    grown = (_proc_kb(pid, "VmHWM") - before) * 1024
    return "%s; peak RSS +%.1f MB = %.2f bytes per attack byte (%d bytes sent); /healthz %s" % (
        answer,
        grown / 1e6,
        grown / max(1, done[0]),
        done[0],
        health,
    )


def attack_ws_fragments(port, pid):
    import threading

    s, status = _ws_connect(port, timeout=60)
    mask = b"\x00\x00\x00\x00"  # an all-zero mask: the payload is sent as is
    frames = [b"\x01\x80" + mask]  # a text message begins, not final
    empty = b"\x00\x80" + mask
    n = 2000000
    frames += [empty * 10000] * (n // 10000)
    before = _proc_kb(pid, "VmHWM")
    done = []
    t = threading.Thread(target=_feed, args=(s, frames, done))
    t.start()
    health = _healthz_while(port, t.is_alive)
    t.join()
    grown = (_proc_kb(pid, "VmHWM") - before) * 1024
    closed = _ws_close_code(s)
    s.close()
    return (
        "%s, then %s; peak RSS +%.1f MB = %.2f bytes per attack byte (%d bytes sent);"
        " /healthz %s"
        % (
            status.decode(),
            "close %s" % closed if closed else "no close frame",
            grown / 1e6,
            grown / max(1, done[0]),
            done[0],
            health,
        )
    )


def _ws_close_code(s, timeout=2.0):
    # The code of the close frame the server sent (None if none came).
    s.settimeout(timeout)
    buf = b""
    try:
        while True:
            while len(buf) >= 2 and len(buf) >= 2 + (buf[1] & 0x7F):
                n = buf[1] & 0x7F
                if buf[0] & 0x0F == 8:
                    return int.from_bytes(buf[2:4], "big") if n >= 2 else 1005
                buf = buf[2 + n :]
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
    except OSError:
        return None


def attack_slow_readers(port, n=16, rate=16384, seconds=4.0):
    import threading

    clients = []
    for _ in range(n):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        c.connect(("127.0.0.1", port))
        c.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        c.setblocking(False)
        clients.append(c)
    stop = []
    got = [0]

    def read_slowly():
        while not stop:
            for c in clients:
                try:
                    got[0] += len(c.recv(rate // 10))
                except OSError:
                    pass
            time.sleep(0.1)

    t = threading.Thread(target=read_slowly)
    t.start()
    time.sleep(0.5)
    health = _healthz_while(port, None, seconds)
    stop.append(1)
    t.join()
    for c in clients:
        c.close()
    return "%d readers at %d KB/s: /healthz %s" % (n, rate // 1024, health)


def attack_silent_websockets(port, n=16, wait=12.0):
    held = []
    for _ in range(n):
        s, status = _ws_connect(port)
        held.append(s)  # silent from now on: reads nothing, answers no ping
    t0 = time.monotonic()
    result = "a new session refused for %.0f s" % wait
    while time.monotonic() - t0 < wait:
        s, status = _ws_connect(port)
        s.close()
        if b" 101 " in status:
            result = "a new session accepted after %.1f s" % (time.monotonic() - t0)
            break
        time.sleep(0.25)
    for s in held:
        s.close()
    return "%d silent sessions (the limit): %s" % (n, result)


def attack_one_address(port, n=300):
    held = []
    for _ in range(n):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    time.sleep(0.5)
    ms, status = healthz_ms(port, source="127.0.0.2")
    for s in held:
        s.close()
    got = "no answer" if ms is None else "%d in %.1f ms" % (status, ms)
    return "%d idle sockets from 127.0.0.1: /healthz from 127.0.0.2: %s" % (len(held), got)


def attack_fifo(port, n=16):
    import threading

    socks = []
    answers = []

    def get():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                socks.append(s)
                s.sendall(b"GET /static/fifo HTTP/1.1\r\nHost: x\r\n\r\n")
                answers.append(s.recv(100).split(b"\r\n", 1)[0].decode() or "closed")
        except OSError:
            answers.append("no answer in 3 s")

    threads = [threading.Thread(target=get) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    ms, status = healthz_ms(port)
    for t in threads:
        t.join()
    got = "no answer" if ms is None else "%d in %.1f ms" % (status, ms)
    return "%d GETs of a FIFO: %s; /healthz meanwhile: %s" % (
        n,
        ", ".join(sorted(set(answers))),
        got,
    )


PARSE_ATTACKS = [
    (
        "Content-Length: VT 5",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \x0b5\r\n\r\nhello",
    ),
    (
        "Content-Length: 5 FF",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\x0c\r\n\r\nhello",
    ),
    (
        "Content-Length: 5 NBSP",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\xa0\r\n\r\nhello",
    ),
    (
        "Transfer-Encoding: chunked NEL",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\x85\r\n\r\n0\r\n\r\n",
    ),
    (
        "Transfer-Encoding: \\x1c chunked",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x1cchunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "lone CR in a chunk extension",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;a=b\rc\r\nhello\r\n0\r\n\r\n",
    ),
    (
        "control character in a header value",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
    ),
    ("non-ASCII header name", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\xff\xfe: 1\r\n\r\n"),
    ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n"),
    ("two Host headers", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
]


def attack_parsing(port):
    out = []
    for label, data in PARSE_ATTACKS:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                s.sendall(data)
                line = s.recv(200).split(b"\r\n", 1)[0].decode("latin-1")
        except OSError as e:
            line = "error %s" % type(e).__name__
        out.append("  %-36s %s" % (label, line or "closed without an answer"))
    return "\n" + "\n".join(out)


ATTACKS = [
    ("1M one-byte chunks", lambda c: attack_chunks(c.port, c.proc.pid)),
    ("WebSocket: 2M empty continuation frames", lambda c: attack_ws_fragments(c.port, c.proc.pid)),
    ("slow readers of a 64 MB static file", lambda c: attack_slow_readers(c.port)),
    ("silent WebSockets holding the limit", lambda c: attack_silent_websockets(c.port)),
    ("one address holding max_connections", lambda c: attack_one_address(c.port)),
    ("FIFO under the static root", lambda c: attack_fifo(c.port)),
    ("parsing", lambda c: attack_parsing(c.port)),
]


def run_attacks(threads):
    """Each attack on a fresh kcore server (kcore-attack): what the attacker
    gets, the server's peak memory per attack byte, /healthz meanwhile, and
    the server's CPU time during the attack."""
    import kcore.webserver

    print(
        "bench_web --attacks: %s, %d worker threads"
        % (os.path.dirname(kcore.webserver.__file__), threads)
    )
    for label, attack in ATTACKS:
        child = Child("kcore-attack", threads)
        try:
            cpu = cpu_seconds(child.proc.pid)
            result = attack(child)
            cpu = cpu_seconds(child.proc.pid) - cpu
            print("%-40s %s [server CPU %.2f s]" % (label + ":", result, cpu), flush=True)
        finally:
            child.stop()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    ap.add_argument("--only", default="", help="comma-separated servers (default: all)")
    ap.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; medians shown (default 1)"
    )
    ap.add_argument(
        "--threads", type=int, default=16, help="kcore worker threads (default 16, the server's)"
    )
    ap.add_argument(
        "--attacks",
        action="store_true",
        help="run the denial-of-service and parsing attacks on kcore instead",
    )
    ap.add_argument(
        "--serve", nargs=3, metavar=("NAME", "PORT", "THREADS"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.serve:
        name, port, threads = args.serve
        SERVERS[name](int(port), int(threads))
        return 0
    if args.attacks:
        return run_attacks(args.threads)
    if not shutil.which("wrk"):
        print("bench_web: wrk is not installed (Debian: apt-get install -y wrk)")
        return 1
    wanted = [n for n in (args.only.split(",") if args.only else SERVERS) if n]
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    print(
        "bench_web: %d s per run, %d interleaved round(s), wrk -t1, %d CPUs, load average: %s"
        % (args.duration, args.rounds, os.cpu_count(), load)
    )
    scenarios = [
        ("keep-alive c=8", 8, False),
        ("keep-alive c=64", 64, False),
        ("Connection: close c=64", 64, True),
    ]
    children = {}
    results = {}
    extra = {}
    try:
        for name in wanted:
            try:
                children[name] = Child(name, args.threads)
            except (RuntimeError, ImportError) as e:
                print("  %-13s skipped: %s" % (name, str(e).strip().splitlines()[-1]))
        for child in children.values():
            try:
                wrk(child.port, "/", 8, 1)  # warm-up
            except (AttributeError, ValueError):
                pass  # a warm-up that measured nothing is fine
        # Rounds interleave the servers (in a rotating order), so load from
        # elsewhere on the machine hits every server alike; medians are shown.
        runs = {}
        names = list(children)
        for rnd in range(args.rounds):
            order = names[rnd % len(names) :] + names[: rnd % len(names)] if names else []
            for label, conns, close in scenarios:
                for name in order:
                    before = listen_overflows()
                    try:
                        r = wrk(
                            children[name].port,
                            "/",
                            conns,
                            args.duration,
                            close,
                            children[name].proc.pid,
                        )
                    except (AttributeError, ValueError) as e:
                        print("  %s %s: wrk output not understood (%s)" % (name, label, e))
                        continue
                    after = listen_overflows()
                    if before is not None and after is not None:
                        r["overflows"] = after - before
                    runs.setdefault((name, label), []).append(r)
                    if name == "kcore" and label == "keep-alive c=64":
                        v = wrk(
                            children[name].port,
                            "/varz",
                            64,
                            args.duration,
                            pid=children[name].proc.pid,
                        )
                        runs.setdefault(("kcore", "/varz"), []).append(v)
        for key, rs in runs.items():
            results[key] = _median_run(rs)
        if ("kcore", "/varz") in results:
            extra["varz"] = results.pop(("kcore", "/varz"))
        if "kcore" in children:
            child = children["kcore"]
            extra["slow"] = slow_clients_check(child.port, child)
            extra["idle"] = idle_timeout_check(child.port)
            extra["413"] = body_limit_check(child.port)
    finally:
        for child in children.values():
            child.stop()

    print()
    print(
        "%-24s %-13s %10s %9s %9s %9s  %s"
        % ("scenario", "server", "req/s", "p50 ms", "p99 ms", "CPU us/r", "notes")
    )
    for label, _c, _close in scenarios:
        for name in wanted:
            r = results.get((name, label))
            if not r:
                continue
            notes = []
            if r["non2xx"]:
                notes.append("non-2xx %d" % r["non2xx"])
            if r["errors"]:
                notes.append("socket errors: " + r["errors"])
            if "overflows" in r:
                notes.append("listen overflows %d" % r["overflows"])
            if r["rounds"] > 1:
                notes.append("range %.0f-%.0f" % r["rps_range"])
            print(
                "%-24s %-13s %10.0f %9.2f %9.2f %9s  %s"
                % (
                    label,
                    name,
                    r["rps"],
                    r["p50"],
                    r["p99"],
                    "%.1f" % r["cpu_us"] if r.get("cpu_us") else "-",
                    "; ".join(notes),
                )
            )
    print()
    # The goals of issue 11 item 7: at least uvicorn[standard] everywhere, and
    # the default configuration within 10% of the tuned one.
    goals = {"uvicorn-std": 1.0, "kcore-default": None}
    for label, _c, _close in scenarios:
        k = results.get(("kcore", label))
        if not k:
            continue
        for ref in ("stdlib", "waitress", "uvicorn", "uvicorn-std"):
            r = results.get((ref, label))
            if r:
                verdict = ""
                if ref in goals:
                    verdict = "  goal >= %.1fx: %s" % (
                        goals[ref],
                        "met" if k["rps"] / r["rps"] >= goals[ref] else "NOT met",
                    )
                cpu = ""
                if k.get("cpu_us") and r.get("cpu_us"):
                    cpu = "  (CPU per request: %.2fx less)" % (r["cpu_us"] / k["cpu_us"])
                print(
                    "kcore / %-11s %-24s %6.2fx%s%s"
                    % (ref, label, k["rps"] / r["rps"], verdict, cpu)
                )
        d = results.get(("kcore-default", label))
        if d:
            ratio = d["rps"] / k["rps"]
            cpu = ""
            if k.get("cpu_us") and d.get("cpu_us"):
                cpu = "  (CPU per request: %.2fx)" % (k["cpu_us"] / d["cpu_us"])
            print(
                "kcore-default / kcore %-24s %6.2fx  goal >= 0.9x: %s%s"
                % (label, ratio, "met" if ratio >= 0.9 else "NOT met", cpu)
            )
    k64 = results.get(("kcore", "keep-alive c=64"))
    kclose = results.get(("kcore", "Connection: close c=64"))
    if k64:
        print(
            "kcore p99 at 64 keep-alive: %.2f ms (goal <= 10 ms: %s)"
            % (k64["p99"], "met" if k64["p99"] <= 10 else "NOT met")
        )
    if kclose:
        print(
            "kcore p99 with Connection: close: %.2f ms (goal <= 20 ms); listen overflows: %s"
            % (kclose["p99"], kclose.get("overflows", "n/a"))
        )
    if "varz" in extra and k64:
        v = extra["varz"]
        print(
            "kcore /varz: %.0f req/s = %.2fx the trivial handler (goal >= 0.8x: %s), p99 %.2f ms"
            % (
                v["rps"],
                v["rps"] / k64["rps"],
                "met" if v["rps"] / k64["rps"] >= 0.8 else "NOT met",
                v["p99"],
            )
        )
        if v.get("cpu_us") and k64.get("cpu_us"):
            print(
                "kcore /varz CPU per request %.1f us = %.2fx the trivial handler's"
                % (v["cpu_us"], k64["cpu_us"] / v["cpu_us"])
            )
    if "slow" in extra:
        worst, median, threads = extra["slow"]
        print(
            "kcore with 200 idle slow clients: normal request max %.1f ms, median %.1f ms "
            "(goal <= 50 ms); server threads %s (%d workers + 1 housekeeping)"
            % (worst, median, threads, args.threads)
        )
    if "idle" in extra:
        print(
            "kcore idle keep-alive connection closed after %.2f s (keepalive_timeout=2)"
            % extra["idle"]
        )
    if "413" in extra:
        print("kcore POST of 200000 bytes with max_body=100000: %s" % extra["413"])
    if "kcore" in wanted:
        print(
            "import kcore.webserver: %.1f ms (median of 7 fresh interpreters, bytecode cached;"
            " goal <= 25 ms)" % import_cost_ms()
        )
    try:
        print("load average after: %s" % (os.getloadavg(),))
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
