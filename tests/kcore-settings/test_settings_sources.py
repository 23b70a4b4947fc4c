"""kcore.settings: every source, the precedence order, special args, references."""

import argparse
import os
import subprocess
import sys

import pytest

import kcore.settings as S
from kcore.settings import Setting, Settings, SettingsError, SettingsGroup, eval_bool


def _parsed(settings, argv):
    ap = argparse.ArgumentParser()
    settings.add_flags(ap)
    settings.set_args(ap.parse_args(argv))


# ------------------------------------------------------------------ formats


def test_yaml_file(write):
    path = write("s.yaml", "a: 1\nb: text\nc: [x, y]\n")
    s = Settings(path)
    assert s["a"] == 1 and s["b"] == "text" and s["c"] == ["x", "y"]
    assert s.get_setting("b").how == "file " + path


def test_env_file(write):
    path = write(
        "s.env",
        """\
        # comment
        a=1
        export b = "two words"
        c='x=y'
        d=
        """,
    )
    s = Settings(path)
    assert s.get_dict()["a"] == "1"
    assert s["b"] == "two words"
    assert s["c"] == "x=y"
    assert s["d"] == ""


def test_dict_file_is_parsed_as_a_literal(write):
    path = write("s.dict", "{'a': 1, 'b': ['x', 2], 'c': None}\n")
    s = Settings(path)
    assert s["a"] == 1 and s["b"] == ["x", 2] and s["c"] is None


def test_dict_file_is_never_evaluated(write, tmp_path):
    marker = tmp_path / "pwned"
    path = write("s.dict", "{'a': __import__('os').system('touch %s')}\n" % marker)
    with pytest.raises(SettingsError, match=r"s\.dict, line 1: only literals"):
        Settings(path)
    assert not marker.exists()


def test_settings_from_strings_and_sniffing():
    s = Settings()
    assert s.parse_settings_data("a: 1\nb: two\n", "yaml") == {"a": 1, "b": "two"}
    s.parse_settings_data("c=3\nd = four\n")  # sniffed: name=value
    s.parse_settings_data("{'e': 5}")  # sniffed: dict literal
    s.parse_settings_data("f: {g: 6}")  # sniffed: YAML
    s.parse_settings_data("{h: 7, i: [8]}")  # a YAML flow mapping, not a dict literal
    assert (s["a"], s["b"], s["c"], s["d"], s["e"], s["f"]) == (1, "two", "3", "four", 5, {"g": 6})
    assert (s["h"], s["i"]) == (7, [8])
    with pytest.raises(SettingsError, match="unknown settings data type"):
        s.parse_settings_data("a: 1", "toml")


def test_empty_and_comment_only_yaml_files(write):
    assert Settings(write("e.yaml", "")).get_dict() == {
        "_settings_filename": write("e.yaml", ""),
        "_settings_basedir": os.path.basename(os.path.dirname(write("e.yaml", ""))),
    }
    s = Settings(write("c.yaml", "# only a comment\n"))
    assert s.get("anything") is None


@pytest.mark.parametrize(
    "name, text, line, what",
    [
        ("bad.yaml", "a: 1\nb: [unclosed\nc: 3\n", 3, "not valid YAML"),
        ("tab.yaml", "a: 1\nb:\n\tc: 2\n", 3, "not valid YAML"),
        ("bad.env", "a=1\nthis line has no equals sign\n", 2, "without '='"),
        ("bad.dict", "{'a': 1,\n 'b': }\n", 2, "not a valid dict literal"),
    ],
)
def test_corrupt_settings_file_names_file_and_line(write, name, text, line, what):
    path = write(name, text)
    with pytest.raises(SettingsError) as e:
        Settings(path)
    msg = str(e.value)
    assert msg.startswith("%s, line %d: " % (path, line)), msg
    assert what in msg
    assert isinstance(e.value, ValueError)


def test_yaml_that_is_not_a_mapping(write):
    path = write("list.yaml", "- a\n- b\n")
    with pytest.raises(SettingsError, match=r"must be a mapping.*not a list"):
        Settings(path)


