"""Check that the kcore family moves in lockstep.

Every distribution carries the workspace version (root pyproject.toml,
[tool.kcore] version); every dependency on a sibling is pinned `==` to it;
every code distribution has an extra of its own in the meta distribution
(except those listed as platform-only) and `all` reaches it.
Exit 1 with one line per problem.
"""

from __future__ import annotations

import re
import sys

import workspace

VERSION_RE = re.compile(r'^__version__\s*=\s*["\']([^"\']+)["\']', re.M)


def declared_version(dist: str) -> str | None:
    project = workspace.pyproject(dist)["project"]
    if "version" in project:
        return project["version"]
    path = workspace.pyproject(dist)["tool"]["hatch"]["version"]["path"]
    m = VERSION_RE.search((workspace.dist_path(dist) / path).read_text())
    return m.group(1) if m else None


def problems() -> list[str]:
    want = workspace.version()
    known = set(workspace.dists())
    out = []
    for d in workspace.dists():
        got = declared_version(d)
        if got != want:
            out.append("%s: version %s, workspace version is %s" % (d, got, want))
        project = workspace.pyproject(d)["project"]
        reqs = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            reqs += extra
        for req in reqs:
            name = workspace.requirement_name(req)
            if name in known and name != d:
                pin = req.split(";")[0]
                if not re.search(r"==\s*%s\s*$" % re.escape(want), pin):
                    out.append("%s: dependency %r is not pinned ==%s" % (d, req, want))
    extras = workspace.pyproject(workspace.META)["project"].get("optional-dependencies", {})
    reach = _reach(extras, "all")
    not_in_all = set(workspace.root_pyproject()["tool"]["kcore"].get("not-in-all", []))
    for d in workspace.code_dists():
        if not any(workspace.requirement_name(r) == d for v in extras.values() for r in v):
            out.append("meta kcore: no extra installs %s" % d)
        if d not in reach and d not in not_in_all:
            out.append("meta kcore: the `all` extra does not install %s" % d)
    return out


def _reach(extras: dict, name: str, seen=None) -> set:
    """Distributions an extra of the meta distribution installs, following kcore[...]."""
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    out = set()
    for req in extras.get(name, []):
        dist = workspace.requirement_name(req)
        m = re.match(r"\s*kcore\[([^\]]+)\]", req)
        if m:
            for sub in m.group(1).split(","):
                out |= _reach(extras, sub.strip(), seen)
        else:
            out.add(dist)
    return out


def main() -> int:
    found = problems()
    for p in found:
        print(p)
    print(
        "versions: %d distributions at %s, %d problem(s)"
        % (len(workspace.dists()), workspace.version(), len(found))
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
