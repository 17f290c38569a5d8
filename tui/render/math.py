"""An engine Explanation as text: title, symbolic equation, filled-in sum, terms table, total."""

from __future__ import annotations

import math
from numbers import Number

from rich.text import Text

from tui.render.numbers import format_number

MIN_TERMS = 3
DIGITS = 4  # the same precision as Explanation.text(), so the table and the equation agree
TOTAL_STYLE = "bold"
COLOR_TOTAL_STYLE = "bold rgb(0,230,0)"
WINNER_STYLE = "bold reverse"


def format_factor(value) -> str:
    """One factor: compact, negatives parenthesised so products read well, e.g. "(-1)"."""
    if not isinstance(value, Number):
        return str(value)
    text = format_number(value, DIGITS)
    return f"({text})" if text.startswith("-") else text


def term_factors(term) -> str:
    """A term's factors as shown in the table: the engine's Term.show(), else joined by "*"."""
    show = getattr(term, "show", None)
    if callable(show):
        return show()
    factors = term.factors if isinstance(term.factors, (list, tuple)) else (term.factors,)
    return "*".join(format_factor(f) for f in factors)


def filled_equation(explanation, width: int, max_lines: int = 3) -> str:
    """explanation.text(max_terms) with as many terms as fit in max_lines lines of width."""
    n = len(explanation.terms or ())
    budget = max(1, width) * max_lines
    k = max(n, MIN_TERMS)
    text = explanation.text(k)
    while len(text) > budget and k > MIN_TERMS:
        k = max(MIN_TERMS, k * 2 // 3)  # geometric shrink: a few calls even for 784 terms
        text = explanation.text(k)
    return text


def _cut(s: str, width: int) -> str:
    return s if len(s) <= width else s[: max(1, width - 1)] + "…"


def terms_table(terms, *, width: int, max_rows: int | None = None, winner=None) -> Text:
    """Compact table (label, factors, product) fitted to width; rows past max_rows summarised."""
    rows = [(str(t.label), term_factors(t), format_number(t.value, DIGITS)) for t in terms]
    if not rows:
        return Text()
    limit = len(rows) if max_rows is None else max(2, max_rows)
    shown = rows if len(rows) <= limit else rows[: limit - 1]
    label_w = max(len(r[0]) for r in [*shown, ("term",)])
    value_w = max(len(r[2]) for r in [*shown, ("", "", "product")])
    factor_w = max(len(r[1]) for r in [*shown, ("", "factors")])
    # too wide: labels give way first (down to 8), then factors; products are never cut
    excess = label_w + factor_w + value_w + 4 - width
    if excess > 0:
        cut = min(excess, max(0, label_w - 8))
        label_w, excess = label_w - cut, excess - cut
        factor_w = max(1, factor_w - max(0, excess))
    text = Text(no_wrap=True, overflow="crop")
    header = f"{'term':<{label_w}}  {_cut('factors', factor_w):<{factor_w}}  {'product':>{value_w}}"
    text.append(header, style="dim underline")
    for k, (label, factors, value) in enumerate(shown):
        text.append("\n")
        line = f"{_cut(label, label_w):<{label_w}}  {_cut(factors, factor_w):<{factor_w}}"
        text.append(line + f"  {value:>{value_w}}", style=WINNER_STYLE if k == winner else None)
        if k == winner:
            text.append(" ◀ max")
    if len(shown) < len(rows):
        rest = len(rows) - len(shown)
        text.append(f"\n… {rest} more term{'s' * (rest != 1)}", style="dim italic")
    return text


def explanation_text(explanation, *, width: int = 60, height: int | None = None, color=True):
    """The whole math pane as one Text fitted to width, and to height by eliding table rows."""
    width = max(width, 20)
    out = Text()
    out.append(str(explanation.title), style="bold")
    lines = math.ceil(len(str(explanation.title)) / width)
    if explanation.symbolic:
        out.append("\n" + str(explanation.symbolic), style="italic")
        lines += math.ceil(len(explanation.symbolic) / width)
    filled = filled_equation(explanation, width)
    out.append("\n" + filled)
    lines += math.ceil(len(filled) / width)
    notes = list(getattr(explanation, "notes", ()) or ())
    footer = 1 + (explanation.bias is not None) + len(notes)
    terms = list(explanation.terms or ())
    if len(terms) > 1 or (terms and explanation.kind != "formula"):
        rows = None if height is None else height - lines - footer - 2  # blank line, header
        if rows is None or rows >= 2:
            out.append("\n\n")
            winner = getattr(explanation, "winner", None)
            out.append_text(terms_table(terms, width=width, max_rows=rows, winner=winner))
    if explanation.bias is not None:
        out.append(f"\nbias  {format_number(explanation.bias, DIGITS)}", style="dim")
    total_style = COLOR_TOTAL_STYLE if color else TOTAL_STYLE
    out.append(
        f"\n{explanation.lhs or 'total'} = {format_number(explanation.total, DIGITS)}", total_style
    )
    for note in notes:
        out.append(f"\n{note}", style="dim italic")
    return out
