"""Check the layering between kcore's distributions.

Every import of another distribution's module must be covered by the importing
distribution's declared dependencies (its `dependencies` and its extras,
transitively), and neither the declared graph nor the graph of real imports
may have a cycle. A lazy import is still an edge, so the check reads every
source file of every distribution and looks at:

* `import kcore.x`, `from kcore.x import y`, `from kcore import x` and relative
  imports (resolved against the file's package), at any depth: inside
  functions, `try`, `if TYPE_CHECKING`;
* imports by name: `importlib.import_module(...)`, `__import__(...)`,
  `importlib.util.find_spec(...)`, `pkgutil.find_loader(...)`, and
  `sys.modules[...]` / `sys.modules.get(...)`, whose argument is a string or
  starts with one (`"kcore.common." + name`).

A by-name import whose target cannot be read from the source (a variable) is
reported too: the check must see every edge. A line that imports a module the
user names on purpose says so with the comment `# layering: user-named`.

Usage: python tools/check_layering.py [--root DIR]
Prints one line per problem and a summary; exit 1 on any problem.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys

import workspace

BY_NAME_FUNCS = {"import_module", "__import__", "find_spec", "find_loader"}
USER_NAMED = "# layering: user-named"


class Layout:
    """The distributions under a repository root, their modules and declared edges."""

    def __init__(self, root: pathlib.Path):
        self.root = pathlib.Path(root)
        self.dists = [d for d in workspace.dists(self.root) if d != workspace.META]
        self._pyproject = {
            d: workspace.load_toml(self.root / "packages" / d / "pyproject.toml")
            for d in self.dists
        }
        self.module_owner: dict[str, str] = {}
        for d in self.dists:
            for m in self.modules(d):
                self.module_owner[m] = d

    def modules(self, dist: str) -> list[str]:
        return workspace.wheel_modules(self._pyproject[dist])

    def declared(self, dist: str) -> set[str]:
        """Sibling distributions `dist` names directly, in dependencies or any extra."""
        project = self._pyproject[dist].get("project", {})
        reqs = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            reqs += extra
        names = {workspace.requirement_name(r) for r in reqs}
        return {n for n in names if n in self._pyproject and n != dist}

    def allowed(self, dist: str) -> set[str]:
        """Everything `dist` may import: itself and its declared closure."""
        seen = {dist}
        todo = list(self.declared(dist))
        while todo:
            d = todo.pop()
            if d not in seen:
                seen.add(d)
                todo += self.declared(d)
        return seen

    def owner(self, module: str) -> str | None:
        """The distribution shipping `module` (longest match), or None if none does."""
        parts = module.split(".")
        for i in range(len(parts), 1, -1):
            d = self.module_owner.get(".".join(parts[:i]))
            if d is not None:
                return d
        return None

    def sources(self, dist: str):
        src = self.root / "packages" / dist / "src"
        for path in sorted(src.rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path, src


def _module_name(path: pathlib.Path, src: pathlib.Path) -> tuple[str, bool]:
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _resolve_relative(current: str, is_package: bool, level: int, module: str | None) -> str:
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _string_prefix(node: ast.AST) -> str | None:
    """The constant string an expression is or starts with (`"kcore.x." + name`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _string_prefix(node.left)
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _is_sys_modules(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "modules"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def imports_of(path: pathlib.Path, src: pathlib.Path):
    """Yield (line, target, how) for every import in a file. `target` is a dotted
    module name, or None for a by-name import whose target cannot be read."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text, filename=str(path))
    current, is_package = _module_name(path, src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, "import"
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(current, is_package, node.level, node.module)
            else:
                base = node.module or ""
            yield node.lineno, base, "from-import"
            # `from kcore import x` and `from . import x` import submodules by name.
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, base + "." + alias.name, "from-import"
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            arg = node.args[0] if node.args else None
            imports = name in BY_NAME_FUNCS
            # sys.modules.get(name) only finds what is loaded already: an edge when the
            # name is fixed, nothing to check when it is computed.
            looks_up = (
                name == "get" and isinstance(func, ast.Attribute) and _is_sys_modules(func.value)
            )
            if not (imports or looks_up) or arg is None:
                continue
            prefix = _string_prefix(arg)
            line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
            if prefix is not None and prefix.rstrip(".") == "kcore":
                prefix = None  # "kcore." + name: any distribution at all
            if prefix is None:
                if imports and USER_NAMED not in line:
                    yield node.lineno, None, "%s(...)" % name
                continue
            yield node.lineno, prefix.rstrip("."), "%s(...)" % name
        elif isinstance(node, ast.Subscript) and _is_sys_modules(node.value):
            prefix = _string_prefix(node.slice)
            if prefix is not None:
                yield node.lineno, prefix.rstrip("."), "sys.modules[...]"


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in a directed graph, as a list of nodes (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        colour[n] = GREY
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if colour.get(m, WHITE) == GREY:
                return [*stack[stack.index(m) :], m]
            if colour.get(m, WHITE) == WHITE:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        colour[n] = BLACK
        return None

    for n in sorted(graph):
        if colour[n] == WHITE:
            found = visit(n)
            if found:
                return found
    return None


def problems(root=workspace.ROOT) -> list[str]:
    layout = Layout(root)
    out: list[str] = []
    used: dict[str, set[str]] = {d: set() for d in layout.dists}
    for dist in layout.dists:
        allowed = layout.allowed(dist)
        for path, src in layout.sources(dist):
            rel = path.relative_to(layout.root)
            reported = set()
            for line, target, how in imports_of(path, src):
                if target is None:
                    out.append(
                        "%s:%d: %s with a name the check cannot read; import a fixed name, "
                        "or mark a name the user supplies with %r" % (rel, line, how, USER_NAMED)
                    )
                    continue
                owner = layout.owner(target)
                if owner is None or owner == dist:
                    continue
                used[dist].add(owner)
                if owner not in allowed and (line, owner) not in reported:
                    reported.add((line, owner))
                    out.append(
                        "%s:%d: %s imports %s (%s %s), which %s does not declare"
                        % (rel, line, dist, target, how, owner, dist)
                    )
    declared = {d: layout.declared(d) for d in layout.dists}
    cycle = _find_cycle(declared)
    if cycle:
        out.append("declared dependencies form a cycle: %s" % " -> ".join(cycle))
    cycle = _find_cycle(used)
    if cycle:
        out.append("imports between distributions form a cycle: %s" % " -> ".join(cycle))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(workspace.ROOT), help="repository root")
    args = parser.parse_args(argv)
    try:
        found = problems(pathlib.Path(args.root))
    except (workspace.ConfigError, SyntaxError, OSError) as e:
        print("check_layering: %s" % e, file=sys.stderr)
        return 2
    for p in found:
        print(p)
    print("check_layering: %d problem(s)" % len(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
