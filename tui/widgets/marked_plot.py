"""MarkedPlot: a plotext plot with a vertical marker that moves without drawing the plot again.

plotext builds the whole figure (every point, every line between points) for any change: for
lesson 5's two 241-point curves that is most of an arrow key's time. The marker is the only
thing an arrow key changes, so the figure is built once without it (per curves, size and
theme) and the marker, plotext's own vertical line, is laid over that: `│` on the blank cells of
the canvas (plotext draws the curves over its lines), `┬` and `┴` where it meets the frame,
and the title, which says where the marker is, centred again the way plotext centres it.

The first build of a figure also builds it the plain way (with plotext's own line) and compares
the two cell by cell; if they differ (another plotext, a frame it does not have), that figure is
always built the plain way: never a wrong picture, at worst the old speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual_plotext import PlotextPlot

from tui.safety import Guarded

VLINE, TOP_TEE, BOTTOM_TEE = "│", "┬", "┴"
AHEAD_S = 0.4  # a figure built ahead waits this long: the first frame and keys come first


@dataclass
class _Base:
    """A figure built without the marker, and where its canvas and title are."""

    lines: list[Text]
    col_start: int  # the canvas's first column
    width: int  # the canvas's columns
    rows: range  # the canvas's rows
    top: int  # the frame's top and bottom rows
    bottom: int
    title_center: int  # plotext's centre column for the title (in row 0)
    title_style: Style
    legend: tuple[range, range] = (range(0), range(0))  # its rows and columns: drawn last
    line_style: Style | None = None  # the marker's style, read from plotext's own build


def style_at(line: Text, offset: int) -> Style:
    """The style of one cell of a line (its spans combined, in order)."""
    return Style.combine(
        [line.style if isinstance(line.style, Style) else Style.parse(line.style or "")]
        + [s.style if isinstance(s.style, Style) else Style.parse(s.style)
           for s in line.spans if s.start <= offset < s.end]
    )  # fmt: skip


def cells(text: Text) -> list[list[tuple[str, Style]]]:
    """Every cell of a text as (character, style), line by line (to compare two pictures)."""
    return [[(ch, style_at(line, k)) for k, ch in enumerate(line.plain)]
            for line in text.split("\n", allow_blank=True)]  # fmt: skip


def runs(text: Text, console) -> Text:
    """The same picture with one span per run of a style: plotext's build and the overlay
    (whose marker cells are spans of their own) then draw, and export, the same segments."""
    lines = []
    for line in text.split("\n", allow_blank=True):
        segments = Segment.simplify(line.render(console))
        lines.append(Text.assemble(*((seg.text, seg.style) for seg in segments if seg.text)))
    return Text("\n").join(lines)


def _splice(line: Text, col: int, char: str, style: Style) -> Text:
    out = line[:col]
    out.append(char, style)
    out.append_text(line[col + 1 :])
    return out


class MarkedPlot(Guarded, PlotextPlot):
    """A plotext plot of fixed curves and a vertical marker at `x` (see the module's note)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._draw: Callable | None = None  # draw(plt): the curves, limits and labels
        self._key = None  # what the curves are (a new key: a new figure)
        self._x, self._xlim, self._title = 0.0, (0.0, 1.0), ""
        self._bases: dict = {}  # (key, size, theme) -> _Base, or None: build the plain way
        self._ahead: list[tuple] = []  # figures to build while nothing else happens (ahead)
        self.builds = 0  # plotext builds, counted (tests check that a move builds nothing)

    def show(self, key, draw: Callable, x: float, xlim: tuple[float, float], title: str) -> None:
        """Curves `draw(plt)` (named by `key`: the same key, the same curves) marked at `x`."""
        self._draw, self._key = draw, key
        self._x, self._xlim, self._title = float(x), (float(xlim[0]), float(xlim[1])), title
        self.refresh()

    def ahead(self, key, draw: Callable, x: float, xlim: tuple[float, float], title: str) -> None:
        """Build the figure of other curves soon (AHEAD_S, one at a time), so that showing
        them later moves a marker instead of building twice (a first figure is also built
        the plain way, to check the overlay): lesson 5's first `f` took 45-90 ms."""
        self._ahead.append((key, draw, float(x), (float(xlim[0]), float(xlim[1])), title))
        if len(self._ahead) == 1:
            self.set_timer(AHEAD_S, self._build_ahead)

    def _build_ahead(self) -> None:
        if not self._ahead or not self.is_mounted or self._draw is None or not self.size.area:
            self._ahead.clear()  # not laid out (or gone): those figures are built when shown
            return
        shown = (self._key, self._draw, self._x, self._xlim, self._title)
        self._key, self._draw, self._x, self._xlim, self._title = self._ahead.pop(0)
        try:
            self._base_for(self._get_plotext_theme_name(self.app.theme))
        finally:
            self._key, self._draw, self._x, self._xlim, self._title = shown
        if self._ahead:
            self.set_timer(AHEAD_S / 4, self._build_ahead)

    def _base_for(self, theme: str) -> Text | None:
        """Make sure the figure of the current curves has its base (None: built the plain
        way); returns plotext's own picture when it had to build it, else None."""
        key = (self._key, self.size, theme)
        if key in self._bases:
            return None
        plain = self._build(theme, marked=True)  # what plotext itself shows
        base = self._measure(self._build(theme, marked=False))
        if base is not None:
            base.line_style = self._line_style(base, plain)
            if base.line_style is None or cells(self._overlay(base)) != cells(plain):
                base = None
        self._bases[key] = base
        return plain

    def _build(self, theme: str, marked: bool) -> Text:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self._draw(plt)
        if marked:
            plt.vline(self._x)
        plt.xlim(*self._xlim)
        plt.title(self._title)
        plt.plotsize(self.size.width, self.size.height)
        plt._set_size(self.size.width, self.size.height)  # as PlotextPlot.render does
        plt.theme(theme)
        self.builds += 1
        return Text.from_ansi(plt.build())

    def render(self):
        if self._draw is None:
            return super().render()
        theme = self._get_plotext_theme_name(self.app.theme)
        plain = self._base_for(theme)
        if plain is None:
            base = self._bases[(self._key, self.size, theme)]
            plain = self._build(theme, marked=True) if base is None else self._overlay(base)
        return runs(plain, self.app.console)

    def _measure(self, text: Text) -> _Base | None:
        """Where the canvas, frame and title are in a figure without the marker."""
        lines = text.split("\n", allow_blank=True)
        plain = [line.plain for line in lines]
        top = next((r for r, s in enumerate(plain) if "┌" in s and "┐" in s), None)
        bottom = next((r for r, s in enumerate(plain) if "└" in s and "┘" in s), None)
        start = plain[0].find(self._title) if self._title else -1
        if top is None or bottom is None or bottom <= top + 1 or start < 0:
            return None
        col_start, col_end = plain[top].index("┌") + 1, plain[top].index("┐")
        base = _Base(lines, col_start, col_end - col_start, range(top + 1, bottom), top, bottom,
                     start + len(self._title) // 2, style_at(lines[0], start))  # fmt: skip
        base.legend = self._legend(base)
        return base

    def _legend(self, base: _Base) -> tuple[range, range]:
        """The legend's box, as plotext's build places it (its blanks cover the line too)."""
        from plotext._utility import side_symbols

        mon = self.plt.monitor
        named = [s for s, label in enumerate(mon.label) if label is not None]
        if not named:
            return range(0), range(0)
        width = max(len(mon.label[s]) + 2 for s in named)  # " label "
        sides = {side_symbols[(mon.xside[s], mon.yside[s])] for s in named}
        side = 2 if sides != {"L"} and len(named) != 1 else 0
        if base.width < side + 3 + width or len(base.rows) < len(named):
            return range(0), range(0)
        return (range(base.rows.start, base.rows.start + len(named)),
                range(base.col_start, base.col_start + side + 3 + width))  # fmt: skip

    def _line_style(self, base: _Base, plain: Text) -> Style | None:
        """The style plotext gives its line: where a canvas cell left blank shows it."""
        col = self._column(base)
        lines = plain.split("\n", allow_blank=True)
        for r in base.rows:
            if r in base.legend[0] and col in base.legend[1]:
                continue
            if base.lines[r].plain[col : col + 1] == " " and lines[r].plain[col : col + 1] == VLINE:
                return style_at(lines[r], col)
        return None  # the curves cover the whole line here: this figure is built the plain way

    def _column(self, base: _Base) -> int:
        """plotext's column for x (its get_matrix_data: cell centres, rounded to 8 places)."""
        lo, hi = self._xlim
        at = 0.5 + (base.width - 1) * (self._x - lo) / (hi - lo)
        return base.col_start + math.floor(round(at, 8))

    def _overlay(self, base: _Base) -> Text:
        lines = list(base.lines)
        col = self._column(base)
        if base.col_start <= col < base.col_start + base.width:
            rows, cols = base.legend
            for r in base.rows:
                if r in rows and col in cols:
                    continue  # the legend is drawn over the line
                if lines[r].plain[col] == " ":  # and so are the curves
                    lines[r] = _splice(lines[r], col, VLINE, base.line_style)
            for r, tee, over in ((base.top, TOP_TEE, "─"), (base.bottom, BOTTOM_TEE, "─┬")):
                if lines[r].plain[col] in over:
                    lines[r] = _splice(lines[r], col, tee, style_at(lines[r], col))
        lines[0] = self._title_row(base, lines[0])
        return Text("\n").join(lines)

    def _title_row(self, base: _Base, row: Text) -> Text:
        """Row 0 with this title centred as plotext centres it (none if it does not fit)."""
        blank = Text(" " * len(row.plain), style_at(row, len(row.plain) - 1))
        start = base.title_center - len(self._title) // 2
        if start < 0 or start + len(self._title) > len(row.plain):
            return blank
        out = blank[:start]
        out.append(self._title, base.title_style)
        out.append_text(blank[start + len(self._title) :])
        return out
