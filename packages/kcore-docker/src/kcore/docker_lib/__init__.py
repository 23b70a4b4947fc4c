"""Docker helpers: find a container's copy-on-write directory, compare the ``latest`` and
``live`` images, and assertions for testing containers.

Everything talks to the engine through the ``docker`` SDK (Docker or Podman's
Docker-compatible API; ``$DOCKER_HOST`` picks the engine), never through a shell.
The SDK is imported on first use, so importing this module is free; the client
is a process-wide default (:func:`get_client`, :func:`set_client`) and every
function also takes ``client=`` for an explicit one.

Assertion helpers raise :class:`ExpectationFailed` (an ``AssertionError``) with
a message saying what was expected and what was found, so they read naturally
in pytest.
"""

__version__ = "0.1.0"

import atexit
import http.client
import os
import secrets
import shlex
import socket
import ssl
import string
import subprocess
import sys
import tarfile
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from kcore.common import KcoreError

# Where ktools keeps container data volumes, and how test instances differ.
DV_BASE = os.environ.get("KTOOLS_DV_BASE", "/rw/dv")
TEST_DV_BASE = os.environ.get("KTOOLS_TEST_DV_BASE", "/rw/dv/TMP")
TEST_PORT_SHIFT = 10000
TEST_NAME_PREFIX = "test-"
IMAGE_PREFIX = "ktools/"
MAX_READ = 1 << 20  # bytes read from a file, socket or web reply, at most
OUT = None  # where emit() writes; None means sys.stderr (looked up at each call)

Expectation = Union[None, str, Sequence[str]]


class DockerLibError(KcoreError):
    """Root of the errors kcore.docker_lib raises."""


class DockerUnavailable(DockerLibError, ImportError):
    """The docker SDK is not installed."""


class EngineError(DockerLibError, ConnectionError):
    """The engine cannot be reached, or refused what was asked."""


class ContainerNotFound(DockerLibError, LookupError):
    """No container has that name."""


class NoCowDir(DockerLibError, LookupError):
    """The container's storage driver has no copy-on-write (upper) directory."""


class ExpectationFailed(DockerLibError, AssertionError):
    """A testing helper found something other than what was expected."""


# ------------------------------------------------------------------- client

_client: Any = None


def _docker() -> Any:
    try:
        import docker
    except ImportError:
        raise DockerUnavailable(
            "kcore.docker_lib needs the docker SDK: pip install 'kcore-docker'"
        ) from None
    return docker


def get_client() -> Any:
    """The process-wide ``docker.DockerClient`` (from ``$DOCKER_HOST`` etc. on first use)."""
    global _client
    if _client is None:
        docker = _docker()
        try:
            _client = docker.from_env()
        except docker.errors.DockerException as e:
            raise EngineError("cannot reach a Docker engine (is $DOCKER_HOST right?): %s" % e)
    return _client


def set_client(client: Any) -> None:
    """Use ``client`` (a ``docker.DockerClient``; None to reconnect lazily) by default."""
    global _client
    _client = client


def _c(client: Any) -> Any:
    return client if client is not None else get_client()


def _errors() -> Any:
    return _docker().errors


def get_container(container_name: str, client: Any = None) -> Any:
    """The container called exactly ``container_name`` (running or not)."""
    if not container_name or not isinstance(container_name, str):
        raise ValueError("container name must be a non-empty string, got %r" % (container_name,))
    try:
        return _c(client).containers.get(container_name)
    except _errors().NotFound:
        raise ContainerNotFound("no container named %r" % container_name) from None


# ------------------------------------------------------------------ queries


def get_cid(container_name: str, client: Any = None, all: bool = False) -> Optional[str]:
    """Id of the running container called exactly ``container_name`` (any state with
    ``all=True``), or None. The name filter matches substrings; this checks equality."""
    for c in _c(client).containers.list(all=all, filters={"name": container_name}):
        if c.name == container_name:
            return str(c.id)
    return None


def _image_id(client: Any, ref: str) -> Optional[str]:
    try:
        return str(client.images.get(ref).id)
    except _errors().ImageNotFound:
        return None


def latest_equals_live(
    container_name: str, client: Any = None, image_prefix: str = IMAGE_PREFIX
) -> str:
    """``'true'`` if ``<prefix><name>:latest`` and ``:live`` are one image, ``'false'`` if
    they differ, ``'unknown'`` if either tag is missing."""
    client = _c(client)
    repo = image_prefix + container_name
    latest = _image_id(client, repo + ":latest")
    live = _image_id(client, repo + ":live")
    if latest is None or live is None:
        return "unknown"
    return "true" if latest == live else "false"


