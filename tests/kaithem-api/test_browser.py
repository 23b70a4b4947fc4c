"""Widgets and logins in a real browser: headless Chromium driven by
Playwright, one browser and one server for the whole module."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import _browser
import ktest

from kcore.kaithem import Kaithem
from kcore.kaithem import web as kweb

PW = "correct horse battery staple"
XSS = '<img src=x onerror="window.__xss=1">'


class Demo:
    """The page of every widget type, and a state-changing action."""

    def __init__(self, site):
        self.site = site
        self.actions = 0

    @kweb.expose
    def index(self):
        s = self.site
        body = (
            "<h1>Widgets</h1>"
            '<p>Span: <span id="span">%s</span></p>'
            '<p>Protected: <span id="secret">%s</span></p>'
            '<p>Time: <span id="time">%s</span></p>'
            '<p id="buttons">%s %s</p>'
            '<p id="meter">%s</p>'
            '<div id="sliders">%s %s</div>'
            '<p id="switch">%s</p>'
            '<p id="text">%s</p>'
            '<div id="log">%s</div>'
            "%s"
            '<p>API widget: <span id="api-out"></span></p>'
            "<script>apiObj.upd=function(v){document.getElementById('api-out').textContent="
            "JSON.stringify(v)}</script>"
        ) % (
            s.span.render(),
            s.secret.render(),
            s.clock.render(),
            s.button.render("Push <me>"),
            s.trigger.render("Launch", type="trigger"),
            s.meter.render(label="Boiler"),
            s.slider.render(unit="%", label="Pump"),
            s.open_slider.render(label="Open", type="onrelease"),
            s.switch.render("Lights"),
            s.text.render("Name"),
            s.log.render(),
            s.api.render("apiObj"),
        )
        return s.k.web.page(body, title="All widgets")

    @kweb.expose
    def act(self):
        self.actions += 1
        return "done"

    @kweb.expose
    def form(self):
        return self.site.k.web.page(
            '<form method="post" action="/demo/act">%s<button id="go">Go</button></form>'
            % self.site.k.web.csrf_field()
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    k = Kaithem(vardir=str(tmp_path_factory.mktemp("browser")))
    k.users.add_group("writers", ["/users/widgets.write", "/secret.view"])
    k.users.add_user("alice", PW, groups=["writers"])
    s = SimpleNamespace(k=k, pushes=[], presses=[])
    w = k.widget
    s.span = w.DynamicSpan()
    s.span.write("hello")
    s.secret = w.DynamicSpan()
    s.secret.write("launch codes")
    s.secret.require("/secret.view")
    s.clock = w.TimeWidget()
    s.button = w.Button()
    s.button.attach(lambda user, value: s.presses.append((user, value)))
    s.trigger = w.Button()
    s.trigger.attach(lambda user, value: s.presses.append((user, "trigger " + value)))
    s.meter = w.Meter(high=90, high_warn=70, unit="degC", displayUnits="degC|degF")
    s.meter.write(75)
    s.tag = k.tags["/pump/speed"]
    s.slider = w.Slider(min=0, max=100, step=1).bind_tag(s.tag, priority=60)
    s.open_slider = w.Slider(min=0, max=10, step=1)
    s.open_slider.attach(lambda user, value: s.pushes.append((user, value)))
    s.switch = w.Switch()
    s.text = w.TextBox()
    s.log = w.ScrollBox(length=5)
    for i in range(3):
        s.log.write("entry %d" % i)
    s.api = w.APIWidget()
    s.api.write({"ready": True})
    s.demo = Demo(s)
    k.web.controllers[("demo",)] = s.demo
    k.web.serve()
    s.url = k.web.url
    yield s
    k.close()


@pytest.fixture(scope="module")
def browser():
    with _browser.chromium() as b:
        yield b


def _open(browser, site, user=None):
    """A fresh browser context (own cookies) on the widget page; logged in
    through the real login form when ``user`` is given."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    if user:
        page.goto(site.url + "/login?go=/demo")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", PW)
        page.click("button[type=submit]")
        page.wait_for_url(site.url + "/demo")
    else:
        page.goto(site.url + "/demo")
    page.wait_for_function("window.kaithemapi && kaithemapi.connected()")
    return page


def _messages(page):
    return page.locator("#kw-messages .kw-message span").all_text_contents()


