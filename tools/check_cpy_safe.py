#!/usr/bin/env python3
"""Static CircuitPython-safety check of every CircuitPython-safe source file.

A file listed in a distribution's ``[tool.kcore] circuitpython`` table must
import and run on MicroPython/CircuitPython. ``mpy-cross`` only catches syntax;
this AST check catches the run-time traps the boards' Python has (missing
modules, missing names, regex features that silently never match) before a
board does. It is stricter than the MicroPython unix port on purpose: real
boards lack threads, ``ssl`` and ``os.system`` that the port still has.

    python tools/check_cpy_safe.py                 # every safe file of every distribution
    python tools/check_cpy_safe.py --dist kcore-common
    python tools/check_cpy_safe.py path/to/file.py ...
    python tools/check_cpy_safe.py --list-rules

Reports ``file:line: rule: message`` and exits 1 on any finding.
A documented exception is written on the offending line as
``# cpy-safe: allow RULE[, RULE...] -- why``.
"""

import argparse
import ast
import io
import os
import re
import sys
import tokenize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpy_modules

RULES = {
    "import": "top-level import of a module boards lack, outside a try/except ImportError "
    "or a sys.implementation/platform-flag guard (import it lazily inside a function)",
    "typing": "top-level typing import outside `if TYPE_CHECKING:` (with TYPE_CHECKING = False "
    "defined in the module) or try/except ImportError",
    "future-import": "`from __future__` (boards have no __future__ module)",
    "match": "`match` statement (SyntaxError on MicroPython)",
    "posonly": "positional-only parameters `/` (SyntaxError on MicroPython)",
    "metaclass": "`metaclass=` (TypeError on MicroPython)",
    "dataclass": "@dataclass (no dataclasses module on boards)",
    "generic-base": "subscripted base class such as Generic[T] (no __class_getitem__)",
    "missing-method": "str/int/hash method boards lack (.removeprefix .removesuffix .casefold "
    ".zfill .hexdigest .bit_length)",
    "os-environ": "os.environ (use kcore.common.platform.getenv)",
    "monotonic": "time.monotonic/monotonic_ns/perf_counter outside kcore/common/platform.py "
    "(use kcore.common.platform.monotonic_ms)",
    "strftime": "time.strftime (boards have none)",
    "json-indent": "json.dumps(..., indent=...) (TypeError on MicroPython)",
    "exception-name": "exception name boards lack (FileNotFoundError, TimeoutError, ...) used "
    "outside a compat shim (catch OSError and test errno, or use platform.error_class)",
    "fstring-debug": "f-string `=` debugging specifier",
    "regex": "regex feature MicroPython's re lacks (\\b, {m,n} repeats, back-references, "
    "named groups, lookarounds/inline flags): they silently never match or raise",
    "re-function": "module-level re function or flag MicroPython lacks (re.split, re.findall, "
    "re.fullmatch, re.escape, re.I, ...): compile first and use the pattern's methods",
    "missing-attr": "stdlib name boards lack (os.path, collections.defaultdict, ...)",
    "syntax": "the file does not parse",
    "config": "the [tool.kcore] table names something that does not exist",
    "allow-comment": "a `# cpy-safe: allow` comment names an unknown rule",
}

