"""The graphical NeoPixel simulation, in a real tkinter window on a real X server (Xvfb),
checked by taking a screenshot and reading pixel colours."""

import io
import os
import shutil
import subprocess

import pytest
from ktest import wait_until

from kcore import neo


@pytest.fixture(scope="module")
def xvfb():
    """One X server for the module: Tk cannot move to a new display once it has used one.
    Xvfb picks a free display number itself (-displayfd), so parallel runs cannot clash."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install -y xvfb)")
    pytest.importorskip(
        "tkinter", reason="tkinter missing (Debian: apt-get install -y python3-tk)"
    )
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "640x200x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(write_fd,),
    )
    os.close(write_fd)
    try:
        number = b""
        with os.fdopen(read_fd, "rb") as r:  # Xvfb writes "<n>\n" once it accepts clients
            while not number.endswith(b"\n"):
                chunk = r.read(1)
                if not chunk:
                    break
                number += chunk
        if not number.strip().isdigit():
            proc.kill()
            pytest.fail("Xvfb did not start: %s" % proc.communicate()[1].decode(errors="replace"))
        display = ":%d" % int(number)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DISPLAY", display)
            yield display
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _screenshot(display):
    """The whole screen as a Pillow image: ImageMagick's `import`, else Pillow's ImageGrab."""
    from PIL import Image

    if shutil.which("import"):
        png = subprocess.run(
            ["import", "-display", display, "-window", "root", "png:-"],
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout
        return Image.open(io.BytesIO(png)).convert("RGB")
    from PIL import ImageGrab

    return ImageGrab.grab(xdisplay=display).convert("RGB")


def _wait_for_colours(display, expected, timeout=10.0):
    """Take screenshots until every {(x, y): rgb} matches; return the last mismatches."""
    wrong = {}

    def matches():
        img = _screenshot(display)
        wrong.clear()
        wrong.update(
            {xy: img.getpixel(xy) for xy, rgb in expected.items() if img.getpixel(xy) != rgb}
        )
        return not wrong

    wait_until(matches, timeout=timeout, interval=0.05)
    return wrong


def test_window_shows_pixel_colours(xvfb):
    from kcore.neo._tk import BACKGROUND, pixel_center

    strip = neo.Neo(5, simulation="window", brightness=0.5)
    try:
        assert strip.backend.name == "window"
        strip[0] = (200, 100, 50)
        strip[1] = neo.RED
        strip[-1] = neo.BLUE
        cols = strip.backend.columns
        bg = tuple(int(BACKGROUND[i : i + 2], 16) for i in (1, 3, 5))
        expected = {
            pixel_center(0, cols): (100, 50, 25),  # brightness applied
            pixel_center(1, cols): (127, 0, 0),
            pixel_center(2, cols): (0, 0, 0),
            pixel_center(4, cols): (0, 0, 127),
            (1, 1): bg,  # the gap around pixel 0
        }
        assert _wait_for_colours(xvfb, expected) == {}
        strip.brightness = 1.0
        strip.fill(neo.GREEN)
        expected = {pixel_center(i, cols): (0, 255, 0) for i in range(5)}
        assert _wait_for_colours(xvfb, expected) == {}
    finally:
        strip.close()


def test_rgbw_white_shows_as_white(xvfb):
    from kcore.neo._tk import pixel_center

    with neo.Neo(2, simulation="window", include_w=True) as strip:
        strip[0] = neo.RGBW_WHITE_W
        strip[1] = (10, 0, 0, 20)
        cols = strip.backend.columns
        expected = {pixel_center(0, cols): (255, 255, 255), pixel_center(1, cols): (30, 20, 20)}
        assert _wait_for_colours(xvfb, expected) == {}