def test_every_widget_type_renders(browser, site):
    page = _open(browser, site, user="alice")
    try:
        page.wait_for_function("document.querySelector('#api-out').textContent !== ''")
        assert page.text_content("#span") == "hello"
        assert page.text_content("#secret") == "launch codes"  # alice may read it
        assert page.locator("#time .kw-time").text_content().strip() != ""
        assert page.text_content("#buttons .kw-button") == "Push <me>"
        assert page.locator("#buttons .kw-arm").count() == 1
        meter = page.locator("#meter .kw-meter")
        assert "kw-warning" in meter.get_attribute("class")
        assert meter.locator(".kw-value").text_content() == "75degC | 167degF"
        assert page.locator("#sliders input[type=range]").count() == 2
        assert page.locator("#switch input[type=checkbox]").count() == 1
        assert page.locator("#text input[type=text]").count() == 1
        assert page.locator("#log .kw-scrollbox > div").all_text_contents() == [
            "entry 0",
            "entry 1",
            "entry 2",
        ]
        assert page.text_content("#api-out") == '{"ready":true}'
        assert page.evaluate("apiObj.value.ready") is True
        assert abs(page.evaluate("apiObj.now()") / 1000 - time.time()) < 5
        # live updates of every kind
        site.meter.write(95)
        page.wait_for_function(
            "document.querySelector('#meter .kw-meter').classList.contains('kw-error')"
        )
        site.log.write("entry 3")
        page.wait_for_function("document.querySelectorAll('#log .kw-scrollbox > div').length==4")
        site.switch.write(True)
        page.wait_for_function("document.querySelector('#switch input').checked")
        site.text.write("from the server")
        page.wait_for_function("document.querySelector('#text input').value==='from the server'")
        page.check("#switch input")
        page.uncheck("#switch input")
        ktest.wait_for(lambda: site.switch.read() is False, what="the switch turned off")
        page.fill("#text input", "typed")
        ktest.wait_for(lambda: site.text.read() == "typed", what="the text box")
        page.evaluate("apiObj.set({from: 'browser'})")
        ktest.wait_for(lambda: site.api.read() == {"from": "browser"}, what="the API widget")
        got = []
        site.api.attach(lambda user, value: got.append(value))
        page.evaluate("for (let i = 0; i < 5; i++) apiObj.send(i)")  # a pipe: every one arrives
        ktest.wait_for(lambda: got == [0, 1, 2, 3, 4], what="every message sent")
        site.api.attach(None)
        shot = _browser.artifacts_dir() / "widgets.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10000
        assert page.errors == []
        assert _messages(page) == []
        # the time widget needs no widget.js at all
        page.set_content(site.clock.render())
        page.wait_for_function("document.querySelector('.kw-time').textContent.length > 0")
    finally:
        page.context.close()


def test_buttons_sliders_and_fast_server_writes(browser, site):
    page = _open(browser, site, user="alice")
    try:
        site.presses.clear()
        page.click("#buttons .kw-button:not(.kw-trigger-button)")
        ktest.wait_for(lambda: len(site.presses) >= 2, what="the button's attach callback")
        assert site.presses[:2] == [("alice", "pushed"), ("alice", "released")]
        # the trigger button needs arming first
        assert page.locator(".kw-trigger-button").is_disabled()
        page.click(".kw-arm")
        page.click(".kw-trigger-button")
        ktest.wait_for(lambda: ("alice", "trigger pushed") in site.presses, what="the trigger")
        # moving a slider (keyboard: End moves it to the maximum) updates the tag
        slider = page.locator("#sliders input[type=range]").first
        slider.focus()
        page.keyboard.press("End")
        ktest.wait_for(lambda: site.tag.value == 100, what="the tag to follow the slider")
        assert site.tag.current_source == "WebAPIClaim" and site.tag.annotation == "alice"
        page.keyboard.press("ArrowDown")
        ktest.wait_for(lambda: site.tag.value == 99, what="the tag to follow the slider")
        site.tag.claim(12, "WebAPIClaim")  # and the slider follows the tag
        page.wait_for_function(
            "document.querySelector('#sliders input[type=range]').value === '12'"
        )
        # an onrelease slider sends once, when let go
        other = page.locator("#sliders input[type=range]").nth(1)
        other.focus()
        page.keyboard.press("End")
        ktest.wait_for(lambda: site.pushes[-1:] == [("alice", 10.0)], what="onrelease slider")
        # a server-side write shows within 200 ms (measured in the page)
        page.evaluate(
            """() => { window.seen = {};
            new MutationObserver(() => { window.seen[document.querySelector('#span')
              .textContent] = Date.now(); })
            .observe(document.querySelector('#span'), {childList: true, characterData: true,
              subtree: true}); }"""
        )
        delays = []
        for i in range(5):
            text = "server write %d" % i
            t0 = time.time() * 1000
            site.span.write(text)
            shown = page.wait_for_function("t => window.seen[t]", arg=text).json_value()
            delays.append(shown - t0)
        assert max(delays) < 200, delays
        # the client reconnects after the server drops it, says so meanwhile, resubscribes
        before = {c.id for c in site.k.widget.connections}
        for conn in site.k.widget.connections:
            conn.close(1012, "restarting")
        page.wait_for_function("!kaithemapi.connected()")
        assert any("reconnecting in" in m for m in _messages(page))
        ktest.wait_for(
            lambda: {c.id for c in site.k.widget.connections} - before, what="a new socket"
        )
        page.wait_for_function("kaithemapi.connected()")
        site.span.write("after the reconnection")
        page.wait_for_function(
            "document.querySelector('#span').textContent === 'after the reconnection'"
        )
        assert not any("reconnecting in" in m for m in _messages(page))
        assert page.errors == []
    finally:
        page.context.close()


