"""``kaithem.sound``: play sound files by handle, with volume, fades and
pause, on a back end chosen at first use (never at import).

Back ends (config ``sound-backend``): ``auto`` (default: mpv if installed,
else sox, else aplay, else silent), ``mpv`` (one mpv process per sound,
controlled over its JSON IPC: live volume, pause, fades, preloading;
config ``sound-mpv-args`` adds arguments such as ``["--ao=null"]``),
``sox`` / ``aplay`` (volume, start, end, loop and speed fixed when the sound
starts), ``recording`` (plays nothing, records every call in
``backend.log``: what tests use) and ``none``.

One sound per handle (``"PRIMARY"`` by default): playing on a busy handle
stops the old sound. Volume is perceptual, 0 to 1 (mpv's cubic volume
curve), so fades, which ramp it linearly at up to 48 steps a second, sound
linear.

File names are searched in: ``extraPaths``, then as given (absolute, or
relative to the working directory), the configured ``audio-paths``
(``"__default__"`` is the built-in sounds), ``<vardir>/static`` and
``<vardir>/assets``. Relative names may have sub-folders but no ``..``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError
from kcore.kaithem._sound_backends import (
    BACKENDS,
    Backend,
    MpvBackend,
    Player,
    PlayOptions,
    RecordingBackend,
    SoundError,
    SoxBackend,
    make_backend,
)
from kcore.kaithem._support import default_namespace

__all__ = [
    "BACKENDS",
    "BUILTIN_DIR",
    "Backend",
    "MpvBackend",
    "Namespace",
    "PlayOptions",
    "Player",
    "RecordingBackend",
    "SoundError",
    "SoundNotFound",
    "SoxBackend",
    "builtin_sounds",
]

BUILTIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sounds")
PRIMARY = "PRIMARY"
FADE_RATE = 48.0  # volume steps per second, at most
PRELOAD_LIMIT = 4
END_OF_FILE = -0.0001  # the documented default ``end``: play to the end


class SoundNotFound(KcoreError, ValueError):
    """No file of that name in any sound directory."""


def builtin_sounds() -> List[str]:
    """File names of the sounds shipped with this package."""
    try:
        return sorted(f for f in os.listdir(BUILTIN_DIR) if not f.startswith("."))
    except OSError:
        return []


def _check_volume(volume: Any) -> float:
    if isinstance(volume, bool) or not isinstance(volume, (int, float)) or volume != volume:
        raise TypeError("volume must be a number from 0 to 1, got %r" % (volume,))
    return min(max(float(volume), 0.0), 10.0)


class Namespace:
    """``kaithem.sound`` of one Kaithem instance."""

    SoundError = SoundError
    SoundNotFound = SoundNotFound

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        self._lock = threading.RLock()
        self._backend: Optional[Backend] = None
        self._players: Dict[str, Player] = {}
        self._fades: Dict[str, threading.Event] = {}
        self._preloaded: Dict[Tuple[str, str], Player] = {}

    # -- configuration ---------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The back end, created on first use from config ``sound-backend``."""
        with self._lock:
            if self._backend is None:
                config = self._kaithem.config
                self._backend = make_backend(str(config.get("sound-backend", "auto")), config)
            return self._backend

    @property
    def directories(self) -> List[str]:
        """Config ``audio-paths`` (default ``["__default__"]``, the built-in sounds)."""
        paths = self._kaithem.config.get("audio-paths", ["__default__"])
        return [str(p) for p in paths]

    @property
    def builtinSounds(self) -> List[str]:  # the help page's name
        return builtin_sounds()

    builtin_sounds = builtinSounds

    def _search_dirs(self, extra: Sequence[str]) -> List[str]:
        from kcore.kaithem.persist import vardir_of

        vardir = vardir_of(self._kaithem)
        dirs = [str(p) for p in extra] + [""]
        dirs += [BUILTIN_DIR if d == "__default__" else d for d in self.directories]
        return [*dirs, os.path.join(vardir, "static"), os.path.join(vardir, "assets")]

    def resolveSound(self, fn: str, extrapaths: Sequence[str] = ()) -> str:
        """The absolute path of sound ``fn`` (see the module docstring for the
        search order); :class:`SoundNotFound` if there is none."""
        if not isinstance(fn, str) or not fn:
            raise TypeError("a sound file name must be a non-empty str, got %r" % (fn,))
        if not os.path.isabs(fn) and ".." in fn.replace("\\", "/").split("/"):
            raise SoundNotFound("sound name %r must not contain '..'" % (fn,))
        for d in self._search_dirs(extrapaths):
            path = os.path.abspath(os.path.join(d, fn) if d else fn)
            if os.path.isfile(path):
                return path
        raise SoundNotFound(
            "no sound file %r in %s" % (fn, ", ".join(repr(d) for d in self._search_dirs(()) if d))
        )

    resolve_sound = resolveSound

    def outputs(self) -> List[str]:
        """Device names the back end can play to (for ``output=``)."""
        return self.backend.outputs()

    # -- playing -----------------------------------------------------------------

    def play(
        self,
        filename: str,
        handle: str = PRIMARY,
        volume: float = 1,
        start: float = 0,
        end: float = END_OF_FILE,
        output: Optional[str] = None,
        fs: bool = False,
        extraPaths: Sequence[str] = (),  # documented name
        *,
        loop: int = 1,
        speed: float = 1,
    ) -> Player:
        """Play ``filename`` on ``handle``, stopping what played there.

        ``volume`` 0-1 (perceptual); ``start``/``end`` in seconds, negative
        counting from the end of the file (the default ``end`` plays to the
        end); ``output`` a device from :meth:`outputs` (None or ``"@auto"``:
        the default); ``loop`` how many times (-1: forever); ``fs`` is
        accepted and ignored. Returns the :class:`Player`."""
        path = self.resolveSound(filename, extraPaths)
        volume = _check_volume(volume)
        out = None if output in (None, "", "@auto") else str(output)
        end_at = _end_arg(end)
        player = self._take_preloaded(path, out, float(start), end_at, loop, speed)
        with self._lock:
            self._cancel_fade(handle)
            old = self._players.pop(handle, None)
        if old is not None:
            old.stop()
        if player is not None:
            if player.volume != volume:
                player.set_volume(volume)
            player.resume()
        else:
            options = PlayOptions(volume, float(start), end_at, out, int(loop), float(speed))
            player = self.backend.start(path, options._replace(handle=handle))
        with self._lock:
            displaced = self._players.get(handle)
            self._players[handle] = player
        if displaced is not None:  # a concurrent play() on the same handle
            displaced.stop()
        return player

    def preload(self, filename: str, output: str = "@auto") -> None:
        """Start a paused player for ``filename`` on ``output``, used by the
        next :meth:`play` of the same file and output (mpv back end only;
        at most four are kept, the oldest stopped)."""
        backend = self.backend
        if not isinstance(backend, (MpvBackend, RecordingBackend)):
            return
        path = self.resolveSound(filename)
        out = None if output in (None, "", "@auto") else str(output)
        player = backend.start(
            path, PlayOptions(volume=0.0, output=out, paused=True, handle="__preload__")
        )
        with self._lock:
            old = self._preloaded.pop((path, out or ""), None)
            self._preloaded[(path, out or "")] = player
            excess = list(self._preloaded)[:-PRELOAD_LIMIT]
            dropped = [self._preloaded.pop(key) for key in excess]
        for p in [old, *dropped]:
            if p is not None:
                p.stop()

    def _take_preloaded(
        self,
        path: str,
        out: Optional[str],
        start: float,
        end: Optional[float],
        loop: int,
        speed: float,
    ) -> Optional[Player]:
        if start or end is not None or loop != 1 or speed != 1:
            return None
        with self._lock:
            player = self._preloaded.pop((path, out or ""), None)
        if player is not None and not player.is_playing():
            return None
        return player

    def player(self, handle: str = PRIMARY) -> Optional[Player]:
        """The :class:`Player` on ``handle``, if any (``get_property`` on mpv)."""
        with self._lock:
            return self._players.get(handle)

    def stop(self, handle: str = PRIMARY) -> None:
        """Stop the sound on ``handle`` (nothing if none)."""
        with self._lock:
            self._cancel_fade(handle)
            player = self._players.pop(handle, None)
        if player is not None:
            player.stop()

    def stop_all(self) -> None:
        """Stop every sound of this instance (and MIDI notes, if MIDI is in use)."""
        with self._lock:
            for handle in list(self._fades):
                self._cancel_fade(handle)
            players = list(self._players.values())
            self._players.clear()
        for p in players:
            p.stop()
        midi = self._kaithem.__dict__.get("midi")
        if midi is not None:
            midi.all_notes_off()

    def is_playing(self, handle: str = PRIMARY, refresh: bool = False) -> bool:
        """True while the sound on ``handle`` plays (paused counts as playing)."""
        player = self.player(handle)
        return player is not None and player.is_playing()

    def setvol(self, vol: float, handle: str = PRIMARY, final: bool = True) -> None:
        """Set the volume (0-1) of the sound on ``handle``; no effect on back
        ends without live control (sox, aplay)."""
        player = self.player(handle)
        if player is not None:
            player.set_volume(_check_volume(vol))

    def pause(self, handle: str = PRIMARY) -> None:
        player = self.player(handle)
        if player is not None and not player.paused:
            player.pause()

    def resume(self, handle: str = PRIMARY) -> None:
        player = self.player(handle)
        if player is not None and player.paused:
            player.resume()

    def position(self, handle: str = PRIMARY) -> float:
        """Seconds played of the sound on ``handle`` (0 if none)."""
        player = self.player(handle)
        return player.position() if player is not None else 0.0

    def wait(self, handle: str = PRIMARY, timeout: Optional[float] = None) -> bool:
        """Wait until the sound on ``handle`` ends; True if it did in time."""
        player = self.player(handle)
        return True if player is None else player.wait(timeout)

    # -- fades ---------------------------------------------------------------------

    def fade_to(
        self,
        file: Optional[str],
        length: float = 1.0,
        block: bool = False,
        detach: bool = True,
        handle: str = PRIMARY,
        **kwargs: Any,
    ) -> Optional[Player]:
        """Cross-fade the sound on ``handle`` to ``file`` over ``length``
        seconds (None: fade out to silence; with nothing playing, ``file``
        fades in from silence). ``kwargs`` are :meth:`play`'s. ``block``
        waits for the fade; otherwise it runs on its own thread. With
        ``detach`` (default) the fading-out sound leaves the handle at once;
        ``detach=False`` keeps it there while it fades to silence, so a new
        sound on the handle cuts it. Returns the new player, if any."""
        if isinstance(length, bool) or not isinstance(length, (int, float)) or length < 0:
            raise ValueError("fade length must be seconds >= 0, got %r" % (length,))
        target = _check_volume(kwargs.pop("volume", 1))
        kwargs.pop("fs", None)
        unknown = set(kwargs) - {"start", "end", "output", "loop", "speed", "extraPaths"}
        if unknown:
            raise TypeError("fade_to() got unexpected arguments: %s" % ", ".join(sorted(unknown)))
        cancel = threading.Event()
        with self._lock:
            self._cancel_fade(handle)
            old = self._players.pop(handle, None)
            if old is not None and file is None and not detach:
                self._players[handle] = old
            self._fades[handle] = cancel
        if old is not None and not old.is_playing():
            old = None
        new = None
        if file is not None:
            options = PlayOptions(
                volume=0.0,
                start=float(kwargs.pop("start", 0)),
                end=_end_arg(kwargs.pop("end", END_OF_FILE)),
                output=kwargs.pop("output", None) or None,
                loop=int(kwargs.pop("loop", 1)),
                speed=float(kwargs.pop("speed", 1)),
                handle=handle,
            )
            new = self.backend.start(
                self.resolveSound(file, kwargs.pop("extraPaths", ())), options
            )
            with self._lock:
                self._players[handle] = new
        args = (handle, old, new, target, float(length), cancel)
        if block:
            self._run_fade(*args)
        else:
            threading.Thread(
                target=self._run_fade, args=args, name="kaithem-fade-" + handle, daemon=True
            ).start()
        return new

    def _run_fade(
        self,
        handle: str,
        old: Optional[Player],
        new: Optional[Player],
        target: float,
        length: float,
        cancel: threading.Event,
    ) -> None:
        begin = time.monotonic()
        v0 = old.volume if old is not None else 0.0
        try:
            while not cancel.is_set():
                f = 1.0 if length <= 0 else min(1.0, (time.monotonic() - begin) / length)
                if old is not None and old.supports_volume:
                    old.set_volume(v0 * (1 - f))
                if new is not None and new.supports_volume:
                    new.set_volume(target * f)
                if f >= 1.0:
                    break
                cancel.wait(1.0 / FADE_RATE)
        except SoundError as exc:  # a player ended under us
            _logger.log_warning("fade on %r ended early: %s" % (handle, exc))
        finally:
            if new is not None and not new.supports_volume:
                new.set_volume(target)
            if old is not None:
                old.stop()
            with self._lock:
                if self._players.get(handle) is old and old is not None:
                    del self._players[handle]
                if self._fades.get(handle) is cancel:
                    del self._fades[handle]

    def _cancel_fade(self, handle: str) -> None:
        # called with self._lock held
        event = self._fades.pop(handle, None)
        if event is not None:
            event.set()

    # -- tests and lifetime --------------------------------------------------------

    def ogg_test(self, output: Optional[str] = None) -> None:
        """Play the built-in ``alert.ogg``; :class:`SoundError` if it is not
        playing within a second."""
        handle = "Kaithemogg_test"
        player = self.play("alert.ogg", handle, output=output)
        deadline = time.monotonic() + 1.0
        while not player.is_playing():
            if time.monotonic() > deadline:
                raise SoundError("the OGG test sound did not play (back end %s)" % self.backend)
            time.sleep(0.01)

    def close(self) -> None:
        """Stop every sound and preloaded player."""
        with self._lock:
            preloaded = list(self._preloaded.values())
            self._preloaded.clear()
        self.stop_all()
        for p in preloaded:
            p.stop()
        if self._backend is not None:
            self._backend.close()


def _end_arg(end: float) -> Optional[float]:
    return None if END_OF_FILE <= end < 0 else float(end)


def _ns() -> Namespace:
    ns: Namespace = default_namespace("sound")
    return ns


def play(filename: str, handle: str = PRIMARY, **kwargs: Any) -> Player:
    """:meth:`Namespace.play` on the default instance."""
    return _ns().play(filename, handle, **kwargs)


def stop(handle: str = PRIMARY) -> None:
    """:meth:`Namespace.stop` on the default instance."""
    _ns().stop(handle)


def stop_all() -> None:
    """:meth:`Namespace.stop_all` on the default instance."""
    _ns().stop_all()


def is_playing(handle: str = PRIMARY) -> bool:
    """:meth:`Namespace.is_playing` on the default instance."""
    return _ns().is_playing(handle)
