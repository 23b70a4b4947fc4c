"""The assertions of :mod:`kcore.docker_lib` (import the names from there):
files, commands (on the host, in the container, in a helper container) and web
replies contain what was expected, else :class:`ExpectationFailed` says what
was found."""

import http.client
import socket
import ssl
import subprocess
import time
import urllib.parse
from typing import Any, List, Optional, Sequence, Tuple, Union

import kcore.docker_lib as _pkg
from kcore.docker_lib._containers import (
    _c,
    _errors,
    read_container_file,
    run_command_in_container,
)
from kcore.docker_lib._exceptions import EngineError, ExpectationFailed

Expectation = Union[None, str, Sequence[str]]


# --------------------------------------------------------------- assertions


def _as_list(expect: Expectation) -> List[str]:
    if expect is None:
        return []
    if isinstance(expect, str):
        return [expect]
    return list(expect)


def _check_text(what: str, text: Optional[str], expect: Expectation, invert: bool = False) -> None:
    text = text or ""
    for needle in _as_list(expect):
        found = needle in text
        if found == invert:
            shown = text if len(text) <= 400 else text[:400] + "...(%d chars)" % len(text)
            raise ExpectationFailed(
                "%s %s %r; it is: %r" % (what, "contains" if invert else "lacks", needle, shown)
            )


def file_expect(
    expect: Expectation, filename: str, invert: bool = False, missing_ok: bool = False
) -> bool:
    """``filename`` contains ``expect`` (a string, or each of a list), or contains none
    of them with ``invert``. A missing file passes only with ``missing_ok``."""
    try:
        with open(filename, encoding="utf-8", errors="replace") as f:
            text = f.read(_pkg.MAX_READ)
    except FileNotFoundError:
        if missing_ok:
            return True
        raise ExpectationFailed("file %s does not exist" % filename) from None
    _check_text("file %s" % filename, text, expect, invert)
    return True


def file_expect_within(
    within_seconds: float,
    expect: Expectation,
    filename: str,
    invert: bool = False,
    missing_ok: bool = False,
    poll_seconds: float = 0.05,
) -> bool:
    """:func:`file_expect`, retried until it passes or ``within_seconds`` have passed."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            return file_expect(expect, filename, invert, missing_ok)
        except ExpectationFailed:
            if time.monotonic() >= deadline:
                raise
        time.sleep(poll_seconds)


def container_file_expect(
    expect: Expectation,
    container_name: str,
    filename: str,
    client: Any = None,
    invert: bool = False,
) -> bool:
    """``filename`` inside the container contains ``expect`` (read through the engine's
    archive API: no shell, works on stopped containers)."""
    text = read_container_file(container_name, filename, client)
    if text is None:
        raise ExpectationFailed("%s does not exist in container %r" % (filename, container_name))
    _check_text("%s in %s" % (filename, container_name), text, expect, invert)
    return True


def _check_run(
    argv: Any,
    rc: int,
    out: str,
    err: str,
    expect_out: Expectation,
    expect_err: Expectation,
    expect_returncode: Optional[int],
) -> Tuple[str, str]:
    _check_text("stdout of %r" % (argv,), out, expect_out)
    _check_text("stderr of %r" % (argv,), err, expect_err)
    if expect_returncode is not None and rc != expect_returncode:
        raise ExpectationFailed(
            "%r exited with %d, expected %d; stderr: %r" % (argv, rc, expect_returncode, err[:400])
        )
    return out, err


def popen_expect(
    cmd: Sequence[str],
    expect_out: Expectation,
    expect_err: Expectation = None,
    expect_returncode: Optional[int] = None,
    send_in: Optional[str] = None,
    timeout: float = 60,
) -> Tuple[str, str]:
    """Run ``cmd`` (an argument list, no shell) and check its output; returns
    ``(stdout, stderr)``."""
    if isinstance(cmd, str):
        raise TypeError("cmd must be an argument list, not a string (no shell is used)")
    argv = list(cmd)
    proc = subprocess.run(
        argv, input=send_in, capture_output=True, text=True, timeout=timeout, check=False
    )
    return _check_run(
        argv, proc.returncode, proc.stdout, proc.stderr, expect_out, expect_err, expect_returncode
    )


def popen_inside_expect(
    container_name: str,
    cmd: Sequence[str],
    expect_out: Expectation,
    expect_err: Expectation = None,
    expect_returncode: Optional[int] = None,
    client: Any = None,
) -> Tuple[str, str]:
    """:func:`popen_expect` for a command run inside the (running) container."""
    r = run_command_in_container(container_name, cmd, client=client)
    return _check_run(
        cmd, r.returncode, r.stdout, r.stderr, expect_out, expect_err, expect_returncode
    )


def testing_container_expect(
    cmd: Sequence[str],
    expect_out: Expectation,
    expect_err: Expectation = None,
    image: str = "alpine",
    client: Any = None,
) -> Tuple[str, str]:
    """Run ``cmd`` in a throw-away helper container of ``image`` and check its output."""
    client = _c(client)
    errors = _errors()
    try:
        c = client.containers.create(image, list(cmd))
    except errors.APIError as e:
        raise EngineError("cannot create a %r helper container: %s" % (image, e)) from None
    try:
        try:
            c.start()
        except errors.APIError as e:
            raise EngineError("cannot start a %r helper container: %s" % (image, e)) from None
        rc = c.wait().get("StatusCode", -1)
        out = c.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = c.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    finally:
        c.remove(force=True)
    return _check_run(list(cmd), rc, out, err, expect_out, expect_err, None)


def web_expect(
    expect: Expectation,
    server: str,
    path: str,
    port: int = 80,
    expect_status: Optional[int] = None,
    post_params: Optional[dict] = None,
    headers: Optional[dict] = None,
    https: bool = False,
    timeout: float = 2,
    size_limit: int = _pkg.MAX_READ,
    proxy_host: Optional[str] = None,
    verify_ssl: bool = True,
) -> str:
    """Fetch ``path`` from ``server`` (GET, or a form POST with ``post_params``) and check
    the body contains ``expect`` and the status is ``expect_status``. ``proxy_host``
    connects there instead while still asking for ``server`` (Host header, TLS SNI).
    Reads at most ``size_limit`` bytes of the body. Returns the body."""
    if not path.startswith("/"):
        path = "/" + path
    connect_to = proxy_host or server
    conn: http.client.HTTPConnection
    if https:
        ctx = ssl.create_default_context()
        if not verify_ssl:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        conn = _SNIHTTPSConnection(connect_to, port, server, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(connect_to, port, timeout=timeout)
    hdrs = {"Host": server if port in (80, 443) else "%s:%d" % (server, port)}
    hdrs.update(headers or {})
    body = None
    method = "GET"
    if post_params is not None:
        method = "POST"
        body = urllib.parse.urlencode(post_params)
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    url = "%s://%s:%d%s" % ("https" if https else "http", server, port, path)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        status = resp.status
        text = resp.read(size_limit).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        raise ExpectationFailed("cannot fetch %s: %s" % (url, e)) from None
    finally:
        conn.close()
    if expect_status is not None and status != expect_status:
        raise ExpectationFailed("%s answered %d, expected %d" % (url, status, expect_status))
    _check_text("reply from %s" % url, text, expect)
    return text


class _SNIHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one address while naming another host (for ``proxy_host``)."""

    def __init__(self, host: str, port: int, server_name: str, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            sock, server_hostname=self._server_name
        )
