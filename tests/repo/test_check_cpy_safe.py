"""tools/check_cpy_safe.py: passes on the real tree, catches every forbidden construct."""

import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

import check_cpy_safe  # noqa: E402

CHECKER = str(TOOLS / "check_cpy_safe.py")


def run_checker(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, CHECKER, *args],
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=120,
    )


def findings(tmp_path, source, rel=None, name="mod.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return check_cpy_safe.check_file(str(path), rel=rel, display=name)


def rules(tmp_path, source, rel=None):
    return [f.rule for f in findings(tmp_path, source, rel)]


# One (bad, good) pair per rule: the bad source must raise exactly that rule, the
# good one (the fix the message suggests) must not.
CASES = {
    "import": ("import socket\n", "def f():\n    import socket\n"),
    "typing": (
        "from typing import Optional\n",
        "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from typing import Optional\n",
    ),
    "future-import": ("from __future__ import annotations\n", "x = 1\n"),
    "match": (
        "def f(x):\n    match x:\n        case 1:\n            return 1\n",
        "def f(x):\n    if x == 1:\n        return 1\n",
    ),
    "posonly": ("def f(a, /, b):\n    return a\n", "def f(a, b):\n    return a\n"),
    "metaclass": ("class A(metaclass=M):\n    pass\n", "class A(M):\n    pass\n"),
    "dataclass": (
        "@dataclass\nclass A:\n    x: int = 0\n",
        "class A:\n    def __init__(self, x=0):\n        self.x = x\n",
    ),
    "generic-base": ("class A(Generic[T]):\n    pass\n", "class A(Base):\n    pass\n"),
    "missing-method": ("y = 'abc'.removeprefix('a')\n", "y = 'abc'[1:]\n"),
    "os-environ": ("import os\nv = os.environ.get('X')\n", "import os\nv = os.getenv('X')\n"),
    "monotonic": ("import time\nt = time.monotonic()\n", "import time\nt = time.time()\n"),
    "strftime": (
        "import time\ns = time.strftime('%Y')\n",
        "import time\ns = '%04d' % time.localtime()[0]\n",
    ),
    "json-indent": (
        "import json\ns = json.dumps({}, indent=2)\n",
        "import json\ns = json.dumps({}, separators=(',', ':'))\n",
    ),
    "exception-name": (
        "try:\n    open('x')\nexcept FileNotFoundError:\n    pass\n",
        "try:\n    open('x')\nexcept OSError:\n    pass\n",
    ),
    "fstring-debug": ("x = 1\ns = f'{x=}'\n", "x = 1\ns = f'x={x!r}'\n"),
    "regex": ("import re\nR = re.compile(r'\\bword')\n", "import re\nR = re.compile(r'word')\n"),
    "re-function": (
        "import re\nparts = re.split(',', 'a,b')\n",
        "import re\nparts = re.compile(',').split('a,b')\n",
    ),
    "missing-attr": (
        "from collections import defaultdict\n",
        "from collections import OrderedDict\n",
    ),
    "syntax": ("def f(:\n", "def f():\n    pass\n"),
    "allow-comment": (
        "import time\nt = time.monotonic()  # cpy-safe: allow monotnic\n",
        "import time\nt = time.monotonic()  # cpy-safe: allow monotonic -- why\n",
    ),
}


def test_every_rule_has_a_case():
    assert sorted(CASES) == sorted(r for r in check_cpy_safe.RULES if r != "config")


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_catches_bad_and_passes_good(tmp_path, rule):
    bad, good = CASES[rule]
    expected = "syntax" if rule == "match" and sys.version_info < (3, 10) else rule
    assert expected in rules(tmp_path, bad), bad
    assert rules(tmp_path, good) == [], good


# ---------------------------------------------------------------- rule details


@pytest.mark.parametrize(
    "source",
    [
        "import typing\n",
        "from typing import TYPE_CHECKING\n",
        "if CPYTHON:\n    from typing import Any\n",  # a platform guard is not enough
        "if TYPE_CHECKING:\n    from typing import Any\n",  # TYPE_CHECKING never defined
    ],
)
def test_typing_forbidden_at_top_level(tmp_path, source):
    assert "typing" in rules(tmp_path, source)


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    from typing import Any\nexcept ImportError:\n    pass\n",
        "def f():\n    import typing\n",
    ],
)
def test_typing_allowed_guarded_or_lazy(tmp_path, source):
    assert rules(tmp_path, source) == []


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    import ssl\nexcept ImportError:\n    ssl = None\n",
        "try:\n    import ssl\nexcept (ValueError, ImportError):\n    ssl = None\n",
        "try:\n    import ssl\nexcept Exception:\n    ssl = None\n",
        "import sys\nif sys.implementation.name == 'cpython':\n    import threading\n",
        "import sys\nif sys.implementation.name != 'circuitpython':\n    import threading\n"
        "else:\n    import socketpool\n",
        "from kcore.common.platform import CPYTHON\nif CPYTHON:\n    import threading\n",
        "from kcore.common import platform\nif not platform.CIRCUITPYTHON:\n    import ssl\n",
        "def f():\n    import subprocess\n    return subprocess\n",
        "class A:\n    def m(self):\n        import requests\n",
        "import sys, time, os, gc, json, re, errno, binascii, hashlib, struct, io\n"
        "import collections, math, random, micropython, select, asyncio, supervisor, array\n",
        "from kcore.common.platform import monotonic_ms\nfrom kcore import html\n",
    ],
)
def test_guarded_and_allowed_imports_pass(tmp_path, source):
    assert rules(tmp_path, source) == []


