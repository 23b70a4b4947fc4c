"""Move every distribution to a new version: `python tools/bump_version.py 0.2.0`.

Rewrites the workspace version, every `__version__` the distributions read
their version from, the meta distribution's static version, and every `==`
pin on a sibling. Then tools/check_versions.py must pass.
"""

from __future__ import annotations

import argparse
import re
import sys

import workspace

VERSION_OK = re.compile(r"^\d+\.\d+\.\d+([.-]?(a|b|rc|dev|post)\d+)?$")


def bump(new: str, root=None) -> list[str]:
    """Rewrite the files; return the paths changed."""
    if not VERSION_OK.match(new):
        raise ValueError("not a release version: %r (want e.g. 1.2.3 or 1.2.3rc1)" % new)
    old = workspace.version()
    names = "|".join(re.escape(d) for d in workspace.dists())
    changed = []

    def rewrite(path, subs):
        text = path.read_text()
        new_text = text
        for pattern, repl in subs:
            new_text = re.sub(pattern, repl, new_text, flags=re.M)
        if new_text != text:
            path.write_text(new_text)
            changed.append(str(path.relative_to(workspace.ROOT)))

    rewrite(
        workspace.ROOT / "pyproject.toml",
        [(r'^(version\s*=\s*")%s(")' % re.escape(old), r"\g<1>%s\2" % new)],
    )
    for d in workspace.dists():
        pp = workspace.dist_path(d) / "pyproject.toml"
        rewrite(
            pp,
            [
                (r'^(version\s*=\s*")[^"]+(")', r"\g<1>%s\2" % new),
                (r'("(?:%s)(?:\[[^\]]*\])?\s*==\s*)[^";]+' % names, r"\g<1>%s" % new),
            ],
        )
        vpath = workspace.pyproject(d).get("tool", {}).get("hatch", {}).get("version", {})
        if "path" in vpath:
            rewrite(
                workspace.dist_path(d) / vpath["path"],
                [(r'^(__version__\s*=\s*["\'])[^"\']+(["\'])', r"\g<1>%s\2" % new)],
            )
    return changed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("version", help="the new version, e.g. 0.2.0")
    args = ap.parse_args(argv)
    try:
        changed = bump(args.version)
    except ValueError as e:
        print("bump_version: %s" % e, file=sys.stderr)
        return 2
    for path in changed:
        print("updated", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
