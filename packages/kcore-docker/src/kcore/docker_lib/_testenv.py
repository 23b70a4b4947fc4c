"""Setting up a system under test with :mod:`kcore.docker_lib` (import the names
from there): transcript lines, random cookies, ports, the settings file, and
finding or starting the test instance of a container."""

import atexit
import os
import secrets
import shlex
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import kcore.docker_lib as _pkg
from kcore.docker_lib._containers import (
    _c,
    _errors,
    find_cow_dir,
    find_ip_for,
    get_cid,
    get_container,
)
from kcore.docker_lib._exceptions import ContainerNotFound, EngineError, ExpectationFailed

# ------------------------------------------------------------ test helpers


def emit(msg: str) -> None:
    """A progress line for a test transcript (to :data:`OUT`, by default stderr)."""
    out = _pkg.OUT if _pkg.OUT is not None else sys.stderr
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
            lines = f.read(_pkg.MAX_READ).splitlines()
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
    image = image or conf.get("image") or "%s%s:latest" % (_pkg.IMAGE_PREFIX, base)
    command = shlex.split(conf["command"]) if conf.get("command") else None
    cname = _pkg.TEST_NAME_PREFIX + base
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
    cname = _pkg.TEST_NAME_PREFIX + base if test_mode else base
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
        vol_dir=os.path.join(_pkg.TEST_DV_BASE if test_mode else _pkg.DV_BASE, base),
        port_shift=_pkg.TEST_PORT_SHIFT if test_mode else 0,
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
