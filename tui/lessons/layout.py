"""Small Text layout helpers for lesson views: blocks side by side, framed windows, captions."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from tui.render import colors
from tui.render.numbers import format_number

FRAME = Style(bold=True)


def side_by_side(blocks: list[Text], gap: int = 3) -> Text:
    """Multi-line Texts laid out left to right, aligned at the top."""
    split = [b.split("\n", allow_blank=True) for b in blocks]
    widths = [max((cell_len(line.plain) for line in lines), default=0) for lines in split]
    height = max((len(lines) for lines in split), default=0)
    out = Text(no_wrap=True, overflow="crop")
    for r in range(height):
        if r:
            out.append("\n")
        for k, lines in enumerate(split):
            line = lines[r] if r < len(lines) else Text("")
            out.append_text(line)
            if k < len(split) - 1:
                out.append(" " * (widths[k] - cell_len(line.plain) + gap))
    return out


def stack(blocks: list[Text], gap: int = 1) -> Text:
    """Texts one under the other with `gap` blank lines between them."""
    out = Text(no_wrap=True, overflow="crop")
    for k, block in enumerate(blocks):
        if k:
            out.append("\n" * (gap + 1))
        out.append_text(block)
    return out


def block_width(block: Text) -> int:
    """The cells of a multi-line Text's widest line."""
    return max((cell_len(line) for line in block.plain.split("\n")), default=0)


def wrapped(paragraphs: list[Text | tuple[str, Style | str | None]], width: int) -> Text:
    """Paragraphs (Texts, or (text, style)) wrapped at spaces to `width` cells: a lesson view
    is drawn without wrapping so that its grids keep their shape, and its prose wraps here."""
    out = Text(no_wrap=True, overflow="crop")
    for k, para in enumerate(paragraphs):
        if k:
            out.append("\n")
        para = para if isinstance(para, Text) else Text(para[0], para[1] or "")
        out.append_text(Text("\n").join(para.wrap(_console(), max(width, 10))))
    return out


@lru_cache(maxsize=1)
def _console():
    from rich.console import Console

    return Console(width=200, no_color=True)  # Text.wrap reads only its tab size


def captioned(caption: str, body: Text) -> Text:
    """A bold caption line over a block."""
    out = Text(caption, style="bold", no_wrap=True)
    out.append("\n")
    out.append_text(body)
    return out


def framed_grid(
    a2d: np.ndarray,
    window: tuple[int, int, int, int] | None = None,
    *,
    color: bool = True,
    cursor: tuple[int, int] | None = None,
    hidden: bool = False,
    visited: set[tuple[int, int]] | None = None,
    pad: int = 0,
    warn_zero: bool = False,
) -> Text:
    """A number grid with a box drawn around window (top, left, height, width).

    The frame is drawn with or without colour; in colour the window's cells are also tinted.
    `cursor` marks one cell (reverse video), `hidden` shows every number as "?", `visited`
    dims cells outside it, `pad` shows a border of that width as "·" (zero padding), and
    `warn_zero` marks zeros (e.g. pixels no window reads) in bold reverse video.
    """
    a = np.asarray(a2d, dtype=np.float64)
    h, w = a.shape

    def in_pad(r: int, c: int) -> bool:
        return pad > 0 and (r < pad or c < pad or r >= h - pad or c >= w - pad)

    strs = [["?" if hidden else ("·" if in_pad(r, c) else format_number(v))
             for c, v in enumerate(row)] for r, row in enumerate(a)]  # fmt: skip
    cell = max(2, max(len(s) for row in strs for s in row))
    top, left, wh, ww = window if window is not None else (-9, -9, 0, 0)
    tint = colors.HIGHLIGHT_STYLE if color else Style(bold=True)
    cur_style = colors.CURSOR_STYLE if color else colors.MONO_CURSOR_STYLE
    out = Text(no_wrap=True, overflow="crop")

    def border(r: int) -> str:
        # the horizontal edge above row r (r == top) or below row r - 1 (r == top + wh)
        line = [" "] * (w * (cell + 1) + 1)
        x0, x1 = left * (cell + 1), (left + ww) * (cell + 1)
        first, last = ("┌", "┐") if r == top else ("└", "┘")
        for x in range(max(0, x0), min(len(line), x1 + 1)):
            line[x] = "─"
        if 0 <= x0 < len(line):
            line[x0] = first
        if 0 <= x1 < len(line):
            line[x1] = last
        return "".join(line).rstrip()

    lines = 0
    for r in range(h + 1):
        if window is not None and r in (top, top + wh):
            if lines:
                out.append("\n")
            out.append(border(r), FRAME)
            lines += 1
        if r == h:
            break
        if lines:
            out.append("\n")
        lines += 1
        inside_rows = top <= r < top + wh
        for c in range(w + 1):
            edge = inside_rows and c in (left, left + ww)
            out.append("│" if edge else " ", FRAME if edge else None)
            if c == w:
                break
            style = None
            if (r, c) == cursor:
                style = cur_style
            elif inside_rows and left <= c < left + ww:
                style = tint
            elif warn_zero and a[r, c] == 0:
                style = Style(bold=True, reverse=True)
            elif (a[r, c] == 0 or in_pad(r, c)) and not hidden:
                style = colors.ZERO_NUMBER
            text = strs[r][c].rjust(cell)
            if visited is not None and (r, c) not in visited:
                style = Style(dim=True)
            out.append(text, style)
    return out


def tile_side(count: int, width: int, height: int, lo: int = 8, hi: int = 28) -> int:
    """The widest square heatmap side (in columns) so that `count` captioned tiles, each
    side wide and side // 2 + 1 lines tall with gaps of 2, fit in width x height."""
    for side in range(hi, lo - 1, -1):
        per_row = max(1, (width + 2) // (side + 2))
        rows = -(-count // per_row)
        if rows * (side // 2 + 1) <= height:
            return side
    return lo
