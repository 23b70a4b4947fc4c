"""A real Docker-API engine for the tests: Podman's Docker-compatible service, started
here on a private unix socket with private storage, and (when set) the engine at
$DOCKER_HOST. Images are imported from a rootfs tar holding busybox-static's binary."""

import io
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile

import pytest
from ktest import ServerProcess, wait_for

BUSYBOX = "/bin/busybox"
MARKER = "kcore docker_lib test file\n"


def _ping(client):
    try:
        return client.ping()
    except Exception:  # not up yet
        return False


@pytest.fixture(scope="session")
def podman_client():
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (Debian: apt-get install -y podman)")
    import docker

    # podman refuses a runroot longer than 50 characters: pytest's temporary
    # folders grow past that, so the engine gets a short folder of its own.
    base = pathlib.Path(tempfile.mkdtemp(prefix="kcpod-", dir="/tmp"))
    sock = base / "engine.sock"
    service = ServerProcess(
        [
            "podman",
            "--root",
            str(base / "root"),
            "--runroot",
            str(base / "run"),
            "--storage-driver",
            "overlay",
            "system",
            "service",
            "--time=0",
            "unix://%s" % sock,
        ],
        ready=sock.exists,
        timeout=30,
        log_path=str(base / "service.log"),
    )
    try:
        try:
            service.start()
        except AssertionError as e:
            pytest.skip("podman system service could not start here: %s" % str(e)[-500:])
        client = docker.DockerClient(base_url="unix://%s" % sock, timeout=60)
        wait_for(lambda: _ping(client), timeout=30, what="the podman engine to answer")
        yield client
        client.close()
    finally:
        service.stop()
        # podman bind-mounts its overlay directory onto itself; undo it so the
        # temporary folder can be deleted.
        overlay = base / "root" / "overlay"
        if overlay.exists():  # a bind mount on the same device: ismount() cannot tell
            subprocess.run(["umount", str(overlay)], check=False, capture_output=True)
        shutil.rmtree(str(base), ignore_errors=True)


def rootfs_tar(extra_files=None):
    """A tiny root filesystem: busybox (static) plus the marker file and ``extra_files``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(BUSYBOX, arcname="bin/busybox")
        files = {"etc/kcore-test": MARKER}
        files.update(extra_files or {})
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="session")
def import_image():
    """import_image(client, repo, tag, extra_files=None) -> image id, from a rootfs tar."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("%s is missing (Debian: apt-get install -y busybox-static)" % BUSYBOX)

    def do_import(client, repo, tag, extra_files=None):
        client.api.import_image_from_data(
            rootfs_tar(extra_files),
            repository=repo,
            tag=tag,
            changes=['CMD ["/bin/busybox", "sleep", "600"]'],
        )
        return client.images.get("%s:%s" % (repo, tag)).id

    return do_import


@pytest.fixture(params=["podman", "DOCKER_HOST"])
def engine(request):
    """Each engine test runs against the podman service here and, if $DOCKER_HOST is
    set, against that engine too."""
    if request.param == "podman":
        return request.getfixturevalue("podman_client")
    if not os.environ.get("DOCKER_HOST"):
        pytest.skip("$DOCKER_HOST is not set: no external engine to test against")
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:
        pytest.skip("$DOCKER_HOST=%s does not answer: %s" % (os.environ["DOCKER_HOST"], e))
    return client


@pytest.fixture
def unique():
    """A unique lowercase suffix for container and image names."""
    import secrets

    return secrets.token_hex(4)


START_FAILS = "this engine cannot start containers here"


@pytest.fixture
def start_or_skip():
    """start_or_skip(container): start it, or skip the test with the engine's reason (on
    this machine crun may not get the cgroups/rlimits it needs)."""
    import docker

    def start(container):
        try:
            container.start()
        except docker.errors.APIError as e:
            pytest.skip("%s (%s)" % (START_FAILS, str(e)[:300]))

    return start
