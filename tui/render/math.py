"""An engine Explanation as text: title, symbolic equation, filled-in sum, terms table, total."""

from __future__ import annotations

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


def nonzero_terms(terms, k: int) -> list:
    """The first k terms whose product is not zero, scanning only as far as needed.

    A weight gradient over a batch sums thousands of products, most of them zero (ReLU'd or
    padded pixels): the first few say "0*0 + 0*0 + ..." and hide the ones that make the sum.
    """
    picked = []
    for t in terms:  # a TermList makes each Term on access: stop as soon as there are k
        if t.value != 0:
            picked.append(t)
            if len(picked) == k:
                break
    return picked


def _equation(explanation, k: int, picked: list | None) -> str:
    """explanation.text(k), or with `picked` (non-zero terms) in place of the first k terms."""
    n = len(explanation.terms or ())
    if picked is None or k >= n:
        return explanation.text(k)
    parts = [t.show(DIGITS) for t in picked[:k]]
    parts.append(f"... ({n} terms, the zero ones skipped)")
    body = " + ".join(parts)
    if explanation.bias is not None:
        body += f" + {format_factor(explanation.bias)}"
    from engine.explain import fmt  # here, not at the top: tui.app must not load numba

    return f"{explanation.lhs} = {body} = {fmt(explanation.total, DIGITS)}"


def filled_equation(explanation, width: int, max_lines: int = 3) -> str:
    """explanation.text(max_terms) with as many terms as fit in max_lines lines of width.

    A cut sum shows its non-zero terms when its leading terms are zeros.
    """
    terms = explanation.terms or ()
    n = len(terms)
    budget = max(1, width) * max_lines
    # A term takes at least 4 characters ("0*0 + "): never format more than could fit.
    k = min(max(n, MIN_TERMS), max(MIN_TERMS, budget // 4))
    picked = None
    text = _equation(explanation, k, picked)
    fits = wrapped_lines(text, width) <= max_lines
    if explanation.kind == "sum" and (n > k or not fits) and any(t.value == 0 for t in terms[:k]):
        # a non-zero product takes 10+ characters ("0.5*0.25 + "): scan for no more than fit
        picked = nonzero_terms(terms, max(MIN_TERMS, budget // 10)) or None
        text = _equation(explanation, k, picked)
    floor = MIN_TERMS if max_lines >= 3 else 1  # a squeezed pane keeps the total over terms
    while wrapped_lines(text, width) > max_lines and k > floor:
        k = max(floor, k * 2 // 3)  # geometric shrink: a few calls even for 784 terms
        text = _equation(explanation, k, picked)
    return text


def wrapped_lines(text: str, width: int) -> int:
    """Lines `text` takes when wrapped at spaces to `width` (as the pane wraps it)."""
    width = max(width, 1)
    count, col = 1, 0
    for word in text.split(" "):
        if col and col + 1 + len(word) <= width:
            col += 1 + len(word)
        else:
            count += col > 0
            col = len(word)
        while col > width:  # a word longer than the line folds
            count, col = count + 1, col - width
    return count


def _cut(s: str, width: int) -> str:
    return s if len(s) <= width else s[: max(1, width - 1)] + "…"


def terms_table(
    terms, *, width: int, max_rows: int | None = None, winner=None, skip_zeros: bool = False
) -> Text:
    """Compact table (label, factors, product) fitted to width; rows past max_rows summarised.

    skip_zeros: when rows must be cut, list the non-zero products (as the equation does).
    """
    n = len(terms)
    if not n:
        return Text()
    limit = n if max_rows is None else max(2, max_rows)
    # Format only the rows shown: a batch gradient's TermList makes each Term on access.
    picked = terms if n <= limit else terms[: limit - 1]
    skipped = skip_zeros and n > limit and any(t.value == 0 for t in picked)
    if skipped:
        nonzero = nonzero_terms(terms, limit - 1)
        picked, skipped = (nonzero, True) if nonzero else (picked, False)
    shown = [(str(t.label), term_factors(t), format_number(t.value, DIGITS)) for t in picked]
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
    if len(shown) < n:
        rest = n - len(shown)
        more = f"… {rest} more term{'s' * (rest != 1)}" + (", zeros skipped" if skipped else "")
        text.append("\n" + more, style="dim italic")
    return text


def explanation_text(explanation, *, width: int = 60, height: int | None = None, color=True):
    """The whole math pane as one Text fitted to width, and to height by eliding table rows.

    When even that is too tall (80x24), the lines give way in this order: the bias and total
    lines (the filled-in equation ends with the total), the symbolic equation, then terms of
    the filled-in equation; its "= total" always shows.
    """
    width = max(width, 20)
    title, symbolic = str(explanation.title), str(explanation.symbolic or "")
    notes = list(getattr(explanation, "notes", ()) or ())
    title_h = wrapped_lines(title, width)
    symbolic_h = wrapped_lines(symbolic, width) if symbolic else 0
    footer = 1 + (explanation.bias is not None) + len(notes)
    filled = filled_equation(explanation, width, 3)
    eq_h = wrapped_lines(filled, width)
    if height is not None:
        if title_h + symbolic_h + eq_h + footer > height:
            footer = 0
        if title_h + symbolic_h + eq_h > height:
            symbolic, symbolic_h = "", 0
        if title_h + eq_h > height:
            filled = filled_equation(explanation, width, max(1, height - title_h))
    lines = title_h + symbolic_h + wrapped_lines(filled, width)
    out = Text()
    out.append(title, style="bold")
    if symbolic:
        out.append("\n" + symbolic, style="italic")
    out.append("\n" + filled)
    terms = explanation.terms or ()  # not list(): a TermList makes each Term on access
    if len(terms) > 1 or (terms and explanation.kind != "formula"):
        rows = None if height is None else height - lines - footer - 2  # blank line, header
        if rows is None or rows >= 2:
            out.append("\n\n")
            winner = getattr(explanation, "winner", None)
            skip = explanation.kind == "sum"
            table = terms_table(terms, width=width, max_rows=rows, winner=winner, skip_zeros=skip)
            out.append_text(table)
    if not footer:
        return out
    if explanation.bias is not None:
        out.append(f"\nbias  {format_number(explanation.bias, DIGITS)}", style="dim")
    total_style = COLOR_TOTAL_STYLE if color else TOTAL_STYLE
    out.append(
        f"\n{explanation.lhs or 'total'} = {format_number(explanation.total, DIGITS)}", total_style
    )
    for note in notes:
        out.append(f"\n{note}", style="dim italic")
    return out
