"""Helpers for the kaithem.web and kaithem.widget tests: a small HTTP client
with a cookie jar that never follows redirects, and a widget-socket client
that can wait until the server has processed everything sent so far."""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from typing import Any

from websockets.sync.client import connect


class Resp:
    def __init__(self, status: int, headers: list, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Client:
    """HTTP(S) client for one base URL with a cookie jar; no redirects followed."""

    def __init__(self, base: str, ssl_context: ssl.SSLContext | None = None) -> None:
        self.base = base
        parts = urllib.parse.urlsplit(base)
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port
        self.netloc = parts.netloc
        self.ssl_context = ssl_context
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict | None = None,
        headers: dict | None = None,
        body: bytes | None = None,
    ) -> Resp:
        hdrs = {"Host": self.netloc}
        if self.cookies:
            hdrs["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        if self.https:
            conn: Any = http.client.HTTPSConnection(
                self.host, self.port, context=self.ssl_context, timeout=10
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            resp = Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        for cookie in resp.all("set-cookie"):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in cookie.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return resp

    def get(self, path: str, **kw: Any) -> Resp:
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict | None = None, **kw: Any) -> Resp:
        return self.request("POST", path, form=form, **kw)

    def csrf(self) -> str:
        """The anonymous CSRF token (from the login page) or the session's."""
        page = self.get("/login").text
        marker = 'name="__csrf" value="'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]

    def login(self, user: str, password: str) -> Resp:
        token = self.csrf()
        return self.post(
            "/login",
            {"username": user, "password": password, "__csrf": token, "go": "/"},
            headers={"Origin": self.base},
        )


class Socket:
    """A widget socket: ``send(obj)``, ``entries()`` (every entry received),
    ``sync()`` (returns once the server processed all that was sent)."""

    def __init__(
        self,
        base: str,
        cookies: dict | None = None,
        origin: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        headers = {}
        if cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
        if origin:
            headers["Origin"] = origin
        url = base.replace("http", "ws", 1) + "/widgets/ws"
        self._cm = connect(url, additional_headers=headers, ssl=ssl_context, open_timeout=10)
        self.ws = self._cm.__enter__()
        self.received: list[list] = []
        self._sync = 0

    def send(self, obj: Any) -> None:
        self.ws.send(json.dumps(obj))

    def _recv(self, timeout: float) -> list[list]:
        return json.loads(self.ws.recv(timeout=timeout))

    def recv_entries(self, timeout: float = 5.0) -> list[list]:
        """The next frame's entries (also kept in ``received``)."""
        entries = self._recv(timeout)
        self.received.extend(entries)
        return entries

    def sync(self, timeout: float = 5.0) -> list[list]:
        """Send a time-sync request and return the entries received until its
        reply (not kept in ``received``): everything sent before has been
        handled by then."""
        self._sync += 1
        marker = -float(self._sync)
        self.send({"upd": [["_ws_timesync_channel", marker]]})
        got: list[list] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no time-sync reply within %s s" % timeout)
            for entry in self._recv(left):
                if entry[0] == "_ws_timesync_channel" and entry[1][0] == marker:
                    return got
                got.append(entry)

    def wait_entry(self, predicate: Any, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.received:
                if predicate(entry):
                    self.received.remove(entry)
                    return entry
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    "no matching entry within %s s: %r" % (timeout, self.received)
                )
            try:
                self.recv_entries(left)
            except TimeoutError:
                continue

    def close(self) -> None:
        self._cm.__exit__(None, None, None)

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
