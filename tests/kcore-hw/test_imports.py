"""Both modules import, and their simulations work, with gpiozero, rpi_ws281x, tkinter and
the board modules blocked; a real back end that is missing names what to install."""

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = {"gpiozero", "rpi_ws281x", "_rpi_ws281x", "tkinter", "_tkinter", "board",
               "digitalio", "pwmio", "neopixel", "docker"}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError("blocked for this test: %s" % name)
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def _run(code):
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_import_has_no_side_effects_and_needs_no_hardware_library():
    out = _run(
        """
        import threading
        import kcore.gpio, kcore.gpio_ref, kcore.neo
        heavy = [m for m in ("gpiozero", "rpi_ws281x", "tkinter", "board", "digitalio",
                             "pwmio", "neopixel", "kcore.gpio._ticker",
                             "kcore.gpio._gpiozero") if m in sys.modules]
        assert heavy == [], heavy
        assert threading.active_count() == 1
        assert kcore.gpio.SIMULATION is None  # nothing chosen, nothing probed yet
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_simulations_work_without_the_libraries():
    out = _run(
        """
        import os
        os.environ.pop("KCORE_GPIO_BACKEND", None)
        from kcore import gpio, neo
        got = []
        with gpio.KButton(5, func=got.append, require_pressed_ms=0, background=False) as b:
            assert b.backend.name == "simulation"
            b.simulate_press(10)
        assert got == [5]
        with neo.Neo(3) as strip:
            strip.fill(neo.RED)
            assert strip.backend.name == "headless"
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_missing_real_backends_name_the_install():
    out = _run(
        """
        from kcore import gpio, neo
        for make, kind, needle in (
            (lambda: gpio.KLed(5, backend="gpiozero"), gpio.BackendUnavailable,
             "pip install 'kcore-hw'"),
            (lambda: neo.Neo(2, backend="rpi"), neo.BackendUnavailable,
             "pip install 'kcore-hw[rpi]'"),
            (lambda: neo.Neo(2, backend="circuitpython"), neo.BackendUnavailable, "neopixel"),
            (lambda: gpio.KLed(5, backend="circuitpython"), gpio.BackendUnavailable, "digitalio"),
            (lambda: gpio.mock_factory(), gpio.BackendUnavailable, "pip install 'kcore-hw'"),
        ):
            try:
                make()
            except kind as e:
                assert isinstance(e, ImportError), type(e).__mro__
                assert needle in str(e), str(e)
            else:
                raise AssertionError("no error")
        import os
        os.environ["DISPLAY"] = ":0"
        try:
            neo.Neo(2, simulation="window")
        except neo.BackendUnavailable as e:
            assert "python3-tk" in str(e)
        print("ok")
        """
    )
    assert out.strip() == "ok"
