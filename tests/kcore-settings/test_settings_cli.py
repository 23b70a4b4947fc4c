"""k_settings: output formats, host + local files, shell-safe output for eval."""

import argparse
import os
import shutil
import subprocess
import sys

import pytest

from kcore.settings import main, parse_main_args


@pytest.fixture
def project(write, tmp_path, monkeypatch):
    """A cwd with settings.yaml and a HOME with .ktools.settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    write("home/.ktools.settings", "host_only: h\nshared: from-host\n")
    write(
        "proj/settings.yaml",
        """\
        shared: from-project
        empty:
        yes_flag: true
        no_flag: false
        items: [a, b, 3]
        spaced: two words
        """,
    )
    monkeypatch.chdir(tmp_path / "proj")
    return tmp_path


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_name_value_lines(project, capsys):
    rc, out, _ = run(
        capsys, "shared", "host_only", "empty", "yes_flag", "no_flag", "items", "nope"
    )
    assert rc == 0
    assert out.splitlines() == [
        "shared=from-project",  # settings.yaml wins over the host file
        "host_only=h",
        "empty=''",
        "yes_flag=1",
        "no_flag=0",
        "items='a b 3'",
        "nope=''",
    ]


def test_original_output_mode(project, write, capsys, tmp_path):
    rc, out, _ = run(capsys, "-o", "shared", "host_only", "empty", "yes_flag", "no_flag", "nope")
    # What the original printed: name=value, nothing after '=' when empty.
    assert (rc, out.splitlines()) == (
        0,
        ["shared=from-project", "host_only=h", "empty=", "yes_flag=1", "no_flag=0", "nope="],
    )
    plain = write(
        "plain.yaml", "home: ~/x\nglob: 'logs/*.log'\npct: 50%\nname: Zoë\nurl: a:b/c?d=e\n"
    )
    out = run(capsys, "-H", str(tmp_path / "none"), "-s", plain, "-o", "-a")[1]
    for line in ("home=~/x", "glob=logs/*.log", "pct=50%", "name=Zoë", "url=a:b/c?d=e"):
        assert line in out.splitlines()
    # Values the shell would act on are still quoted (the original printed them bare).
    assert run(capsys, "-o", "spaced", "items")[1] == "spaced='two words'\nitems='a b 3'\n"
    assert run(capsys, "-o", "-q", "shared")[1] == "shared='from-project'\n"


def test_print_options(project, capsys):
    assert run(capsys, "-c", "shared")[1] == "SHARED=from-project\n"
    assert run(capsys, "-b", "spaced", "shared")[1] == "two words\nfrom-project\n"
    assert run(capsys, "-q", "shared")[1] == "shared='from-project'\n"
    assert run(capsys, "-b", "-q", "spaced")[1] == "'two words'\n"
    report = run(capsys, "-R", "shared", "nope")[1].splitlines()
    assert report[0].split() == ["shared", "from-project", "file", "settings.yaml"]
    assert report[1].split() == ["nope", "not", "set"]
    assert run(capsys, "-n", "shared")[1] == "shared=from-project\n"


def test_all(project, capsys):
    out = run(capsys, "-a")[1]
    names = [line.split("=", 1)[0] for line in out.splitlines()]
    for name in ("host_only", "shared", "items", "_settings_filename", "_settings_basedir"):
        assert name in names


def test_explicit_files_and_type(write, capsys, tmp_path):
    e = write("x.conf", "k=v\n")
    rc, out, _ = run(capsys, "-H", str(tmp_path / "none"), "-s", e, "-t", "env", "k")
    assert (rc, out) == (0, "k=v\n")


def test_corrupt_file_is_a_clean_error(write, capsys, tmp_path):
    bad = write("bad.yaml", "a: [1\n")
    rc, out, err = run(capsys, "-H", str(tmp_path / "none"), "-s", bad, "a")
    assert rc == 1 and out == ""
    assert err.startswith("k_settings: error: %s, line 2" % bad)


def test_parse_main_args():
    assert isinstance(parse_main_args([]), argparse.ArgumentParser)
    ns = parse_main_args(["-a", "-R", "x"])
    assert ns.all and ns.report and ns.names == ["x"]
    assert ns.settings == "settings.yaml" and ns.host_settings == "${HOME}/.ktools.settings"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_output_is_safe_to_eval(write, tmp_path):
    marker = tmp_path / "pwned"
    evil = write(
        "evil.yaml",
        """\
        a: "x $(touch %s)"
        b: "x'; touch %s; echo '"
        "c; touch %s": 1
        d: "line1\\nline2"
        e: "`touch %s`"
        """
        % (marker, marker, marker, marker),
    )
    for mode in ([], ["-o"]):
        cmd = [sys.executable, "-m", "kcore.settings", "-H", "/nonexistent", "-s", evil, "-a"]
        out = subprocess.run(cmd + mode, capture_output=True, text=True, check=True).stdout
        script = 'eval "$1"\nprintf "%s|" "$a" "$b" "$d" "$e"\n'
        r = subprocess.run(["bash", "-c", script, "bash", out], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert not marker.exists()
        assert r.stdout == "x $(touch %s)|x'; touch %s; echo '|line1\nline2|`touch %s`|" % (
            marker,
            marker,
            marker,
        )
        assert "c__touch" in out  # a key that is not a shell name is made into one


def test_console_script_is_installed(project):
    exe = shutil.which("k_settings", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("console script not on this venv's bin path")
    r = subprocess.run([exe, "shared"], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "shared=from-project\n")


def test_readme_example_runs(tmp_path):
    import pathlib

    readme = pathlib.Path(__file__).resolve().parents[2] / "packages/kcore-settings/README.md"
    code = readme.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    env = {k: v for k, v in os.environ.items() if k not in ("APP_PORT", "APP_PASSWORD")}
    env["TMPDIR"] = str(tmp_path)  # the example's mkdtemp() lands under pytest's tmp
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("file ") and (
        r.stdout.splitlines()[-1] == "'pi': Host(ip='10.0.0.5', port=22)"
    )
