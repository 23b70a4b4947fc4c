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

The parts live in private modules (import every name from here): ``_exceptions``,
``_containers`` (the client and container queries), ``_testenv`` (setting up a
system under test) and ``_expect`` (the assertions).
"""

__version__ = "0.1.0"

import os

# Settings, which a program may change (``kcore.docker_lib.OUT = buf``): the
# helpers read them from this package when called, so they are set here, before
# the parts below are imported.
# Where ktools keeps container data volumes, and how test instances differ.
DV_BASE = os.environ.get("KTOOLS_DV_BASE", "/rw/dv")
TEST_DV_BASE = os.environ.get("KTOOLS_TEST_DV_BASE", "/rw/dv/TMP")
TEST_PORT_SHIFT = 10000
TEST_NAME_PREFIX = "test-"
IMAGE_PREFIX = "ktools/"
MAX_READ = 1 << 20  # bytes read from a file, socket or web reply, at most
OUT = None  # where emit() writes; None means sys.stderr (looked up at each call)

from kcore.docker_lib._containers import (  # noqa: E402, F401 - re-exported
    ExecOutput,
    find_cow_dir,
    find_ip_for,
    get_cid,
    get_client,
    get_container,
    get_cow_dir,
    latest_equals_live,
    read_container_file,
    run_command_in_container,
    set_client,
)
from kcore.docker_lib._exceptions import (  # noqa: E402, F401 - re-exported
    ContainerNotFound,
    DockerLibError,
    DockerUnavailable,
    EngineError,
    ExpectationFailed,
    NoCowDir,
)
from kcore.docker_lib._expect import (  # noqa: E402, F401 - re-exported
    Expectation,
    container_file_expect,
    file_expect,
    file_expect_within,
    popen_expect,
    popen_inside_expect,
    testing_container_expect,
    web_expect,
)
from kcore.docker_lib._testenv import (  # noqa: E402, F401 - re-exported
    ContainerData,
    check_env_for_prod_mode,
    emit,
    find_or_start_container,
    find_or_start_container_env,
    gen_random_cookie,
    init_system_under_test,
    not_required_host,
    pick_test_port,
    read_settings,
    socket_exchange,
    start_test_container,
    stop_container_at_exit,
)