def test_guest_can_neither_read_protected_nor_write_default(browser, site):
    page = _open(browser, site)  # not logged in
    try:
        site.span.write("public")
        page.wait_for_function("document.querySelector('#span').textContent === 'public'")
        page.wait_for_function("document.querySelectorAll('#kw-messages .kw-error').length > 0")
        assert page.text_content("#secret") == ""
        assert "launch codes" not in page.content()
        assert "permission denied: you may not see this widget" in _messages(page)
        assert "kw-has-error" in page.get_attribute("#secret .kw-span", "class")
        site.secret.write("new codes")
        assert "new codes" not in page.content()
        # a default widget needs /users/widgets.write to be changed
        before = len(site.pushes)
        other = page.locator("#sliders input[type=range]").nth(1)
        other.focus()
        page.keyboard.press("Home")
        page.wait_for_function(
            "[...document.querySelectorAll('#kw-messages span')].some("
            "s => s.textContent === 'permission denied: you may not change this widget')"
        )
        page.click("#buttons .kw-button:not(.kw-trigger-button)")
        page.wait_for_function(
            "[...document.querySelectorAll('#kw-messages span')].filter("
            "s => s.textContent.startsWith('permission denied: you may not change')).length >= 2"
        )
        assert len(site.pushes) == before and site.open_slider.read() == 10
        page.wait_for_function(  # the refused change is undone in the page
            "document.querySelectorAll('#sliders input[type=range]')[1].value === '10'"
        )
        assert all(user != "__guest__" for user, _ in site.presses)
        page.screenshot(path=str(_browser.artifacts_dir() / "widgets-guest.png"), full_page=True)
    finally:
        page.context.close()


def test_xss_payload_shows_as_text(browser, site):
    page = _open(browser, site)
    try:
        site.span.write(XSS)
        page.wait_for_function("t => document.querySelector('#span').textContent === t", arg=XSS)
        site.log.write(XSS)
        page.wait_for_function(
            "t => [...document.querySelectorAll('#log .kw-scrollbox > div')]"
            ".some(d => d.textContent === t)",
            arg=XSS,
        )
        assert page.locator("#span img, #log img").count() == 0
        assert page.evaluate("window.__xss") is None
        # the page as first rendered escapes it too
        page.reload()
        page.wait_for_function("window.kaithemapi && kaithemapi.connected()")
        assert page.text_content("#span") == XSS
        assert page.locator("#span img, #log img").count() == 0
        assert page.evaluate("window.__xss") is None
    finally:
        page.context.close()


def test_login_logout_and_csrf(browser, site, tmp_path):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(site.url + "/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        assert page.locator("p.kw-error").text_content() == "Wrong user name or password."
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PW)
        page.click("button[type=submit]")
        page.wait_for_url(site.url + "/")
        assert "Logged in as alice" in page.text_content("main")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["kaithem_session"]["httpOnly"] is True
        assert cookies["kaithem_session"]["sameSite"] == "Lax"
        assert page.evaluate("document.cookie").find("kaithem_session") < 0
        # a form of the site itself works (it carries the token)
        page.goto(site.url + "/demo/form")
        before = site.demo.actions
        page.click("#go")
        page.wait_for_url(site.url + "/demo/act")
        assert site.demo.actions == before + 1
        # the same request without the token, and a form on another origin: refused
        status = page.evaluate(
            "() => fetch('/demo/act', {method: 'POST', body: new URLSearchParams({x: '1'})})"
            ".then(r => r.status)"
        )
        assert status == 403
        attacker = Kaithem(vardir=str(tmp_path / "attacker"))
        try:

            class Evil:
                @kweb.expose
                def index(self):
                    return (
                        '<form id="f" method="post" action="%s/demo/act">'
                        '<input name="__csrf" value="guessed"></form>'
                        "<script>document.getElementById('f').submit()</script>" % site.url
                    )

            evil = Evil()
            attacker.web.controllers[("evil",)] = evil
            attacker.web.serve()
            page.goto(attacker.web.url.replace("127.0.0.1", "localhost") + "/evil")
            page.wait_for_url(site.url + "/demo/act")
            assert "cross-site request refused" in page.text_content("body")
        finally:
            attacker.close()
        assert site.demo.actions == before + 1
        # logout from the nav bar
        page.goto(site.url + "/")
        page.click(".kw-nav-user button")
        page.wait_for_url(site.url + "/login")
        page.goto(site.url + "/")
        assert "Not logged in" in page.text_content("main")
        assert "kaithem_session" not in {c["name"] for c in context.cookies()}
    finally:
        context.close()
