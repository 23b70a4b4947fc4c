"""kcore.neo's board-safe code: the strip as a list, colours, brightness, and the
circuitpython back end over a fake neopixel module. Runs under pytest and micropython."""

import hwfakes
from mtest import raises

from kcore import neo


def test_colour_helpers():
    assert neo.color_to_rgb(0x123456) == (0x12, 0x34, 0x56)
    assert neo.rgb_to_color((0x12, 0x34, 0x56)) == 0x123456
    assert neo.rgb_to_color((1, 2, 3, 4)) == 0x01020304
    assert neo.wheel(0) == (0, 255, 0)
    assert neo.wheel(85) == (255, 0, 0)
    assert neo.wheel(170) == (0, 0, 255)
    assert neo.wheel(256) == neo.wheel(0)
    for pos in range(256):
        c = neo.wheel(pos)
        assert len(c) == 3 and min(c) >= 0 and max(c) <= 255
    assert neo.RED == (255, 0, 0) and neo.OFF == neo.BLACK


def test_list_semantics():
    s = neo.Neo(6, simulation=True)
    assert len(s) == 6
    s[0] = neo.RED
    s[-1] = neo.BLUE
    assert s[5] == neo.BLUE and s.get(-6) == neo.RED
    s[1:3] = neo.GREEN  # assignment includes the stop
    assert s[1] == s[2] == s[3] == neo.GREEN and s[4] == neo.BLACK
    s[0:4:2] = [neo.WHITE, neo.PINK, neo.GOLD, neo.AQUA]  # 0, 2, 4; extras ignored
    assert s[0] == neo.WHITE and s[2] == neo.PINK and s[4] == neo.GOLD
    assert s[-2:] == [neo.GOLD, neo.BLUE]  # reads are list slices
    assert s[::-1][0] == neo.BLUE
    s[:] = 0x010203
    assert list(s) == [(1, 2, 3)] * 6
    assert raises(IndexError, s.get, 6)
    assert raises(IndexError, s.get, -7)

    def short_list():
        s[0:2] = [neo.RED]

    assert raises(IndexError, short_list)
    assert list(s) == [(1, 2, 3)] * 6
    assert raises(neo.BadColor, s.set, 0, (256, 0, 0))
    assert raises(ValueError, s.set, 0, "red")
    assert raises(ValueError, s.set, 0, (1, 2, 3, 4))  # no white channel here
    assert raises(TypeError, s.get, "x")


def test_python_slices():
    s = neo.Neo(6, simulation=True, python_slices=True)
    s[1:3] = neo.GREEN  # stop excluded, as for lists
    assert s[3] == neo.BLACK and s[1] == s[2] == neo.GREEN
    s[::2] = [neo.WHITE, neo.PINK, neo.GOLD]
    assert s[0] == neo.WHITE and s[2] == neo.PINK and s[4] == neo.GOLD
    s[::-3] = 0x010203
    assert s[5] == (1, 2, 3) and s[2] == (1, 2, 3)

    def short_list():
        s[0:2] = [neo.RED]

    assert raises(ValueError, short_list)


def test_headless_show_and_brightness():
    s = neo.Neo(3, simulation=True, auto_write=False)
    be = s.backend
    s.fill((200, 100, 50))
    assert be.shows == 0
    s.show()
    assert be.frame == [(200, 100, 50)] * 3
    s.brightness = 0.5
    s.show()
    assert be.frame[0] == (100, 50, 25)
    assert s[0] == (200, 100, 50)  # what was set stays as set
    s.brightness = 7
    assert s.brightness == 1.0
    s.brightness = -1
    assert s.brightness == 0.0
    assert raises(ValueError, setattr, s, "brightness", "bright")
    s.close()
    assert raises(neo.StripClosed, s.show)


def test_auto_write_and_helpers():
    s = neo.Neo(4, simulation=True)
    be = s.backend
    s[0] = neo.RED
    assert be.shows == 1 and be.frame[0] == neo.RED
    s.fill_wheel()
    assert be.frame[0] == neo.wheel(0) and be.frame[1] == neo.wheel(63)
    s.black()
    assert be.frame == [neo.BLACK] * 4
    n = be.shows
    s.wipe(neo.BLUE)
    assert be.shows == n + 4 and s[3] == neo.BLUE


def test_rgbw():
    s = neo.Neo(2, simulation=True, include_w=True)
    s[0] = neo.RGBW_WHITE_W
    s[1] = neo.RED
    assert s[0] == (0, 0, 0, 255) and s[1] == (255, 0, 0, 0)
    s[1] = 0x11223344
    assert s[1] == (0x22, 0x33, 0x44, 0x11)


def test_circuitpython_backend_with_fake_neopixel():
    np_mod = hwfakes.neopixel
    be = neo.CircuitPythonBackend(3, hwfakes.board.D5, "GRB", False, neopixel_module=np_mod)
    strip = neo.Neo(3, backend=be, brightness=0.5)
    fake = np_mod.STRIPS[-1]
    assert fake.pin is hwfakes.board.D5 and fake.pixel_order == "GRB"
    assert fake.brightness == 1.0 and fake.auto_write is False
    strip[1] = (100, 200, 50)
    assert fake.shown[-1] == [(0, 0, 0), (50, 100, 25), (0, 0, 0)]
    strip.close()
    assert fake.deinited


def test_circuitpython_backend_by_name():
    hwfakes.install()
    try:
        strip = neo.Neo(2, backend="circuitpython", reverse_rg=True)
        fake = hwfakes.neopixel.STRIPS[-1]
        assert fake.pin is hwfakes.board.NEOPIXEL and fake.pixel_order == "RGB"
        strip.fill(neo.AQUA)
        assert fake.shown[-1] == [neo.AQUA, neo.AQUA]
        strip.close()
        strip = neo.Neo(1, backend="circuitpython", pin="D12", include_w=True)
        fake = hwfakes.neopixel.STRIPS[-1]
        assert fake.pin is hwfakes.board.D12 and fake.pixel_order == "GRBW"
        strip[0] = neo.RGBW_WHITE_RGBW
        assert fake.shown[-1] == [(255, 255, 255, 255)]
        strip.close()
    finally:
        hwfakes.uninstall()


def test_bad_strip_arguments():
    assert raises(ValueError, neo.Neo, 0, simulation=True)
    assert raises(ValueError, neo.Neo, 2, backend="nonsense")
