"""MathPane and its pure formatter, on real engine explanations."""

import numpy as np
from textual.app import App, ComposeResult
from textual.geometry import Region

from engine import Linear, ReLU, explain_forward, manual_seed
from engine.explain import Explanation, Term
from engine.presets import PRESETS, article_input
from tui.render.math import explanation_text, filled_equation, terms_table
from tui.widgets.mathpane import EMPTY, MathPane


def article_explanation(index=(0, 0, 0, 0)):
    """The engine's explanation of one output of the article's convolution, and that output."""
    conv = PRESETS["article"]().model.layers[0]
    x = article_input()
    return explain_forward(conv, x, index), float(conv.forward(x)[index])


class MathApp(App):
    """One MathPane filling the screen."""

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
    manual_seed(0)
    layer = Linear(784, 10)
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
