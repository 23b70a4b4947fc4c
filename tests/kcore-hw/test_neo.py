"""kcore.neo on CPython: back-end choice, and the rpi_ws281x back end against a stand-in
module (this machine is not a Raspberry Pi, and rpi_ws281x needs one)."""

import sys
import types

import pytest

from kcore import neo
from kcore.common import KcoreError
from kcore.neo import _ws281x


def test_auto_is_headless_off_a_pi(monkeypatch):
    monkeypatch.delenv("KCORE_NEO_BACKEND", raising=False)
    strip = neo.Neo(3)
    assert strip.backend.name == "headless"
    strip[1] = neo.ORANGE
    assert strip.backend.frame[1] == neo.ORANGE
    assert "headless" in repr(strip)
    strip.close()
    assert "closed" in repr(strip)


def test_env_chooses_backend(monkeypatch):
    monkeypatch.setenv("KCORE_NEO_BACKEND", "headless")
    assert neo.Neo(1).backend.name == "headless"


def test_custom_backend_object_and_context_manager():
    class Recorder:
        def __init__(self):
            self.frames, self.closed = [], False

        def write(self, frame):
            self.frames.append(frame)

        def close(self):
            self.closed = True

    rec = Recorder()
    with neo.Neo(2, backend=rec, brightness=0.25) as strip:
        strip.fill(neo.WHITE)
    assert rec.frames[-1] == [(63, 63, 63)] * 2 and rec.closed


def test_errors_subclass_kcore_and_builtins():
    strip = neo.Neo(1, simulation=True)
    with pytest.raises(neo.BadColor) as e:
        strip[0] = (1, 2)
    assert isinstance(e.value, ValueError) and isinstance(e.value, KcoreError)
    assert "(1, 2)" in str(e.value)
    with pytest.raises(IndexError, match="out of range for a strip of 1"):
        strip[5] = neo.RED


def _block(monkeypatch, name):
    """Make `import name` fail as if the package were not installed."""
    monkeypatch.setitem(sys.modules, name, None)


def test_rpi_backend_missing_library_names_the_extra(monkeypatch):
    _block(monkeypatch, "rpi_ws281x")
    with pytest.raises(neo.BackendUnavailable) as e:
        neo.Neo(4, backend="rpi")
    assert "pip install 'kcore-hw[rpi]'" in str(e.value)
    assert isinstance(e.value, ImportError)


class FakePixelStrip:
    instances = []

    def __init__(self, num, pin, freq_hz, dma, invert, brightness, channel, strip_type):
        self.args = (num, pin, freq_hz, dma, invert, brightness, channel, strip_type)
        self.pixels = [0] * num
        self.shows = 0
        self.begun = self.cleaned = False
        FakePixelStrip.instances.append(self)

    def begin(self):
        self.begun = True

    def setPixelColor(self, i, color):
        self.pixels[i] = color

    def show(self):
        self.shows += 1

    def _cleanup(self):
        self.cleaned = True


@pytest.fixture
def fake_rpi_ws281x(monkeypatch):
    """A stand-in with rpi_ws281x's API (PixelStrip, Color, ws constants)."""
    mod = types.ModuleType("rpi_ws281x")
    mod.PixelStrip = FakePixelStrip
    mod.Color = lambda r, g, b, w=0: (w << 24) | (r << 16) | (g << 8) | b
    mod.ws = types.SimpleNamespace(WS2811_STRIP_GRB=0x00081000, SK6812_STRIP_RGBW=0x18100800)
    monkeypatch.setitem(sys.modules, "rpi_ws281x", mod)
    return mod


def test_rpi_backend_refuses_off_a_pi(fake_rpi_ws281x):
    with pytest.raises(neo.NeoBackendError, match="only on a Raspberry Pi") as e:
        neo.Neo(4, backend="rpi")
    assert isinstance(e.value, RuntimeError)


def test_rpi_backend_refuses_without_root(fake_rpi_ws281x):
    with pytest.raises(neo.NeoBackendError, match="needs root"):
        _ws281x.Ws281xBackend(4, is_pi=lambda: True, euid=1000)


def test_rpi_backend_drives_the_strip(fake_rpi_ws281x):
    be = _ws281x.Ws281xBackend(3, pin="D18", is_pi=lambda: True, euid=0)
    strip = neo.Neo(3, backend=be, brightness=0.5)
    fake = FakePixelStrip.instances[-1]
    assert fake.begun and fake.args[:2] == (3, 18) and fake.args[6] == 0
    assert fake.args[7] == 0x00081000  # GRB
    strip[0] = (200, 100, 2)
    assert fake.pixels[0] == (100 << 16) | (50 << 8) | 1 and fake.shows == 1
    strip.close()
    assert fake.pixels == [0, 0, 0] and fake.cleaned


