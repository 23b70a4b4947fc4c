"""The main job: run the kcore hub (`nox -s demo` calls this).

    python tools/demo.py [kcore-hub options]   # run the hub until Ctrl-C
    python tools/demo.py --smoke               # start it briefly, check it serves, stop it

Without options the hub runs on its embedded demo configuration, with its state
in the per-user data directory, at http://127.0.0.1:8765/ (`-- --help` lists
the options). `--smoke` uses a temporary data directory and a free port, fetches
the dashboard, the login page, the status page, /healthz and the JSON API,
prints the hub's memory (RSS) at rest, stops the hub with SIGTERM and exits 0
only if everything answered as it should and the hub stopped cleanly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HUB = [sys.executable, "-m", "kcore.hub"]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def rss_mib(pid: int) -> float:
    with open("/proc/%d/status" % pid, encoding="ascii") as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1)) / 1024 if m else float("nan")


def smoke() -> int:
    with tempfile.TemporaryDirectory(prefix="kcore-hub-demo-") as data:
        log_path = os.path.join(data, "hub.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [*HUB, "--data", os.path.join(data, "state"), "--port", "0"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            return _check(proc, log_path)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _check(proc: subprocess.Popen, log_path: str) -> int:
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            m = re.search(r"serving (http://\S+/)", f.read())
        url = m.group(1) if m else None
        time.sleep(0.05)
    if url is None:
        print("the hub did not start:\n" + open(log_path, errors="replace").read())
        return 1
    print("hub: " + url)
    failures = []
    status, page = fetch(url)
    print("GET / -> %d, %d bytes" % (status, len(page)))
    if status != 200 or "<h2>Temperature</h2>" not in page or "/static/widget.js" not in page:
        failures.append("the dashboard")
    status, page = fetch(url + "login")
    print("GET /login -> %d, %d bytes" % (status, len(page)))
    if status != 200 or 'name="password"' not in page:
        failures.append("the login page")
    status, page = fetch(url + "status")
    print("GET /status -> %d, %d bytes" % (status, len(page)))
    if status != 200 or "/demo/temperature" not in page:
        failures.append("the status page")
    status, body = fetch(url + "healthz")
    print("GET /healthz -> %d %s" % (status, body))
    if (status, body) != (200, "ok"):
        failures.append("/healthz")
    status, body = fetch(url + "api/tags/demo/temperature")
    print("GET /api/tags/demo/temperature -> %d %s" % (status, body))
    if status != 200 or json.loads(body).get("unit") != "degC":
        failures.append("the JSON API")
    time.sleep(5)  # at rest: the hub's periodic jobs only
    print("hub memory at rest: %.1f MiB RSS" % rss_mib(proc.pid))
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        code = None
    print("stopped with SIGTERM -> exit status %s" % code)
    if code != 0:
        failures.append("a clean stop")
    for f in failures:
        print("FAILED: " + f)
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--smoke"]:
        return smoke()
    os.execv(sys.executable, [*HUB, *argv])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
