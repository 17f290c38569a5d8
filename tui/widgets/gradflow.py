"""Gradient-flow charts: per layer, ||dL/dx|| and ||dL/dW|| as log-scale bars, flags spelled out."""

from __future__ import annotations

import math

from rich.text import Text

from tui.render.numbers import format_number

FLAG = {"vanishing": "↓ vanishing", "exploding": "↑ exploding", "ok": ""}
STYLE = {"vanishing": "bold yellow", "exploding": "bold red", "ok": ""}


def compact(name: str) -> str:
    """'Conv2d(8->16, k=3, s=1, p=1)' -> 'Conv2d(8->16)'; 'Residual(Conv2d(...' -> 'Residual'."""
    head, _, rest = name.partition("(")
    if not rest or "(" in rest.split(")")[0]:
        return head
    first = rest.split(",")[0].rstrip(")")
    return f"{head}({first})" if first else f"{head}()"


def short(name: str, width: int) -> str:
    """A layer's repr cut to width ('Conv2d(1->8, k=3…')."""
    return name if len(name) <= width else name[: max(1, width - 1)] + "…"


def log_bar(value: float | None, lo: float, hi: float, width: int) -> str:
    """A bar whose length grows with log10(value) from lo (empty) to hi (full)."""
    if value is None:
        return " " * width
    if not math.isfinite(value):
        return "!" * width
    if value <= 0:
        return "·" + " " * (width - 1)
    span = max(math.log10(hi) - math.log10(lo), 1e-12)
    frac = (math.log10(value) - math.log10(lo)) / span
    n = max(1, min(width, round(1 + frac * (width - 1))))
    return "█" * n + " " * (width - n)


def _range(values) -> tuple[float, float]:
    pos = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    if not pos:
        return 1.0, 10.0
    lo, hi = min(pos), max(pos)
    return (lo, hi * 10) if hi <= lo else (lo, hi)


def flow_table(flow, width: int, *, color: bool = True, title: str = "") -> Text:
    """One row per layer: name, ||dL/dx|| as a log bar and a number, ||dL/dW||, the flag."""
    out = Text(no_wrap=True, overflow="crop")
    if title:
        out.append(title + "\n", "bold")
    lo, hi = _range([f.grad_input_norm for f in flow] + [f.grad_weight_norm for f in flow])
    name_w = 15
    bar = max(4, min(24, width - name_w - 3 - 20 - 13))  # numbers 2 x 10, flag 13
    out.append(f"{'#':>2} {'layer':<{name_w}} {'‖dL/dx‖':<{bar + 10}} {'‖dL/dW‖':>9}\n", "bold")
    for f in flow:
        out.append(f"{f.index:>2} {short(compact(f.name), name_w):<{name_w}} ")
        out.append(log_bar(f.grad_input_norm, lo, hi, bar), STYLE[f.status] if color else "")
        out.append(f" {format_number(f.grad_input_norm):>9}")
        w = "" if f.grad_weight_norm is None else format_number(f.grad_weight_norm)
        out.append(f" {w:>9}")
        if f.status != "ok":
            out.append(" " + FLAG[f.status], STYLE[f.status] if color else "bold")
        out.append("\n")
    out.append(f"bars: log scale from {format_number(lo)} to {format_number(hi)}", "dim")
    return out


def compare_table(a, b, names: tuple[str, str], width: int, *, color: bool = True) -> Text:
    """Two flows of the same depth side by side: ||dL/dW|| per layer as log bars, one scale."""
    out = Text(no_wrap=True, overflow="crop")
    weights = [f.grad_weight_norm for f in a] + [f.grad_weight_norm for f in b]
    lo, hi = _range(weights)
    bar = max(3, min(16, (width - 9) // 2 - 10))  # a row: 9 + 2 * (1 + bar + 1 + 8)
    out.append(f"{'#':>2} {'':<6}", "bold")
    for name in names:
        out.append(f" {name + ' ‖dL/dW‖':<{bar + 10}}", "bold")
    out.append("\n")
    for fa, fb in zip(a, b, strict=True):
        if fa.grad_weight_norm is None and fb.grad_weight_norm is None:
            continue
        out.append(f"{fa.index:>2} {short(_kind(fa.name), 6):<6}")
        for f in (fa, fb):
            style = STYLE[f.status] if color else ""
            out.append(" " + log_bar(f.grad_weight_norm, lo, hi, bar), style)
            out.append(f" {format_number(f.grad_weight_norm or 0.0):>8}")
        out.append("\n")
    out.append(f"log scale {format_number(lo)} … {format_number(hi)}", "dim")
    return out


def _kind(name: str) -> str:
    """'Conv2d(1->8, …)' -> 'Conv2d'; a plain block 'Sequential(...)' -> 'block'."""
    head = name.split("(", 1)[0]
    return {"Sequential": "block", "Residual": "resid"}.get(head, head)
