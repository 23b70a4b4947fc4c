"""The hub's devices as tag points: a button, an LED and a NeoPixel strip.

They are kcore-hw devices (:class:`kcore.gpio.KButton`, :class:`kcore.gpio.KLed`,
:class:`kcore.neo.Neo`), so on a Raspberry Pi they drive real pins and
elsewhere the simulation back ends stand in. Tags, named as in Kaithem:

* ``/system/gpio/<button pin>``: 1 while the button is held (read-only);
* ``/sim/gpio/<button pin>`` (simulation only): the simulated finger, write 1
  to press and 0 to let go;
* ``/system/gpio/<led pin>``: the LED, lit while the value is above 0.5;
* ``/system/neopixels``: the strip, a list of ``"#rrggbb"`` colours: one
  colour lights every pixel, several set the pixels from the first on (the
  rest go dark).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from kcore.common import logger as _logger
from kcore.hub.config import HardwareSpec, TagSpec
from kcore.hub.tagtable import Origin, TagTable

NEO_TAG = "/system/neopixels"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
RELEASE_POLL = 0.02  # seconds between checks while the button is held


def button_tag(pin: int) -> str:
    return "/system/gpio/%d" % pin


def finger_tag(pin: int) -> str:
    return "/sim/gpio/%d" % pin


def led_tag(pin: int) -> str:
    return "/system/gpio/%d" % pin


def parse_colors(value: Any, count: int) -> List[int]:
    """A strip value as ``count`` 0xRRGGBB ints; raises ValueError naming the problem."""
    if not isinstance(value, list) or not value:
        raise ValueError('the strip takes a list of colours, like ["#ff8000"]')
    items = value * count if len(value) == 1 else value
    if len(items) > count:
        raise ValueError("the strip has %d pixels, got %d colours" % (count, len(items)))
    out = []
    for c in items:
        if not isinstance(c, str) or not _COLOR.match(c):
            raise ValueError("colours are '#rrggbb' strings, got %r" % (str(c)[:40],))
        out.append(int(c[1:], 16))
    return out + [0] * (count - len(out))


class HubDevices:
    """Creates the configured devices, binds them to tags, closes them."""

    def __init__(self, kaithem: Any, table: TagTable, spec: HardwareSpec) -> None:
        self.kaithem = kaithem
        self.table = table
        self.spec = spec
        self.button: Any = None
        self.led: Any = None
        self.strip: Any = None
        self.backend: Any = None
        self._release_job: Any = None

    @property
    def simulated(self) -> bool:
        return bool(getattr(self.backend, "simulated", False))

    def start(self) -> None:
        spec = self.spec
        if spec.button is None and spec.led is None and spec.neopixels is None:
            return
        from kcore import gpio
        from kcore.hub.datadir import HubError

        steps = []
        if spec.button is not None:
            steps.append(("the button on GPIO %d" % spec.button, self._start_button, spec.button))
        if spec.led is not None:
            steps.append(("the LED on GPIO %d" % spec.led, self._start_led, spec.led))
        what_now = "GPIO"
        try:
            if steps:
                self.backend = gpio.make_backend(
                    "simulation" if spec.gpio == "simulation" else None
                )
            for what, start, pin in steps:
                what_now = what
                start(pin)
        except Exception as e:  # any driver error becomes one clear message
            raise HubError(
                "hardware: cannot use %s: %s (hardware.gpio: simulation simulates it)"
                % (what_now, e)
            ) from None
        if spec.neopixels is not None:
            self._start_strip(spec.neopixels.count, spec.neopixels.backend)

    # -- button ------------------------------------------------------------

    def _start_button(self, pin: int) -> None:
        from kcore import gpio

        self._define(button_tag(pin), "number", writable=False, min=0, max=1)
        tag = self.kaithem.tags[button_tag(pin)]
        tag(0, None, Origin("device", "button"))
        self.button = gpio.KButton(
            pin,
            func=self._pressed,
            name="hub button",
            backend=self.backend,
            debounce_ms=50,
            require_pressed_ms=10,
        )
        if self.simulated:
            self._define(finger_tag(pin), "number", min=0, max=1, persist=False)
            finger = self.kaithem.tags[finger_tag(pin)]
            finger(0, None, Origin("device", "button"))
            finger.subscribe(self._finger)

    def _pressed(self, pin: Any) -> None:
        self.kaithem.tags[button_tag(self.spec.button or 0)](1, None, Origin("device", "button"))
        if self._release_job is None:
            self._release_job = self.kaithem.runtime.scheduler.every(
                self._check_release, RELEASE_POLL
            )

    def _check_release(self) -> None:
        button = self.button
        if button is None or button.closed or not button.is_pressed:
            job, self._release_job = self._release_job, None
            if job is not None:
                job.cancel()
            tag = self.kaithem.tags[button_tag(self.spec.button or 0)]
            tag(0, None, Origin("device", "button"))

    def _finger(self, value: Any, ts: float, annotation: Any) -> None:
        if self.button is not None and not self.button.closed:
            # The button idles high (pull-up): a press pulls the pin low.
            self.backend.set_level(self.spec.button, not value > 0.5)

    # -- LED -----------------------------------------------------------------

    def _start_led(self, pin: int) -> None:
        from kcore import gpio

        self._define(led_tag(pin), "number", min=0, max=1)
        self.led = gpio.KLed(pin, backend=self.backend)
        tag = self.kaithem.tags[led_tag(pin)]
        tag.set_handler(self._led_changed)
        if tag.value > 0.5:
            self.led.on()

    def _led_changed(self, value: Any, ts: float, annotation: Any) -> None:
        if self.led is not None and not self.led.closed:
            self.led.set(value > 0.5)

    # -- NeoPixel strip --------------------------------------------------------

    def _start_strip(self, count: int, backend: str) -> None:
        from kcore import neo

        if backend == "window":
            self.strip = neo.Neo(count, simulation="window")
        elif backend == "headless":
            self.strip = neo.Neo(count, simulation=True)
        else:
            try:
                self.strip = neo.Neo(count)
            except (neo.NeoBackendError, neo.BackendUnavailable) as e:
                _logger.log_warning("hub: NeoPixels simulated (%s)" % e)
                self.strip = neo.Neo(count, simulation=True)
        self._define(NEO_TAG, "object")
        tag = self.kaithem.tags.ObjectTag(NEO_TAG)
        tag.validate = self._validate_colors
        if tag.value is None:
            tag(["#000000"], None, Origin("device", "neopixels"))
        tag.set_handler(self._strip_changed)
        self._strip_changed(tag.value, 0.0, None)

    def _validate_colors(self, value: Any) -> Any:
        from kcore.kaithem.tags import TagTypeError

        try:
            parse_colors(value, len(self.strip) if self.strip is not None else 1)
        except ValueError as e:
            raise TagTypeError("%s: %s" % (NEO_TAG, e)) from None
        return value

    def _strip_changed(self, value: Any, ts: float, annotation: Any) -> None:
        strip = self.strip
        if strip is None or value is None:
            return
        from kcore.neo import color_to_rgb

        strip[:] = [color_to_rgb(c) for c in parse_colors(value, len(strip))]

    # -- helpers -------------------------------------------------------------

    def _define(self, name: str, kind: str, writable: bool = True, **kw: Any) -> None:
        """A spec for a device tag, keeping what the config says about it."""
        configured = self.table.specs.get(name)
        spec = TagSpec(name=name, type=kind, writable=writable)
        if configured is not None:
            spec.public = configured.public
            spec.description = configured.description
            spec.read_permission = configured.read_permission
            spec.write_permission = configured.write_permission
            spec.writable = writable and configured.writable
            spec.persist = configured.persist and kw.get("persist", True)
        else:
            spec.persist = kw.get("persist", True)
        spec.persist = spec.persist and writable
        self.table.set_spec(spec)
        if kind == "number":
            tag = self.kaithem.tags[name]
            if "min" in kw:
                tag.min = kw["min"]
            if "max" in kw:
                tag.max = kw["max"]

    def state(self) -> Dict[str, Any]:
        """What each device shows right now (JSON-ready)."""
        out: Dict[str, Any] = {"simulated": self.simulated}
        if self.button is not None and not self.button.closed:
            out["button"] = {
                "pin": self.spec.button,
                "pressed": self.button.is_pressed,
                "presses": self.button.stats.get("presses", 0),
            }
        if self.led is not None and not self.led.closed:
            out["led"] = {"pin": self.spec.led, "lit": self.led.is_lit}
        if self.strip is not None:
            out["neopixels"] = ["#%02x%02x%02x" % tuple(c[:3]) for c in self.strip.rendered()]
        return out

    def close(self) -> None:
        job, self._release_job = self._release_job, None
        if job is not None:
            job.cancel()
        for dev in (self.button, self.led):
            if dev is not None:
                dev.close()
        if self.strip is not None:
            try:
                self.strip.close()
            except Exception as e:  # closing must finish
                _logger.log_warning("hub: closing the strip: %r" % (e,))
