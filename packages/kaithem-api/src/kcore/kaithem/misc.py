"""``kaithem.misc``: odds and ends of the Kaithem object.

``effwords`` is the EFF long word list (7776 words, for diceware-style
passphrases: https://www.eff.org/dice), shipped as
``data/eff_large_wordlist.txt`` and read on first use. The list is by the
Electronic Frontier Foundation under CC BY 3.0 US; the copy here is byte for
byte the one distributed on PyPI in ``diceware`` (and matches ``xkcdpass``).

``version`` and ``version_info`` are values that can also be called, since
the help page documents calls and the original code gave plain values.
"""

from __future__ import annotations

import os
import random
import sys
import threading
from collections.abc import Sequence
from typing import Any, Callable, Iterator, List, Optional, Tuple, overload

from kcore.kaithem import __version__
from kcore.kaithem._support import default_namespace

__all__ = [
    "EFFWordList",
    "Namespace",
    "VersionInfo",
    "VersionString",
    "breakpoint",
    "datadir",
    "do",
    "effwords",
    "errors",
    "lorem",
    "make_lorem",
    "uptime",
    "version",
    "version_info",
]

#: package data (the EFF word list)
datadir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
EFF_WORDLIST_PATH = os.path.join(datadir, "eff_large_wordlist.txt")


# ------------------------------------------------------------- versions


class VersionString(str):
    """A version string that also answers a call: ``version == version()``."""

    def __call__(self) -> str:
        return str(self)


class VersionInfo(Tuple[int, int, int, str, int]):
    """``(major, minor, micro, releaselevel, serial)``; callable like the
    help page says. releaselevel is dev, alpha, beta, candidate or final."""

    def __call__(self) -> Tuple[int, int, int, str, int]:
        return tuple(self)  # type: ignore[return-value]


def _version_info(text: str) -> VersionInfo:
    parts = text.split(".")
    nums = [int(p) if p.isdigit() else 0 for p in [*parts, "0", "0", "0"][:3]]
    return VersionInfo((nums[0], nums[1], nums[2], "final", 0))


version = VersionString(__version__)
version_info = _version_info(__version__)


# ------------------------------------------------------------- word list


class EFFWordList(Sequence):  # type: ignore[type-arg]
    """The EFF long word list as a read-only sequence, loaded on first use."""

    def __init__(self, path: str = EFF_WORDLIST_PATH) -> None:
        self._path = path
        self._words: Optional[Tuple[str, ...]] = None
        self._lock = threading.Lock()

    def _load(self) -> Tuple[str, ...]:
        words = self._words
        if words is None:
            with self._lock:
                if self._words is None:
                    with open(self._path, encoding="utf-8") as f:
                        # lines are "<five dice digits>\t<word>"
                        self._words = tuple(line.split()[-1] for line in f if line.strip())
                words = self._words
        return words

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Tuple[str, ...]: ...

    def __getitem__(self, index: Any) -> Any:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __contains__(self, word: object) -> bool:
        return word in self._load()

    def __repr__(self) -> str:
        return "<EFF long word list, %s>" % (
            "%d words" % len(self._words) if self._words is not None else "not loaded yet"
        )


effwords = EFFWordList()


# ------------------------------------------------------------- lorem

# The classic Lorem Ipsum vocabulary (from Cicero, de Finibus 1.10.32-33).
_LOREM_WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud "
    "exercitation ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure "
    "in reprehenderit voluptate velit esse cillum eu fugiat nulla pariatur excepteur sint "
    "occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est "
    "laborum"
).split()
_random = random.Random()  # noqa: S311 - placeholder text, not secrets


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_LOREM_WORDS) for _ in range(rng.randint(6, 14))]
    return " ".join(words).capitalize() + "."


def make_lorem(rng: Optional[random.Random] = None, sentences: Optional[List[str]] = None) -> str:
    """About a sentence to a paragraph of placeholder text, different each
    call. ``sentences`` (config ``lorem``) replaces the built-in generator:
    one of them is picked at random."""
    rng = rng or _random
    if sentences:
        return str(rng.choice(sentences))
    return " ".join(_sentence(rng) for _ in range(rng.randint(1, 4)))


# ------------------------------------------------------------- helpers


def errors(f: Callable[[], Any]) -> Optional[Exception]:
    """Call ``f()``; return the ``Exception`` it raised, or None.
    ``KeyboardInterrupt``/``SystemExit`` pass through."""
    try:
        f()
    except Exception as exc:  # returning it is the point
        return exc
    return None


def breakpoint() -> None:  # the documented name
    """Print a notice. Set a debugger breakpoint on this function to stop
    wherever user code calls it."""
    print("kaithem.misc.breakpoint() called", file=sys.stderr)


# ------------------------------------------------------------- namespace


class Namespace:
    """``kaithem.misc`` of one Kaithem instance."""

    def __init__(self, kaithem: Any = None) -> None:
        self._kaithem = kaithem
        if kaithem is not None:
            from kcore.kaithem.time import boot_time

            boot_time(kaithem)

    version = version
    version_info = version_info
    effwords = effwords
    datadir = datadir
    errors = staticmethod(errors)
    breakpoint = staticmethod(breakpoint)

    @property
    def vardir(self) -> str:
        """The instance's var dir (its ``vardir`` or the per-user default)."""
        from kcore.kaithem.persist import vardir_of

        return vardir_of(self._kaithem)

    def do(self, f: Callable[..., Any], *args: Any) -> None:
        """Run ``f(*args)`` on the instance's worker pool and return at once.
        Errors are logged and posted on ``/system/errors/workers``."""
        if not callable(f):
            raise TypeError("do() needs a callable, got %r" % (f,))
        self._kaithem.runtime.workers.submit(f, *args)

    def lorem(self) -> str:
        config = getattr(self._kaithem, "config", None) or {}
        sentences = config.get("lorem")
        if sentences is not None and (
            isinstance(sentences, str) or not all(isinstance(s, str) for s in sentences)
        ):
            raise TypeError("config 'lorem' must be a list of strings")
        return make_lorem(sentences=sentences)

    def uptime(self) -> float:
        """Seconds since the instance came up (same as ``kaithem.time.uptime``)."""
        import time

        from kcore.kaithem.time import boot_time

        return time.monotonic() - boot_time(self._kaithem)

    def location(self) -> Tuple[float, float]:
        """The instance's ``(lat, lon)``; ``LocationError`` if it has none."""
        from kcore.kaithem.time import LocationError

        loc = getattr(self._kaithem, "location", None)
        if loc is None:
            raise LocationError("no location: create Kaithem(location=(lat, lon))")
        lat, lon = loc
        return (float(lat), float(lon))

    def __repr__(self) -> str:
        return "<kaithem.misc>"


def _ns() -> Namespace:
    ns: Namespace = default_namespace("misc")
    return ns


def do(f: Callable[..., Any], *args: Any) -> None:
    """Run ``f(*args)`` on the default instance's worker pool."""
    _ns().do(f, *args)


def uptime() -> float:
    """Seconds since the default instance came up."""
    return _ns().uptime()


def lorem() -> str:
    """Placeholder text (default instance's config ``lorem`` if set)."""
    return _ns().lorem()


def __getattr__(name: str) -> Any:
    if name == "vardir":
        return _ns().vardir
    raise AttributeError("module 'kcore.kaithem.misc' has no attribute %r" % name)
