"""kaithem.widget fan-out vs a plain `websockets` broadcast server, same run.

Load: 100 WebSocket clients (the `websockets` library, asyncio, spread over
--client-processes) subscribed to 10 widgets; a writer in the server process
writes the widgets 100 times a second each (one write every millisecond, in
turn), for --seconds after one unrecorded second of warm-up. Each value
carries its write time and a sequence number.

Figures, for kcore (kaithem.web + kaithem.widget) and for the reference (a
`websockets` asyncio server calling websockets.broadcast() on every write,
same JSON frames, in its own process like kcore's):
* delivered updates/s (entries received by all clients) and how many were
  coalesced (a newer value of the same widget replaced an unsent one: the
  client sees a sequence gap); every client must end with every widget's
  final value ("every update delivered or explicitly coalesced");
* p50/p99 write-to-client latency (wall clock, same machine);
* server memory per connection (RSS growth from 0 to 100 idle subscribed
  connections, divided by 100);
* the same again for --stall-seconds with one deliberately stalled client
  (subscribed, never reads): the others' p99 must not rise. The kernel buffers
  some 4 MB for it first (about 30 s of this load); then kcore gives it a
  thread of its own until the server's write_timeout (10 s) closes it
  (BENCH_DEBUG=1 shows the server's connection count).
Goal: kcore p99 <= 20 ms, stalled client or not.

The clients run in --client-processes (4) processes so that the load
generator is not the bottleneck being measured; on a 2-core machine they
still compete with the server for CPU, so run it on a quiet machine and
read the same-run ratio.

Needs: pip install websockets   (client and reference)
Run:   python tools/bench/bench_widgets.py [--seconds 5] [--clients 100] [--repeat 2]
Knobs: BENCH_KAITHEM_CONFIG='{"widget-frame-interval": 0.01}' (kcore server config),
       BENCH_SERVER_SCRIPT=wrapper.py (run the server through e.g. a profiler),
       BENCH_DEBUG=1 (server-side counters).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

try:
    import websockets
except ImportError:  # pragma: no cover - a bench-only dependency
    raise SystemExit("this benchmark needs websockets: pip install websockets") from None

WIDGETS = 10
RATE = 100  # writes per second per widget


# ----------------------------------------------------------------- servers


def _writer(write, stop: threading.Event, ids: list[str], seqs: list[int]) -> None:
    """One write every 1/(RATE*len(ids)) s, widgets in turn, on a deadline
    schedule (late writes are not made up, so the rate is an upper bound)."""
    period = 1.0 / (RATE * len(ids))
    nxt = time.monotonic()
    i = 0
    while not stop.is_set():
        n = i % len(ids)
        seqs[n] += 1
        write(n, {"seq": seqs[n], "t": time.time()})
        i += 1
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.05:
            nxt = time.monotonic()


def serve_kcore() -> None:
    import tempfile

    from kcore.kaithem import Kaithem

    config = json.loads(os.environ.get("BENCH_KAITHEM_CONFIG", "{}"))
    k = Kaithem(vardir=tempfile.mkdtemp(), config=config)
    k.web.serve(max_websockets=400, threads=4)
    widgets = []
    for _ in range(WIDGETS):
        w = k.widget.APIWidget()
        w.write({"seq": 0, "t": time.time()})
        widgets.append(w)
    ids = [w.id for w in widgets]

    def write(n, value):
        widgets[n].write(value)

    def stats():
        conns = k.widget.connections
        return {
            "coalesced_server": sum(c.coalesced for c in conns),
            "frames_server": sum(c.outbox.frames for c in conns),
            "entries_server": sum(c.outbox.entries for c in conns),
            "slow_lane": sum(1 for c in conns if c.outbox._slow),
            "connections": len(conns),
        }

    _control(k.web.server.port, ids, write, stats)
    k.close()


def serve_reference() -> None:
    """websockets' documented broadcast pattern: one broadcast() per write."""

    async def main():
        subs: dict = {}  # connection -> set of ids
        ids = ["w%d" % i for i in range(WIDGETS)]
        values = {wid: {"seq": 0, "t": time.time()} for wid in ids}

        async def handler(ws):
            subs[ws] = set()
            try:
                async for message in ws:
                    data = json.loads(message)
                    for wid in data.get("subsc", []):
                        subs[ws].add(wid)
                        await ws.send(json.dumps([[wid, values[wid]]]))
            finally:
                subs.pop(ws, None)

        loop = asyncio.get_running_loop()

        def write(n, value):
            wid = ids[n]
            values[wid] = value
            frame = json.dumps([[wid, value]])

            def push():
                websockets.broadcast([c for c, s in subs.items() if wid in s], frame)

            loop.call_soon_threadsafe(push)

        async with websockets.serve(handler, "127.0.0.1", 0, max_queue=None) as server:
            port = server.sockets[0].getsockname()[1]
            await loop.run_in_executor(None, _control, port, ids, write, dict)

    asyncio.run(main())