def test_rpi_backend_rgbw_on_pwm_channel_1(fake_rpi_ws281x):
    _ws281x.Ws281xBackend(1, pin=13, order="RGBW", include_w=True, is_pi=lambda: True, euid=0)
    fake = FakePixelStrip.instances[-1]
    assert fake.args[1] == 13 and fake.args[6] == 1 and fake.args[7] == 0x18100800


@pytest.mark.parametrize("pin", [4, "D5", "banana", 99])
def test_rpi_backend_rejects_pins_it_cannot_drive(fake_rpi_ws281x, pin):
    with pytest.raises(ValueError, match="cannot drive NeoPixels"):
        _ws281x.Ws281xBackend(1, pin=pin, is_pi=lambda: True, euid=0)


def test_window_backend_without_display_says_so(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(neo.NeoBackendError, match="DISPLAY"):
        neo.Neo(2, simulation="window")


def test_python_slices_behave_exactly_like_a_list():
    """With python_slices=True every slice of a 7-pixel strip reads and writes like the
    same slice of a list."""
    import itertools

    bounds = [None, -9, -7, -3, -1, 0, 1, 3, 6, 7, 9]
    for start, stop, step in itertools.product(bounds, bounds, [None, 1, 2, 3, -1, -2, -4]):
        s = slice(start, stop, step)
        model = [(i, i, i) for i in range(7)]
        strip = neo.Neo(7, simulation=True, auto_write=False, python_slices=True)
        strip[:] = list(model)
        assert strip[s] == model[s], s
        colours = [(100 + i, 0, 0) for i in range(len(model[s]))]
        model[s] = colours
        strip[s] = colours
        assert list(strip) == model, s
        for i in range(-7, 7):
            assert strip[i] == model[i]


def _original_assignment(n, start, stop, step, value):
    """What the original's slice assignment did, pixel by pixel: range(start, stop + 1,
    step), negative indices counted from the end, a list applied element by element."""
    pixels = [(0, 0, 0)] * n
    for k, i in enumerate(range(start, stop + 1, step or 1)):
        pixels[i + n if i < 0 else i] = value[k] if isinstance(value, list) else value
    return pixels


def test_slice_assignment_includes_the_stop_as_in_the_original():
    import itertools

    n = 7
    bounds = [-7, -4, -1, 0, 1, 3, 6]
    for start, stop, step in itertools.product(bounds, bounds, [None, 1, 2, 3]):
        count = len(range(start, stop + 1, step or 1))
        if any(not -n <= i < n for i in range(start, stop + 1, step or 1)):
            continue
        for value in ((9, 9, 9), [(10 + k, 0, 0) for k in range(count)]):
            strip = neo.Neo(n, simulation=True, auto_write=False)
            strip[start:stop:step] = value
            assert list(strip) == _original_assignment(n, start, stop, step, value), (
                start,
                stop,
                step,
            )


def test_inclusive_slice_edges():
    strip = neo.Neo(6, simulation=True)
    strip[2:3] = neo.RED  # 2 *and* 3
    assert strip[1:5] == [neo.BLACK, neo.RED, neo.RED, neo.BLACK]  # reads are list slices
    strip[:] = neo.BLUE  # a missing bound is the end of the strip
    assert list(strip) == [neo.BLUE] * 6
    strip[4:] = [neo.RED, neo.GREEN, neo.WHITE]  # extra colours are ignored
    assert strip[4] == neo.RED and strip[5] == neo.GREEN
    strip[5:3:-1] = neo.GOLD  # counting down, still including the stop
    assert strip[3:] == [neo.GOLD] * 3
    before = list(strip)
    with pytest.raises(IndexError, match="2 colours for a slice of 3"):
        strip[0:2] = [neo.RED, neo.RED]
    with pytest.raises(IndexError, match="out of range"):
        strip[4:6] = neo.RED
    with pytest.raises(neo.BadColor):
        strip[0:1] = [neo.RED, (1, 2)]
    assert list(strip) == before  # a refused assignment changes nothing
    assert strip.backend.frame == strip.rendered()


def test_wheel_is_the_originals():
    assert [neo.wheel(p) for p in (0, 42, 85, 127, 170, 212, 255)] == [
        (0, 255, 0),
        (126, 129, 0),
        (255, 0, 0),
        (129, 0, 126),
        (0, 0, 255),
        (0, 126, 129),
        (0, 255, 0),
    ]
    strip = neo.Neo(4, simulation=True)
    strip.fill_wheel()
    assert list(strip) == [neo.wheel(0), neo.wheel(63), neo.wheel(127), neo.wheel(191)]


def test_one_backend_unavailable_for_gpio_and_neo():
    from kcore import gpio

    assert neo.BackendUnavailable is gpio.BackendUnavailable
    assert issubclass(neo.BackendUnavailable, ImportError)
    assert issubclass(neo.NeoError, KcoreError) and issubclass(gpio.GpioError, KcoreError)
