"""Bar lists for vectors (logits, features) and the colour-scale legend."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text

from tui.render import colors
from tui.render.numbers import format_number

EIGHTHS = " ▏▎▍▌▋▊▉"  # partial blocks, so a bar's length is exact to 1/8 of a cell


def _bar(frac: float, width: int) -> str:
    """A left-anchored bar of frac (0..1) of width cells, with an eighth-block tail."""
    eighths = int(round(max(0.0, min(1.0, frac)) * width * 8))
    full, rest = divmod(eighths, 8)
    bar = "█" * full + (EIGHTHS[rest] if rest else "")
    return bar.ljust(width)


def bar_list(
    values: np.ndarray,
    *,
    width: int = 40,
    cursor: int | None = None,
    highlight=frozenset(),
    signed: bool | None = None,
    color: bool = True,
    labels: list[str] | None = None,
) -> Text:
    """One line per element: index (or label), value, and a bar; signed bars grow from an axis."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return Text("(empty)")
    names = labels if labels is not None else [str(k) for k in range(v.size)]
    nums = [format_number(x) for x in v]
    name_w = max(len(s) for s in names)
    num_w = max(len(s) for s in nums)
    signed = colors.auto_signed(v) if signed is None else bool(signed)
    finite = v[np.isfinite(v)]
    m = float(np.abs(finite).max()) if finite.size else 0.0
    bar_w = max(4, width - name_w - num_w - 3)
    marks = {int(idx if np.isscalar(idx) else idx[-1]) for idx in highlight}
    cur_style = colors.CURSOR_STYLE if color else colors.MONO_CURSOR_STYLE
    hl_style = colors.HIGHLIGHT_STYLE if color else colors.MONO_HIGHLIGHT_STYLE

    text = Text(no_wrap=True, overflow="crop")
    for k, x in enumerate(v):
        if k:
            text.append("\n")
        label_style = cur_style if k == cursor else hl_style if k in marks else None
        text.append(f"{names[k]:>{name_w}} {nums[k]:>{num_w}}", style=label_style)
        text.append(" ")
        frac = abs(x) / m if m > 0 and np.isfinite(x) else 0.0
        pos_style = colors.POS_BAR if color else None
        neg_style = colors.NEG_BAR if color else None
        if signed:
            half = (bar_w - 1) // 2
            if x < 0:  # negative bars grow leftwards from the axis, in whole cells
                n = int(round(frac * half))
                text.append(" " * (half - n))
                text.append("█" * n, style=neg_style)
                text.append("│" + " " * half)
            else:
                text.append(" " * half + "│")
                text.append(_bar(frac, half).rstrip(), style=pos_style)
        else:
            text.append(_bar(frac, bar_w).rstrip(), style=pos_style)
    return text


def legend(lo: float, hi: float, *, signed: bool, color: bool = True, width: int = 32) -> Text:
    """Line "min lo [scale bar] max hi"; the bar spans the colour domain (symmetric if signed)."""
    left = f"min {format_number(lo)} "
    right = f" max {format_number(hi)}"
    n = max(6, width - len(left) - len(right))
    if signed:
        m = max(abs(lo), abs(hi))
        d_lo, d_hi = -m, m
    else:
        d_lo, d_hi = min(0.0, lo), hi
    text = Text(left, no_wrap=True, overflow="crop")
    if color:
        samples = np.linspace(d_lo, d_hi, n)
        codes = colors.level_codes(samples, d_lo, d_hi)
        pal = colors.palette(signed)
        for code in codes:
            text.append(" ", style=Style(bgcolor=colors.rgb_style(pal[code])))
    else:
        samples = np.linspace(d_lo, d_hi, max(3, n // 2))
        text.append("".join(colors.ascii_pixels(samples, d_lo, d_hi, signed).tolist()))
    text.append(right)
    return text
