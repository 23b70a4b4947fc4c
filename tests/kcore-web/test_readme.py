"""The READMEs' web server examples run as written (only the port changed), as
real servers in their own process, answering real HTTP."""

import pathlib
import re
import sys

import ktest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _blocks(dist):
    text = (ROOT / "packages" / dist / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _serve(tmp_path, code):
    port = ktest.free_port()
    assert "port=8080" in code
    script = tmp_path / "example.py"
    script.write_text(code.replace("port=8080", "port=%d" % port))
    server = ktest.ServerProcess(
        [sys.executable, str(script)],
        ready=lambda: ktest.port_open(port),
        log_path=str(tmp_path / "example.log"),
    )
    return server, "http://127.0.0.1:%d" % port


def test_web_server_in_a_few_lines(tmp_path):
    server, base = _serve(tmp_path, _blocks("kcore-web")[0])
    with server:
        assert requests.get(base + "/hello", params={"name": "you"}).text == "hello you"
        assert requests.get(base + "/healthz").text == "ok"
        assert "web-path-hello" in requests.get(base + "/varz").text


def test_varz_web_server_with_metrics(tmp_path):
    server, base = _serve(tmp_path, _blocks("kcore-varz")[1])
    with server:
        assert requests.get(base + "/").text == "hits: 1"
        assert requests.get(base + "/").text == "hits: 2"
        metrics = requests.get(base + "/metrics").text
        assert re.search(r'^varz_hits_total\{program="[^"]*example.py"\} 2.0$', metrics, re.M)