ALLOWED_MODULES = frozenset(
    "sys time os gc json re errno binascii hashlib struct io collections math random "
    "micropython select asyncio supervisor array".split()
)
BOARD_MISSING_EXCEPTIONS = frozenset(
    "FileNotFoundError TimeoutError ConnectionError PermissionError FileExistsError "
    "IsADirectoryError NotADirectoryError ModuleNotFoundError BrokenPipeError "
    "ConnectionResetError ConnectionRefusedError ConnectionAbortedError InterruptedError "
    "BlockingIOError ProcessLookupError ChildProcessError UnicodeDecodeError "
    "UnicodeEncodeError".split()
)
MISSING_METHODS = frozenset(
    "removeprefix removesuffix casefold zfill hexdigest bit_length".split()
)
MONOTONIC_NAMES = frozenset(
    "time.monotonic time.monotonic_ns time.perf_counter time.perf_counter_ns".split()
)
CLOCK_SHIM = "kcore/common/platform.py"
MISSING_ATTRS = {
    "os": frozenset(["path"]),
    "collections": frozenset(["defaultdict", "Counter", "ChainMap", "UserDict", "UserList"]),
}
RE_MISSING = frozenset(
    "split findall finditer fullmatch escape subn purge template I IGNORECASE M MULTILINE "
    "S DOTALL X VERBOSE A ASCII L LOCALE U UNICODE DEBUG".split()
)
RE_PATTERN_FUNCS = frozenset(
    "compile match search sub split fullmatch findall finditer subn".split()
)
PLATFORM_FLAGS = {
    "CPYTHON": {"cpython"},
    "MICROPYTHON": {"micropython"},
    "CIRCUITPYTHON": {"circuitpython"},
}
ALL_IMPLS = frozenset(["cpython", "micropython", "circuitpython"])
IMPORT_CATCHERS = frozenset(["ImportError", "Exception", "BaseException"])
NAME_CATCHERS = frozenset(["NameError", "Exception", "BaseException"])
FEATURE_CATCHERS = frozenset(["ImportError", "AttributeError", "Exception", "BaseException"])
ALLOW_COMMENT = re.compile(r"#\s*cpy-safe:\s*allow\s+([A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)")


class Finding:
    def __init__(self, path, line, rule, message):
        self.path, self.line, self.rule, self.message = path, line, rule, message

    def __str__(self):
        return "%s:%d: %s: %s" % (self.path, self.line, self.rule, self.message)


class _Ctx:
    """What guards surround the node being visited."""

    __slots__ = (
        "feature_guard",
        "function",
        "impls",
        "name_guard",
        "platform",
        "shim",
        "try_import",
        "type_checking",
    )

    def __init__(self):
        self.function = False  # inside a def: imports there are lazy
        self.try_import = False  # inside try: whose handler catches ImportError
        self.platform = False  # under an if on sys.implementation / platform flags
        self.type_checking = False  # under if TYPE_CHECKING: (never runs)
        self.name_guard = False  # inside try: whose handler catches NameError
        self.impls = ALL_IMPLS  # implementations this code runs on, as far as known
        self.shim = False  # inside def error_class / *compat* or a *compat* module
        self.feature_guard = False  # try/except ImportError/AttributeError or platform if

    def copy(self, **changes):
        new = _Ctx()
        for k in self.__slots__:
            setattr(new, k, changes.get(k, getattr(self, k)))
        return new


def _handler_names(handler):
    """Exception class names an except clause catches (bare except: BaseException)."""
    t = handler.type
    if t is None:
        return {"BaseException"}
    nodes = t.elts if isinstance(t, ast.Tuple) else [t]
    out = set()
    for n in nodes:
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
    return out


def _is_impl_name(node):
    """`sys.implementation.name` (any alias of sys) or a platform IMPLEMENTATION constant."""
    if isinstance(node, ast.Attribute) and node.attr == "name":
        v = node.value
        return isinstance(v, ast.Attribute) and v.attr == "implementation"
    if isinstance(node, ast.Name):
        return node.id == "IMPLEMENTATION"
    return isinstance(node, ast.Attribute) and node.attr == "IMPLEMENTATION"


def _flag_name(node):
    if isinstance(node, ast.Name) and node.id in PLATFORM_FLAGS:
        return node.id
    if isinstance(node, ast.Attribute) and node.attr in PLATFORM_FLAGS:
        return node.attr
    return None


def _is_platform_test(test):
    return any(_flag_name(n) or _is_impl_name(n) for n in ast.walk(test))


