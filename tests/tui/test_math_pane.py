"""MathPane and its pure formatter, on real engine explanations."""

import numpy as np
from textual.app import App, ComposeResult
from textual.geometry import Region

from engine import Linear, ReLU, explain_forward
from engine.explain import Explanation, Term
from engine.presets import PRESETS, article_input
from tui.render.math import explanation_text, filled_equation, terms_table
from tui.widgets import PANES_TCSS
from tui.widgets.mathpane import EMPTY, MathPane


def article_explanation(index=(0, 0, 0, 0)):
    """The engine's explanation of one output of the article's convolution, and that output."""
    conv = PRESETS["article"]().model.layers[0]
    x = article_input()
    return explain_forward(conv, x, index), float(conv.forward(x)[index])


class MathApp(App):
    """One MathPane filling the screen."""

    CSS_PATH = PANES_TCSS

    def compose(self) -> ComposeResult:
        yield MathPane()


def screen_lines(pane: MathPane) -> list[str]:
    """What the pane draws inside its padding, one string per row, trailing blanks dropped."""
    strips = pane.render_lines(Region(0, 0, pane.outer_size.width, pane.outer_size.height))
    left = pane.styles.padding.left
    return [strip.text[left:].rstrip() for strip in strips]


def test_article_explanation_text_has_every_product_and_sums_to_6():
    e, engine_value = article_explanation()
    assert engine_value == 6.0 and e.total == engine_value
    text = explanation_text(e, width=80).plain
    assert "(I*K)(0,0) = 4*1 + 3*0 + 2*(-1) + 4*1" in text
    assert text.rstrip().endswith("(I*K)(0,0) = 6")
    assert "= 6" in text and "= 10" not in text
    lines = text.split("\n")
    rows = [line.split() for line in lines if line.startswith("x[")]
    assert len(rows) == 9
    assert [r[1] for r in rows[:3]] == ["4*1", "3*0", "2*(-1)"]
    assert [r[2] for r in rows[:3]] == ["4", "0", "-2"]
    assert "bias  0" in lines


def test_terms_table_fits_width_and_elides_rows():
    e, _ = article_explanation()
    table = terms_table(e.terms, width=30, max_rows=4).plain.split("\n")
    assert len(table) == 1 + 4 and table[-1] == "… 6 more terms"
    assert all(len(line) <= 30 for line in table)
    assert table[0].split() == ["term", "factors", "product"]


def test_long_sums_elide_terms_but_keep_the_total():
    layer = Linear(784, 10, rng=np.random.default_rng(0))
    x = np.random.default_rng(0).random((1, 784)).astype(np.float32)
    e = explain_forward(layer, x, (0, 3))
    equation = filled_equation(e, width=60)
    assert "(784 terms)" in equation and len(equation) <= 3 * 60
    text = explanation_text(e, width=60, height=16).plain
    assert len(text.split("\n")) <= 16 + 2  # wrapped equation lines are estimated
    assert "more terms" in text
    assert text.split("\n")[-1] == f"y[3] = {filled_equation(e, 60).rsplit('= ', 1)[1]}"


def test_formula_and_max_explanations():
    e = explain_forward(ReLU(), np.array([[-1.5, 2.0]]), (0, 0))
    text = explanation_text(e, width=60).plain
    assert "y[0] = max(0, (-1.5)) = 0" in text and "term" not in text  # no table for one x
    window = [Term(f"x[0,0,{k}]", (v,), v) for k, v in enumerate([1.0, 3.0, 3.0, -2.0])]
    pool = Explanation("pool", "y = max x", "y[0,0,0]", window, None, 3.0, [], kind="max", winner=1)
    table = explanation_text(pool, width=60).plain.split("\n")
    assert [line for line in table if "◀ max" in line] == ["x[0,0,1]  3              3 ◀ max"]


async def test_math_pane_shows_article_equation_and_clears():
    app = MathApp()
    async with app.run_test(size=(70, 24)) as pilot:
        pane = app.query_one(MathPane)
        assert screen_lines(pane)[0] == EMPTY
        e, _ = article_explanation((0, 0, 1, 2))
        pane.show(e)
        await pilot.pause()
        screen = "\n".join(screen_lines(pane))
        assert "Conv2d(1->1, k=3, s=1, p=0): output (0,1,2)" in screen
        assert "(I*K)(1,2) = 6" in screen and "= 6" in screen
        assert screen.count("2*1") == 3 + 3  # the equation and the table, three rows each
        assert "x[0,1,4]·w[0,0,0,2]  0*(-1)" in screen
        pane.clear("select a layer")
        await pilot.pause()
        assert screen_lines(pane)[0] == "select a layer"


async def test_math_pane_refits_on_resize():
    app = MathApp()
    async with app.run_test(size=(70, 30)) as pilot:
        pane = app.query_one(MathPane)
        e, _ = article_explanation()
        pane.show(e)
        await pilot.pause()
        assert sum(line.startswith("x[") for line in screen_lines(pane)) == 9
        await pilot.resize_terminal(42, 14)
        await pilot.pause()
        lines = screen_lines(pane)
        assert all(len(line) <= 40 for line in lines)
        assert any(line.startswith("… ") and "more terms" in line for line in lines)
        assert any(line == "(I*K)(0,0) = 6" for line in lines)


