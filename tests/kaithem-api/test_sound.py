"""kaithem.sound against the real players: mpv over its JSON IPC (``--ao=null``,
or ``--ao=pcm`` into a file that is then measured), sox into a WAV file, aplay
to ALSA's null device, and the recording back end. Nothing plays to a real
sound device."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import ktest
import pytest

from kcore.kaithem import Kaithem
from kcore.kaithem import sound as snd

np = pytest.importorskip("numpy")

MPV = shutil.which("mpv")
needs_mpv = pytest.mark.skipif(not MPV, reason="mpv (Debian package mpv) is not installed")


def make_kaithem(tmp_path, **config):
    return Kaithem(vardir=str(tmp_path / "var"), config=config)


@pytest.fixture
def mpv_kai(tmp_path):
    if not MPV:
        pytest.skip("mpv (Debian package mpv) is not installed")
    k = make_kaithem(tmp_path, **{"sound-backend": "mpv", "sound-mpv-args": ["--ao=null"]})
    yield k
    k.close()


def read_wav(path):
    """(first channel as floats in -1..1, sample rate), decoded by sox (mpv
    writes WAVE_FORMAT_EXTENSIBLE, which the wave module cannot read)."""
    rate = int(subprocess.run(["soxi", "-r", str(path)], capture_output=True, text=True,
                              check=True).stdout)  # fmt: skip
    raw = subprocess.run(
        ["sox", str(path), "-t", "raw", "-e", "floating-point", "-b", "32", "-", "remix", "1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.float32).astype(float), rate


def peak(x):
    return float(np.abs(x).max())


# ------------------------------------------------------------- selection


def test_back_end_is_chosen_at_first_use_not_at_import(tmp_path):
    code = (
        "import sys, threading\n"
        "import kcore.kaithem.sound\n"
        "from kcore.kaithem import Kaithem\n"
        "k = Kaithem(config={'sound-backend': 'recording'})\n"
        "ns = k.sound\n"
        "assert ns._backend is None, ns._backend\n"
        "assert threading.active_count() == 1\n"
        "ns.play('alert.ogg')\n"
        "print(type(ns.backend).__name__, ns.backend.log[0][:2])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "RecordingBackend ('play', 'PRIMARY')"


def test_unknown_back_end_is_refused(tmp_path):
    with make_kaithem(tmp_path, **{"sound-backend": "gstreamer"}) as k:
        with pytest.raises(snd.SoundError, match="gstreamer"):
            k.sound.play("alert.ogg")


def test_auto_prefers_mpv(tmp_path):
    if not MPV:
        pytest.skip("mpv (Debian package mpv) is not installed")
    with make_kaithem(tmp_path) as k:
        assert k.sound.backend.name == "mpv"


# ------------------------------------------------------------- resolution


def test_builtin_sounds_and_resolution(tmp_path):
    with make_kaithem(tmp_path, **{"sound-backend": "recording"}) as k:
        assert {"alert.ogg", "error.ogg"} <= set(k.sound.builtinSounds)
        assert k.sound.resolveSound("alert.ogg") == os.path.join(snd.BUILTIN_DIR, "alert.ogg")
        assert k.sound.directories == ["__default__"]
        extra = tmp_path / "extra" / "sub"
        extra.mkdir(parents=True)
        (extra / "alert.ogg").write_bytes(b"x")
        # extra paths come first; relative sub-folders work
        assert k.sound.resolveSound("sub/alert.ogg", [str(tmp_path / "extra")]) == str(
            extra / "alert.ogg"
        )
        static = tmp_path / "var" / "static"
        static.mkdir(parents=True)
        (static / "door.wav").write_bytes(b"x")
        assert k.sound.resolveSound("door.wav") == str(static / "door.wav")
        with pytest.raises(snd.SoundNotFound, match=r"nope\.ogg"):
            k.sound.resolveSound("nope.ogg")
        with pytest.raises(snd.SoundNotFound, match=r"\.\."):
            k.sound.resolveSound("../var/static/door.wav", [str(extra)])
        with pytest.raises(ValueError):  # SoundNotFound is a ValueError, as in Kaithem
            k.sound.play("nope.ogg")


def test_configured_directories_replace_the_default(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "bell.ogg").write_bytes(b"x")
    with make_kaithem(tmp_path, **{"audio-paths": [str(mine)], "sound-backend": "none"}) as k:
        assert k.sound.resolveSound("bell.ogg") == str(mine / "bell.ogg")
        with pytest.raises(snd.SoundNotFound):
            k.sound.resolveSound("alert.ogg")


# ------------------------------------------------------------- recording back end


def test_recording_back_end_records_calls(tmp_path):
    with make_kaithem(tmp_path, **{"sound-backend": "recording"}) as k:
        s = k.sound
        s.play("alert.ogg", volume=0.5)
        assert s.is_playing()
        s.setvol(0.25)
        s.pause()
        assert s.is_playing()  # paused counts as playing
        s.resume()
        s.play("error.ogg")  # replaces the sound on PRIMARY
        s.stop()
        assert not s.is_playing()
        alert = os.path.join(snd.BUILTIN_DIR, "alert.ogg")
        error = os.path.join(snd.BUILTIN_DIR, "error.ogg")
        assert s.backend.log == [
            ("play", "PRIMARY", alert, 0.5),
            ("setvol", alert, 0.25),
            ("pause", alert),
            ("resume", alert),
            ("stop", alert),
            ("play", "PRIMARY", error, 1.0),
            ("stop", error),
        ]


# ------------------------------------------------------------- mpv


def test_mpv_ipc_state_volume_pause_stop(mpv_kai, tone):
    path = tone(5)
    s = mpv_kai.sound
    p = s.play(path, volume=0.5)
    assert "--ao=null" in p.argv
    assert ktest.wait_for(lambda: p.get_property("path"), what="mpv to load the file") == path
    assert p.get_property("volume") == 50.0
    assert p.get_property("pause") is False
    assert s.is_playing()
    ktest.wait_for(lambda: (p.get_property("playback-time") or 0) > 0.05, what="playback")
    s.pause()
    assert p.get_property("pause") is True
    assert s.is_playing()
    t1 = p.get_property("playback-time")
    # paused: within 0.4 s the position moves less than the output buffer drains
    assert not ktest.wait_until(lambda: p.get_property("playback-time") > t1 + 0.2, timeout=0.4)
    s.resume()
    assert p.get_property("pause") is False
    ktest.wait_for(lambda: p.get_property("playback-time") > t1, what="playback to go on")
    s.setvol(0.25)
    assert p.get_property("volume") == 25.0
    assert s.position() > 0
    s.stop()
    assert p.proc.poll() is not None
    assert not s.is_playing()


def test_mpv_handle_replacement(mpv_kai, tone):
    a, b = tone(5, 440, "a.wav"), tone(5, 660, "b.wav")
    s = mpv_kai.sound
    first = s.play(a)
    ktest.wait_for(lambda: first.get_property("path"), what="first file loaded")
    second = s.play(b)
    assert first.proc.poll() is not None  # the old mpv is gone
    assert s.player() is second
    assert ktest.wait_for(lambda: second.get_property("path"), what="second file") == b
    other = s.play(a, handle="other")
    assert s.is_playing("other") and s.is_playing()
    s.stop_all()
    assert second.proc.poll() is not None and other.proc.poll() is not None


def test_mpv_sound_ends_by_itself(mpv_kai, tone):
    p = mpv_kai.sound.play(tone(0.3))
    assert mpv_kai.sound.wait(timeout=10)
    assert p.proc.returncode == 0
    assert not mpv_kai.sound.is_playing()


def sample_fade(player_a, player_b, seconds):
    """(volume of a, volume of b) over IPC while a fade runs."""
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        va = player_a.get_property("volume") if player_a.is_playing() else None
        vb = player_b.get_property("volume")
        samples.append((va, vb))
        time.sleep(0.02)
    return samples


def test_mpv_cross_fade_is_a_linear_ramp(mpv_kai, tone):
    s = mpv_kai.sound
    old = s.play(tone(10, 440, "old.wav"), volume=0.8)
    ktest.wait_for(lambda: old.get_property("path"), what="old file loaded")
    began = time.monotonic()
    new = s.fade_to(tone(10, 660, "new.wav"), length=1.0, volume=0.6)
    assert s.player() is new  # the new sound owns the handle at once
    samples = sample_fade(old, new, 1.4)
    ins = [b for _, b in samples if b is not None]
    outs = [a for a, _ in samples if a is not None]
    assert ins == sorted(ins) and outs == sorted(outs, reverse=True)
    assert ins[-1] == pytest.approx(60.0)  # ends at the target volume
    assert old.proc.poll() is not None  # the faded-out sound is stopped
    # linear in (perceptual) volume: halfway through, about half way
    mids = [b for a, b in samples if a is not None and b is not None and 20 < b < 40]
    assert mids, samples
    assert time.monotonic() - began >= 1.0


def test_mpv_blocking_fade_to_silence(mpv_kai, tone):
    s = mpv_kai.sound
    p = s.play(tone(10), volume=1.0)
    ktest.wait_for(lambda: p.get_property("path"), what="file loaded")
    began = time.monotonic()
    assert s.fade_to(None, length=0.5, block=True) is None
    assert time.monotonic() - began >= 0.5
    assert p.proc.poll() is not None
    assert not s.is_playing()


def test_mpv_fade_from_silence_and_undetached_fade_out(mpv_kai, tone):
    s = mpv_kai.sound
    p = s.fade_to(tone(10), length=0.3, block=True, volume=0.5)
    assert p.get_property("volume") == 50.0  # faded in from nothing
    s.fade_to(None, length=5, detach=False)  # keeps the fading sound on the handle
    assert s.player() is p
    ktest.wait_for(lambda: p.get_property("volume") < 49, what="the fade to start")
    q = s.play(tone(10, 550, "cut.wav"))  # a new sound cuts the fading one
    assert p.proc.poll() is not None
    assert s.player() is q


def test_mpv_preload_is_used_by_play(mpv_kai):
    s = mpv_kai.sound
    s.preload("alert.ogg")
    (pre,) = s._preloaded.values()
    assert ktest.wait_for(lambda: pre.get_property("pause") is True, what="paused preload")
    p = s.play("alert.ogg", volume=0.7)
    assert p is pre and p.get_property("pause") is False
    assert p.get_property("volume") == pytest.approx(70.0)


def test_ogg_test_and_outputs(mpv_kai):
    mpv_kai.sound.ogg_test()
    assert mpv_kai.sound.is_playing("Kaithemogg_test")
    assert "auto" in mpv_kai.sound.outputs()


def test_mpv_volume_is_cubic_and_start_end_apply(tmp_path, tone):
    """mpv renders into a WAV file: volume 0.5 gives 0.5**3 of the amplitude,
    and start/end cut the right length."""
    if not MPV:
        pytest.skip("mpv (Debian package mpv) is not installed")
    src = tone(3, 440, amplitude=0.5)
    results = {}
    for name, kwargs in (("full", {}), ("half", {"volume": 0.5}), ("cut", {"start": 1, "end": 2})):
        out = tmp_path / (name + ".wav")
        args = ["--ao=pcm", "--ao-pcm-file=%s" % out, "--audio-samplerate=44100"]
        with make_kaithem(tmp_path, **{"sound-backend": "mpv", "sound-mpv-args": args}) as k:
            k.sound.play(src, **kwargs)
            assert k.sound.wait(timeout=20)
        results[name] = read_wav(out)
    full, rate = results["full"]
    half, _ = results["half"]
    cut, _ = results["cut"]
    assert peak(full) == pytest.approx(0.5, abs=0.02)
    assert peak(half) / peak(full) == pytest.approx(0.125, rel=0.05)
    assert len(full) / rate == pytest.approx(3.0, abs=0.05)
    assert len(cut) / rate == pytest.approx(1.0, abs=0.05)


# ------------------------------------------------------------- sox and aplay


def test_sox_back_end_applies_volume_and_trim(tmp_path, tone):
    if not shutil.which("sox"):
        pytest.skip("sox (Debian package sox) is not installed")
    src = tone(3, 440, amplitude=0.5)
    with make_kaithem(tmp_path, **{"sound-backend": "sox"}) as k:
        assert k.sound.backend.name == "sox"
        out_full, out_half = str(tmp_path / "sfull.wav"), str(tmp_path / "shalf.wav")
        k.sound.play(src, output=out_full)
        assert k.sound.wait(timeout=20)
        k.sound.play(src, volume=0.5, start=0.5, end=2.0, output=out_half)
        assert k.sound.wait(timeout=20)
        k.sound.setvol(0.1)  # no live control on sox: accepted, ignored
        p = k.sound.play(src, output="null")
        assert p.wait(20) and p.proc.returncode == 0
    full, rate = read_wav(out_full)
    half, _ = read_wav(out_half)
    assert peak(half) / peak(full) == pytest.approx(0.125, rel=0.05)
    assert len(half) / rate == pytest.approx(1.5, abs=0.02)


def test_aplay_back_end_plays_to_the_null_device(tmp_path, tone):
    if not shutil.which("aplay"):
        pytest.skip("aplay (Debian package alsa-utils) is not installed")
    with make_kaithem(tmp_path, **{"sound-backend": "aplay"}) as k:
        p = k.sound.play(tone(1.0), output="null")
        assert p.argv[:4] == [shutil.which("aplay"), "-q", "-D", "null"]
        assert p.wait(10) and p.proc.returncode == 0
        assert not k.sound.is_playing()


def test_close_stops_every_player(tmp_path, tone):
    if not MPV:
        pytest.skip("mpv (Debian package mpv) is not installed")
    k = make_kaithem(tmp_path, **{"sound-backend": "mpv", "sound-mpv-args": ["--ao=null"]})
    p = k.sound.play(tone(10))
    sockets = k.sound.backend.socket_dir
    k.close()
    assert p.proc.poll() is not None
    assert not os.path.exists(sockets)