def _str_set(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        out = set()
        for e in node.elts:
            if not (isinstance(e, ast.Constant) and isinstance(e.value, str)):
                return None
            out.add(e.value)
        return out
    return None


def _platform_eval(test):
    """The implementations on which ``test`` is true, or None if unknown."""
    flag = _flag_name(test)
    if flag:
        return set(PLATFORM_FLAGS[flag])
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _platform_eval(test.operand)
        return None if inner is None else set(ALL_IMPLS) - inner
    if isinstance(test, ast.BoolOp):
        parts = [_platform_eval(v) for v in test.values]
        if any(p is None for p in parts):
            return None
        out = set(parts[0])
        for p in parts[1:]:
            out = out & p if isinstance(test.op, ast.And) else out | p
        return out
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if not _is_impl_name(left):
            left, right = right, left
        if not _is_impl_name(left):
            return None
        values = _str_set(right)
        if values is None:
            return None
        hit = set(ALL_IMPLS) & values
        if isinstance(op, (ast.Eq, ast.In, ast.Is)):
            return hit
        if isinstance(op, (ast.NotEq, ast.NotIn, ast.IsNot)):
            return set(ALL_IMPLS) - hit
    return None


# ------------------------------------------------------------------ regex


def regex_problems(pattern):
    """Features of ``pattern`` MicroPython's re does not support."""
    if isinstance(pattern, bytes):
        pattern = pattern.decode("latin-1")
    problems = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if not in_class and nxt in "bB":
                problems.append("\\%s word boundary" % nxt)
            elif nxt in "123456789" and not in_class:
                problems.append("back-reference \\%s" % nxt)
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            i += 1
            continue
        if ch == "[":
            in_class = True
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":
                i += 1  # a leading ] is literal
            continue
        if ch == "{":
            m = re.compile(r"\{(\d*)(,?)(\d*)\}").match(pattern, i)
            if m and (m.group(1) or m.group(3)):
                problems.append("counted repeat %s" % m.group(0))
                i = m.end()
                continue
        if ch == "(" and pattern.startswith("(?", i):
            if pattern.startswith("(?P<", i):
                problems.append("named group (?P<...>)")
            elif pattern.startswith("(?P=", i):
                problems.append("named back-reference (?P=...)")
            elif not pattern.startswith("(?:", i):
                problems.append("group extension %s" % pattern[i : i + 3])
        i += 1
    return problems


# ------------------------------------------------------------------ f-strings


def _fstring_texts(source):
    """(start line, literal text) of every f-string in ``source``."""
    out = []
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))

    def abs_pos(pos):
        return offsets[pos[0] - 1] + pos[1]

    fstart = getattr(tokenize, "FSTRING_START", None)
    fend = getattr(tokenize, "FSTRING_END", None)
    stack: list = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING:
            prefix = tok.string[: len(tok.string) - len(tok.string.lstrip("rRbBfFuUtT"))]
            if "f" in prefix.lower() and not stack:
                out.append((tok.start[0], tok.string))
        elif fstart is not None and tok.type == fstart:
            stack.append(tok.start)
        elif fend is not None and tok.type == fend and stack:
            start = stack.pop()
            if not stack:
                out.append((start[0], source[abs_pos(start) : abs_pos(tok.end)]))
    return out


def fstring_debug_offsets(text):
    """Offsets (into ``text``) of replacement fields using the ``=`` specifier."""
    i = 0
    while i < len(text) and text[i] not in "'\"":
        i += 1
    quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else text[i : i + 1]
    start = i + len(quote)
    body = text[start : len(text) - len(quote)]
    found: list = []
    _scan_literal(body, 0, found, False)
    return [start + f for f in found]


def _scan_literal(s, i, found, in_spec):
    while i < len(s):
        ch = s[i]
        if ch == "{":
            if not in_spec and s.startswith("{{", i):
                i += 2
                continue
            i = _scan_field(s, i + 1, found)
            continue
        if ch == "}":
            if in_spec:
                return i
            if s.startswith("}}", i):
                i += 2
                continue
        i += 1
    return i


def _scan_field(s, i, found):
    start, depth = i, 0
    while i < len(s):
        ch = s[i]
        if ch in "'\"":
            q = s[i : i + 3] if s[i : i + 3] in ('"""', "'''") else ch
            j = s.find(q, i + len(q))
            i = len(s) if j < 0 else j + len(q)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}" and depth > 0:
            depth -= 1
        elif depth == 0 and (ch in "}:" or (ch == "!" and s[i + 1 : i + 2] != "=")):
            if s[start:i].rstrip().endswith("=") and s[start:i].strip() != "=":
                found.append(start)
            if ch == "!":
                while i < len(s) and s[i] not in ":}":
                    i += 1
                if i >= len(s):
                    return i
                ch = s[i]
            if ch == ":":
                i = _scan_literal(s, i + 1, found, True)
            return i + 1
        i += 1
    return i


# ------------------------------------------------------------------ the checker


