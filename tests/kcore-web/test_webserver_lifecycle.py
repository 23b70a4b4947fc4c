"""Start, shutdown (also from a handler), bounded threads, import cost and side effects."""

import subprocess
import sys
import threading
import time

import ktest
import pytest
import requests

from kcore import varz
from kcore.webserver import LoggingAdapter, WebServer


def test_graceful_shutdown_finishes_in_flight_request(poll):
    started = threading.Event()

    def slow(r):
        started.set()
        time.sleep(0.5)
        return "finished"

    s = WebServer({"/slow": slow}, logging_adapter=LoggingAdapter(), varz=varz.Store())
    s.start(port=0)
    result = []
    t = threading.Thread(
        target=lambda: result.append(requests.get("http://127.0.0.1:%d/slow" % s.port).text)
    )
    t.start()
    assert started.wait(5)
    t0 = time.monotonic()
    assert s.shutdown(timeout=10)
    t.join(5)
    assert result == ["finished"]
    assert time.monotonic() - t0 >= 0.3
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:%d/slow" % s.port, timeout=2)
    assert not s.web_thread.is_alive()
    assert not any(t.is_alive() for t in s._engine.workers)


def test_shutdown_from_inside_a_handler():
    def stop(r):
        r.server.shutdown()
        return "bye"

    s = WebServer({"/stop": stop}, logging_adapter=LoggingAdapter(), varz=varz.Store())
    s.start(port=0)
    r = requests.get("http://127.0.0.1:%d/stop" % s.port)
    assert r.text == "bye"
    assert r.headers["Connection"] == "close"
    assert s._engine.stopped.wait(10)
    assert not s.web_thread.is_alive()


def test_foreground_start_returns_after_shutdown():
    s = WebServer(
        {"/stop": lambda r: (r.server.shutdown(), "bye")[1]},
        logging_adapter=LoggingAdapter(),
        varz=varz.Store(),
    )
    holder = {}

    def run():
        s.start(port=0, background=False)
        holder["returned"] = True

    t = threading.Thread(target=run)
    t.start()
    ktest.wait_for(lambda: ktest.port_open(s.port or 0), what="the server to listen")
    assert requests.get("http://127.0.0.1:%d/stop" % s.port, timeout=2).text == "bye"
    t.join(10)
    assert holder == {"returned": True}


def test_threads_are_bounded(serve):
    before = threading.active_count()
    s = serve({"/hello": lambda r: "hello"}, threads=3)
    assert threading.active_count() == before + 4  # 3 workers + the event loop
    with requests.Session() as sess:
        for _ in range(50):
            sess.get("http://127.0.0.1:%d/hello" % s.port)
    assert threading.active_count() == before + 4


def test_context_manager_and_double_start(serve):
    s = serve({})
    with pytest.raises(RuntimeError):
        s.start(port=0)
    with WebServer({}, logging_adapter=LoggingAdapter(), varz=False) as s2:
        s2.start(port=0)
        assert requests.get("http://127.0.0.1:%d/healthz" % s2.port).text == "ok"


def _python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_import_has_no_side_effects_and_is_light():
    code = (
        "import sys, threading, time, os\n"
        "fds = len(os.listdir('/proc/self/fd'))\n"
        "t = time.perf_counter()\n"
        "import kcore.webserver\n"
        "dt = time.perf_counter() - t\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert len(os.listdir('/proc/self/fd')) == fds\n"
        "heavy = [m for m in ('ssl', 'prometheus_client', 'requests', 'hashlib', 'email',"
        " 'http.server', 'cgi') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print(dt)\n"
    )
    r = _python(code)
    assert r.returncode == 0, r.stderr
    # The cost itself is measured in tools/bench/bench_web.py, not asserted here.
    assert float(r.stdout) >= 0


def test_selector_fallback_engine(serve, raw):
    """The portable engine (used where there is no epoll) serves the same way."""
    s = serve({"/hello": lambda r: "hello"}, force_selector=True, request_timeout=0.5)
    with requests.Session() as sess:
        assert [sess.get("http://127.0.0.1:%d/hello" % s.port).text for _ in range(20)] == [
            "hello"
        ] * 20
    c = raw(s.port)
    c.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[2] == b"hello"
    assert c.response()[2] == b"hello"
    c.send(b"GET /hel")
    assert c.response()[0] == 408