def _control(port, ids, write, stats) -> None:
    """Line protocol on stdin/stdout with the driver: go / stop / quit."""
    print(json.dumps({"port": port, "ids": ids, "pid": os.getpid()}), flush=True)
    seqs = [0] * len(ids)
    stop = threading.Event()
    thread = None
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "go":
            stop.clear()
            thread = threading.Thread(target=_writer, args=(write, stop, ids, seqs), daemon=True)
            thread.start()
        elif cmd == "stop":
            stop.set()
            if thread is not None:
                thread.join()
            print(json.dumps({"final": seqs, **stats()}), flush=True)
        elif cmd == "quit":
            return


# ----------------------------------------------------------------- clients


class Clients:
    """Some of the clients, in one process (several such processes share the
    load, so the load generator is not the bottleneck being measured)."""

    def __init__(self, url: str, ids: list[str], n: int) -> None:
        self.url = url
        self.ids = ids
        self.n = n
        self.latencies: list[float] = []
        self.entries = 0
        self.gaps = 0
        self.frames = 0
        self.last: list[dict] = [{} for _ in range(n)]
        self.ready = 0
        self.record = False
        self.conns: list = []

    async def client(self, i: int, ready: asyncio.Event) -> None:
        async with websockets.connect(self.url, max_queue=None, compression=None) as ws:
            self.conns.append(ws)
            await ws.send(json.dumps({"subsc": self.ids}))
            last = self.last[i]
            announced = False
            try:
                async for frame in ws:
                    now = time.time()
                    self.frames += 1
                    for wid, value in json.loads(frame):
                        if not isinstance(value, dict) or "seq" not in value:
                            continue
                        prev = last.get(wid)
                        last[wid] = value["seq"]
                        if self.record:
                            self.entries += 1
                            self.latencies.append(now - value["t"])
                            if prev is not None and value["seq"] > prev + 1:
                                self.gaps += value["seq"] - prev - 1
                    if not announced and len(last) == len(self.ids):
                        announced = True
                        self.ready += 1
                        if self.ready == self.n:
                            ready.set()
            except websockets.ConnectionClosed:
                pass


def client_process(url: str, ids: list[str], n: int) -> None:
    """Commands on stdin: record / final <json seqs> / quit; replies on stdout."""

    async def main():
        clients = Clients(url, ids, n)
        ready = asyncio.Event()
        tasks = [asyncio.create_task(clients.client(i, ready)) for i in range(n)]
        await asyncio.wait_for(ready.wait(), 60)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        print("ready", flush=True)
        while True:
            line = (await reader.readline()).decode().strip()
            if line == "record":
                clients.latencies, clients.entries, clients.gaps = [], 0, 0
                frames0, cpu0 = clients.frames, sum(os.times()[:2])
                clients.record = True
                t0 = time.monotonic()
            elif line.startswith("final "):
                elapsed = time.monotonic() - t0
                cpu = sum(os.times()[:2]) - cpu0
                want = dict(zip(ids, json.loads(line[6:])))
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and not all(x == want for x in clients.last):
                    await asyncio.sleep(0.02)
                clients.record = False
                out = {
                    "entries": clients.entries,
                    "gaps": clients.gaps,
                    "frames": clients.frames - frames0,
                    "complete": sum(1 for x in clients.last if x == want),
                    "cpu": cpu / elapsed,
                    "latencies": [round(x * 1000, 3) for x in clients.latencies],
                }
                print(json.dumps(out), flush=True)
            else:
                break
        for ws in clients.conns:
            await ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


