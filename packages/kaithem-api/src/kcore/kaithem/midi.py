"""``kaithem.midi``: FluidSynth synthesizers (pyfluidsynth over the system's
libfluidsynth), with instruments chosen by General MIDI name.

``FluidSynth()`` loads a soundfont (default: the first of
:data:`DEFAULT_SOUNDFONTS` that exists, e.g. Debian's ``fluid-soundfont-gm``)
and starts an audio driver, as Kaithem code expects; ``FluidSynth(audio_driver=None)``
starts none, and :meth:`FluidSynth.render` then renders the notes into a
buffer of samples, with no sound card at all.

Needs ``pip install 'kaithem-api[midi]'`` (pyfluidsynth) and the FluidSynth
library (Debian package ``libfluidsynth3``); both are imported on first use.
"""

from __future__ import annotations

import array
import os
import struct
import threading
import weakref
from typing import Any, Dict, List, Optional, Tuple, Union

from kcore.common.platform import KcoreError
from kcore.kaithem._support import default_namespace

__all__ = [
    "DEFAULT_SOUNDFONTS",
    "FluidSynth",
    "MidiError",
    "Namespace",
    "SoundFontNotFound",
    "find_soundfont",
    "gm_instruments",
    "instrument_search",
    "soundfont_presets",
]

DEFAULT_SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)
_GM_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "gm_instruments.txt")
_DRUM_WORDS = frozenset({"kit", "drum", "drums"})
DRUM_BANK = 128


class MidiError(KcoreError, ValueError):
    """No instrument matches, or bad MIDI arguments."""


class SoundFontNotFound(KcoreError, FileNotFoundError):
    """No soundfont was given and none is installed."""


# ------------------------------------------------------------- instruments


_gm: Optional[Tuple[str, ...]] = None


def gm_instruments() -> Tuple[str, ...]:
    """The 128 General MIDI program names, by program number 0-127."""
    global _gm
    if _gm is None:
        with open(_GM_FILE, encoding="utf-8") as f:
            _gm = tuple(line.strip() for line in f if line.strip())
    return _gm


def __getattr__(name: str) -> Any:
    if name == "numbersToGM":  # program number -> General MIDI name, as Kaithem had
        return dict(enumerate(gm_instruments()))
    raise AttributeError("module 'kcore.kaithem.midi' has no attribute %r" % name)


def _words(name: str) -> List[str]:
    return name.lower().replace("(", " ").replace(")", " ").split()


def _matches(query: List[str], name: str, bank: int) -> bool:
    words = set(_words(name))
    if bank == DRUM_BANK:
        words |= _DRUM_WORDS
    return all(w in words for w in query)


def instrument_search(name: str) -> int:
    """The first General MIDI program whose name has every word of ``name``
    (whole words, any case): ``"jazz guitar"`` gives 26. :class:`MidiError`
    if none does."""
    query = _words(name)
    for number, gm_name in enumerate(gm_instruments()):
        if query and _matches(query, gm_name, 0):
            return number
    raise MidiError("no General MIDI instrument matches %r" % (name,))


instrumentSearch = instrument_search  # Kaithem's name


def soundfont_presets(path: str) -> List[Tuple[int, int, str]]:
    """``(bank, program, name)`` of every preset in a SoundFont 2 (or 3)
    file, sorted by bank and program, read from its ``phdr`` chunk."""
    presets = []
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise MidiError("%r is not a SoundFont file" % (path,))
        end = 8 + struct.unpack("<I", head[4:8])[0]
        while f.tell() < end:
            chunk = f.read(8)
            if len(chunk) < 8:
                break
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"LIST":
                kind = f.read(4)
                if kind != b"pdta":
                    f.seek(size - 4, os.SEEK_CUR)
                continue
            if cid == b"phdr":
                data = f.read(size)
                for i in range(0, len(data) - 38 + 1, 38):
                    raw_name, program, bank = struct.unpack_from("<20sHH", data, i)
                    name = raw_name.split(b"\0", 1)[0].decode("latin-1").strip()
                    if name != "EOP":
                        presets.append((bank, program, name))
                break
            f.seek(size + (size & 1), os.SEEK_CUR)
    return sorted(presets)


def find_soundfont() -> str:
    """The first installed default soundfont; :class:`SoundFontNotFound`
    naming the Debian package when there is none."""
    for path in DEFAULT_SOUNDFONTS:
        if os.path.isfile(path):
            return path
    raise SoundFontNotFound(
        "no soundfont found (looked for %s); install one (Debian package "
        "fluid-soundfont-gm) or pass FluidSynth(soundfont=path)" % ", ".join(DEFAULT_SOUNDFONTS)
    )


