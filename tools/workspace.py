"""What the repository holds: distributions, their modules, dependencies and tests.

One place that reads the `pyproject.toml` files, so the noxfile, the tools and
the repository tests agree on what a distribution is.
"""

from __future__ import annotations

import pathlib
import re

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
META = "kcore"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class ConfigError(Exception):
    """A pyproject.toml of the repository is missing, unreadable or inconsistent."""


def load_toml(path) -> dict:
    """Parse a TOML file; a broken one raises ConfigError naming it."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("%s: invalid TOML: %s" % (path, e)) from None


def dists(root=ROOT) -> list[str]:
    """Every distribution under root/packages, the meta one included, sorted by name."""
    base = pathlib.Path(root) / "packages"
    return sorted(p.name for p in base.iterdir() if (p / "pyproject.toml").is_file())


def code_dists() -> list[str]:
    """Every distribution that ships modules (all but the meta one)."""
    return [d for d in dists() if d != META]


def dist_path(dist: str) -> pathlib.Path:
    return PACKAGES / dist


def pyproject(dist: str) -> dict:
    return load_toml(dist_path(dist) / "pyproject.toml")


def root_pyproject() -> dict:
    return load_toml(ROOT / "pyproject.toml")


def requirement_name(req: str) -> str:
    """'kcore-common==0.1.0; python_version>"3"' -> 'kcore-common'."""
    m = _NAME.match(req)
    if not m:
        raise ValueError("cannot read a distribution name from requirement %r" % req)
    return m.group(1).lower().replace("_", "-")


def dependencies(dist: str) -> list[str]:
    return list(pyproject(dist)["project"].get("dependencies", []))


def internal_closure(dist: str, extras=()) -> list[str]:
    """The distribution plus every kcore sibling it depends on, transitively
    (through the named extras of `dist` too)."""
    known = set(dists())
    seen: set[str] = set()
    optional = pyproject(dist)["project"].get("optional-dependencies", {})
    todo = [dist] + [requirement_name(r) for e in extras for r in optional.get(e, [])]
    while todo:
        d = todo.pop()
        if d in seen or d not in known:
            continue
        seen.add(d)
        todo += [requirement_name(req) for req in dependencies(d)]
    return sorted(seen)


def test_extras(dist: str) -> list[str]:
    """Extras a distribution's tests run with ([tool.kcore] test-extras)."""
    return list(kcore_table(dist).get("test-extras", []))


def modules(dist: str) -> list[str]:
    """Import names the distribution's wheel ships, from its only-include list."""
    return wheel_modules(pyproject(dist))


def wheel_modules(project: dict) -> list[str]:
    """Import names a parsed pyproject.toml's wheel ships (its only-include list)."""
    wheel = project.get("tool", {}).get("hatch", {}).get("build", {})
    wheel = wheel.get("targets", {}).get("wheel", {})
    out = []
    for entry in wheel.get("only-include", []):
        rel = entry[len("src/") :] if entry.startswith("src/") else entry
        if rel.endswith(".py"):
            rel = rel[: -len(".py")]
        out.append(rel.replace("/", "."))
    return out


def all_modules() -> list[str]:
    return [m for d in code_dists() for m in modules(d)]


def kcore_table(dist: str) -> dict:
    return pyproject(dist).get("tool", {}).get("kcore", {})


def circuitpython_dists() -> list[str]:
    return [d for d in code_dists() if kcore_table(d).get("circuitpython")]


def test_requirements(*dists_: str) -> list[str]:
    """The `test` dependency group of each distribution (external packages only)."""
    out: list[str] = []
    for d in dists_:
        for req in pyproject(d).get("dependency-groups", {}).get("test", []):
            if isinstance(req, str) and req not in out:
                out.append(req)
    return out


def test_dirs(dist: str) -> list[pathlib.Path]:
    """The pytest folders of a distribution: tests/<dist> and tests/micro/<dist>."""
    return [p for p in (ROOT / "tests" / dist, ROOT / "tests" / "micro" / dist) if p.is_dir()]


def bench_requirements() -> list[str]:
    return list(root_pyproject().get("tool", {}).get("kcore", {}).get("bench-requirements", []))


def apt_packages() -> list[str]:
    return list(root_pyproject().get("tool", {}).get("kcore", {}).get("apt-packages", []))


def version() -> str:
    return root_pyproject()["tool"]["kcore"]["version"]
