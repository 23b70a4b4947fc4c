"""Sound back ends for ``kaithem.sound``: mpv over its JSON IPC, sox (or
aplay) subprocesses, a recording back end for tests, and a silent one.

A back end starts :class:`Player` objects, one per sound; ``kaithem.sound``
keeps them by handle. Every player is a child process in its own process
group (stopping it stops everything it started) and is reaped when it ends.

Volume is perceptual, 0 to 1: mpv's own volume scale (``volume * 100``) is
cubic in amplitude, and the sox back end applies the same curve
(amplitude = volume³), so a linear ramp of ``volume`` sounds linear.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from kcore.common import logger as _logger
from kcore.common.platform import KcoreError
from kcore.kaithem._support import stop_process_group


class SoundError(KcoreError, RuntimeError):
    """A sound back end is missing or failed."""


def amplitude(volume: float) -> float:
    """Linear amplitude of a perceptual ``volume`` (mpv's cubic curve)."""
    return max(0.0, float(volume)) ** 3


# ------------------------------------------------------------------ players


class Player:
    """One sound being played. Back ends without live control (aplay, sox)
    ignore ``set_volume``/``pause``/``resume``, so code written for mpv runs on them."""

    supports_volume = False

    def __init__(self, path: str, volume: float) -> None:
        self.path = path
        self.volume = float(volume)
        self.paused = False
        self.started_at = time.monotonic()

    def is_playing(self) -> bool:
        """True until the sound ends or is stopped (also while paused)."""
        return False

    def stop(self) -> None:
        """Stop now (idempotent)."""

    def set_volume(self, volume: float) -> None:
        self.volume = float(volume)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def position(self) -> float:
        """Seconds played so far."""
        return time.monotonic() - self.started_at

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until the sound ends; True if it did within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_playing():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def __repr__(self) -> str:
        state = "playing" if self.is_playing() else "stopped"
        return "<%s %s %s>" % (type(self).__name__, os.path.basename(self.path), state)


class ProcessPlayer(Player):
    """A player that is a child process (in its own process group)."""

    def __init__(self, path: str, volume: float, argv: List[str]) -> None:
        super().__init__(path, volume)
        self.argv = argv
        self.proc = subprocess.Popen(  # argument list, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def is_playing(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        stop_process_group(self.proc, grace=2.0)


class MpvIPC:
    """A client of mpv's JSON IPC (``--input-ipc-server``): one request at a
    time, replies matched by ``request_id``, events skipped."""

    def __init__(self, path: str, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
        self.path = path
        self.proc = proc
        self.timeout = timeout
        self._sock: Optional[socket.socket] = None
        self._buf = b""
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _connect(self) -> Optional[socket.socket]:
        if self._sock is not None:
            return self._sock
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                return None  # mpv already ended (a short sound): nothing to control
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.path)
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise SoundError("mpv did not open its IPC socket within %gs" % self.timeout)
                time.sleep(0.005)
                continue
            s.settimeout(self.timeout)
            self._sock = s
            return s

    def command(self, *args: Any) -> Any:
        """Run an mpv command; its ``data``, or None if mpv has exited.
        An error reply raises :class:`SoundError`."""
        with self._lock:
            try:
                s = self._connect()
                if s is None:
                    return None
                rid = next(self._ids)
                s.sendall(json.dumps({"command": list(args), "request_id": rid}).encode() + b"\n")
                while True:
                    reply = self._read_message(s)
                    if reply is None:
                        return None
                    if reply.get("request_id") == rid:
                        break
            except OSError:  # broken pipe / reset: mpv exited meanwhile
                self.close()
                return None
        if reply.get("error") != "success":
            raise SoundError("mpv %s failed: %s" % (args[0], reply.get("error")))
        return reply.get("data")

    def _read_message(self, s: socket.socket) -> Optional[Dict[str, Any]]:
        while b"\n" not in self._buf:
            chunk = s.recv(65536)
            if not chunk:
                self.close()
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        message: Dict[str, Any] = json.loads(line)
        return message

    def get(self, prop: str) -> Any:
        """A property's value; None while mpv has not loaded it yet (or has exited)."""
        try:
            return self.command("get_property", prop)
        except SoundError as exc:
            if "property unavailable" in str(exc):
                return None
            raise

    def set(self, prop: str, value: Any) -> Any:
        return self.command("set_property", prop, value)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buf = b""


class MpvPlayer(ProcessPlayer):
    """A sound played by its own ``mpv`` process, controlled over JSON IPC."""

    supports_volume = True

    def __init__(self, backend: MpvBackend, path: str, options: PlayOptions) -> None:
        volume, start, end, output, loop, speed, paused = options[:7]
        sock = os.path.join(backend.socket_dir, "mpv-%d.sock" % next(backend._ids))
        argv = [
            backend.binary,
            "--no-config",
            "--no-video",
            "--no-terminal",
            "--idle=no",
            "--input-ipc-server=" + sock,
            "--volume=%g" % (100 * volume),
            *backend.extra_args,
        ]
        if start:
            argv.append("--start=%g" % start)
        if end is not None:
            argv.append("--end=%g" % end)
        if output:
            argv.append("--audio-device=" + output)
        if loop != 1:
            argv.append("--loop-file=%s" % ("inf" if loop < 0 else loop - 1))
        if speed != 1:
            argv.append("--speed=%g" % speed)
        if paused:
            argv.append("--pause")
        argv += ["--", path]
        super().__init__(path, volume, argv)
        self.paused = paused
        self.ipc = MpvIPC(sock, self.proc)

    def get_property(self, name: str) -> Any:
        """An mpv property over IPC (None once mpv has exited)."""
        return self.ipc.get(name)

    def set_volume(self, volume: float) -> None:
        super().set_volume(volume)
        self.ipc.set("volume", 100 * self.volume)

    def pause(self) -> None:
        super().pause()
        self.ipc.set("pause", True)

    def resume(self) -> None:
        super().resume()
        self.ipc.set("pause", False)

    def position(self) -> float:
        t = self.ipc.get("playback-time")
        return float(t) if t is not None else super().position()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ipc.command("quit")
                self.proc.wait(1.0)
            except (SoundError, subprocess.TimeoutExpired):
                pass
        self.ipc.close()
        super().stop()


class RecordedPlayer(Player):
    """A recording back end's player: plays for ``duration`` seconds (None:
    until stopped) without making a sound."""

    supports_volume = True

    def __init__(self, backend: RecordingBackend, path: str, options: PlayOptions) -> None:
        super().__init__(path, options.volume)
        self.backend = backend
        self.options = options
        self.stopped = False
        self.paused = options.paused

    def is_playing(self) -> bool:
        duration = self.backend.duration
        if self.stopped:
            return False
        return duration is None or time.monotonic() - self.started_at < duration

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.backend.log.append(("stop", self.path))

    def set_volume(self, volume: float) -> None:
        super().set_volume(volume)
        self.backend.log.append(("setvol", self.path, self.volume))

    def pause(self) -> None:
        super().pause()
        self.backend.log.append(("pause", self.path))

    def resume(self) -> None:
        super().resume()
        self.backend.log.append(("resume", self.path))


# ------------------------------------------------------------------ back ends


class PlayOptions(NamedTuple):
    """How to play one sound (``kaithem.sound.play``'s arguments, checked)."""

    volume: float = 1.0
    start: float = 0.0
    end: Optional[float] = None  # None: to the end; negative: from the end
    output: Optional[str] = None  # None: the default device
    loop: int = 1  # how many times; -1 forever
    speed: float = 1.0
    paused: bool = False
    handle: str = ""


class Backend:
    """Starts players. ``name`` is what config ``sound-backend`` calls it."""

    name = "none"

    def start(self, path: str, options: PlayOptions) -> Player:
        return Player(path, options.volume)

    def outputs(self) -> List[str]:
        return []

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "<sound back end %s>" % self.name


class MpvBackend(Backend):
    """One ``mpv`` process per sound. ``extra_args`` go to every mpv (tests
    pass ``["--ao=null"]`` or ``["--ao=pcm", "--ao-pcm-file=out.wav"]``)."""

    name = "mpv"

    def __init__(self, binary: Optional[str] = None, extra_args: Sequence[str] = ()) -> None:
        found = binary or shutil.which("mpv")
        if not found:
            raise SoundError("the mpv back end needs mpv (Debian package: mpv)")
        self.binary = found
        self.extra_args = [str(a) for a in extra_args]
        self.socket_dir = tempfile.mkdtemp(prefix="kaithem-mpv-")  # 0700
        self._ids = itertools.count(1)

    def start(self, path: str, options: PlayOptions) -> Player:
        return MpvPlayer(self, path, options)

    def outputs(self) -> List[str]:
        """Device names mpv lists (``--audio-device=help``)."""
        try:
            out = subprocess.run(
                [self.binary, "--no-config", "--audio-device=help"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout
        except (OSError, subprocess.TimeoutExpired) as exc:
            _logger.log_warning("mpv could not list audio devices: %r" % (exc,))
            return []
        return [line.split("'")[1] for line in out.splitlines() if line.strip().startswith("'")]

    def close(self) -> None:
        shutil.rmtree(self.socket_dir, ignore_errors=True)


class SoxBackend(Backend):
    """``sox`` per sound (volume, start/end, loop and speed applied when the
    sound starts, no live control); without sox, ``aplay`` (WAV only, no
    options). Output: None for the default device, ``"null"`` to discard,
    a path ending in ``.wav`` to record there (sox), or an ALSA device name."""

    def __init__(self, sox: Optional[str] = None, aplay: Optional[str] = None) -> None:
        self.sox = sox if sox is not None else shutil.which("sox")
        self.aplay = aplay if aplay is not None else shutil.which("aplay")
        if not self.sox and not self.aplay:
            raise SoundError(
                "the sox back end needs sox or aplay (Debian packages: sox, alsa-utils)"
            )
        self.name = "sox" if self.sox else "aplay"

    def start(self, path: str, options: PlayOptions) -> Player:
        volume, start, end, output, loop, speed = options[:6]
        if not self.sox:
            assert self.aplay is not None
            device = ["-D", "null" if output == "null" else output] if output else []
            return ProcessPlayer(path, volume, [self.aplay, "-q", *device, "--", path])
        if not output:
            out = ["-d"]
        elif output == "null":
            out = ["-n"]
        elif output.endswith(".wav"):
            out = ["-t", "wav", output]
        else:
            out = ["-t", "alsa", output]
        effects: List[str] = []
        if start or end is not None:
            effects += ["trim", "%g" % start]
            if end is not None:
                effects.append("=%g" % end if end >= 0 else "%g" % end)
        if speed != 1:
            effects += ["speed", "%g" % speed]
        if loop != 1:
            effects += ["repeat", "%d" % (loop - 1 if loop > 0 else 1_000_000)]
        argv = [self.sox, "-q", "-V1", "-v", "%g" % amplitude(volume), path, *out, *effects]
        return ProcessPlayer(path, volume, argv)

    def outputs(self) -> List[str]:
        if not self.aplay:
            return []
        try:
            out = subprocess.run(
                [self.aplay, "-L"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            return []
        return [line for line in out.splitlines() if line and not line[0].isspace()]


class RecordingBackend(Backend):
    """Plays nothing and records every call in :attr:`log`, as tuples
    ``("play", handle, path, volume)``, ``("stop", path)``, ``("setvol",
    path, volume)``, ``("pause", path)``, ``("resume", path)``. Players last
    ``duration`` seconds (None: until stopped)."""

    name = "recording"

    def __init__(self, duration: Optional[float] = None) -> None:
        self.duration = duration
        self.log: List[Tuple[Any, ...]] = []

    def start(self, path: str, options: PlayOptions) -> Player:
        self.log.append(("play", options.handle, path, options.volume))
        return RecordedPlayer(self, path, options)

    def outputs(self) -> List[str]:
        return ["recording"]


BACKENDS = ("mpv", "sox", "aplay", "recording", "none")


def make_backend(name: str, config: Dict[str, Any]) -> Backend:
    """The back end called ``name`` (``"auto"``: mpv, else sox, else aplay,
    else none)."""
    if name == "auto":
        if shutil.which("mpv"):
            name = "mpv"
        elif shutil.which("sox") or shutil.which("aplay"):
            name = "sox"
        else:
            _logger.log_warning("no sound back end (install mpv or sox): sounds will not play")
            name = "none"
    if name == "mpv":
        return MpvBackend(config.get("sound-mpv-path"), config.get("sound-mpv-args", ()))
    if name == "sox":
        return SoxBackend()
    if name == "aplay":
        return SoxBackend(sox="")
    if name == "recording":
        return RecordingBackend(config.get("sound-recording-duration"))
    if name == "none":
        return Backend()
    raise SoundError("unknown sound back end %r; use auto or one of %s" % (name, BACKENDS))