def stalled_client(port: int, ids: list[str]) -> socket.socket:
    """Upgrade, subscribe to everything, then never read again."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    s.connect(("127.0.0.1", port))
    s.sendall(
        b"GET /widgets/ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n" % port
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    payload = json.dumps({"subsc": ids}).encode()
    mask = b"\x11\x22\x33\x44"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        head = bytes([0x81, 0x80 | len(payload)])
    else:
        head = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    s.sendall(head + mask + body)
    return s


def cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


class Child:
    """A subprocess of this script speaking lines on stdin/stdout."""

    def __init__(self, *args: str) -> None:
        script = os.environ.get("BENCH_SERVER_SCRIPT") if args[0] == "--serve" else None
        self.proc = subprocess.Popen(
            [sys.executable, script or __file__, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a benchmark subprocess ended early")
        return line

    def stop(self) -> None:
        try:
            self.send("quit")
            self.proc.wait(30)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_one(kind: str, seconds: float, stall_seconds: float, n_clients: int, procs: int) -> dict:
    server = Child("--serve", kind)
    clients: list[Child] = []
    try:
        hello = json.loads(server.read())
        port, ids, pid = hello["port"], hello["ids"], hello["pid"]
        url = "ws://127.0.0.1:%d%s" % (port, "/widgets/ws" if kind == "kcore" else "/")
        base = rss_kib(pid)
        shares = [n_clients // procs + (1 if i < n_clients % procs else 0) for i in range(procs)]
        for share in shares:
            clients.append(Child("--clients-of", url, json.dumps(ids), str(share)))
        for c in clients:
            assert c.read().strip() == "ready"
        time.sleep(0.5)
        result: dict = {"rss_per_conn_kib": (rss_kib(pid) - base) / n_clients}
        # Warm up for a second (first frames, buffer growth), not recorded.
        server.send("go")
        time.sleep(1.0)
        server.send("stop")
        base_seq = sum(json.loads(server.read())["final"])
        time.sleep(0.5)
        for phase in ("normal", "stalled"):
            sock = stalled_client(port, ids) if phase == "stalled" else None
            time.sleep(0.2)
            for c in clients:
                c.send("record")
            cpu0 = cpu_seconds(pid)
            t0 = time.monotonic()
            server.send("go")
            time.sleep(seconds if phase == "normal" else stall_seconds)
            server.send("stop")
            final = json.loads(server.read())
            elapsed = time.monotonic() - t0
            server_cpu = (cpu_seconds(pid) - cpu0) / elapsed
            if os.environ.get("BENCH_DEBUG"):
                print("   server:", {k: v for k, v in final.items() if k != "final"})
            for c in clients:
                c.send("final " + json.dumps(final["final"]))
            parts = [json.loads(c.read()) for c in clients]
            if sock is not None:
                sock.close()
            latencies = [x for p in parts for x in p["latencies"]]
            writes = sum(final["final"]) - base_seq
            base_seq = sum(final["final"])
            result[phase] = {
                "writes_per_s": writes / elapsed,
                "updates_per_s": sum(p["entries"] for p in parts) / elapsed,
                "coalesced": sum(p["gaps"] for p in parts),
                "p50_ms": pct(latencies, 50),
                "p99_ms": pct(latencies, 99),
                "complete": sum(p["complete"] for p in parts),
                "frames_per_s": sum(p["frames"] for p in parts) / elapsed,
                "server_cpu": server_cpu,
                "client_cpu": sum(p["cpu"] for p in parts),
            }
        return result
    finally:
        for c in clients:
            c.stop()
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", choices=("kcore", "reference"), help=argparse.SUPPRESS)
    ap.add_argument("--clients-of", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument(
        "--stall-seconds",
        type=float,
        default=45.0,
        help="length of the phase with a stalled client (default 45: kernel buffers hold some "
        "4 MB, about 30 s of this load, before the server sees the stall)",
    )
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--client-processes", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--only", choices=("kcore", "reference"), help="measure one side only")
    args = ap.parse_args()
    if args.serve == "kcore":
        serve_kcore()
        return
    if args.serve == "reference":
        serve_reference()
        return
    if args.clients_of:
        url, ids, n = args.clients_of
        client_process(url, json.loads(ids), int(n))
        return
    print(
        "bench_widgets: %d clients (in %d processes) x %d widgets x %d writes/s each, "
        "%g s per phase, %d cores, load %.2f"
        % (
            args.clients,
            args.client_processes,
            WIDGETS,
            RATE,
            args.seconds,
            os.cpu_count() or 0,
            os.getloadavg()[0],
        )
    )
    runs: dict = {"kcore": [], "reference": []}
    for r in range(args.repeat):
        for kind in ("kcore", "reference"):
            if args.only and kind != args.only:
                continue
            res = run_one(
                kind, args.seconds, args.stall_seconds, args.clients, args.client_processes
            )
            runs[kind].append(res)
            for ph in ("normal", "stalled"):
                x = res[ph]
                print(
                    "  run %d %-9s %-7s  writes %6.0f/s  delivered %7.0f updates/s  "
                    "coalesced %6d  p50 %7.2f ms  p99 %8.2f ms  complete %d/%d  "
                    "frames %6.0f/s  cpu server %.2f clients %.2f"
                    % (
                        r + 1,
                        kind,
                        ph,
                        x["writes_per_s"],
                        x["updates_per_s"],
                        x["coalesced"],
                        x["p50_ms"],
                        x["p99_ms"],
                        x["complete"],
                        args.clients,
                        x["frames_per_s"],
                        x["server_cpu"],
                        x["client_cpu"],
                    )
                )
    if args.only:
        return
    print("medians over %d runs:" % args.repeat)
    med: dict = {}
    for kind, results in runs.items():
        m = {
            ph + "_" + key: statistics.median(r[ph][key] for r in results)
            for ph in ("normal", "stalled")
            for key in ("updates_per_s", "p99_ms", "p50_ms", "coalesced")
        }
        m["rss"] = statistics.median(r["rss_per_conn_kib"] for r in results)
        med[kind] = m
        print(
            "  %-9s delivered %7.0f updates/s, p99 %6.2f ms (with a stalled client: %6.2f ms), "
            "memory %4.0f KiB/connection"
            % (kind, m["normal_updates_per_s"], m["normal_p99_ms"], m["stalled_p99_ms"], m["rss"])
        )
    k, ref = med["kcore"], med["reference"]
    print(
        "kcore / reference: delivered x%.2f, p99 x%.2f (stalled x%.2f), memory/conn x%.2f"
        % (
            k["normal_updates_per_s"] / ref["normal_updates_per_s"],
            k["normal_p99_ms"] / ref["normal_p99_ms"],
            k["stalled_p99_ms"] / ref["stalled_p99_ms"],
            k["rss"] / ref["rss"] if ref["rss"] else float("nan"),
        )
    )
    goal = k["normal_p99_ms"] <= 20 and k["stalled_p99_ms"] <= 20
    print("goal p99 <= 20 ms, also with a stalled client: %s" % ("met" if goal else "NOT met"))


if __name__ == "__main__":
    main()