@pytest.mark.parametrize(
    "source",
    [
        "import threading\n",
        "class A:\n    import socket\n",  # a class body runs at import
        "try:\n    import ssl\nexcept ModuleNotFoundError:\n    pass\n",  # no such name on boards
        "try:\n    import ssl\nexcept ValueError:\n    pass\n",
        "try:\n    import tomllib\nexcept ImportError:\n    import tomli\n",  # the fallback
        "if x:\n    import pathlib\n",
        "from kcore.webserver import Server\n",  # not CircuitPython-safe
        "from kcore.common import processes\n",  # cpython-only
        "import kcore.common.logbridge\n",  # cpython-only
    ],
)
def test_unguarded_imports_fail(tmp_path, source):
    assert "import" in rules(tmp_path, source)


def test_relative_imports_resolve_against_the_package(tmp_path):
    assert rules(tmp_path, "from . import log\n", rel="kcore/common/fileio.py") == []
    assert "import" in rules(tmp_path, "from . import processes\n", rel="kcore/common/fileio.py")
    assert "import" in rules(tmp_path, "from .processes import popen\n", rel="kcore/common/x.py")


def test_monotonic_allowed_only_in_the_clock_shim(tmp_path):
    src = "import time\nt = time.monotonic_ns()\nfrom time import perf_counter\n"
    assert rules(tmp_path, src, rel="kcore/common/platform.py") == []
    assert rules(tmp_path, src, rel="kcore/common/logger.py") == ["monotonic", "monotonic"]
    assert rules(tmp_path, "import time as t\nx = t.perf_counter()\n") == ["monotonic"]


def test_forbidden_everywhere_even_guarded_or_lazy(tmp_path):
    src = """
        import os, json, time
        def f():
            if CPYTHON:
                return os.environ, time.strftime('%Y'), json.dumps(1, indent=1)
        try:
            from __future__ import annotations
        except ImportError:
            pass
        h = hashlib.sha256(b'').hexdigest()
        n = (5).bit_length()
        s = 'x'.zfill(3) + 'y'.casefold() + 'z'.removesuffix('z')
    """
    got = rules(tmp_path, src)
    for rule in ("os-environ", "strftime", "json-indent", "future-import"):
        assert rule in got
    assert got.count("missing-method") == 5


@pytest.mark.parametrize(
    "name",
    [
        "FileNotFoundError",
        "TimeoutError",
        "ConnectionError",
        "PermissionError",
        "FileExistsError",
        "IsADirectoryError",
    ],
)
def test_exception_names(tmp_path, name):
    assert rules(tmp_path, "x = %s\n" % name) == ["exception-name"]
    shims = [
        "try:\n    X = %s\nexcept NameError:\n    X = OSError\n",
        "import sys\nif sys.implementation.name == 'cpython':\n    X = %s\n",
        "from kcore.common.platform import CPYTHON\n"
        "if CPYTHON:\n    X = %s\nelse:\n    X = OSError\n",
        "def error_class(name):\n    return %s\n",
        "def _compat_errors():\n    return %s\n",
    ]
    for shim in shims:
        assert rules(tmp_path, shim % name) == [], shim
    # The board branch of a platform test is not a shim.
    board = "import sys\nif sys.implementation.name == 'cpython':\n    X = 1\nelse:\n    X = %s\n"
    assert rules(tmp_path, board % name) == ["exception-name"]


@pytest.mark.parametrize(
    "source",
    [
        "f'{x=}'",
        "f'{x = }'",
        "f'{x=!r}'",
        "f'{x=:>10}'",
        "f'a {d[\"k\"]=} b'",
        "F'''\n{x=}'''",
        "'a' f'{x=}'",
        "f'{x:>{y}} {y=}'",
    ],
)
def test_fstring_debug_detected(tmp_path, source):
    assert rules(tmp_path, "x = y = 1\nd = {}\ns = %s\n" % source) == ["fstring-debug"]


@pytest.mark.parametrize(
    "source",
    [
        "f'{x}'",
        "f'x={x}'",
        "f'{x!r}'",
        "f'{x == y}'",
        "f'{x != y}'",
        "f'{x:=^10}'",
        "f'{{x=}}'",
        "f'{x >= y}'",
        "f'{d[\"a=\"]}'",
        "'{x=}'",
        "f'{f(a=1)}'",
    ],
)
def test_fstring_without_debug_passes(tmp_path, source):
    assert rules(tmp_path, "x = y = 1\nd = {}\nf = dict\na = 0\ns = %s\n" % source) == []