def find_cow_dir(container_name: str, client: Any = None) -> str:
    """The container's copy-on-write directory (the overlay ``UpperDir``)."""
    c = get_container(container_name, client)
    c.reload()
    driver = c.attrs.get("GraphDriver") or {}
    upper = (driver.get("Data") or {}).get("UpperDir")
    if not upper:
        raise NoCowDir(
            "container %r uses storage driver %r, which has no UpperDir"
            % (container_name, driver.get("Name"))
        )
    return str(upper)


get_cow_dir = find_cow_dir


def find_ip_for(name: str, client: Any = None) -> Optional[str]:
    """The container's IP address (its first network's, if several), or None."""
    c = get_container(name, client)
    c.reload()
    net = c.attrs.get("NetworkSettings") or {}
    if net.get("IPAddress"):
        return str(net["IPAddress"])
    for info in (net.get("Networks") or {}).values():
        if info and info.get("IPAddress"):
            return str(info["IPAddress"])
    return None


@dataclass
class ExecOutput:
    returncode: int
    stdout: str
    stderr: str


def run_command_in_container(
    container_name: str,
    cmd: Union[str, Sequence[str]],
    raw_popen: bool = False,
    user: str = "0",
    client: Any = None,
) -> Any:
    """Run ``cmd`` (an argument list; a string is one program name, never a shell line)
    in the running container as ``user`` (root by default). Returns an
    :class:`ExecOutput`, or the SDK's raw ``ExecResult`` with ``raw_popen=True``."""
    c = get_container(container_name, client)
    argv = [cmd] if isinstance(cmd, str) else list(cmd)
    try:
        result = c.exec_run(argv, user=user, demux=True)
    except _errors().APIError as e:
        raise EngineError("cannot run %r in %r: %s" % (argv, container_name, e)) from None
    if raw_popen:
        return result
    out, err = result.output if result.output else (None, None)
    return ExecOutput(
        result.exit_code,
        (out or b"").decode("utf-8", "replace"),
        (err or b"").decode("utf-8", "replace"),
    )


def read_container_file(
    container_name: str, filename: str, client: Any = None, max_bytes: int = MAX_READ
) -> Optional[str]:
    """Text of ``filename`` inside the container (works on stopped containers too), or
    None if it does not exist."""
    import io

    c = get_container(container_name, client)
    try:
        stream, _stat = c.get_archive(filename)
    except _errors().NotFound:
        return None
    buf = io.BytesIO()
    for chunk in stream:
        buf.write(chunk)
        if buf.tell() > max_bytes + 65536:
            raise ValueError(
                "%s in %r is larger than %d bytes" % (filename, container_name, max_bytes)
            )
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        member = tar.next()
        if member is None or not member.isfile():
            return None
        f = tar.extractfile(member)
        data = f.read(max_bytes) if f is not None else b""
    return data.decode("utf-8", "replace")


# ------------------------------------------------------------ test helpers


def emit(msg: str) -> None:
    """A progress line for a test transcript (to :data:`OUT`, by default stderr)."""
    out = OUT if OUT is not None else sys.stderr
    out.write("%s\n" % msg)
    out.flush()


