"""Settings files, globs, directories and ``!include`` trees -> (value, source) pairs.

An include directive is a line that *starts* with the directive (default
``!include``) followed by a file, a directory (its settings files, by name) or
a glob. A relative argument is looked up in the current directory first, then
in the including file's directory. In YAML text a directive line inside a
multi-line scalar (a ``|``/``>`` block, whose lines are indented, or a quoted
string continued onto the next line) is text, not a directive.

Bounds, so a settings tree cannot make a load run away: nesting depth
(:data:`MAX_INCLUDE_DEPTH`), cycles (an error naming the chain), the number of
files one load reads (:data:`MAX_INCLUDED_FILES`, a file included twice counts
twice) and the bytes it reads (:data:`MAX_TOTAL_BYTES`, and
:data:`MAX_FILE_BYTES` per file).
"""

from __future__ import annotations

import glob
import os
from typing import Any, List, Mapping, Optional, Tuple

from kcore.settings._formats import (
    SettingsError,
    Values,
    data_type_for,
    expand_home,
    parse_text,
    sniff_data_type,
    unquote,
    where,
    yaml_loader,
)

MAX_INCLUDE_DEPTH = 16
MAX_FILE_BYTES = 16 * 1024 * 1024  # a settings file larger than this is a mistake
# What one load may do in all, includes included: a fan-out of includes that
# include the same files again is bounded by these, not only by depth and cycles.
MAX_INCLUDED_FILES = 256
MAX_TOTAL_BYTES = 32 * 1024 * 1024
_GLOB_CHARS = ("*", "?", "[")


def _multiline_scalar_lines(text: str) -> List[Tuple[int, int]]:
    """(first, last) 0-based line ranges of YAML scalars spanning several lines
    (lines after ``first`` belong to the scalar's text); [] if it does not scan."""
    import yaml

    spans = []
    try:
        for tok in yaml.scan(text, Loader=yaml_loader()):
            if isinstance(tok, yaml.ScalarToken):
                start, end = tok.start_mark.line, tok.end_mark.line
                if tok.end_mark.column == 0:
                    end -= 1  # ends at the start of the next line
                if end > start:
                    spans.append((start, end))
    except yaml.YAMLError:
        return []  # not valid YAML: the parse that follows reports it
    return spans