def test_unknown_extension_is_an_error(write):
    path = write("s.ini", "a=1\n")
    with pytest.raises(SettingsError, match=r"unknown settings file type '\.ini'"):
        Settings(path)
    assert Settings(path, settings_data_type="env")["a"] == "1"


def test_not_utf8(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(SettingsError, match="not UTF-8"):
        Settings(str(path))


def test_none_and_missing_files_load_nothing(tmp_path):
    s = Settings()
    assert s.parse_settings_file(None) is False  # the original raised TypeError
    assert s.parse_settings_file(str(tmp_path / "missing.yaml")) is False
    assert Settings(None).get_dict() == {}


def test_list_and_glob_later_file_wins(write, tmp_path):
    a = write("conf/10-a.yaml", "x: a\ny: a\n")
    b = write("conf/20-b.yaml", "x: b\n")
    s = Settings([a, b])
    assert (s["x"], s["y"]) == ("b", "a")
    assert s["_settings_filename"] == b
    assert s["_settings_basedir"] == "conf"
    g = Settings(str(tmp_path / "conf" / "*.yaml"))
    assert g["x"] == "b"


def test_home_expansion_in_filenames(write, tmp_path, monkeypatch):
    write("home/.my.settings", "k: v\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Settings("${HOME}/.my.settings")["k"] == "v"
    assert Settings("$HOME/.my.settings")["k"] == "v"
    assert Settings("~/.my.settings")["k"] == "v"


def test_loading_clears_cached_values(write):
    s = Settings(write("a.yaml", "x: 1\n"))
    assert s["x"] == 1
    s.parse_settings_file(write("b.yaml", "x: 2\n"))
    assert s["x"] == 2


# ------------------------------------------------------------------ includes


def test_include_looks_in_the_current_directory_then_the_including_files(
    write, tmp_path, monkeypatch
):
    write("conf/base.yaml", "a: base\nb: base\n")
    main = write("conf/main.yaml", "!include base.yaml\na: main\n")
    monkeypatch.chdir(tmp_path)  # no base.yaml here: the including file's directory
    s = Settings(main)
    assert s["a"] == "main"  # the includer wins
    assert s["b"] == "base"
    assert s.get_setting("b").how == "file " + os.path.join(str(tmp_path / "conf"), "base.yaml")
    write("base.yaml", "b: from-cwd\n")  # the current directory comes first
    assert Settings(main)["b"] == "from-cwd"
    with pytest.raises(SettingsError, match=r"looked in the current directory and .*conf"):
        Settings(write("conf/m2.yaml", "!include nowhere.yaml\n"))


def test_include_directory_and_glob(write):
    write("conf/d/1.yaml", "a: 1\n")
    write("conf/d/2.env", "b=2\n")
    write("conf/d/README.md", "# not settings\n")
    write("conf/g/x.yaml", "c: 3\n")
    main = write("conf/main.yaml", "!include d\n!include g/*.yaml\n")
    s = Settings(main)
    assert (s["a"], s["b"], s["c"]) == (1, "2", 3)


def test_include_in_env_and_dict_files(write):
    write("inc.env", "x=from-inc\n")
    e = write("m.env", "!include inc.env\ny=1\n")
    d = write("m.dict", "!include inc.env\n{'z': 2}\n")
    assert Settings(e)["x"] == "from-inc"
    assert Settings(d)["x"] == "from-inc" and Settings(d)["z"] == 2


def test_include_errors(write):
    bad = write("bad.yaml", "a: 1\n!include nowhere.yaml\n")
    with pytest.raises(SettingsError, match=r"bad\.yaml, line 2: !include 'nowhere.yaml'"):
        Settings(bad)
    a = write("cyc/a.yaml", "!include b.yaml\n")
    write("cyc/b.yaml", "!include a.yaml\n")
    with pytest.raises(SettingsError, match=r"include cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        Settings(a)
    me = write("self.yaml", "!include self.yaml\n")
    with pytest.raises(SettingsError, match="cycle"):
        Settings(me)


def test_include_depth_is_bounded(write):
    n = S.MAX_INCLUDE_DEPTH + 2
    for i in range(n):
        write("deep/%d.yaml" % i, "!include %d.yaml\nv%d: %d\n" % (i + 1, i, i))
    write("deep/%d.yaml" % n, "end: 1\n")
    with pytest.raises(SettingsError, match="deeper than %d" % S.MAX_INCLUDE_DEPTH):
        Settings(write("deep/0.yaml", "!include 1.yaml\n"))


def test_error_line_numbers_survive_include_lines(write):
    write("inc.yaml", "a: 1\n")
    path = write("m.yaml", "!include inc.yaml\nb: 2\nc: [oops\n")
    with pytest.raises(SettingsError, match=r"m\.yaml, line 4"):
        Settings(path)


# ------------------------------------------------------------------ precedence


def test_precedence_order(write, clean_env):
    path = write("s.yaml", "p: file\n")
    setting = Setting(
        "p", override_env_name="KST_OVERRIDE", env_name="KST_DEFAULT", default="default"
    )
    s = Settings(path, add_Settings=[setting], flag_prefix="")
    clean_env.setenv("KST_OVERRIDE", "override-env")
    clean_env.setenv("KST_DEFAULT", "default-env")
    _parsed(s, ["-p", "flag"])

    assert s.get("p") == "override-env"
    assert setting.how == "override environment variable $KST_OVERRIDE"
    clean_env.delenv("KST_OVERRIDE")
    assert s.get("p") == "override-env"  # cached until asked otherwise
    assert s.get("p", ignore_cache=True) == "flag"
    assert setting.how == "flag -p"
    _parsed(s, [])
    assert s["p"] == "file"
    assert setting.how == "file " + path
    s.settings_file_values.pop("p")
    s.reset_cached_values()
    assert s["p"] == "default-env"
    assert setting.how == "environment variable $KST_DEFAULT"
    clean_env.delenv("KST_DEFAULT")
    s.reset_cached_values()
    assert s["p"] == "default"
    assert setting.how == "default string"


def test_empty_env_names_mean_the_setting_name(clean_env):
    s = Settings()
    s.add_setting("KST_A", override_env_name="")
    s.add_setting("KST_B", env_name="")
    clean_env.setenv("KST_A", "a")
    clean_env.setenv("KST_B", "b")
    assert (s["KST_A"], s["KST_B"]) == ("a", "b")


def test_setting_name_maps_a_file_key(write):
    s = Settings(write("s.yaml", "db-host: example\n"))
    s.add_setting("db_host", setting_name="db-host")
    assert s["db_host"] == "example"


def test_defaults():
    s = Settings()
    s.add_setting("str", default="x")
    s.add_setting("call", default=lambda: "called")
    s.add_setting("num", default=5)
    s.add_setting("zero", default=0)
    s.add_setting("flag", default=False)
    s.add_setting("lst", default=["a"])
    s.add_setting("none")
    assert s["str"] == "x" and s.get_setting("str").how == "default string"
    assert s["call"] == "called" and s.get_setting("call").how == "default callable"
    assert s["num"] == "5"  # the original's str() of non-str defaults
    assert s["zero"] == "0"  # the original returned None for falsy defaults
    assert s["flag"] is False and s["lst"] == ["a"]
    assert s["none"] is None and s.get_setting("none").how is None


def test_unregistered_names():
    s = Settings()
    assert s.get("nothing") is None and s["nothing"] is None
    assert "nothing" not in s


def test_file_keys_are_auto_registered_and_resolved(write, clean_env):
    clean_env.setenv("KST_X", "from-env")
    s = Settings(write("s.yaml", "k: $KST_X\n"))
    assert "k" in s and s["k"] == "from-env"
    assert (
        s.get_setting("k").how
        == "file %s; after arg resolved for: $KST_X" % s["_settings_filename"]
    )


def test_add_settings_from_value_dict():
    s = Settings()
    s.add_setting("known", default="d")
    s.add_settings_from_value_dict({"known": "v", "new": 1}, "my-source")
    assert s["known"] == "v" and s["new"] == 1
    assert s.get_setting("new").how == "file my-source"


# ------------------------------------------------------------------ flags


def test_single_letter_flags_resolve():
    s = Settings(flag_prefix="")
    s.add_setting("x", doc="one letter")
    s.add_setting("v", flag_type=bool)
    s.add_setting("n", flag_type=int)
    _parsed(s, ["-x", "ex", "-v", "-n", "7"])
    assert (s["x"], s["v"], s["n"]) == ("ex", True, 7)
    assert s.get_setting("x").how == "flag -x"


def test_flag_prefix_names_and_aliases():
    s = Settings(flag_prefix="my-")
    s.add_setting("db_host", flag_aliases=["-D", "dbh"])
    s.add_setting("verbatim", flag_name="--exactly")
    _parsed(s, ["-D", "h1", "--exactly", "e"])
    assert s["db_host"] == "h1" and s["verbatim"] == "e"
    s2 = Settings(flag_prefix="my-")
    s2.add_setting("db_host")
    _parsed(s2, ["--my-db_host", "h2"])
    assert s2["db_host"] == "h2"


def test_bool_flags_and_list_flags():
    s = Settings(flag_prefix="")
    s.add_setting("on", flag_type=bool)
    s.add_setting("off", flag_type=bool, default=True)
    s.add_setting("items", flag_type=list)
    _parsed(s, ["--off", "--items", "a", "b"])
    assert s["on"] is None and s.get_bool("on") is False
    assert s["off"] is False
    assert s["items"] == ["a", "b"]


def test_add_flags_turns_flags_on_and_skips_file_keys(write):
    s = Settings(write("s.yaml", "h: not-a-flag\n"))  # '-h' would clash with --help
    s.add_setting("port")
    assert s.flag_prefix is None
    ap = argparse.ArgumentParser()
    s.add_flags(ap)
    assert s.flag_prefix == ""
    s.set_args(ap.parse_args(["--port", "80"]))
    assert s["port"] == "80" and s["h"] == "not-a-flag"


def test_getter_never_parses_sys_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prog", "--not-a-known-flag", "--help"])
    s = Settings(flag_prefix="")
    s.add_setting("a", default="d")
    assert s["a"] == "d"  # the original ran parse_args() here and could exit


def test_settings_groups():
    g1 = SettingsGroup("net", "network", [Setting("host"), Setting("port", default="1")])
    g2 = SettingsGroup("db", "database", [Setting("dsn")])
    s = Settings()
    s.add_settings_groups([g1, g2], ["net"])
    assert set(s.settings) == {"host", "port"}
    with pytest.raises(SettingsError, match=r"unknown settings group.*nope"):
        s.add_settings_groups([g1, g2], ["nope"])
    ap = argparse.ArgumentParser()
    s2 = Settings()
    s2.add_flags_in_groups(ap, [g1, g2], ["db"])
    s2.set_args(ap.parse_args(["--dsn", "x"]))
    assert s2["dsn"] == "x" and "host" not in s2
    assert any(g.title == "db" for g in ap._action_groups)


# ------------------------------------------------------------------ environment


def test_env_values_are_split_on_env_list_sep_unless_a_setting_opts_out(clean_env):
    clean_env.setenv("KST_PW", "pa;ss;word")
    clean_env.setenv("KST_LIST", "a;b;c")
    s = Settings()
    s.add_setting("lst", env_name="KST_LIST")
    s.add_setting("pw_split", env_name="KST_PW")
    s.add_setting("pw", env_name="KST_PW", env_list_split=False)
    s.add_setting("over", override_env_name="KST_PW", env_list_split=False)
    assert s["lst"] == ["a", "b", "c"]  # as the original
    assert s["pw_split"] == ["pa", "ss", "word"]
    assert s["pw"] == "pa;ss;word" and s["over"] == "pa;ss;word"
    s2 = Settings(env_list_sep=None)
    s2.add_setting("lst", env_name="KST_LIST")
    assert s2["lst"] == "a;b;c"
    s3 = Settings(env_list_sep=",")
    s3.add_setting("lst", env_name="KST_LIST")
    assert s3["lst"] == "a;b;c"


def test_environment_mapping_is_injectable(write, clean_env, tmp_path):
    clean_env.setenv("KST_REAL", "from-os-environ")
    home = tmp_path / "fakehome"
    write("fakehome/.s.yaml", "from_home: yes-it-is\nref: $KST_REF\n")
    env = {"KST_A": "a;b", "KST_O": "over", "KST_REF": "injected", "HOME": str(home)}
    s = Settings("${HOME}/.s.yaml", environ=env)
    s.add_setting("a", env_name="KST_A")
    s.add_setting("o", override_env_name="KST_O", default="d")
    s.add_setting("real", env_name="KST_REAL", default="not-seen")
    s.add_setting("dollar", default="${KST_REF}-suffix")
    assert s["a"] == ["a", "b"] and s["o"] == "over"
    assert s["real"] == "not-seen"  # os.environ is not consulted
    assert s["dollar"] == "injected-suffix" and s["ref"] == "injected"
    assert s["from_home"] == "yes-it-is"
    env["KST_A"] = "changed"
    assert s.get("a", ignore_cache=True) == "changed"


def test_home_is_computed_when_read(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert S.HOME == str(tmp_path)
    monkeypatch.delenv("HOME")
    home = S.home_dir()
    assert os.path.isabs(home)
    with pytest.raises(AttributeError):
        S.not_a_name  # noqa: B018


def test_import_without_home_and_without_yaml():
    code = (
        "import sys, kcore.settings, kcore.persister; "
        "assert 'yaml' not in sys.modules; "
        "import os; assert os.path.isabs(kcore.settings.HOME); print('ok')"
    )
    env = {k: v for k, v in os.environ.items() if k != "HOME"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


# ------------------------------------------------------------------ special args


def test_special_args_in_any_source(write, clean_env, tmp_path):
    secret = write("secret.txt", "s3cret")
    clean_env.setenv("KST_V", "val")
    s = Settings(write("s.yaml", "f: file:%s\ng: f:%s\nh: ${KST_V}-x\n" % (secret, secret)))
    s.add_setting("e", default="$KST_V")
    assert (s["f"], s["g"], s["h"], s["e"]) == ("s3cret", "s3cret", "val-x", "val")
    assert "s3cret" not in s.get_setting("f").how


def test_password_prompt_and_escapes(monkeypatch):
    import getpass

    prompts = []
    monkeypatch.setattr(getpass, "getpass", lambda p: prompts.append(p) or "typed")
    s = Settings()
    s.add_setting("pw", default="-")
    s.add_setting("dash", default="\\-")
    s.add_setting("dollar", default="\\$HOME")
    assert s["pw"] == "typed" and prompts == ["Enter value for pw: "]
    assert s["pw"] == "typed" and len(prompts) == 1  # cached
    assert s["dash"] == "-" and s["dollar"] == "$HOME"


def test_missing_env_reference(clean_env):
    s = Settings()
    s.add_setting("a", default="$KST_MISSING")
    s.add_setting("b", default="$KST_MISSING", default_env_value="fallback")
    with pytest.raises(ValueError, match="KST_MISSING"):
        s.get("a")
    assert s["b"] == "fallback"


def test_star_values_are_not_served_and_can_be_escaped():
    # '*name' is the original's keymaster reference; no keymaster exists here, so
    # kcore.common refuses it (it never silently returns the text), and a
    # backslash makes it a literal.
    s = Settings()
    s.add_setting("k", default="*mykey")
    s.add_setting("lit", default="\\*mykey")
    with pytest.raises(ValueError, match="not supported yet") as info:
        s.get("k")
    assert "mykey" not in str(info.value)
    assert s["lit"] == "*mykey"


# ------------------------------------------------------------------ references, cache, tweaks


def test_references_between_settings():
    s = Settings()
    s.add_setting("host", default="example.org")
    s.add_setting("port", default="80")
    s.add_setting("url", default="http://%{host}:%{port}/")
    s.add_setting("bad", default="%{nope}")
    s.add_setting("soft", default="%{nope}!", default_env_value="?")
    s.add_setting("c1", default="%{c2}")
    s.add_setting("c2", default="%{c1}")
    assert s["url"] == "http://example.org:80/"
    with pytest.raises(SettingsError, match=r"refers to %\{nope\}"):
        s.get("bad")
    assert s["soft"] == "?!"
    with pytest.raises(SettingsError, match="cycle: c1 -> c2 -> c1"):
        s.get("c1")
    s.set_value_mapper(None)
    assert s.get("url") == "http://%{host}:%{port}/"
    calls = []

    def mapper(value, setting, settings=None, fail_value=None):
        calls.append((value, setting.name, settings, fail_value))
        return value.upper() if isinstance(value, str) else value

    s.set_value_mapper(mapper)
    assert s.get("host") == "EXAMPLE.ORG"
    assert s.get("soft") == "%{NOPE}!"
    # Called as the original did: value, setting, settings=..., fail_value=...
    assert calls == [("example.org", "host", s, None), ("%{nope}!", "soft", s, "?")]
    strict = Settings(value_mapper=lambda value, setting, *, settings, fail_value: value)
    strict.add_setting("x", default="1")
    assert strict["x"] == "1"


def test_cache_and_disable_cache(clean_env):
    s = Settings()
    s.add_setting("a", env_name="KST_A")
    s.add_setting("b", env_name="KST_B", disable_cache=True)
    clean_env.setenv("KST_A", "1")
    clean_env.setenv("KST_B", "1")
    assert (s["a"], s["b"]) == ("1", "1")
    clean_env.setenv("KST_A", "2")
    clean_env.setenv("KST_B", "2")
    assert (s["a"], s["b"]) == ("1", "2")
    s.reset_cached_values()
    assert s["a"] == "2"


def test_tweaks():
    s = Settings()
    s.add_simple_settings("KST_ONE KST_TWO")
    s.tweak_all_settings("env_name", "{name}")
    assert s.get_setting("KST_ONE").env_name == "KST_ONE"
    s.tweak_all_settings("doc", lambda st, attr, ctx: "%s/%s/%s" % (st.name, attr, ctx), "c")
    assert s.get_setting("KST_TWO").doc == "KST_TWO/doc/c"
    s.tweak_setting("KST_ONE", "default", "{name}-default")
    assert s["KST_ONE"] == "KST_ONE-default"
    with pytest.raises(SettingsError, match="no attribute 'nonsense'"):
        s.tweak_setting("KST_ONE", "nonsense", 1)
    with pytest.raises(SettingsError, match="no setting named"):
        s.tweak_setting("missing", "doc", "x")


def test_add_setting_keeps_how():
    s = Settings()
    s.add_setting("a", default="x")
    s.get("a")
    s.add_setting("a", default="y")
    assert s.get_setting("a").how == "default string"
    assert s["a"] == "y"


def test_get_int_and_get_bool(write):
    s = Settings(write("s.yaml", "i: 42\nj: ' 7 '\nk: -3\nl: x1\nt: 'yes'\nf: 'no'\nb: true\n"))
    assert (s.get_int("i"), s.get_int("j"), s.get_int("k")) == (42, 7, -3)
    assert s.get_int("l", default=-1) == -1 and s.get_int("missing") is None
    assert s.get_int("b", default=0) == 0
    assert s.get_bool("t") and not s.get_bool("f") and s.get_bool("b")


@pytest.mark.parametrize("v", [True, 1, "1", "y", "Y", "T", "true", "True", "TRUE", " yes ", "on"])
def test_eval_bool_true(v):
    assert eval_bool(v) is True


@pytest.mark.parametrize("v", [False, 0, 2, None, "", "0", "n", "false", "nope", [], [1]])
def test_eval_bool_false(v):
    assert eval_bool(v) is False


def test_debug_explains_on_stderr(capsys):
    s = Settings(debug=True)
    s.add_setting("a", default="secret-value")
    s.get("a")
    err = capsys.readouterr().err
    assert "a <- default string" in err and "secret-value" not in err


def test_directory_as_settings_filename(write, tmp_path):
    write("conf.d/10.yaml", "a: 1\nb: 1\n")
    write("conf.d/20.env", "b=2\n")
    write("conf.d/notes.txt", "ignored\n")
    s = Settings(str(tmp_path / "conf.d"))
    assert (s["a"], s["b"]) == (1, "2")


def test_oversized_settings_file(tmp_path, monkeypatch):
    from kcore.settings import _loader

    monkeypatch.setattr(_loader, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("a: %s\n" % ("x" * 200))
    with pytest.raises(SettingsError, match="larger than 100 bytes"):
        Settings(str(path))


def _alias_bomb():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append("%s: &%s [%s]" % (cur, cur, ", ".join(["*" + prev] * 10)))
    return "\n".join(lines) + "\n"  # 10**9 leaves if expanded


def test_yaml_alias_bomb_is_refused_at_parse_time_by_every_entry_point(write):
    path = write("bomb.yaml", _alias_bomb())
    match = "bomb.yaml: more than .* elements .*alias"
    with pytest.raises(SettingsError, match=match):
        Settings(path)
    s = Settings()
    with pytest.raises(SettingsError, match=match):
        s.parse_settings_file(path)
    with pytest.raises(SettingsError, match=r"more than .* elements"):
        s.parse_settings_data(_alias_bomb())
    with pytest.raises(SettingsError, match=r"more than .* elements"):
        S.parse_yaml(_alias_bomb())
    assert s.settings == {}  # nothing half-loaded
    recursive = "a: &a [1, *a]\n"
    with pytest.raises(SettingsError, match="recursive alias"):
        S.parse_yaml(recursive)
    import yaml

    with pytest.raises(SettingsError, match=r"dict: [e-i]: more than 100000 elements"):
        s.add_settings_from_value_dict(yaml.safe_load(_alias_bomb()))
    s.add_setting("big", default=yaml.safe_load(_alias_bomb())["i"])  # programs too, at get()
    with pytest.raises(SettingsError, match="setting big: more than 100000 elements"):
        s.get("big")


def test_large_alias_free_documents_are_fine(monkeypatch):
    from kcore.settings import _formats

    monkeypatch.setattr(_formats, "MAX_VALUE_NODES", 10)
    # More elements than MAX_VALUE_NODES, but no alias: fewer elements than characters.
    assert len(S.parse_yaml("big: [%s]\n" % ", ".join(["x"] * 500))["big"]) == 500
    with pytest.raises(SettingsError, match="more than"):
        S.parse_yaml("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: [%s]\n" % ", ".join(["*a"] * 10))


def test_include_inside_a_yaml_scalar_is_text(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("other.yaml", "injected: yes\n")
    path = write(
        "m.yaml",
        "script: |\n  echo start\n  !include other.yaml\nfolded: >\n  !include other.yaml\n"
        'quoted: "a\n!include other.yaml"\nplain: a\n!include other.yaml\nb: 2\n',
    )
    s = Settings(path)
    assert s["script"] == "echo start\n!include other.yaml\n"
    assert s["folded"] == "!include other.yaml\n"
    assert s["quoted"] == "a !include other.yaml"
    assert s["injected"] is True and s["b"] == 2  # the column-0 line is a directive
    assert s.get_setting("injected").how.endswith("other.yaml")


def test_indented_include_is_not_a_directive(write):
    write("inc.yaml", "x: 1\n")
    s = Settings(write("m.yaml", "a: 1\n  !include inc.yaml\n"))
    assert s["a"] == "1 !include inc.yaml" and s["x"] is None


def test_total_include_work_is_bounded(write, monkeypatch):
    from kcore.settings import _loader

    # A fan-out: every level includes the next one ten times (10**6 loads at depth 6),
    # with no cycle and well within the depth limit.
    for i in range(6):
        write("fan/%d.yaml" % i, "".join("!include %d.yaml\n" % (i + 1) for _ in range(10)))
    write("fan/6.yaml", "leaf: 1\n")
    with pytest.raises(SettingsError, match="at most %d settings files" % S.MAX_INCLUDED_FILES):
        Settings(write("fan/top.yaml", "!include 0.yaml\n"))
    # Bytes: a few files within the per-file limit, over the total.
    monkeypatch.setattr(_loader, "MAX_TOTAL_BYTES", 1000)
    for i in range(4):
        write("bytes/%d.yaml" % i, "k%d: %s\n" % (i, "x" * 300))
    with pytest.raises(SettingsError, match="at most 1000 bytes of settings"):
        Settings(write("bytes/top.yaml", "!include 0.yaml\n!include 1.yaml\n!include *.yaml\n"))
    assert Settings(write("bytes/two.yaml", "!include 0.yaml\n"))["k0"] == "x" * 300
