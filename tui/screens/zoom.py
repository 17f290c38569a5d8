"""ZoomScreen: the numbers around the cursor and the current equation in 3x3 glyphs, for projectors.

The protocol: a screen that can be zoomed implements `zoom_view()` returning a `ZoomView` (or
None); arrows in the zoom call its `zoom_move(di, dj)` when it has one, so the cursor, and the
equation with it, can be walked from the back of the room.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.renderables.digits import DIGITS, DIGITS3X3_BOLD, Digits
from textual.screen import Screen
from textual.widgets import Static

from tui.colormode import use_color
from tui.render import colors
from tui.render.math import DIGITS as EQ_DIGITS
from tui.render.numbers import format_number
from tui.safety import Guarded

GAP = 2  # columns between big numbers
RESERVED = 12  # lines that are not the grid: title, gap, lhs, 2x3 big lines + 1, symbolic, keys
EXTRA = {"=": ("   ", "═══", "   ")}  # Textual's glyphs have no "=": a minus is "╺━╸"
BIG_EQ_LINES = 2
KEYS = "arrows move the cursor · Z or escape closes"


@dataclass(frozen=True)
class ZoomView:
    """What to enlarge: a (H, W) plane (a vector as one row), the cursor, the equation."""

    title: str
    plane: np.ndarray | None
    cursor: tuple[int, int] | None = None
    marks: frozenset = frozenset()  # (i, j) of the receptive field in the plane
    explanation: object | None = None  # an engine Explanation
    message: str = ""  # why there is no equation (or no tensor) yet


def view_of(pane, explanation, message: str = "") -> ZoomView:
    """The ZoomView of a TensorPane (its channel on screen) and the math pane's explanation."""
    if pane.array is None:
        return ZoomView("tensor", None, explanation=explanation, message=pane.message)
    plane = pane._maps[pane.channel]  # (H, W); a vector is (F, 1): shown as one row
    cursor, marks = pane.cursor, pane._marks()
    if pane.is_vector:
        plane = plane.T
        cursor = None if cursor is None else (0, cursor[0])
        marks = frozenset((0, i) for i, _ in marks)
    title = pane.title
    if pane.array.ndim == 3:
        title += f" · channel {pane.channel + 1}/{pane.channels}"
    return ZoomView(title, plane, cursor, marks, explanation, message)


def big_lines(text: str) -> list[str]:
    """text in Textual's bold 3x3 Digits glyphs: three lines (other characters on the last)."""
    rows: list[list[str]] = [[], [], []]
    for ch in text.translate(Digits.REPLACEMENTS):
        k = DIGITS.find(ch)
        for r in range(3):
            if ch in EXTRA:
                rows[r].append(EXTRA[ch][r])
            elif k < 0:
                rows[r].append(ch if r == 2 else " ")
            else:
                rows[r].append(DIGITS3X3_BOLD[3 * k + r].ljust(3))
    return ["".join(r) for r in rows]


def big_width(text: str) -> int:
    """Columns big_lines(text) takes (measured: Textual's ")" glyph is 4 wide, not 3)."""
    return max(len(line) for line in big_lines(text))


def big_number(value: float) -> str:
    """A number as the panes print it, with E for the exponent (the glyphs have no e)."""
    return format_number(value).replace("e", "E")


