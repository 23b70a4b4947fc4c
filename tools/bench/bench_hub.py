"""kcore-hub: MQTT propagation hub to hub, and the hub's memory at rest.

Starts a real mosquitto on loopback and two hub processes bridged through it.

* Propagation: N writes (default 1000) of a tag through hub A's JSON API; each
  is timed from just before the PUT until hub B's API shows the value (polled
  over a keep-alive connection). Reported with p50/p99 of the PUT alone and of
  a bare paho-mqtt publish -> subscribe round trip through the same broker, in
  the same run (the reference: what any MQTT client pays).
* Memory at rest: VmRSS of a hub on the embedded demo configuration after it
  has idled, against a bare Python interpreter (same executable) at rest.

    python tools/bench/bench_hub.py [--writes 1000] [--rest 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

POLL = 0.0005  # seconds between reads of hub B while waiting


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit("timed out waiting for %s" % what)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100.0 * (len(values) - 1)))]


def ms(v: float) -> str:
    return "%.2f ms" % (v * 1000)


def rss_kib(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Proc:
    def __init__(self, argv, log):
        self.log = log
        self.p = subprocess.Popen(
            argv, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()


def start_hub(tmp, name, config_text, procs):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    cfg = os.path.join(d, "hub.yaml")
    if config_text is not None:
        with open(cfg, "w") as f:
            f.write(config_text)
    port = free_port()
    argv = [sys.executable, "-m", "kcore.hub", "--data", os.path.join(d, "data"),
            "--port", str(port), "--api-token-file", os.path.join(d, "token")]  # fmt: skip
    if config_text is not None:
        argv += ["--config", cfg]
    proc = Proc(argv, os.path.join(d, "hub.log"))
    procs.append(proc)
    wait(lambda: "serving http" in open(proc.log, errors="replace").read(), 60, name)
    with open(os.path.join(d, "token")) as f:
        token = f.read().strip()
    return proc, "http://127.0.0.1:%d" % port, token


def bare_round_trips(port: int, n: int):
    import paho.mqtt.client as mqtt

    got = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-sub")
    sub.on_connect = lambda c, u, f, r, p: c.subscribe("bench/bare", 1)
    sub.on_message = lambda c, u, m: got.set()
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    time.sleep(0.5)  # let the subscription settle before timing
    out = []
    for i in range(n):
        got.clear()
        t0 = time.perf_counter()
        pub.publish("bench/bare", json.dumps({"value": i}), qos=1)
        if not got.wait(5):
            raise SystemExit("bare MQTT round trip %d lost" % i)
        out.append(time.perf_counter() - t0)
    for c in (pub, sub):
        c.loop_stop()
        c.disconnect()
    return out


def propagation(a, b, n: int):
    import requests

    sa, sb = requests.Session(), requests.Session()
    headers_a = {"Authorization": "Bearer " + a[2], "Content-Type": "application/json"}
    headers_b = {"Authorization": "Bearer " + b[2]}
    put_url = a[1] + "/api/tags/bench/value"
    get_url = b[1] + "/api/tags/bench/value"
    total, puts = [], []
    for i in range(1, n + 1):
        body = json.dumps({"value": i})
        t0 = time.perf_counter()
        r = sa.put(put_url, data=body, headers=headers_a, timeout=10)
        t1 = time.perf_counter()
        if r.status_code != 200:
            raise SystemExit("PUT failed: %s %s" % (r.status_code, r.text))
        deadline = t0 + 10
        while sb.get(get_url, headers=headers_b, timeout=10).json()["value"] != i:
            if time.perf_counter() > deadline:
                raise SystemExit("write %d never reached hub B" % i)
            time.sleep(POLL)  # leave the CPUs to the hubs and the broker
        total.append(time.perf_counter() - t0)
        puts.append(t1 - t0)
    return total, puts


def bridged_config(port: int, hub_id: str) -> str:
    return (
        "hub_id: %s\nhardware: {gpio: simulation}\n"
        "tags:\n  /bench/value: {default: 0}\n"
        "mqtt: {host: 127.0.0.1, port: %d, prefix: bench, tags: ['bench/*']}\n" % (hub_id, port)
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=1000)
    ap.add_argument("--rest", type=float, default=5.0, help="seconds idle before measuring RSS")
    args = ap.parse_args()
    mosquitto = shutil.which("mosquitto", path=os.environ.get("PATH", "") + ":/usr/sbin")
    if mosquitto is None:
        print("bench_hub: skipped, mosquitto is not installed")
        return 0
    procs: list = []
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        try:
            port = free_port()
            conf = os.path.join(tmp, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % port)
            procs.append(Proc([mosquitto, "-c", conf], os.path.join(tmp, "mosquitto.log")))
            wait(lambda: port_open(port), 20, "mosquitto")
            a = start_hub(tmp, "a", bridged_config(port, "bench-a"), procs)
            b = start_hub(tmp, "b", bridged_config(port, "bench-b"), procs)
            import requests

            wait(lambda: requests.get(a[1] + "/healthz", timeout=2).text == "ok", 20, "hub a")
            wait(lambda: requests.get(b[1] + "/healthz", timeout=2).text == "ok", 20, "hub b")
            bare = bare_round_trips(port, args.writes)
            total, puts = propagation(a, b, args.writes)
            demo = start_hub(tmp, "demo", None, procs)
            bare_py = Proc([sys.executable, "-c", "import time; time.sleep(3600)"],
                           os.path.join(tmp, "python.log"))  # fmt: skip
            procs.append(bare_py)
            time.sleep(args.rest)  # at rest: the measurement is what an idle hub holds
            hub_rss = rss_kib(demo[0].p.pid)
            bridged_rss = rss_kib(a[0].p.pid)
            py_rss = rss_kib(bare_py.p.pid)
        finally:
            for p in reversed(procs):
                p.stop()
    p50, p99 = percentile(total, 50), percentile(total, 99)
    b50, b99 = percentile(bare, 50), percentile(bare, 99)
    print(
        "MQTT propagation hub A -> hub B, %d writes (PUT on A until B's API shows it):"
        % len(total)
    )
    print("  p50 %s   p99 %s   max %s" % (ms(p50), ms(p99), ms(max(total))))
    print(
        "  of which the PUT on A: p50 %s   p99 %s"
        % (ms(percentile(puts, 50)), ms(percentile(puts, 99)))
    )
    print(
        "reference, bare paho publish -> subscribe round trip, same broker, %d messages:"
        % len(bare)
    )
    print("  p50 %s   p99 %s" % (ms(b50), ms(b99)))
    print("ratio hub-to-hub / bare MQTT: p50 %.1fx   p99 %.1fx" % (p50 / b50, p99 / b99))
    print("memory at rest (VmRSS after %.0f s idle):" % args.rest)
    print("  hub, embedded demo configuration: %.1f MiB" % (hub_rss / 1024.0))
    print("  hub with the MQTT bridge:          %.1f MiB" % (bridged_rss / 1024.0))
    print(
        "  reference, bare python3 at rest:   %.1f MiB (ratio %.1fx)"
        % (py_rss / 1024.0, hub_rss / max(py_rss, 1))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
