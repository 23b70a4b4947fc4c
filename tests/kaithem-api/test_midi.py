"""kaithem.midi with the real FluidSynth library and Debian's General MIDI
soundfont: notes are rendered into a sample buffer (no sound card) and the
audio is analysed: not silent, and the spectrum's peak at the note's pitch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kcore.kaithem import midi as M

np = pytest.importorskip("numpy")
pytest.importorskip("fluidsynth", reason="pyfluidsynth (the midi extra) is not installed")
try:
    M.find_soundfont()
except M.SoundFontNotFound:
    pytest.skip("no soundfont (Debian package fluid-soundfont-gm)", allow_module_level=True)

RATE = 44100.0


@pytest.fixture
def synth(kai):
    s = kai.midi.FluidSynth(audio_driver=None, samplerate=RATE)
    yield s
    s.close()


def left(samples):
    return np.frombuffer(samples, dtype=np.int16).reshape(-1, 2)[:, 0].astype(float)


def rms(x):
    return float(np.sqrt((x**2).mean()))


def peak_hz(x):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[spectrum.argmax()])


def hz(note):
    return 440.0 * 2 ** ((note - 69) / 12)


def test_silence_until_a_note_plays(synth):
    before = left(synth.render(0.2))
    assert len(before) == int(0.2 * RATE)
    assert rms(before) < 2  # FluidSynth's dither only (16-bit scale)


@pytest.mark.parametrize("note", [48, 60, 69, 76, 84])
def test_rendered_note_has_its_pitch(synth, note):
    synth.setInstrument(0, "ocarina")  # a nearly pure tone: the fundamental dominates
    synth.noteOn(0, note, 110)
    audio = left(synth.render(1.0))
    synth.noteOff(0, note)
    assert rms(audio) > 100  # clearly not silent (16-bit scale)
    assert peak_hz(audio) == pytest.approx(hz(note), rel=0.01)


def test_piano_a4_peaks_at_440(synth):
    synth.setInstrument(0, 0)
    synth.noteOn(0, 69, 100)
    assert peak_hz(left(synth.render(0.5))) == pytest.approx(440.0, abs=2.0)


def test_note_off_lets_the_sound_die_away(synth):
    synth.setInstrument(0, "flute")
    synth.noteOn(0, 69, 110)
    playing = rms(left(synth.render(0.5)))
    synth.noteOff(0, 69)
    synth.render(2.0)  # release tail
    assert rms(left(synth.render(0.5))) < playing / 100


def test_stop_all_sounds_silences_midi_too(kai):
    s = kai.midi.FluidSynth(audio_driver=None)
    s.setInstrument(0, "flute")
    s.noteOn(0, 72, 110)
    playing = rms(left(s.render(0.5)))
    kai.sound.stop_all()
    s.render(2.0)
    assert rms(left(s.render(0.5))) < playing / 100


def test_set_instrument_by_name_words(synth):
    assert synth.setInstrument(0, "jazz guitar") == (0, 26)
    assert synth.setInstrument(0, "Guitar Jazz") == (0, 26)  # any order, any case
    # not a preset name of this soundfont ("Jazz Guitar"), so the GM list decides
    assert synth.setInstrument(0, "electric guitar (jazz)") == (0, 26)
    assert synth.setInstrument(9, "drum kit")[0] == M.DRUM_BANK
    with pytest.raises(M.MidiError):
        synth.setInstrument(0, "guit")  # whole words only
    with pytest.raises(M.MidiError):
        synth.setInstrument(0, "kazoo")


def test_set_instrument_by_number(synth):
    assert synth.setInstrument(0, 40) == (0, 40)  # default bank 0, not None
    assert synth.setInstrument(0, "41") == (0, 41)
    assert synth.setInstrument(0, 5, bank=1) == (1, 5)
    with pytest.raises(M.MidiError):
        synth.setInstrument(0, 128)
    with pytest.raises(M.MidiError):
        synth.noteOn(16, 60, 100)


def test_gm_list_and_search():
    gm = M.gm_instruments()
    assert len(gm) == 128
    assert gm[26] == "Electric Guitar (jazz)"
    assert M.instrument_search("jazz guitar") == 26
    assert M.numbersToGM[0] == "Acoustic Grand Piano"


def test_soundfont_presets_are_read_from_the_file():
    presets = M.soundfont_presets(M.find_soundfont())
    assert len(presets) > 128
    assert all(0 <= p <= 127 for _, p, _ in presets)
    assert any(bank == 128 for bank, _, _ in presets)


def test_fs_is_the_raw_synth(synth):
    import fluidsynth

    assert isinstance(synth.fs, fluidsynth.Synth)
    assert synth.fs.get_setting("synth.sample-rate") == RATE


def test_render_needs_no_audio_driver(kai, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # FluidSynth's file driver writes fluidsynth.wav here
    s = kai.midi.FluidSynth(audio_driver="file", soundfont=M.find_soundfont())
    try:
        with pytest.raises(M.MidiError, match="audio_driver=None"):
            s.render(0.1)
    finally:
        s.close()


def test_missing_soundfont_names_the_package(monkeypatch):
    monkeypatch.setattr(M, "DEFAULT_SOUNDFONTS", ("/nonexistent/a.sf2",))
    with pytest.raises(M.SoundFontNotFound, match="fluid-soundfont-gm"):
        M.FluidSynth(audio_driver=None)
    with pytest.raises(FileNotFoundError):
        M.FluidSynth(soundfont="/nonexistent/b.sf2", audio_driver=None)


def test_missing_pyfluidsynth_names_the_extra():
    code = (
        "import sys\n"
        "sys.modules['fluidsynth'] = None\n"
        "from kcore.kaithem import midi\n"
        "try:\n"
        "    midi.FluidSynth(audio_driver=None)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "pip install 'kaithem-api[midi]'" in out


def test_importing_midi_loads_no_fluidsynth():
    code = "import sys, kcore.kaithem.midi; print('fluidsynth' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == "False"