def _pyfluidsynth() -> Any:
    try:
        import fluidsynth
    except ImportError as exc:
        if "fluidsynth" in str(exc).lower() and "library" in str(exc).lower():
            raise ImportError(
                "kaithem.midi needs the FluidSynth library (Debian package libfluidsynth3)"
            ) from exc
        raise ImportError(
            "kaithem.midi needs pyfluidsynth: pip install 'kaithem-api[midi]'"
        ) from exc
    return fluidsynth


# ------------------------------------------------------------- synthesizer


class FluidSynth:
    """A FluidSynth instance with a loaded soundfont.

    ``audio_driver``: ``"auto"`` starts FluidSynth's default driver (JACK
    when ``jack_client_name`` is given), a name (``"alsa"``, ``"pulseaudio"``,
    ``"file"``, ...) starts that one, None starts none (use :meth:`render`).
    ``reverb``, ``chorus`` and ``ondemand`` (load samples when first used)
    are FluidSynth settings; ``gain`` and ``samplerate`` likewise. Every
    channel starts on bank 0, program 0.
    """

    def __init__(
        self,
        soundfont: Optional[str] = None,
        jack_client_name: Optional[str] = None,
        connect_midi: Optional[str] = None,
        connect_output: Optional[str] = None,
        reverb: bool = False,
        chorus: bool = False,
        ondemand: bool = True,
        *,
        audio_driver: Optional[str] = "auto",
        samplerate: float = 44100.0,
        gain: float = 0.2,
        jackClientName: Optional[str] = None,  # the help page's name
    ) -> None:
        fluidsynth = _pyfluidsynth()
        jack_client_name = jack_client_name or jackClientName
        path = soundfont if soundfont is not None else find_soundfont()
        if not os.path.isfile(path):
            raise SoundFontNotFound("soundfont %r does not exist" % (path,))
        self.soundfont = os.path.abspath(path)
        self.samplerate = float(samplerate)
        settings: Dict[str, Any] = {
            "synth.reverb.active": int(bool(reverb)),
            "synth.chorus.active": int(bool(chorus)),
            "synth.dynamic-sample-loading": int(bool(ondemand)),
        }
        if jack_client_name:
            settings["audio.jack.id"] = str(jack_client_name)
            settings["audio.jack.autoconnect"] = int(connect_output is not False)
        self.fs = fluidsynth.Synth(gain=gain, samplerate=self.samplerate, **settings)
        self._lock = threading.Lock()
        self._closed = False
        self.sfid = self.fs.sfload(self.soundfont)
        if self.sfid < 0:
            self.fs.delete()
            raise OSError("FluidSynth could not load soundfont %r" % (self.soundfont,))
        self._presets: Optional[List[Tuple[int, int, str]]] = None
        for channel in range(16):
            self.fs.program_select(channel, self.sfid, 0, 0)
        driver = "jack" if (audio_driver == "auto" and jack_client_name) else audio_driver
        if driver is not None:
            self.fs.start(driver=None if driver == "auto" else driver)
        self.audio_driver = driver

    # -- instruments -----------------------------------------------------------

    @property
    def presets(self) -> List[Tuple[int, int, str]]:
        """``(bank, program, name)`` of the soundfont's presets."""
        if self._presets is None:
            try:
                self._presets = soundfont_presets(self.soundfont)
            except (OSError, MidiError, struct.error):
                self._presets = []
        return self._presets

    def find_instrument(self, name: str) -> Tuple[int, int]:
        """``(bank, program)`` for an instrument name: the first preset of the
        soundfont whose name has every word of ``name`` (whole words; the
        words kit, drum, drums also match any bank-128 preset), else the
        General MIDI list on bank 0."""
        query = _words(name)
        if not query:
            raise MidiError("empty instrument name")
        for bank, program, preset_name in self.presets:
            if _matches(query, preset_name, bank):
                return bank, program
        return 0, instrument_search(name)

    def setInstrument(  # Kaithem's name
        self, channel: int, instrument: Union[int, str], bank: int = 0
    ) -> Tuple[int, int]:
        """Select an instrument on ``channel``: a program number (on ``bank``)
        or a name (see :meth:`find_instrument`). Returns ``(bank, program)``."""
        self._check_channel(channel)
        if isinstance(instrument, str) and instrument.strip().isdigit():
            instrument = int(instrument)
        if isinstance(instrument, bool) or not isinstance(instrument, (int, str)):
            raise MidiError("instrument must be a program number or a name, got %r" % instrument)
        if isinstance(instrument, int):
            if not 0 <= instrument <= 127:
                raise MidiError("program number must be 0-127, got %d" % instrument)
            chosen = (int(bank), instrument)
        else:
            chosen = self.find_instrument(instrument)
        with self._lock:
            self.fs.program_select(channel, self.sfid, chosen[0], chosen[1])
        return chosen

    set_instrument = setInstrument

    # -- events -------------------------------------------------------------------

    @staticmethod
    def _check_channel(channel: int) -> None:
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < 16:
            raise MidiError("MIDI channel must be 0-15, got %r" % (channel,))

    def noteOn(self, channel: int, note: int, velocity: int) -> None:
        self._check_channel(channel)
        with self._lock:
            self.fs.noteon(channel, int(note), int(velocity))

    def noteOff(self, channel: int, note: int) -> None:
        self._check_channel(channel)
        with self._lock:
            self.fs.noteoff(channel, int(note))

    def cc(self, channel: int, control: int, value: int) -> None:
        self._check_channel(channel)
        with self._lock:
            self.fs.cc(channel, int(control), int(value))

    def pitchBend(self, channel: int, value: int) -> None:
        self._check_channel(channel)
        with self._lock:
            self.fs.pitch_bend(channel, int(value))

    def programChange(self, channel: int, program: int) -> None:
        self._check_channel(channel)
        with self._lock:
            self.fs.program_change(channel, int(program))

    note_on, note_off, pitch_bend, program_change = noteOn, noteOff, pitchBend, programChange

    def all_notes_off(self) -> None:
        """Release every note on every channel."""
        with self._lock:
            if not self._closed:
                for channel in range(16):
                    self.fs.all_notes_off(channel)

    # -- output --------------------------------------------------------------------

    def render(self, seconds: Optional[float] = None, frames: Optional[int] = None) -> array.array:
        """The next ``seconds`` (or ``frames``) of audio as interleaved stereo
        16-bit samples (``array('h')``, left then right). Only without an
        audio driver (``audio_driver=None``), which would consume them."""
        if self.audio_driver is not None:
            raise MidiError("render() needs FluidSynth(audio_driver=None)")
        if frames is None:
            if seconds is None:
                raise TypeError("render() needs seconds or frames")
            frames = round(seconds * self.samplerate)
        fluidsynth = _pyfluidsynth()
        import ctypes

        buf = ctypes.create_string_buffer(frames * 4)
        with self._lock:
            fluidsynth.fluid_synth_write_s16(self.fs.synth, frames, buf, 0, 2, buf, 1, 2)
        out = array.array("h")
        out.frombytes(buf.raw)
        return out

    def close(self) -> None:
        """Stop the audio driver and free the synthesizer (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.fs.delete()

    def __enter__(self) -> FluidSynth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: S110 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return "<FluidSynth %s%s>" % (os.path.basename(self.soundfont), " closed" * self._closed)


class Namespace:
    """``kaithem.midi`` of one Kaithem instance: its synthesizers are
    silenced by ``kaithem.sound.stop_all()`` and closed with the instance."""

    MidiError = MidiError
    SoundFontNotFound = SoundFontNotFound

    def __init__(self, kaithem: Any) -> None:
        self._kaithem = kaithem
        self._synths: weakref.WeakSet[FluidSynth] = weakref.WeakSet()
        self.instrumentSearch = instrument_search
        self.instrument_search = instrument_search
        self.find_soundfont = find_soundfont

    @property
    def numbersToGM(self) -> Dict[int, str]:  # Kaithem's name
        return dict(enumerate(gm_instruments()))

    def FluidSynth(self, *args: Any, **kwargs: Any) -> FluidSynth:
        """Create a :class:`FluidSynth` owned by this instance."""
        synth = FluidSynth(*args, **kwargs)
        self._synths.add(synth)
        return synth

    def all_notes_off(self) -> None:
        for synth in list(self._synths):
            synth.all_notes_off()

    stop_all = all_notes_off

    def close(self) -> None:
        for synth in list(self._synths):
            synth.close()


def _ns() -> Namespace:
    ns: Namespace = default_namespace("midi")
    return ns


def all_notes_off() -> None:
    """Silence the default instance's synthesizers."""
    _ns().all_notes_off()
