"""The graphical NeoPixel simulation: one square per pixel in a tkinter window.

CPython only. Tk is single-threaded, so the window belongs to the thread that
made the strip; every :meth:`WindowBackend.write` redraws and processes the
window's events, and :meth:`WindowBackend.pump` does the latter between writes.
"""

import os
from typing import List, Optional, Sequence, Tuple

from kcore._hw import BackendUnavailable
from kcore.neo import NeoBackendError

CELL = 40  # pixels per LED square, gap included
GAP = 4
BACKGROUND = "#202020"


def display_rgb(color: Sequence[int]) -> Tuple[int, int, int]:
    """What an (r, g, b[, w]) LED looks like on a screen: white adds to every channel."""
    w = color[3] if len(color) > 3 else 0
    return (min(255, color[0] + w), min(255, color[1] + w), min(255, color[2] + w))


def pixel_center(i: int, columns: int, cell: int = CELL) -> Tuple[int, int]:
    """Window coordinates of the middle of pixel ``i``'s square."""
    row, col = divmod(i, columns)
    return (col * cell + cell // 2, row * cell + cell // 2)


class WindowBackend:
    """A window showing the strip, ``columns`` squares per row, at ``x``, ``y``."""

    name = "window"

    def __init__(
        self,
        n: int,
        pin: object = None,
        order: str = "GRB",
        include_w: bool = False,
        columns: Optional[int] = None,
        title: str = "kcore.neo simulation",
        x: int = 0,
        y: int = 0,
    ) -> None:
        if not os.environ.get("DISPLAY"):
            raise NeoBackendError(
                "kcore.neo's window back end needs a display ($DISPLAY is not set); "
                "use simulation=True for the headless simulation"
            )
        try:
            import tkinter
        except ImportError:
            raise BackendUnavailable(
                "kcore.neo's window back end needs tkinter (Debian: apt-get install python3-tk)"
            ) from None
        try:
            self.root = tkinter.Tk()
        except tkinter.TclError as e:
            raise NeoBackendError(
                "kcore.neo's window back end cannot open display %r: %s"
                % (os.environ.get("DISPLAY"), e)
            ) from None
        self.columns = columns or min(n, 16)
        rows = (n + self.columns - 1) // self.columns
        self.root.title(title)
        self.root.geometry("+%d+%d" % (x, y))
        self.root.protocol("WM_DELETE_WINDOW", self._on_close)
        self.canvas = tkinter.Canvas(
            self.root,
            width=self.columns * CELL,
            height=rows * CELL,
            background=BACKGROUND,
            highlightthickness=0,
        )
        self.canvas.pack()
        self._items: List[int] = []
        for i in range(n):
            row, col = divmod(i, self.columns)
            x0, y0 = col * CELL + GAP // 2, row * CELL + GAP // 2
            self._items.append(
                self.canvas.create_rectangle(
                    x0, y0, x0 + CELL - GAP, y0 + CELL - GAP, fill="#000000", width=0
                )
            )
        self._shown: List[Optional[Tuple[int, int, int]]] = [None] * n
        self._open = True
        self.root.update()

    def _on_close(self) -> None:
        self.close()

    def write(self, frame: Sequence[Sequence[int]]) -> None:
        if not self._open:
            return  # the user closed the window: keep the program running
        for i, color in enumerate(frame):
            rgb = display_rgb(color)
            if rgb != self._shown[i]:
                self.canvas.itemconfigure(self._items[i], fill="#%02x%02x%02x" % rgb)
                self._shown[i] = rgb
        self.root.update()

    def pump(self) -> None:
        """Process window events (redraws, a click on close) without new colours."""
        if self._open:
            self.root.update()

    def close(self) -> None:
        if self._open:
            self._open = False
            self.root.destroy()
