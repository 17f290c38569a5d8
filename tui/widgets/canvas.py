"""DigitCanvas: a 28x28 drawing surface in half-block cells, for the mouse and the keyboard."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from tui.colormode import use_color

SIZE = 28
INK_THRESHOLD = 0.35  # without colour, a pixel at least this bright is drawn as ink
PEN = Style(color="rgb(0,230,0)")


def brush(pixels: np.ndarray, r: int, c: int, value: float = 1.0) -> bool:
    """Paint a soft 2x2 dot with its top-left at (r, c); value 0 erases. True if it changed."""
    before = pixels.copy()
    h, w = pixels.shape
    for dr in (-1, 0, 1, 2):
        for dc in (-1, 0, 1, 2):
            rr, cc = r + dr, c + dc
            if not (0 <= rr < h and 0 <= cc < w):
                continue
            core = dr in (0, 1) and dc in (0, 1)
            if value > 0:
                pixels[rr, cc] = max(pixels[rr, cc], value if core else 0.4 * value)
            elif core:
                pixels[rr, cc] = 0.0
    return not np.array_equal(before, pixels)


def grey(v: float) -> str:
    """An rgb() colour for a pixel value in [0, 1]."""
    k = int(round(255 * min(max(float(v), 0.0), 1.0)))
    return f"rgb({k},{k},{k})"


class DigitCanvas(Widget, can_focus=True):
    """28x28 pixels in 28x14 cells (two pixel rows per cell); posts Changed after each stroke."""

    BINDINGS = [
        Binding("left", "move(0,-1)", "move pen", key_display="←↑↓→", show=False),
        Binding("right", "move(0,1)", "pen right", show=False),
        Binding("up", "move(-1,0)", "pen up", show=False),
        Binding("down", "move(1,0)", "pen down", show=False),
        Binding("space", "toggle_pen", "pen on/off", key_display="space"),
        Binding("x", "toggle_eraser", "eraser"),
        Binding("c", "clear", "clear"),
    ]

    @dataclass
    class Changed(Message):
        """The drawing changed (pixels is the canvas's own array: copy before keeping it)."""

        canvas: DigitCanvas

        @property
        def control(self) -> DigitCanvas:
            """The canvas that changed."""
            return self.canvas

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pixels = np.zeros((SIZE, SIZE), dtype=np.float32)  # (28, 28), 0 = black
        self.pen = (SIZE // 2, SIZE // 2)  # (row, col) in pixels
        self.pen_down = False
        self.eraser = False
        self._dragging = False

    # ---- drawing --------------------------------------------------------------------------
    def set_pixels(self, pixels: np.ndarray) -> None:
        """Replace the drawing with a (28, 28) array in [0, 1]."""
        a = np.asarray(pixels, dtype=np.float32)
        if a.shape != (SIZE, SIZE):
            raise ValueError(f"the canvas is {SIZE}x{SIZE}, got an image of shape {a.shape}")
        self.pixels = np.clip(a, 0.0, 1.0)
        self._changed()

    def paint(self, r: int, c: int) -> None:
        """Ink (or erase) at pixel (r, c)."""
        if brush(self.pixels, r, c, 0.0 if self.eraser else 1.0):
            self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.post_message(self.Changed(self))

    def action_move(self, dr: int, dc: int) -> None:
        """Move the pen one pixel; with the pen down, draw on the way."""
        r = min(max(self.pen[0] + dr, 0), SIZE - 1)
        c = min(max(self.pen[1] + dc, 0), SIZE - 1)
        self.pen = (r, c)
        if self.pen_down:
            self.paint(r, c)
        self.refresh()

    def action_toggle_pen(self) -> None:
        """Lift or lower the pen (lowered, it draws where it is and wherever it moves)."""
        self.pen_down = not self.pen_down
        if self.pen_down:
            self.paint(*self.pen)
        self.refresh()

    def action_toggle_eraser(self) -> None:
        """Switch between ink and eraser."""
        self.eraser = not self.eraser
        self.refresh()

    def action_clear(self) -> None:
        """Erase everything."""
        self.pixels[...] = 0
        self._changed()

    # ---- mouse ----------------------------------------------------------------------------
    def _pixel(self, event: events.MouseEvent) -> tuple[int, int] | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        r, c = 2 * offset.y, offset.x
        return (r, c) if 0 <= r < SIZE and 0 <= c < SIZE else None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        at = self._pixel(event)
        if at is not None:
            self._dragging = True
            self.capture_mouse()
            self.pen = at
            self.paint(*at)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging and event.button:
            at = self._pixel(event)
            if at is not None:
                self.pen = at
                self.paint(*at)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._dragging = False
        self.release_mouse()

    # ---- rendering ------------------------------------------------------------------------
    def render(self) -> Text:
        color = use_color(self.app)
        out = Text(no_wrap=True, overflow="crop")
        pr, pc = self.pen
        for y in range(SIZE // 2):
            if y:
                out.append("\n")
            for x in range(SIZE):
                top, bottom = self.pixels[2 * y, x], self.pixels[2 * y + 1, x]
                pen_here = y == pr // 2 and x == pc
                if color:
                    fg = "rgb(0,230,0)" if pen_here and pr % 2 == 0 else grey(top)
                    bg = "rgb(0,230,0)" if pen_here and pr % 2 == 1 else grey(bottom)
                    out.append("▀", Style(color=fg, bgcolor=bg))
                else:
                    t, b = top >= INK_THRESHOLD, bottom >= INK_THRESHOLD
                    ch = "█" if t and b else "▀" if t else "▄" if b else ("·" if pen_here else " ")
                    out.append(ch, Style(reverse=True) if pen_here else None)
        return out

    @property
    def status(self) -> str:
        """'pen down · ink' and the like, for a caption."""
        return f"pen {'down' if self.pen_down else 'up'} · {'eraser' if self.eraser else 'ink'}"
