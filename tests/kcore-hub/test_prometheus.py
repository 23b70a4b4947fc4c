"""A real Prometheus scrapes two hub processes (with the API token, as the README's
example configures it) and its query API returns a tag value from each."""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import urllib.parse
import urllib.request

import ktest
import pytest
import yaml

PROMETHEUS = shutil.which("prometheus")
README = pathlib.Path(__file__).resolve().parents[2] / "packages" / "kcore-hub" / "README.md"


def readme_example():
    section = README.read_text().split("## Across machines: Prometheus", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


CONFIG = """
hardware: {gpio: simulation}
tags:
  /greenhouse/temp: {default: 0, unit: degC}
"""


def query(port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr}))
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            data = json.load(r)
    except OSError:
        return None  # not up yet
    assert data["status"] == "success", data
    return data["data"]["result"]


def test_prometheus_scrapes_tags_of_two_hubs(hub_process, tmp_path):
    if PROMETHEUS is None:
        pytest.skip("the prometheus binary is not installed (Debian: apt-get install prometheus)")
    token = tmp_path / "fleet-token"
    token.write_text("fleet-token-" + "x" * 32 + "\n")
    token.chmod(0o600)
    hubs = []
    for i, name in enumerate(("north", "south")):
        (tmp_path / name).mkdir()
        shutil.copy(token, tmp_path / name / "token")
        (tmp_path / name / "token").chmod(0o600)
        hub = hub_process(CONFIG, name=name)
        assert hub.api.put_tag("/greenhouse/temp", 20.5 + i).status_code == 200
        hubs.append(hub)
    prom_port = ktest.free_port()
    # The README's example, pointed at these two hubs and made quick.
    example = yaml.safe_load(readme_example())
    job = example["scrape_configs"][0]
    job.update(scrape_interval="1s", scrape_timeout="1s")
    job["authorization"]["credentials_file"] = str(token)
    job["static_configs"][0]["targets"] = ["127.0.0.1:%d" % h.port for h in hubs]
    example["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    conf = tmp_path / "prometheus.yml"
    conf.write_text(yaml.safe_dump(example))
    (tmp_path / "tsdb").mkdir()
    prom = ktest.ServerProcess(
        [
            PROMETHEUS,
            "--config.file=%s" % conf,
            "--storage.tsdb.path=%s" % (tmp_path / "tsdb"),
            "--web.listen-address=127.0.0.1:%d" % prom_port,
            "--log.level=warn",
        ],
        ready=lambda: ktest.port_open(prom_port),
        timeout=60,
        log_path=str(tmp_path / "prometheus.log"),
        cwd=str(tmp_path),
    )
    with prom:

        def both():
            result = query(prom_port, 'kcore_hub_tag_value{tag="/greenhouse/temp"}')
            if not result or len(result) < 2:
                return None
            return {r["metric"]["instance"]: float(r["value"][1]) for r in result}

        got = ktest.wait_for(both, 90, 0.3, "both hubs' tag in Prometheus")
        assert got == {"127.0.0.1:%d" % hubs[0].port: 20.5, "127.0.0.1:%d" % hubs[1].port: 21.5}
        unit = query(prom_port, 'kcore_hub_tag_value{tag="/greenhouse/temp"}')[0]["metric"]
        assert unit["unit"] == "degC" and unit["job"] == "kcore-hub"
        assert len(query(prom_port, 'up{job="kcore-hub"} == 1')) == 2
        hubs[1].api.put_tag("/greenhouse/temp", 30)
        ktest.wait_for(
            lambda: (both() or {}).get("127.0.0.1:%d" % hubs[1].port) == 30.0, 30, 0.3, "update"
        )
