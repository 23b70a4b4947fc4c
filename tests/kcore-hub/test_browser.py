"""The hub in a real browser: headless Chromium (Debian's, driven by
Playwright) against the `kcore-hub` console script on its embedded demo
configuration. One hub and one browser for the module."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import ktest
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kaithem-api"))
import _browser  # tests/kaithem-api/_browser.py: launching Debian's chromium

PASSWORD = "browser test password"
MAX_LATENCY_MS = 200
WRONG_PASSWORD_STATUS = (
    "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
)


def artifacts_dir() -> Path:
    root = Path(os.environ.get("KCORE_ARTIFACTS", _browser.REPO / "build" / "artifacts"))
    path = root / "kcore-hub"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def hub(tmp_path_factory, hub_process_class):
    d = tmp_path_factory.mktemp("browser")
    pw = d / "admin.pw"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o600)
    proc = hub_process_class(d, None, extra=["--admin-password-file", str(pw)], module=False)
    proc.start()
    try:
        yield proc
    finally:
        assert proc.terminate() == 0, proc.log()


@pytest.fixture(scope="module")
def browser():
    with _browser.chromium() as b:
        yield b


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1100, "height": 640})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append("error: %s" % e))
    page.on(
        "console",
        lambda m: page.problems.append("console: " + m.text) if m.type == "error" else None,
    )
    page.goto(url)
    return page


def wait_connected(page):
    page.wait_for_function("window.kaithemapi && kaithemapi.connected()")


def test_guests_see_the_dashboard_without_controls(browser, hub):
    page = open_page(browser, hub.url + "/")
    try:
        wait_connected(page)
        assert page.title() == "kcore hub (demo)"
        assert page.locator(".hub-card").count() == 8  # every demo widget is public
        page.wait_for_function(
            "/^\\d\\d:\\d\\d$/.test(document.querySelector('[data-sun=sunrise]').textContent)"
        )
        page.wait_for_function("document.querySelector('.hub-state-name').textContent === 'off'")
        assert page.text_content("#hub-0 .kw-value").endswith("degC")
        page.wait_for_function("document.querySelector('.hub-bar span').style.width !== ''")
        assert page.text_content(".hub-health") == "ok"
        assert page.locator("#hub-2 button").is_disabled()  # pressing needs a login
        assert page.locator("#hub-1 input[type=range]").is_disabled()
        assert page.locator(".hub-event").first.is_disabled()
        assert page.locator("a.hub-login").text_content() == "Log in"
        assert page.locator(".hub-pixel").count() == 8
        assert page.problems == []  # no script errors, no CSP refusals
    finally:
        page.context.close()


def test_login_press_the_button_and_watch_api_writes_arrive(browser, hub):
    page = open_page(browser, hub.url + "/login?go=/")
    try:
        assert page.text_content(".kw-nav a[href='/']") == "kcore hub (demo)"  # the way back
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        assert "Wrong user name or password." in page.text_content(".kw-error")
        assert page.problems == ["console: %s" % WRONG_PASSWORD_STATUS]
        page.problems.clear()
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(hub.url + "/")
        wait_connected(page)
        assert page.text_content(".hub-user-name") == "admin"
        assert page.locator(".hub-locked").count() == 0
        page.wait_for_function("document.querySelector('.hub-state-name').textContent === 'off'")
        assert page.locator(".hub-led.hub-on").count() == 0

        page.click("#hub-2 button")  # the simulated button: press and let go
        page.wait_for_selector(".hub-led.hub-on")
        page.wait_for_function("document.querySelector('.hub-state-name').textContent === 'on'")
        page.wait_for_function(
            "document.querySelector('.hub-pixel').style.backgroundColor === 'rgb(255, 176, 96)'"
        )
        assert page.text_content(".hub-led") == "on"
        assert hub.api.tag("/system/gpio/27")["value"] == 1
        page.screenshot(path=str(artifacts_dir() / "dashboard.png"), full_page=True)

        latencies = [api_write_latency(page, hub, value) for value in (17.5, 18, 18.5, 19, 19.5)]
        print("API write -> dashboard (ms):", ", ".join("%.1f" % x for x in latencies))
        assert max(latencies) < MAX_LATENCY_MS, latencies
        assert page.input_value("#hub-1 input[type=range]") == "19.5"

        page.click(".hub-user button[type=submit]")  # log out
        page.wait_for_url(re.compile(r".*/login$"))
        page.goto(hub.url + "/")
        assert page.locator("a.hub-login").count() == 1
        assert page.problems == []
    finally:
        page.context.close()


def api_write_latency(page, hub, value):
    """Milliseconds from the start of a PUT on the JSON API until the
    setpoint slider's readout in the page shows the value (both clocks are
    this machine's wall clock)."""
    text = "%g" % value
    page.evaluate(
        """text => {
            const out = document.querySelector('#hub-1 .kw-readout');
            window.__seen = null;
            new MutationObserver((changes, observer) => {
                if (out.textContent !== text) return;
                window.__seen = Date.now();
                observer.disconnect();
            }).observe(out, {childList: true, characterData: true, subtree: true});
        }""",
        text,
    )
    start = time.time() * 1000
    r = requests.put(
        hub.url + "/api/tags/demo/setpoint",
        data=json.dumps({"value": value}),
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + hub.api.token},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    seen = ktest.wait_for(lambda: page.evaluate("window.__seen"), 5, what="the slider update")
    return seen - start
