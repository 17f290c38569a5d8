"""Colour scales, marker colours and cached Rich styles shared by every renderer."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style

# Finer steps are invisible and only cost style-cache misses; odd, so that a signed 0 lands
# exactly on the white centre of the diverging scale.
LEVELS = 129
HIGHLIGHT = LEVELS  # codes LEVELS..2*LEVELS-1: the same levels tinted as receptive field
CURSOR = 2 * LEVELS
NONE = 2 * LEVELS + 1  # NaN / missing pixel (odd heights, padding of wrapped vectors)
CODES = 2 * LEVELS + 2

RAMP = " .:-=+*#%@"  # ASCII fallback, darkest to brightest

# Diverging blue-white-red (ColorBrewer RdBu ends), readable on a projector and downgrading
# to blue / white / red in 16-colour terminals.
NEG_RGB = (33, 102, 172)
MID_RGB = (247, 247, 247)
POS_RGB = (178, 24, 43)
# Sequential: black to white, like the MNIST digits learners already know.
SEQ_LO_RGB = (0, 0, 0)
SEQ_HI_RGB = (255, 255, 255)
# Markers use hues neither scale contains, so they never read as a value.
HIGHLIGHT_RGB = (255, 200, 0)
CURSOR_RGB = (0, 230, 0)
HIGHLIGHT_MIX = 0.6

# Number grids: fixed styles (colour versions, and attribute-only ones for NO_COLOR).
NEG_NUMBER = Style(color="rgb(120,170,255)")
POS_BAR = Style(color="rgb(230,90,100)")
NEG_BAR = Style(color="rgb(90,150,235)")
ZERO_NUMBER = Style(dim=True)
CURSOR_STYLE = Style(color="rgb(0,0,0)", bgcolor="rgb(0,230,0)", bold=True)
HIGHLIGHT_STYLE = Style(color="rgb(0,0,0)", bgcolor="rgb(255,200,0)", bold=True)
MONO_CURSOR_STYLE = Style(reverse=True, bold=True)
MONO_HIGHLIGHT_STYLE = Style(underline=True, bold=True)


def _ramp(stops: list[tuple[int, int, int]], n: int) -> np.ndarray:
    """n colours linearly interpolated through equally spaced stops, as float (n, 3)."""
    stops_arr = np.asarray(stops, dtype=np.float64)
    x = np.linspace(0.0, len(stops) - 1, n)
    lo = np.minimum(x.astype(int), len(stops) - 2)
    t = (x - lo)[:, None]
    return stops_arr[lo] * (1 - t) + stops_arr[lo + 1] * t


@lru_cache(maxsize=2)
def palette(signed: bool) -> np.ndarray:
    """RGB for every code: levels, tinted levels, cursor, none; uint8 (CODES, 3)."""
    if signed:
        base = _ramp([NEG_RGB, MID_RGB, POS_RGB], LEVELS)
    else:
        base = _ramp([SEQ_LO_RGB, SEQ_HI_RGB], LEVELS)
    tinted = base * (1 - HIGHLIGHT_MIX) + np.asarray(HIGHLIGHT_RGB) * HIGHLIGHT_MIX
    rest = np.asarray([CURSOR_RGB, (0, 0, 0)], dtype=np.float64)
    out = np.rint(np.concatenate([base, tinted, rest])).astype(np.uint8)
    out.flags.writeable = False
    return out


def auto_signed(a: np.ndarray) -> bool:
    """True when any finite value is negative (so a diverging scale is needed)."""
    finite = a[np.isfinite(a)]
    return bool(finite.size and finite.min() < 0)


def domain(a: np.ndarray, signed: bool) -> tuple[float, float]:
    """Scale endpoints: symmetric (-max|a|, max|a|) when signed, (min(0, min), max) otherwise."""
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return (-1.0, 1.0) if signed else (0.0, 1.0)
    if signed:
        m = float(np.abs(finite).max())
        return -m, m
    return min(0.0, float(finite.min())), float(finite.max())


def to_unit(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map values to [0, 1] over (lo, hi); a flat domain maps to its centre or bottom."""
    a = np.asarray(a, dtype=np.float64)
    span = hi - lo
    if span <= 0:
        # a constant map: signed zero sits mid-scale, a constant non-negative map at the top
        fill = 0.5 if lo < 0 or hi <= 0 else 1.0
        return np.where(np.isfinite(a), fill, np.nan)
    return np.clip((a - lo) / span, 0.0, 1.0)


def level_codes(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Palette code per value: 0..LEVELS-1, NONE for NaN/inf; int64 of a's shape."""
    t = to_unit(a, lo, hi)
    codes = np.full(t.shape, NONE, dtype=np.int64)
    ok = np.isfinite(t)
    codes[ok] = np.rint(t[ok] * (LEVELS - 1)).astype(np.int64)
    return codes


def value_rgb(value: float, lo: float, hi: float, signed: bool) -> tuple[int, int, int]:
    """The scale's colour for one value (used by legends and tests)."""
    code = int(level_codes(np.array([value]), lo, hi)[0])
    r, g, b = palette(signed)[code]
    return int(r), int(g), int(b)


def rgb_style(rgb) -> str:
    """Rich colour string for an RGB triple."""
    return f"rgb({int(rgb[0])},{int(rgb[1])},{int(rgb[2])})"


@lru_cache(maxsize=2)
def _rich_colors(signed: bool) -> tuple[Color, ...]:
    """Rich Color per palette code, built once: Color.from_rgb dominates a cold render."""
    return tuple(Color.from_rgb(int(r), int(g), int(b)) for r, g, b in palette(signed))


@lru_cache(maxsize=65536)
def cell(signed: bool, top: int, bottom: int) -> tuple[str, Style | None]:
    """Character and style for one half-block cell holding two pixel codes."""
    col = _rich_colors(signed)
    if top == NONE and bottom == NONE:
        return " ", None
    if top == NONE:  # only the lower pixel exists: draw it with the lower half block
        return "▄", Style(color=col[bottom])
    bg = None if bottom == NONE else col[bottom]
    return "▀", Style(color=col[top], bgcolor=bg)


def ascii_pixels(a: np.ndarray, lo: float, hi: float, signed: bool) -> np.ndarray:
    """Two characters per value from the ASCII ramp; signed maps get a sign then magnitude."""
    a = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(a)
    if signed:
        m = max(abs(lo), abs(hi))
        t = np.abs(a) / m if m > 0 else np.zeros_like(a)
    else:
        t = to_unit(a, lo, hi)
    idx = np.rint(np.clip(np.nan_to_num(t), 0, 1) * (len(RAMP) - 1)).astype(int)
    if signed:
        sign = np.where(idx == 0, " ", np.where(a < 0, "-", "+"))
        table = np.array(list(RAMP), dtype="<U1")
        out = np.char.add(sign.astype("<U1"), table[idx])
    else:
        table = np.array([c * 2 for c in RAMP], dtype="<U2")
        out = table[idx]
    return np.where(finite, out, "  ")