def window(n: int, size: int, centre: int) -> tuple[int, int]:
    """[start, end) of `size` items out of n, centred on `centre` where the edges allow."""
    size = max(1, min(size, n))
    start = min(max(centre - size // 2, 0), n - size)
    return start, start + size


def zoom_grid(view: ZoomView, width: int, lines: int, color: bool) -> tuple[Text, str]:
    """The window of the plane around the cursor in big glyphs, and which part it is."""
    plane = np.asarray(view.plane, dtype=np.float64)
    h, w = plane.shape
    ci, cj = view.cursor if view.cursor is not None else (0, 0)
    cell = max(big_width(big_number(v)) for v in plane.ravel())
    cols = max(1, (width + GAP) // (cell + GAP))
    rows = max(1, (lines + 1) // 4)  # three lines a number, one blank line between rows
    (r0, r1), (c0, c1) = window(h, rows, ci), window(w, cols, cj)
    cursor_style = colors.CURSOR_STYLE if color else colors.MONO_CURSOR_STYLE
    mark_style = colors.HIGHLIGHT_STYLE if color else colors.MONO_HIGHLIGHT_STYLE
    lines_out: list[Text] = []
    for i in range(r0, r1):
        if i > r0:
            lines_out.append(Text())  # a blank line keeps two rows of glyphs apart
        glyphs = [big_lines(big_number(plane[i, j])) for j in range(c0, c1)]
        for r in range(3):
            line = Text()
            for k, j in enumerate(range(c0, c1)):
                if k:
                    line.append(" " * GAP)
                style = None
                if view.cursor is not None and (i, j) == (ci, cj):
                    style = cursor_style
                elif (i, j) in view.marks:
                    style = mark_style
                line.append(glyphs[k][r].rjust(cell), style=style)
            lines_out.append(line)
    out = Text("\n", no_wrap=True, overflow="crop").join(lines_out)
    part = ""
    if (r1 - r0, c1 - c0) != (h, w):
        part = f"rows {r0}-{r1 - 1}/{h} cols {c0}-{c1 - 1}/{w}"
    return out, part


def glyphable(text: str) -> bool:
    """True when every character has a glyph (no letters such as max( or exp( )."""
    return all(ch in DIGITS or ch in EXTRA or ch in ".,…" for ch in text)


def big_equation(explanation, width: int, max_lines: int = BIG_EQ_LINES) -> Text:
    """The filled-in right-hand side in big glyphs, with as many terms as fit in max_lines;
    a formula with words in it (max, exp) shows only "= total" big."""
    n = len(explanation.terms or ())
    pieces = [f"={big_number(explanation.total)}"]
    if glyphable(big_rhs(explanation, 1)):
        # A term takes at least "4x1+" in glyphs, 12 columns: no more than `fit` ever fit, so
        # start there (a Linear head's 784 terms took minutes of wrapping from k = 784 down).
        fit = max_lines * max(width, 1) // 12 + 1
        for k in range(min(max(n, 1), fit), 0, -1):  # fewest cuts first
            pieces = _wrap(big_rhs(explanation, k), width)
            if len(pieces) <= max_lines:
                break
    out = Text(no_wrap=True, overflow="crop")
    for p, piece in enumerate(pieces[:max_lines]):
        if p:
            out.append("\n\n")  # a blank line: two lines of glyphs would run together
        out.append("\n".join(big_lines(piece)), style="bold")
    return out


def big_rhs(explanation, k: int) -> str:
    """The equation's right-hand side with k terms, spelled for the glyphs: "4x1+3x0+…=6"."""
    text = explanation.text(k, EQ_DIGITS)
    lhs = f"{explanation.lhs} = "
    if text.startswith(lhs):
        text = text[len(lhs) :]
    text = re.sub(r"\.\.\. \(\d+ terms[^)]*\)", "…", text)  # the glyphs have no letters
    return text.replace("*", "x").replace(" ", "")


def _wrap(text: str, width: int) -> list[str]:
    """Split at + and = so each piece's glyphs fit width (a piece too long stays whole)."""
    tokens, cur = [], ""
    for ch in text:
        if ch in "+=" and cur:
            tokens.append(cur)
            cur = ""
        cur += ch
    tokens.append(cur)
    lines, line = [], ""
    for tok in tokens:
        if line and big_width(line + tok) > width:
            lines.append(line)
            line = tok
        else:
            line += tok
    return [*lines, line]


class ZoomScreen(Guarded, Screen[None]):
    """The zoomed view of the screen under it; it follows that screen's cursor and steps."""

    BINDINGS = [
        Binding("escape,q", "close", "close"),
        Binding("up", "move(-1, 0)", "up", show=False),
        Binding("down", "move(1, 0)", "down", show=False),
        Binding("left", "move(0, -1)", "left", show=False),
        Binding("right", "move(0, 1)", "right", show=False),
    ]

    def __init__(self, source) -> None:
        super().__init__()
        self.source = source  # the screen that was zoomed; asked again as it changes
        self._key = None

    def compose(self) -> ComposeResult:
        with Vertical(id="zoom-body"):
            yield Static(id="zoom-title")
            yield Static(id="zoom-grid")
            yield Static(id="zoom-lhs")
            yield Static(id="zoom-eq")
            yield Static(id="zoom-symbolic")
        yield Static(KEYS, id="zoom-keys")

    def on_mount(self) -> None:
        self.refresh_view()
        # a run or a key on the screen below changes what is zoomed: look again 5 times a second
        self.set_interval(0.2, self.refresh_view)

    def on_resize(self) -> None:
        self._key = None
        self.refresh_view()

    def exportables(self) -> list:
        """What the zoomed screen exports (s works while zoomed)."""
        return self.source.exportables() if hasattr(self.source, "exportables") else []

    def action_close(self) -> None:
        """Back to the screen that was zoomed."""
        self.dismiss()

    def action_move(self, di: int, dj: int) -> None:
        """Move the cursor of the zoomed screen (its equation follows)."""
        move = getattr(self.source, "zoom_move", None)
        if move is not None:
            move(di, dj)
            self.call_after_refresh(self.refresh_view)

    def refresh_view(self) -> None:
        """Re-read the zoomed screen's view; redraw only when it changed."""
        view = self.source.zoom_view()
        if view is None:
            return
        plane_id = None if view.plane is None else (id(view.plane), view.plane.shape)
        key = (view.title, plane_id, view.cursor, id(view.explanation), view.message, self.size)
        if key == self._key:
            return
        self._key = key
        self.render_view(view)

    def render_view(self, view: ZoomView) -> None:
        """Fill the title, grid and equation for this view at the screen's size."""
        width, height = max(self.size.width - 2, 20), max(self.size.height, 12)
        color = use_color(self.app)
        title = Text(view.title, style="bold")
        grid = self.query_one("#zoom-grid", Static)
        if view.plane is None:
            grid.update(Text(view.message or "nothing to show", style="bold"))
        else:
            body, part = zoom_grid(view, width, height - RESERVED, color)
            if view.cursor is not None:
                i, j = view.cursor
                where = f"[{j}]" if view.plane.shape[0] == 1 else f"[{i},{j}]"
                title.append(f" · {where} = {format_number(view.plane[i, j])}")
            grid.update(body)
            keys = f"{part} · {KEYS}" if part else KEYS  # the title would wrap at 80 columns
            self.query_one("#zoom-keys", Static).update(keys)
        self.query_one("#zoom-title", Static).update(title)
        ex = view.explanation
        lhs, eq, symbolic = self.query_one("#zoom-lhs"), self.query_one("#zoom-eq"), ""
        if ex is None:
            lhs.update(Text(view.message or "no equation here", style="bold"))
            eq.update("")
        else:
            lhs.update(Text(f"{ex.title}:  {ex.lhs} =", style="bold"))
            eq.update(big_equation(ex, width))
            # the equation with its numbers in plain type when the glyphs cannot spell it
            symbolic = str(ex.symbolic or "") if glyphable(big_rhs(ex, 1)) else ex.text(3)
        self.query_one("#zoom-symbolic", Static).update(Text(symbolic))