class Loader:
    """Loads files, globs, lists and ``!include`` trees; one instance per load
    (it counts the files and bytes that load reads)."""

    def __init__(
        self,
        include_directive: Optional[str] = "!include",
        data_type: str = "auto",
        environ: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.include_directive = include_directive
        self.data_type = data_type
        self.environ = environ
        self.files_read = 0
        self.bytes_read = 0

    def expand(self, spec: Any) -> List[str]:
        """A path, glob or list of them -> existing file paths, in order."""
        if spec is None:
            return []
        if isinstance(spec, (list, tuple)):
            out: List[str] = []
            for item in spec:
                out.extend(self.expand(item))
            return out
        if not isinstance(spec, (str, os.PathLike)):
            raise SettingsError("settings filename must be a str, glob or list, not %r" % (spec,))
        path = expand_home(os.fspath(spec), self.environ)
        if any(c in path for c in _GLOB_CHARS):
            return sorted(glob.glob(path))
        if os.path.isdir(path):
            return self._dir_entries(path)
        return [path] if os.path.isfile(path) else []

    @staticmethod
    def _dir_entries(path: str) -> List[str]:
        """The settings files of a directory, by name (README.md etc. are skipped)."""
        return [
            os.path.join(path, n)
            for n in sorted(os.listdir(path))
            if not n.startswith(".")
            and os.path.isfile(os.path.join(path, n))
            and data_type_for(n) is not None
        ]

    def load_files(self, spec: Any, data_type: Optional[str] = None) -> Values:
        out: Values = {}
        for path in self.expand(spec):
            out.update(self.load_file(path, data_type, stack=()))
        return out

    def _type_of(self, path: str, data_type: Optional[str]) -> str:
        if data_type and data_type != "auto":
            return data_type
        if self.data_type and self.data_type != "auto":
            return self.data_type
        t = data_type_for(path)
        if t is None:
            raise SettingsError(
                "%s: unknown settings file type %r (use .yaml, .yml, .settings, .env, .dict "
                "or no extension, or pass data_type)" % (path, os.path.splitext(path)[1])
            )
        return t

    def _read(self, path: str) -> str:
        self.files_read += 1
        if self.files_read > MAX_INCLUDED_FILES:
            raise SettingsError(
                "%s: one load may read at most %d settings files (includes included)"
                % (path, MAX_INCLUDED_FILES)
            )
        limit = min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - self.bytes_read)
        try:
            with open(path, "rb") as f:
                raw = f.read(limit + 1)
        except OSError as e:
            raise SettingsError("%s: cannot read settings file: %s" % (path, e.strerror)) from None
        if len(raw) > limit:
            if limit < MAX_FILE_BYTES:
                raise SettingsError(
                    "%s: one load may read at most %d bytes of settings (includes included)"
                    % (path, MAX_TOTAL_BYTES)
                )
            raise SettingsError("%s: larger than %d bytes" % (path, MAX_FILE_BYTES))
        self.bytes_read += len(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SettingsError("%s: not UTF-8 text (%s)" % (path, e.reason)) from None

    def load_file(self, path: str, data_type: Optional[str], stack: Tuple[str, ...]) -> Values:
        real = os.path.realpath(path)
        if real in stack:
            chain = " -> ".join([*stack, real])
            raise SettingsError("settings include cycle: %s" % chain)
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise SettingsError(
                "%s: settings includes nested deeper than %d levels" % (path, MAX_INCLUDE_DEPTH)
            )
        kind = self._type_of(path, data_type)
        text = self._read(path)
        out = self.load_text(text, kind, path, (*stack, real))
        out["_settings_filename"] = (path, path)
        basedir = os.path.basename(os.path.dirname(os.path.abspath(path)))
        out["_settings_basedir"] = (basedir, path)
        return out

    def _directive_lines(self, lines: List[str], data_type: Optional[str]) -> List[int]:
        directive = self.include_directive
        assert directive
        n = len(directive)
        found = [
            i
            for i, line in enumerate(lines)
            if line.startswith(directive) and (len(line) == n or line[n] in " \t\r")
        ]
        if not found:
            return found
        # Scan with each directive turned into a same-length comment: where it is
        # really a directive the YAML stays valid, and where it sits inside a quoted
        # string the rest of its line (a closing quote...) is kept.
        masked = list(lines)
        for i in found:
            masked[i] = "#" + " " * (n - 1) + lines[i][n:]
        text = "\n".join(masked)
        kind = data_type if data_type not in (None, "", "auto") else sniff_data_type(text)
        if kind != "yaml":
            return found
        spans = _multiline_scalar_lines(text)
        return [i for i in found if not any(a < i <= b for a, b in spans)]

    def load_text(
        self, text: str, data_type: Optional[str], source: Optional[str], stack: Tuple[str, ...]
    ) -> Values:
        out: Values = {}
        directive = self.include_directive
        if directive and directive in text:
            lines = text.split("\n")
            base = os.path.dirname(source) if source else ""
            for i in self._directive_lines(lines, data_type):
                arg = lines[i][len(directive) :].strip()
                lines[i] = ""  # keep line numbers of later errors right
                out.update(self._include(arg, base, source, i + 1, stack))
            text = "\n".join(lines)
        label = source or "<settings string>"
        for key, value in parse_text(text, data_type or "auto", source).items():
            out[key] = (value, label)
        return out

    def _matches(self, path: str) -> Optional[List[str]]:
        """The settings files ``path`` names (a file, a directory, a glob), or None."""
        if os.path.isdir(path):
            return self._dir_entries(path)
        if os.path.isfile(path):
            return [path]
        if any(c in path for c in _GLOB_CHARS):
            found = [p for p in sorted(glob.glob(path)) if os.path.isfile(p)]
            return found or None
        return None

    def _include(
        self, arg: str, base: str, source: Optional[str], line: int, stack: Tuple[str, ...]
    ) -> Values:
        at = where(source, line)
        if not arg:
            raise SettingsError(
                "%s: %s needs a file, directory or glob" % (at, self.include_directive)
            )
        path = expand_home(unquote(arg), self.environ)
        candidates = [path]
        if not os.path.isabs(path) and base:
            candidates.append(os.path.join(base, path))  # after the current directory
        for candidate in candidates:
            found = self._matches(candidate)
            if found is not None:
                out: Values = {}
                for entry in found:
                    out.update(self.load_file(entry, None, stack))
                return out
        raise SettingsError(
            "%s: %s %r is not a file, a directory or a glob matching anything (looked in "
            "the current directory%s)"
            % (at, self.include_directive, arg, " and %s" % base if len(candidates) > 1 else "")
        )