class FileChecker(ast.NodeVisitor):
    def __init__(self, display, rel, source, kcore_entries, kcore_excluded):
        self.display = display
        self.rel = rel  # src-relative path ('kcore/common/logger.py') or None
        self.source = source
        self.kcore_entries = kcore_entries
        self.kcore_excluded = kcore_excluded
        self.findings = []
        self.ctx = _Ctx()
        self.modules = {}  # local name -> module ('os', 'time', ...)
        self.from_names = {}  # local name -> 'module.name'
        self.constants = {}  # module-level NAME = "string literal"
        self.type_checking_defined = False
        base = os.path.basename(rel or display)
        self.ctx.shim = "compat" in base.lower()

    # -------------------------------------------------------------- helpers

    def add(self, node, rule, message):
        self.findings.append(Finding(self.display, getattr(node, "lineno", 1), rule, message))

    def package(self):
        if not self.rel:
            return None
        parts = self.rel[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        else:
            parts = parts[:-1]
        return ".".join(parts)

    def qual(self, node):
        """'time.monotonic' for time.monotonic / t.monotonic / imported monotonic."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            mod = self.modules.get(node.value.id)
            if mod:
                return mod + "." + node.attr
        if isinstance(node, ast.Name):
            return self.from_names.get(node.id)
        return None

    def visit_with(self, nodes, ctx):
        saved = self.ctx
        self.ctx = ctx
        try:
            for n in nodes:
                self.visit(n)
        finally:
            self.ctx = saved

    # -------------------------------------------------------------- entry

    def run(self):
        try:
            tree = ast.parse(self.source, filename=self.display)
        except SyntaxError as e:
            self.findings.append(Finding(self.display, e.lineno or 1, "syntax", str(e.msg)))
            return self.findings
        except ValueError as e:  # e.g. CPython 3.12.1 on some nested f-strings
            self.findings.append(Finding(self.display, 1, "syntax", "cannot parse: %s" % e))
            return self.findings
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant):
                    if target.id == "TYPE_CHECKING" and node.value.value is False:
                        self.type_checking_defined = True
                    if isinstance(node.value.value, (str, bytes)):
                        self.constants[target.id] = node.value.value
        for node in ast.walk(tree):  # aliases first, wherever they are bound
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.modules[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.modules[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    self.from_names[a.asname or a.name] = node.module + "." + a.name
        self.visit(tree)
        self.check_fstrings()
        return self.apply_allow_comments()

    def check_fstrings(self):
        try:
            texts = _fstring_texts(self.source)
        except (tokenize.TokenError, SyntaxError):  # pragma: no cover - parsed above
            return
        for line, text in texts:
            for off in fstring_debug_offsets(text):
                self.findings.append(
                    Finding(
                        self.display,
                        line + text.count("\n", 0, off),
                        "fstring-debug",
                        'f-string `=` specifier (write the name out: f"x={x!r}")',
                    )
                )

    def apply_allow_comments(self):
        allowed: dict = {}
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(self.source).readline))
        except (tokenize.TokenError, SyntaxError):  # pragma: no cover
            tokens = []
        extra = []
        for tok in tokens:
            if tok.type != tokenize.COMMENT:
                continue
            m = ALLOW_COMMENT.search(tok.string)
            if not m:
                continue
            rules = [r.strip() for r in m.group(1).split(",")]
            for r in rules:
                if r not in RULES:
                    extra.append(
                        Finding(
                            self.display,
                            tok.start[0],
                            "allow-comment",
                            "unknown rule %r in cpy-safe allow comment" % r,
                        )
                    )
            allowed.setdefault(tok.start[0], set()).update(rules)
        kept = [f for f in self.findings if f.rule not in allowed.get(f.line, ())]
        return sorted(kept + extra, key=lambda f: (f.line, f.rule))

    # -------------------------------------------------------------- scopes

    def visit_FunctionDef(self, node):
        self.check_args(node.args, node)
        self.visit_with(node.decorator_list, self.ctx)
        self.visit_with(node.args.defaults + [d for d in node.args.kw_defaults if d], self.ctx)
        shim = self.ctx.shim or node.name == "error_class" or "compat" in node.name.lower()
        self.visit_with(node.body, self.ctx.copy(function=True, shim=shim))

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self.check_args(node.args, node)
        self.visit_with(node.args.defaults + [d for d in node.args.kw_defaults if d], self.ctx)
        self.visit_with([node.body], self.ctx.copy(function=True))

    def check_args(self, args, node):
        if getattr(args, "posonlyargs", None):
            self.add(
                node,
                "posonly",
                "positional-only parameters (`/`) are a SyntaxError on MicroPython",
            )

    def visit_ClassDef(self, node):
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
            if name == "dataclass":
                self.add(
                    dec,
                    "dataclass",
                    "@dataclass: boards have no dataclasses module; write __init__ by hand",
                )
        for kw in node.keywords:
            if kw.arg == "metaclass":
                self.add(node, "metaclass", "metaclass= is a TypeError on MicroPython")
        for base in node.bases:
            if isinstance(base, ast.Subscript):
                self.add(
                    base,
                    "generic-base",
                    "subscripted base %s: MicroPython classes have "
                    "no __class_getitem__" % _unparse(base),
                )
        self.generic_visit(node)

    def visit_If(self, node):
        test = node.test
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            if not self.type_checking_defined:
                self.add(
                    node,
                    "typing",
                    "`if TYPE_CHECKING:` needs `TYPE_CHECKING = False` "
                    "defined in this module (importing it from typing costs the import)",
                )
            self.visit(test)
            self.visit_with(node.body, self.ctx.copy(type_checking=True))
            self.visit_with(node.orelse, self.ctx)
            return
        if _is_platform_test(test):
            true_on = _platform_eval(test)
            body_impls = self.ctx.impls if true_on is None else self.ctx.impls & true_on
            else_impls = self.ctx.impls if true_on is None else self.ctx.impls - true_on
            self.visit(test)
            self.visit_with(
                node.body,
                self.ctx.copy(platform=True, impls=frozenset(body_impls), feature_guard=True),
            )
            self.visit_with(
                node.orelse,
                self.ctx.copy(platform=True, impls=frozenset(else_impls), feature_guard=True),
            )
            return
        self.generic_visit(node)

    def visit_Try(self, node):
        caught = set()
        for h in node.handlers:
            caught |= _handler_names(h)
        body_ctx = self.ctx.copy(
            try_import=self.ctx.try_import or bool(caught & IMPORT_CATCHERS),
            name_guard=self.ctx.name_guard or bool(caught & NAME_CATCHERS),
            feature_guard=self.ctx.feature_guard or bool(caught & FEATURE_CATCHERS),
        )
        self.visit_with(node.body, body_ctx)
        self.visit_with(node.handlers + node.orelse + node.finalbody, self.ctx)

    visit_TryStar = visit_Try

    def visit_Match(self, node):
        self.add(node, "match", "`match` is a SyntaxError on MicroPython")
        self.generic_visit(node)

    # -------------------------------------------------------------- imports

    def visit_Import(self, node):
        for a in node.names:
            self.check_import(node, a.name, [])

    def visit_ImportFrom(self, node):
        if node.module == "__future__":
            self.add(
                node,
                "future-import",
                "`from __future__` fails at run time on boards "
                "(there is no __future__ module); quote annotations instead",
            )
            return
        if node.level:
            pkg = self.package()
            if pkg is None:
                return
            parts = pkg.split(".")
            if node.level - 1 > len(parts) - 1:
                return
            base = parts[: len(parts) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        self.check_import(node, module, [a.name for a in node.names])

    def check_import(self, node, module, names):
        top = module.split(".")[0]
        ctx = self.ctx
        for name in names:  # names boards lack: flagged wherever they are imported
            self.check_qualified(node, module + "." + name, imported=True)
        if ctx.function or ctx.type_checking:
            return
        if top in ("typing", "typing_extensions"):
            if not ctx.try_import:
                self.add(
                    node,
                    "typing",
                    "top-level `%s` import: boards have no typing; put it "
                    "under `if TYPE_CHECKING:` (TYPE_CHECKING = False) or try/except "
                    "ImportError" % module,
                )
            return
        if ctx.try_import or ctx.platform:
            return
        if top == "kcore":
            self.check_kcore_import(node, module, names)
            return
        if top in ALLOWED_MODULES:
            missing = MISSING_ATTRS.get(top, ())
            sub = module.split(".")[1:2]
            if sub and sub[0] in missing:
                self.add(node, "missing-attr", "%s does not exist on boards" % module)
            return
        self.add(
            node,
            "import",
            "top-level import of `%s`, which boards lack: import it "
            "inside the function that needs it, or guard it with try/except ImportError "
            "or a platform check" % module,
        )

    def kcore_module_ok(self, module):
        path = module.replace(".", "/")
        if path == "kcore":
            return True
        candidates = (path, path + ".py", path + "/__init__.py")
        covered = any(cpy_modules._covers(e, c) for e in self.kcore_entries for c in candidates)
        excluded = any(cpy_modules._covers(x, c) for x in self.kcore_excluded for c in candidates)
        return covered and not excluded

    def check_kcore_import(self, node, module, names):
        if not self.kcore_module_ok(module):
            self.add(
                node,
                "import",
                "top-level import of `%s`, which is not CircuitPython-safe "
                "(not in any [tool.kcore] circuitpython list, or cpython-only)" % module,
            )
            return
        for name in names:
            sub = (module + "." + name).replace(".", "/")
            if any(
                cpy_modules._covers(x, c) for x in self.kcore_excluded for c in (sub, sub + ".py")
            ):
                self.add(
                    node,
                    "import",
                    "top-level import of `%s.%s`, which is cpython-only" % (module, name),
                )

    # -------------------------------------------------------------- names

    def check_qualified(self, node, q, imported=False):
        if not q:
            return
        mod, _, attr = q.rpartition(".")
        ctx = self.ctx
        if q == "os.environ":
            self.add(
                node,
                "os-environ",
                "os.environ does not exist on boards: use kcore.common.platform.getenv",
            )
        elif q in MONOTONIC_NAMES:
            if self.rel != CLOCK_SHIM:
                self.add(
                    node,
                    "monotonic",
                    "%s is missing on MicroPython: use kcore.common.platform.monotonic_ms()" % q,
                )
        elif q == "time.strftime":
            self.add(node, "strftime", "time.strftime does not exist on boards")
        elif mod == "re" and attr in RE_MISSING:
            if not (ctx.feature_guard or ctx.type_checking):
                self.add(
                    node,
                    "re-function",
                    "re.%s does not exist on MicroPython: compile "
                    "the pattern and use its methods" % attr,
                )
        elif attr in MISSING_ATTRS.get(mod, ()):
            if not (ctx.feature_guard or ctx.type_checking):
                self.add(node, "missing-attr", "%s does not exist on boards" % q)

    def visit_Attribute(self, node):
        if isinstance(node.ctx, ast.Load):
            q = self.qual(node)
            if q:
                self.check_qualified(node, q)
            if node.attr in MISSING_METHODS:
                self.add(
                    node,
                    "missing-method",
                    ".%s() does not exist on boards%s"
                    % (
                        node.attr,
                        " (use binascii.hexlify(h.digest()))" if node.attr == "hexdigest" else "",
                    ),
                )
            if (
                node.attr in BOARD_MISSING_EXCEPTIONS
                and isinstance(node.value, ast.Name)
                and node.value.id == "builtins"
            ):
                self.check_exception_name(node, node.attr)
        self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in BOARD_MISSING_EXCEPTIONS:
            self.check_exception_name(node, node.id)

    def check_exception_name(self, node, name):
        ctx = self.ctx
        if ctx.shim or ctx.name_guard or ctx.type_checking:
            return
        if ctx.impls and ctx.impls <= {"cpython"}:
            return
        self.add(
            node,
            "exception-name",
            "%s does not exist on boards: catch OSError and "
            "test errno, or build the class with platform.error_class" % name,
        )

    def visit_Call(self, node):
        q = self.qual(node.func)
        if q in ("json.dumps", "json.dump"):
            for kw in node.keywords:
                if kw.arg == "indent":
                    self.add(
                        node, "json-indent", "%s(indent=...) is a TypeError on MicroPython" % q
                    )
        if q and q.startswith("re.") and q[3:] in RE_PATTERN_FUNCS:
            pattern = node.args[0] if node.args else None
            for kw in node.keywords:
                if kw.arg == "pattern":
                    pattern = kw.value
            value = None
            if isinstance(pattern, ast.Constant) and isinstance(pattern.value, (str, bytes)):
                value = pattern.value
            elif isinstance(pattern, ast.Name):
                value = self.constants.get(pattern.id)
            if value is not None:
                for problem in regex_problems(value):
                    self.add(
                        node,
                        "regex",
                        "%s in %r: MicroPython's re %s"
                        % (
                            problem,
                            value,
                            "raises" if "group" in problem else "silently never matches",
                        ),
                    )
        self.generic_visit(node)


def _unparse(node):
    try:
        return ast.unparse(node)
    except AttributeError:  # pragma: no cover - Python < 3.9
        return node.__class__.__name__


# ------------------------------------------------------------------ driver


def check_file(path, rel=None, display=None, kcore_paths=None, root=None):
    """Findings for one file. ``rel`` is its src-relative path when known."""
    if rel is None:
        norm = os.path.abspath(path).replace(os.sep, "/")
        idx = norm.rfind("/src/kcore/")
        rel = norm[idx + len("/src/") :] if idx >= 0 else None
    if kcore_paths is None:
        try:
            kcore_paths = cpy_modules.safe_module_paths(root or cpy_modules.find_root())
        except cpy_modules.ConfigError:
            kcore_paths = ([], [])
    with open(path, "rb") as f:
        raw = f.read()
    display = display or path
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return [Finding(display, 1, "syntax", "not UTF-8: %s" % e)]
    return FileChecker(display, rel, source, kcore_paths[0], kcore_paths[1]).run()


def _display(path, root):
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Static CircuitPython-safety check of the CircuitPython-safe modules."
    )
    parser.add_argument("files", nargs="*", help="check these files instead of the tree")
    parser.add_argument(
        "--dist", action="append", default=[], help="only this distribution (repeatable)"
    )
    parser.add_argument("--root", help="repository root (default: found from this script)")
    parser.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    args = parser.parse_args(argv)

    if args.list_rules:
        for name in RULES:
            print("%-15s %s" % (name, RULES[name]))
        return 0
    try:
        root = os.path.abspath(args.root) if args.root else cpy_modules.find_root()
        kcore_paths = cpy_modules.safe_module_paths(root)
    except cpy_modules.ConfigError as e:
        print("check_cpy_safe: %s" % e, file=sys.stderr)
        return 2

    findings = []
    targets = []  # (abs path, rel or None)
    if args.files:
        for f in args.files:
            if not os.path.isfile(f):
                print("check_cpy_safe: no such file: %s" % f, file=sys.stderr)
                return 2
            targets.append((os.path.abspath(f), None))
    else:
        try:
            known = cpy_modules.dists(root)
            for d in args.dist:
                if d not in known:
                    print(
                        "check_cpy_safe: unknown distribution %r (have: %s)"
                        % (d, ", ".join(known)),
                        file=sys.stderr,
                    )
                    return 2
            for dist in args.dist or cpy_modules.circuitpython_dists(root):
                try:
                    for rel in cpy_modules.safe_files(root, dist):
                        path = os.path.join(cpy_modules.src_dir(root, dist), *rel.split("/"))
                        targets.append((path, rel))
                except cpy_modules.ConfigError as e:
                    findings.append(
                        Finding(
                            os.path.join("packages", dist, "pyproject.toml"), 1, "config", str(e)
                        )
                    )
                _, excluded = cpy_modules.safe_entries(root, dist)
                for x in excluded:  # stale, but harmless for the boards: a warning
                    if not os.path.exists(os.path.join(cpy_modules.src_dir(root, dist), x)):
                        print(
                            "warning: packages/%s/pyproject.toml: cpython-only entry %r "
                            "does not exist" % (dist, x),
                            file=sys.stderr,
                        )
        except cpy_modules.ConfigError as e:
            print("check_cpy_safe: %s" % e, file=sys.stderr)
            return 2

    for path, rel in targets:
        findings += check_file(
            path, rel=rel, display=_display(path, root), kcore_paths=kcore_paths
        )
    for f in findings:
        print(f)
    print(
        "check_cpy_safe: %d file%s checked, %d finding%s"
        % (
            len(targets),
            "" if len(targets) == 1 else "s",
            len(findings),
            "" if len(findings) == 1 else "s",
        )
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
