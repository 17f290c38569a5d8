"""Half-block heatmaps (two pixels per cell) with an ASCII-ramp fallback, fitted to a box."""

from __future__ import annotations

import numpy as np
from rich.text import Span, Text

from tui.render import colors


def fit_shape(h: int, w: int, max_cols: int, max_rows: int, max_scale: int = 4) -> tuple[int, int]:
    """Pixel (rows, cols) that fit max_rows x max_cols pixels, keeping the aspect ratio."""
    max_cols, max_rows = max(1, max_cols), max(1, max_rows)
    if h <= max_rows and w <= max_cols:
        k = max(1, min(max_cols // w, max_rows // h, max_scale))
        return h * k, w * k
    f = max(h / max_rows, w / max_cols)
    return max(1, min(max_rows, int(h / f))), max(1, min(max_cols, int(w / f)))


def _resize_axis(a: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Resize one axis to n: repeat to grow, average equal-ish bins to shrink (bools: any)."""
    m = a.shape[axis]
    if n == m:
        return a
    if n > m:
        return np.take(a, np.arange(n) * m // n, axis=axis)
    starts = np.arange(n) * m // n
    if a.dtype == bool:
        return np.logical_or.reduceat(a, starts, axis=axis)
    sums = np.add.reduceat(a, starts, axis=axis)
    counts = np.diff(np.append(starts, m))
    shape = [1] * a.ndim
    shape[axis] = n
    return sums / counts.reshape(shape)


def resize(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Resample a 2-D array (values by bin mean, masks by any) to rows x cols."""
    return _resize_axis(_resize_axis(a, rows, 0), cols, 1)


def _mask(points, h: int, w: int) -> np.ndarray:
    """Boolean (h, w) mask from (i, j) or (c, i, j) indices, ignoring out-of-range ones."""
    m = np.zeros((h, w), dtype=bool)
    for idx in points:
        i, j = int(idx[-2]), int(idx[-1])
        if 0 <= i < h and 0 <= j < w:
            m[i, j] = True
    return m


def _runs(row: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, end, value) for each run of equal values in a 1-D int array."""
    cuts = np.flatnonzero(np.diff(row)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [row.size]))
    return [(int(s), int(e), int(row[s])) for s, e in zip(starts, ends, strict=True)]


def heatmap(
    a2d: np.ndarray,
    *,
    max_width: int,
    max_height: int,
    signed: bool | None = None,
    cursor: tuple[int, int] | None = None,
    highlight=frozenset(),
    color: bool = True,
    max_scale: int = 4,
    lo: float | None = None,
    hi: float | None = None,
) -> Text:
    """Heatmap of a 2-D map fitted into max_width x max_height cells.

    Colour: "▀" cells, fg = top pixel, bg = bottom pixel (two pixels per cell); receptive
    field pixels tinted gold, the cursor pixel green. No colour: two ASCII-ramp characters
    per pixel (sign + magnitude when signed), highlight underlined, cursor reversed.
    lo/hi override the colour domain (e.g. to share one scale across channels).
    """
    a = np.asarray(a2d, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"heatmap needs a 2-D array, got shape {a.shape}")
    h, w = a.shape
    if h == 0 or w == 0:
        return Text("(empty)")
    signed = colors.auto_signed(a) if signed is None else bool(signed)
    d_lo, d_hi = colors.domain(a, signed)
    lo = d_lo if lo is None else lo
    hi = d_hi if hi is None else hi
    hl = _mask(highlight, h, w)
    cur = _mask([cursor] if cursor is not None else [], h, w)
    if color:
        rows, cols = fit_shape(h, w, max_width, 2 * max_height, max_scale)
    else:
        rows, cols = fit_shape(h, w, max_width // 2, max_height, max_scale)
    vals, hl, cur = resize(a, rows, cols), resize(hl, rows, cols), resize(cur, rows, cols)
    if color:
        return _color_cells(vals, hl, cur, lo, hi, signed)
    return _ascii_cells(vals, hl, cur, lo, hi, signed)


def _color_cells(vals, hl, cur, lo, hi, signed) -> Text:
    """Half-block rendering: one code per pixel, pixel pairs looked up in a style cache."""
    codes = colors.level_codes(vals, lo, hi)
    ok = codes != colors.NONE
    codes[hl & ok] += colors.HIGHLIGHT
    codes[cur & ok] = colors.CURSOR
    if codes.shape[0] % 2:
        codes = np.vstack([codes, np.full((1, codes.shape[1]), colors.NONE)])
    pairs = codes[0::2] * colors.CODES + codes[1::2]  # runs of equal pairs share one span
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for r, row in enumerate(pairs):
        if r:
            parts.append("\n")
            pos += 1
        for start, end, pair in _runs(row):
            char, style = colors.cell(signed, pair // colors.CODES, pair % colors.CODES)
            n = end - start
            parts.append(char * n)
            if style is not None:
                spans.append(Span(pos, pos + n, style))
            pos += n
    return Text("".join(parts), spans=spans, no_wrap=True, overflow="crop")


def _ascii_cells(vals, hl, cur, lo, hi, signed) -> Text:
    """ASCII-ramp rendering for NO_COLOR: marks use attributes, never colour."""
    pixels = colors.ascii_pixels(vals, lo, hi, signed)
    marks = np.where(cur, 2, np.where(hl, 1, 0))
    styles = {1: colors.MONO_HIGHLIGHT_STYLE, 2: colors.MONO_CURSOR_STYLE}
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for r in range(pixels.shape[0]):
        if r:
            parts.append("\n")
            pos += 1
        line = "".join(pixels[r].tolist())
        for start, end, mark in _runs(marks[r]):
            if mark:
                spans.append(Span(pos + 2 * start, pos + 2 * end, styles[mark]))
        parts.append(line)
        pos += len(line)
    return Text("".join(parts), spans=spans, no_wrap=True, overflow="crop")
