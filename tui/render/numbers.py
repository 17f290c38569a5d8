"""Compact number formatting and aligned number grids."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Span, Text

from tui.render import colors

GAP = 1  # spaces between grid columns


def format_number(value: float, digits: int = 3) -> str:
    """Shortest readable form: 6 -> "6", -0.5 -> "-0.5", 0.123456 -> "0.123", 1e-7 -> "1e-7"."""
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"  # also folds -0.0, which would only confuse a learner
    a = abs(v)
    if v == round(v) and a < 1e6:
        return str(int(v))
    if 1e-3 <= a < 1e6:
        decimals = max(0, digits - 1 - math.floor(math.log10(a)))
        text = f"{v:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text not in ("0", "-0"):
            return text
    mantissa, exponent = f"{v:.{max(0, digits - 2)}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def format_array(a: np.ndarray, digits: int = 3) -> np.ndarray:
    """format_number over an array, returning str array of the same shape."""
    flat = [format_number(v, digits) for v in np.asarray(a, dtype=np.float64).ravel()]
    return np.array(flat, dtype=object).reshape(np.shape(a))


def grid_size(a2d: np.ndarray, digits: int = 3) -> tuple[int, int]:
    """(columns, rows) in characters that number_grid needs at this precision."""
    h, w = np.shape(a2d)
    if h == 0 or w == 0:
        return 0, 0
    cell_w = max(len(s) for s in format_array(a2d, digits).ravel())
    return w * cell_w + (w - 1) * GAP, h


def fit_digits(a2d: np.ndarray, width: int | None) -> int | None:
    """Largest precision (3..1) whose grid fits the width, or None if none does."""
    for digits in (3, 2, 1):
        if width is None or grid_size(a2d, digits)[0] <= width:
            return digits
    return None


def _marks(highlight, h: int, w: int) -> set[tuple[int, int]]:
    """In-range (i, j) pairs from highlight; (c, i, j) triples keep their last two indices."""
    out = set()
    for idx in highlight:
        i, j = idx[-2], idx[-1]
        if 0 <= i < h and 0 <= j < w:
            out.add((int(i), int(j)))
    return out


def number_grid(
    a2d: np.ndarray,
    *,
    cursor: tuple[int, int] | None = None,
    highlight=frozenset(),
    width: int | None = None,
    color: bool = True,
) -> Text:
    """Right-aligned columns of compact numbers; cursor and receptive-field cells styled."""
    a = np.asarray(a2d, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"number_grid needs a 2-D array, got shape {a.shape}")
    h, w = a.shape
    if h == 0 or w == 0:
        return Text("(empty)")
    digits = fit_digits(a, width) or 1  # when nothing fits, the narrowest form is best
    strs = format_array(a, digits)
    cell_w = max(len(s) for s in strs.ravel())
    marks = _marks(highlight, h, w)
    cur = tuple(int(x) for x in cursor[-2:]) if cursor is not None else None
    cur_style = colors.CURSOR_STYLE if color else colors.MONO_CURSOR_STYLE
    hl_style = colors.HIGHLIGHT_STYLE if color else colors.MONO_HIGHLIGHT_STYLE

    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for i in range(h):
        for j in range(w):
            s = strs[i, j].rjust(cell_w)
            if j:
                parts.append(" " * GAP)
                pos += GAP
            style = None
            if (i, j) == cur:
                style = cur_style
            elif (i, j) in marks:
                style = hl_style
            elif a[i, j] == 0:
                style = colors.ZERO_NUMBER  # zeros recede so the structure stands out
            elif a[i, j] < 0 and color:
                style = colors.NEG_NUMBER
            if style is not None:
                spans.append(Span(pos, pos + cell_w, style))
            parts.append(s)
            pos += cell_w
        if i < h - 1:
            parts.append("\n")
            pos += 1
    return Text("".join(parts), spans=spans, no_wrap=True, overflow="crop")
