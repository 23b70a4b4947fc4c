"""The engine client and container queries of :mod:`kcore.docker_lib` (import
the names from there): the process-wide ``docker`` SDK client, finding a
container, its id, IP and copy-on-write directory, running a command in it and
reading a file from it."""

import tarfile
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import kcore.docker_lib as _pkg
from kcore.docker_lib._exceptions import (
    ContainerNotFound,
    DockerUnavailable,
    EngineError,
    NoCowDir,
)

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
    container_name: str, client: Any = None, image_prefix: str = _pkg.IMAGE_PREFIX
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
    container_name: str, filename: str, client: Any = None, max_bytes: int = _pkg.MAX_READ
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