def gen_random_cookie(len: int = 15) -> str:
    """``len`` random letters and digits (from ``secrets``), to tag test data."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(len))


def not_required_host(required_host: str) -> bool:
    """True when this machine is not ``required_host`` (so a test should skip)."""
    return socket.gethostname() != required_host


def socket_exchange(
    sock: socket.socket,
    send_list: Iterable[Union[str, bytes]],
    add_eol: bool = False,
    emit_transcript: bool = False,
    max_bytes: int = 65536,
) -> List[str]:
    """Send each item and read one reply (up to ``max_bytes``) after each; returns the
    replies as text. Set a timeout on ``sock`` first: replies are awaited with it."""
    replies = []
    for item in send_list:
        data = item.encode("utf-8") if isinstance(item, str) else bytes(item)
        if add_eol:
            data += b"\n"
        sock.sendall(data)
        reply = sock.recv(max_bytes).decode("utf-8", "replace")
        if emit_transcript:
            emit("sent: %r" % data)
            emit("got:  %r" % reply)
        replies.append(reply)
    return replies


def init_system_under_test(
    init_cmd: Optional[Sequence[str]] = None, startup_wait_time: float = 2
) -> "subprocess.Popen[bytes]":
    """Start the system's init (``['/etc/init']`` by default) and return it once it has
    run ``startup_wait_time`` seconds without failing; raises if it exits early with
    an error."""
    argv = list(init_cmd) if init_cmd is not None else ["/etc/init"]
    proc = subprocess.Popen(argv)
    deadline = time.monotonic() + startup_wait_time
    while time.monotonic() < deadline:
        rc = proc.poll()
        if rc is not None:
            if rc != 0:
                raise ExpectationFailed("%r exited with status %d while starting" % (argv, rc))
            break
        time.sleep(0.02)
    return proc


def pick_test_port() -> int:
    """``$TESTPORT`` if set, else a free port in 20000..29999."""
    env = os.environ.get("TESTPORT")
    if env:
        try:
            port = int(env)
        except ValueError:
            raise ValueError("$TESTPORT must be a port number, got %r" % env) from None
        if not 0 < port < 65536:
            raise ValueError("$TESTPORT must be 1..65535, got %d" % port)
        return port
    for _ in range(100):
        port = 20000 + secrets.randbelow(10000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise EngineError("no free port found in 20000..29999")


@dataclass
class ContainerData:
    name: str
    ip: Optional[str]
    cow: Optional[str]
    vol_dir: str
    port_shift: int
    settings_dir: str


def check_env_for_prod_mode(control_var: str = "KTOOLS_DRUN_TEST_PROD") -> bool:
    """True if ``$control_var`` asks for testing the production container."""
    return os.environ.get(control_var, "").strip().lower() in ("1", "true", "yes", "on")


def _basedir_name(name: Optional[str]) -> str:
    if name is None or name == "@basedir":
        return os.path.basename(os.path.abspath(os.getcwd()))
    return name


def read_settings(settings: str = "settings.yaml") -> dict:
    """The ``key: value`` (or ``key=value``) lines of a container settings file, as a
    dict of strings; a missing file is an empty dict. Comments (#) are ignored."""
    out: Dict[str, str] = {}
    try:
        with open(settings, encoding="utf-8") as f:
            lines = f.read(MAX_READ).splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        sep = (
            ":" if ":" in line and ("=" not in line or line.index(":") < line.index("=")) else "="
        )
        key, _, value = line.partition(sep)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def start_test_container(
    settings: str = "settings.yaml",
    name: Optional[str] = "@basedir",
    client: Any = None,
    image: Optional[str] = None,
) -> Any:
    """Create and start the test instance ``test-<name>`` of a container from its image
    (``image:`` in the settings file, else ``ktools/<name>:latest``), running
    ``command:`` from the settings file if given (split like a shell would, never run
    by one)."""
    client = _c(client)
    base = _basedir_name(name)
    conf = read_settings(settings)
    image = image or conf.get("image") or "%s%s:latest" % (IMAGE_PREFIX, base)
    command = shlex.split(conf["command"]) if conf.get("command") else None
    cname = TEST_NAME_PREFIX + base
    try:
        c = client.containers.create(image, command, name=cname, labels={"kcore.test": "1"})
    except _errors().APIError as e:
        raise EngineError("cannot create %r from %r: %s" % (cname, image, e)) from None
    try:
        c.start()
    except _errors().APIError as e:
        c.remove(force=True)
        raise EngineError("cannot start %r: %s" % (cname, e)) from None
    return c


def find_or_start_container(
    test_mode: bool,
    name: Optional[str] = "@basedir",
    settings: str = "settings.yaml",
    client: Any = None,
) -> ContainerData:
    """Where the container under test is: the running ``test-<name>`` (started if needed)
    in test mode, the production ``<name>`` otherwise (never started here)."""
    client = _c(client)
    base = _basedir_name(name)
    cname = TEST_NAME_PREFIX + base if test_mode else base
    if get_cid(cname, client) is None:
        if not test_mode:
            raise ContainerNotFound("production container %r is not running" % cname)
        stale = get_cid(cname, client, all=True)
        if stale is not None:
            client.containers.get(stale).remove(force=True)
        start_test_container(settings, base, client)
    return ContainerData(
        name=cname,
        ip=find_ip_for(cname, client),
        cow=find_cow_dir(cname, client),
        vol_dir=os.path.join(TEST_DV_BASE if test_mode else DV_BASE, base),
        port_shift=TEST_PORT_SHIFT if test_mode else 0,
        settings_dir=os.path.dirname(os.path.abspath(settings)),
    )


def find_or_start_container_env(
    control_var: str = "KTOOLS_DRUN_TEST_PROD",
    name: Optional[str] = None,
    settings: str = "settings.yaml",
    client: Any = None,
) -> ContainerData:
    """:func:`find_or_start_container`, in test mode unless ``$control_var`` says prod."""
    return find_or_start_container(
        not check_env_for_prod_mode(control_var), name, settings, client
    )


def stop_container_at_exit(name: str, client: Any = None) -> None:
    """Stop and remove container ``name`` when the process exits."""

    def stop() -> None:
        try:
            c = get_container(name, client)
            c.remove(force=True)
        except Exception as e:  # exiting anyway: say what was left behind
            emit("could not remove container %r at exit: %s" % (name, e))

    atexit.register(stop)


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
            text = f.read(MAX_READ)
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
    size_limit: int = MAX_READ,
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