@pytest.mark.parametrize(
    "pattern",
    [
        r"\bword",
        r"a\B",
        r"a{2}",
        r"a{2,3}",
        r"a{2,}",
        r"(a)\1",
        r"(?P<n>a)",
        r"(?P=n)",
        r"(?=a)",
        r"(?i)a",
        r"[a-z]+\b",
    ],
)
def test_regex_features_detected(tmp_path, pattern):
    src = "import re\nr = re.search(%r, 'x')\n" % pattern
    assert rules(tmp_path, src) == ["regex"]


@pytest.mark.parametrize(
    "pattern",
    [r"word", r"\\b", r"[{2}]", r"a\{2\}", r"(?:ab)+", r"\d+\.\d*", r"[\b]", r"a{", r"\s+$"],
)
def test_regex_supported_patterns_pass(tmp_path, pattern):
    assert rules(tmp_path, "import re\nr = re.compile(%r)\n" % pattern) == []


def test_regex_constants_and_aliases_are_followed(tmp_path):
    src = (
        "import re as _re\nWORD = r'\\bw'\nR = _re.compile(WORD)\nfrom re import sub\n"
        "s = sub(r'x{3}', '', 'y')\n"
    )
    assert rules(tmp_path, src) == ["regex", "regex"]


def test_allow_comment_only_covers_its_line_and_rule(tmp_path):
    src = (
        "import time\n"
        "a = time.monotonic()  # cpy-safe: allow monotonic -- documented exception\n"
        "b = time.monotonic()\n"
        "c = time.monotonic()  # cpy-safe: allow strftime\n"
        "d = time.strftime('%Y') + 'x'.zfill(2)  # cpy-safe: allow strftime, missing-method\n"
    )
    got = [(f.line, f.rule) for f in findings(tmp_path, src)]
    assert got == [(3, "monotonic"), (4, "monotonic")]


def test_findings_are_reported_file_line_rule_message(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\nx = os.environ\n")
    proc = run_checker(str(bad))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(str(bad) + ":3: os-environ: ")
    assert lines[-1] == "check_cpy_safe: 1 file checked, 1 finding"


def test_clean_file_exits_zero(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("import sys\n\ndef f():\n    return sys.platform\n")
    proc = run_checker(str(good))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("1 file checked, 0 findings")


def test_real_tree_passes():
    proc = run_checker()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 findings" in proc.stdout
    checked = int(proc.stdout.strip().splitlines()[-1].split()[1])
    assert checked >= 5  # kcore.common's files at least: the tree was really walked


def _fake_repo(tmp_path, table, files):
    (tmp_path / "pyproject.toml").write_text("[tool.kcore]\nversion = '0.1.0'\n")
    pkg = tmp_path / "packages" / "kcore-x"
    pkg.mkdir(parents=True)
    (pkg / "pyproject.toml").write_text("[project]\nname = 'kcore-x'\n\n[tool.kcore]\n" + table)
    for rel, text in files.items():
        path = pkg / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_repo_walk_uses_the_tables(tmp_path):
    root = _fake_repo(
        tmp_path,
        'circuitpython = ["kcore/x"]\ncpython-only = ["kcore/x/host.py"]\n',
        {
            "kcore/x/__init__.py": "from kcore.x import util\n",
            "kcore/x/util.py": "import os\nE = os.environ\n",
            "kcore/x/host.py": "import subprocess\n",  # cpython-only: not checked
            "kcore/y/__init__.py": "import threading\n",  # not listed: not checked
        },
    )
    proc = run_checker("--root", str(root))
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert out[:-1] == [
        "packages/kcore-x/src/kcore/x/util.py:2: os-environ: os.environ does not exist on "
        "boards: use kcore.common.platform.getenv"
    ]
    assert out[-1] == "check_cpy_safe: 2 files checked, 1 finding"


def test_missing_listed_module_is_a_config_finding(tmp_path):
    root = _fake_repo(tmp_path, 'circuitpython = ["kcore/gone"]\n', {})
    proc = run_checker("--root", str(root))
    assert proc.returncode == 1
    assert "config: " in proc.stdout and "kcore/gone" in proc.stdout


def test_unknown_dist_is_a_usage_error():
    proc = run_checker("--dist", "kcore-nope")
    assert proc.returncode == 2
    assert "unknown distribution 'kcore-nope'" in proc.stderr


def test_list_rules():
    proc = run_checker("--list-rules")
    assert proc.returncode == 0
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert names == list(check_cpy_safe.RULES)


def test_broken_pyproject_is_named(tmp_path):
    import cpy_modules

    (tmp_path / "packages" / "kcore-x").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "packages" / "kcore-x" / "pyproject.toml").write_text("[tool.kcore\n")
    with pytest.raises(cpy_modules.ConfigError, match=r"kcore-x.*invalid TOML"):
        cpy_modules.kcore_table(str(tmp_path), "kcore-x")
