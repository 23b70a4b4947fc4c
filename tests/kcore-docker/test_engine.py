"""kcore.docker_lib against a real engine (podman's Docker-compatible service, and the
engine at $DOCKER_HOST when set)."""

import os

import pytest

from kcore import docker_lib as dl

MARKER = "kcore docker_lib test file\n"


@pytest.fixture
def box(engine, import_image, unique):
    """A created (not started) container of a freshly imported image ktools/<name>:latest."""
    name = "kcoretest-" + unique
    import_image(engine, "ktools/" + name, "latest")
    c = engine.containers.create(
        "ktools/%s:latest" % name, ["/bin/busybox", "sleep", "600"], name=name
    )
    yield name, c
    c.remove(force=True)
    for ref in ("ktools/%s:latest" % name, "ktools/%s:live" % name):
        try:
            engine.images.remove(ref, force=True)
        except Exception:
            pass


def test_find_cow_dir_is_the_upper_dir_on_disk(engine, box):
    name, c = box
    cow = dl.find_cow_dir(name, client=engine)
    c.reload()
    assert cow == c.attrs["GraphDriver"]["Data"]["UpperDir"]
    if engine.api.base_url.startswith("http+docker://localhost"):
        assert os.path.isdir(cow)  # a local engine: the directory is on this machine
    assert dl.get_cow_dir(name, client=engine) == cow


def test_get_cid_matches_exact_names(engine, box):
    name, c = box
    assert dl.get_cid(name, client=engine) is None  # created, not running
    assert dl.get_cid(name, client=engine, all=True) == c.id
    assert dl.get_cid(name[:-1], client=engine, all=True) is None  # no substring matches


def test_latest_equals_live(engine, box, import_image):
    name, _ = box
    assert dl.latest_equals_live(name, client=engine) == "unknown"  # no live tag yet
    engine.images.get("ktools/%s:latest" % name).tag("ktools/" + name, "live")
    assert dl.latest_equals_live(name, client=engine) == "true"
    import_image(engine, "ktools/" + name, "latest", {"etc/version": "2\n"})
    assert dl.latest_equals_live(name, client=engine) == "false"


def test_read_file_from_a_stopped_container(engine, box):
    name, _ = box
    assert dl.read_container_file(name, "/etc/kcore-test", client=engine) == MARKER
    assert dl.read_container_file(name, "/etc/missing", client=engine) is None
    assert dl.container_file_expect("docker_lib test", name, "/etc/kcore-test", client=engine)
    with pytest.raises(dl.ExpectationFailed, match="lacks 'nope'"):
        dl.container_file_expect("nope", name, "/etc/kcore-test", client=engine)
    with pytest.raises(AssertionError, match="does not exist"):
        dl.container_file_expect("x", name, "/etc/missing", client=engine)


def test_unknown_container_is_a_lookup_error(engine):
    with pytest.raises(dl.ContainerNotFound) as e:
        dl.find_cow_dir("no-such-container-kcore", client=engine)
    assert isinstance(e.value, LookupError)
    with pytest.raises(LookupError):
        dl.find_ip_for("no-such-container-kcore", client=engine)


def test_names_are_not_shell_lines(engine):
    with pytest.raises(dl.ContainerNotFound):
        dl.find_cow_dir("x; touch /tmp/kcore-pwned", client=engine)
    assert not os.path.exists("/tmp/kcore-pwned")


def test_stopped_container_has_no_ip(engine, box):
    name, _ = box
    assert dl.find_ip_for(name, client=engine) in (None, "")


def test_exec_in_running_container(engine, box, start_or_skip):
    name, c = box
    start_or_skip(c)
    r = dl.run_command_in_container(
        name, ["/bin/busybox", "cat", "/etc/kcore-test"], client=engine
    )
    assert r.returncode == 0 and r.stdout == MARKER
    dl.popen_inside_expect(name, ["/bin/busybox", "id", "-u"], "0", client=engine)
    assert dl.get_cid(name, client=engine) == c.id


def test_find_or_start_container_in_test_mode(
    engine, import_image, unique, tmp_path, monkeypatch, start_or_skip
):
    base = "kcorebox-" + unique
    import_image(engine, "ktools/" + base, "latest")
    settings = tmp_path / "settings.yaml"
    settings.write_text("image: ktools/%s:latest\ncommand: /bin/busybox sleep 300\n" % base)
    try:
        try:
            data = dl.find_or_start_container(True, base, str(settings), client=engine)
        except dl.EngineError as e:
            if "cannot start" not in str(e):
                raise
            pytest.skip("this engine cannot start containers here (%s)" % str(e)[:300])
        assert data.name == "test-" + base and data.port_shift == dl.TEST_PORT_SHIFT
        assert data.cow == dl.find_cow_dir(data.name, client=engine)
        assert data.settings_dir == str(tmp_path)
    finally:
        for c in engine.containers.list(all=True, filters={"name": "test-" + base}):
            c.remove(force=True)
        engine.images.remove("ktools/%s:latest" % base, force=True)


def test_start_failure_cleans_up(engine, import_image, unique, tmp_path):
    """Whether or not this engine can start containers, no half-made test container stays."""
    base = "kcorefail-" + unique
    settings = tmp_path / "settings.yaml"
    settings.write_text("image: ktools/%s:latest\n" % base)  # never imported
    with pytest.raises(dl.EngineError, match="cannot create"):
        dl.start_test_container(str(settings), base, client=engine)
    assert dl.get_cid("test-" + base, client=engine, all=True) is None


def test_production_container_is_never_started(engine, unique):
    with pytest.raises(dl.ContainerNotFound, match="not running"):
        dl.find_or_start_container(False, "kcoreprod-" + unique, client=engine)


def test_default_client_from_docker_host(engine, monkeypatch):
    url = engine.api.base_url
    if not url.startswith("http+docker://"):
        pytest.skip("not a unix-socket engine")
    sock = engine.api.base_url  # the SDK keeps the socket path elsewhere for unix sockets
    path = getattr(engine.api, "_custom_adapter", None)
    path = getattr(path, "socket_path", None)
    if not path:
        pytest.skip("cannot tell this engine's socket path (%s)" % sock)
    monkeypatch.setenv("DOCKER_HOST", "unix://" + path)
    dl.set_client(None)
    try:
        assert dl.get_client().ping()
    finally:
        dl.set_client(None)


def test_exec_in_a_stopped_container_is_an_engine_error(engine, box):
    name, _ = box
    with pytest.raises(dl.EngineError, match="cannot run") as e:
        dl.run_command_in_container(name, ["/bin/busybox", "true"], client=engine)
    assert isinstance(e.value, ConnectionError)


def test_helper_container_never_pulls(engine, unique):
    """A missing helper image is an error, not a download from a registry."""
    with pytest.raises(dl.EngineError, match="cannot create"):
        dl.testing_container_expect(["true"], None, image="kcore-absent-" + unique, client=engine)


def test_helper_container_runs_a_command(engine, import_image, unique):
    repo = "kcorehelper-" + unique
    import_image(engine, repo, "latest")
    try:
        try:
            out, _ = dl.testing_container_expect(
                ["/bin/busybox", "cat", "/etc/kcore-test"],
                "docker_lib test",
                image=repo + ":latest",
                client=engine,
            )
        except dl.EngineError as e:
            if "cannot start" not in str(e):
                raise
            pytest.skip("this engine cannot start containers here (%s)" % str(e)[:300])
        assert out == MARKER
    finally:
        assert not engine.containers.list(all=True, filters={"ancestor": repo + ":latest"})
        engine.images.remove(repo + ":latest", force=True)