def test_cut_sum_shows_its_non_zero_terms_not_leading_zeros():
    # ReLU'd or padded inputs make most products of a long sum zero: "0*0.3 + 0*(-0.1) + ..."
    # would hide every number that makes the total. The article's short sum keeps its zeros.
    layer = Linear(784, 10, rng=np.random.default_rng(0))
    x = np.zeros((1, 784), np.float32)
    x[0, 500:] = np.random.default_rng(1).random(284)
    e = explain_forward(layer, x, (0, 3))
    equation = filled_equation(e, width=60)
    first = next(t for t in e.terms if t.value != 0)
    assert equation.startswith(f"y[3] = {first.show()} + ")
    assert "(784 terms, the zero ones skipped)" in equation and len(equation) <= 3 * 60
    assert equation.endswith(f"= {e.text(1).rsplit('= ', 1)[1]}")
    article, _ = article_explanation()
    assert "3*0" in filled_equation(article, width=60)


def test_long_term_lists_are_read_only_as_far_as_shown():
    # Weight gradients over a batch have thousands of terms made on access (a TermList);
    # building all of them took about 150 ms per redraw of the math pane.
    from engine.explain import TermList

    made = []

    def make(k):
        made.append(k)
        return Term(f"g[{k}]·x[{k}]", (0.0 if k < 5000 else 0.5, 2.0), 0.0 if k < 5000 else 1.0)

    terms = TermList(20_000, make)
    e = Explanation("dL/dw", "dL/dw = Σ g·x", "dL/dw[0]", terms, None, 15_000.0, [])
    text = explanation_text(e, width=60, height=12).plain
    assert "0.5*2 + " in text and "(20000 terms, the zero ones skipped)" in text
    assert "more terms, zeros skipped" in text and text.rstrip().endswith("dL/dw[0] = 15000")
    rows = [line for line in text.split("\n") if line.startswith("g[")]
    assert rows and all(line.split()[-1] == "1" for line in rows)  # the non-zero products
    assert len(made) < 2 * (5000 + 100)  # the equation and the table each scan past the zeros


async def test_short_math_pane_still_shows_the_total():
    # 80x24 gives the math pane 7 lines of 42 columns: the terms table, then the total lines,
    # then the symbolic equation give way, never the end of the filled-in one ("... = -0.0019").
    layer = Linear(784, 10, rng=np.random.default_rng(0))
    x = np.random.default_rng(0).random((1, 784)).astype(np.float32)
    e = explain_forward(layer, x, (0, 3))
    total = e.text(1).rsplit("= ", 1)[1]
    for height in (3, 5, 7, 9):
        text = explanation_text(e, width=42, height=height).plain
        lines = [line for chunk in text.split("\n") for line in wrap_at_spaces(chunk, 42)]
        assert len(lines) <= height, (height, lines)
        assert text.split("\n")[0] == e.title
        assert f"= {total}" in lines[-1] or f"y[3] = {total}" in lines
    app = MathApp()
    async with app.run_test(size=(44, 7)) as pilot:
        pane = app.query_one(MathPane)
        article, _ = article_explanation()
        pane.show(article)
        await pilot.pause()
        lines = [line for line in screen_lines(pane) if line]
        assert lines[-1].endswith("= 6") and "(I*K)(0,0) = 4*1 + 3*0 + 2*(-1)" in lines[-2]


def wrap_at_spaces(line: str, width: int) -> list[str]:
    """line broken at spaces into pieces of at most width (as the pane wraps it)."""
    out, cur = [], ""
    for word in line.split(" "):
        if cur and len(cur) + 1 + len(word) <= width:
            cur += " " + word
        else:
            if cur:
                out.append(cur)
            cur = word
    return [*out, cur]


def test_all_zero_products_are_listed_as_they_are():
    # A patch of black pixels: every product is zero, nothing is "skipped".
    terms = [Term(f"x[{k}]·w[{k}]", (0.0, 0.5), 0.0) for k in range(9)]
    e = Explanation("conv", "y = Σ x·w + b", "y[0]", terms, -0.25, -0.25, [])
    table = terms_table(e.terms, width=40, max_rows=3, skip_zeros=True).plain
    assert table.endswith("… 7 more terms") and table.count("0*0.5") == 2


def test_a_short_sum_cut_for_width_skips_its_zeros_too():
    # 9 terms that do not fit 2 lines of 40: the ones shown are the non-zero ones.
    values = [0.0, 0.0, 0.1333, 0.0, 0.02745, 0.0, 0.0, 0.0, 0.0]
    terms = [Term(f"x[{k}]·w[{k}]", (v, -0.1972), v * -0.1972) for k, v in enumerate(values)]
    e = Explanation("conv", "y = Σ x·w + b", "y[0]", terms, 0.5, 0.5 - 0.02629 - 0.005413, [])
    equation = filled_equation(e, width=40, max_lines=2)
    assert equation.startswith("y[0] = 0.1333*(-0.1972) + ") and "0*" not in equation
    assert "(9 terms, the zero ones skipped)" in equation
