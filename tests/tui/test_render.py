"""Pure rendering helpers: number formatting, grids, half-block heatmaps, legends, bars."""

import numpy as np
import pytest
from rich.style import Style

from tui.render import (
    bar_list,
    colors,
    domain,
    fit_shape,
    format_number,
    heatmap,
    legend,
    number_grid,
    value_rgb,
)


def styles_at(text, offset):
    """Every style whose span covers the character at offset."""
    return [s.style for s in text.spans if s.start <= offset < s.end]


def rgb(color):
    """(r, g, b) of a rich Color."""
    t = color.get_truecolor()
    return (t.red, t.green, t.blue)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (6, "6"),
        (6.0, "6"),
        (-0.5, "-0.5"),
        (1e-7, "1e-7"),
        (-1.5e-12, "-1.5e-12"),
        (0.123456, "0.123"),
        (-0.0, "0"),
        (0.0, "0"),
        (np.float32(0.1), "0.1"),
        (12.345, "12.3"),
        (12345.67, "12346"),
        (2.5e7, "2.5e7"),
        (0.00123, "0.00123"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
    ],
)
def test_format_number(value, expected):
    assert format_number(value) == expected


def test_number_grid_article_map_of_sixes():
    text = number_grid(np.full((3, 3), 6.0, dtype=np.float32))
    assert text.plain == "6 6 6\n6 6 6\n6 6 6"
    assert text.plain.count("6") == 9


def test_number_grid_aligns_columns_and_keeps_negatives_readable():
    a = np.array([[4.0, -0.5, 10.0], [-12.25, 0.0, 1e-7]])
    lines = number_grid(a).plain.split("\n")
    assert len(lines) == 2 and len({len(line) for line in lines}) == 1
    cells = [line.split() for line in lines]
    assert cells == [["4", "-0.5", "10"], ["-12.2", "0", "1e-7"]]
    width = len("-12.2")  # widest entry sets every column's width, right-aligned
    assert lines[0] == " ".join(s.rjust(width) for s in cells[0])
    text = number_grid(a, color=True)
    neg_at = lines[0].index("-0.5")
    assert colors.NEG_NUMBER in styles_at(text, neg_at)
    assert colors.NEG_NUMBER not in styles_at(number_grid(a, color=False), neg_at)


def test_number_grid_cursor_and_highlight_styles():
    a = np.arange(9.0).reshape(3, 3)
    marks = {(1, 1), (1, 2), (5, 5), (-1, 0)}  # out-of-range entries are ignored
    text = number_grid(a, cursor=(0, 0), highlight=marks)
    assert colors.CURSOR_STYLE in styles_at(text, 0)
    assert colors.HIGHLIGHT_STYLE in styles_at(text, text.plain.index("4"))
    assert colors.HIGHLIGHT_STYLE in styles_at(text, text.plain.index("5"))
    assert colors.HIGHLIGHT_STYLE not in styles_at(text, text.plain.index("3"))
    mono = number_grid(a, cursor=(0, 0), highlight=marks, color=False)
    assert colors.MONO_CURSOR_STYLE in styles_at(mono, 0)
    assert colors.MONO_HIGHLIGHT_STYLE in styles_at(mono, mono.plain.index("4"))
    assert all(s.color is None and s.bgcolor is None for s in (x.style for x in mono.spans))


def test_number_grid_drops_precision_to_fit_width():
    a = np.array([[0.123456, 0.654321, -0.333333]])
    assert number_grid(a).plain.split() == ["0.123", "0.654", "-0.333"]
    assert len(number_grid(a, width=15).plain) <= 15


def test_fit_shape_downsamples_keeping_aspect_and_upscales_small_maps():
    assert fit_shape(28, 28, 28, 28) == (28, 28)
    assert fit_shape(28, 28, 14, 28) == (14, 14)
    assert fit_shape(5, 5, 40, 40) == (20, 20)  # max_scale 4
    assert fit_shape(5, 5, 40, 40, max_scale=1) == (5, 5)


def test_heatmap_28x28_fits_28_columns_by_14_rows_of_half_blocks():
    a = np.random.default_rng(0).random((28, 28))
    text = heatmap(a, max_width=28, max_height=14, signed=False)
    lines = text.plain.split("\n")
    assert len(lines) == 14 and all(line == "▀" * 28 for line in lines)
    # top pixel is the foreground, bottom pixel the background
    lo, hi = domain(a, False)
    first = styles_at(text, 0)[0]
    assert rgb(first.color) == value_rgb(a[0, 0], lo, hi, False)
    assert rgb(first.bgcolor) == value_rgb(a[1, 0], lo, hi, False)
    last = styles_at(text, len(text.plain) - 1)[0]
    assert rgb(last.color) == value_rgb(a[26, 27], lo, hi, False)
    assert rgb(last.bgcolor) == value_rgb(a[27, 27], lo, hi, False)


def test_heatmap_downsamples_large_maps_by_bin_mean():
    a = np.zeros((56, 56))
    a[:28, :28] = 1.0
    text = heatmap(a, max_width=28, max_height=14, signed=False)
    lines = text.plain.split("\n")
    assert (len(lines), len(lines[0])) == (14, 28)
    assert rgb(styles_at(text, 0)[0].color) == (255, 255, 255)  # mean of a white block
    assert rgb(styles_at(text, 27)[0].color) == (0, 0, 0)


def test_heatmap_odd_height_leaves_last_bottom_pixel_empty():
    text = heatmap(np.ones((3, 2)), max_width=2, max_height=5, max_scale=1, signed=False)
    assert text.plain.split("\n") == ["▀▀", "▀▀"]
    assert styles_at(text, len(text.plain) - 1)[0].bgcolor is None


def test_heatmap_marks_cursor_and_receptive_field():
    a = np.zeros((4, 4))
    text = heatmap(a, max_width=4, max_height=2, signed=True, cursor=(0, 0), highlight={(1, 0)})
    cell = styles_at(text, 0)[0]
    assert rgb(cell.color) == colors.CURSOR_RGB
    tinted = tuple(colors.palette(True)[colors.HIGHLIGHT + (colors.LEVELS - 1) // 2])
    assert rgb(cell.bgcolor) == tinted
    plain = styles_at(text, 1)[0]
    assert rgb(plain.color) == rgb(plain.bgcolor) == colors.MID_RGB


def test_diverging_scale_is_blue_white_red_symmetric_about_zero():
    a = np.array([[-2.0, 0.0, 1.0]])
    lo, hi = domain(a, signed=True)
    assert (lo, hi) == (-2.0, 2.0)
    assert value_rgb(-2.0, lo, hi, True) == colors.NEG_RGB
    assert value_rgb(0.0, lo, hi, True) == colors.MID_RGB
    assert value_rgb(2.0, lo, hi, True) == colors.POS_RGB
    r, g, b = value_rgb(1.0, lo, hi, True)  # half-way to red
    assert r > b and g < colors.MID_RGB[1]


def test_sequential_scale_runs_black_to_white():
    lo, hi = domain(np.array([0.5, 3.0]), signed=False)
    assert (lo, hi) == (0.0, 3.0)
    assert value_rgb(0.0, lo, hi, False) == colors.SEQ_LO_RGB
    assert value_rgb(3.0, lo, hi, False) == colors.SEQ_HI_RGB


def test_heatmap_without_color_uses_ascii_ramp_with_signs():
    a = np.array([[-1.0, 0.0, 1.0], [0.5, -0.5, 0.0]])
    text = heatmap(a, max_width=6, max_height=2, color=False, max_scale=1, cursor=(0, 2))
    assert text.plain.split("\n") == ["-@  +@", "+=-=  "]
    assert all(s.style.color is None and s.style.bgcolor is None for s in text.spans)
    assert colors.MONO_CURSOR_STYLE in styles_at(text, 4)
    unsigned = heatmap(np.array([[0.0, 1.0]]), max_width=4, max_height=1, color=False)
    assert unsigned.plain == "  @@"
    assert set(colors.RAMP) >= set(text.plain.replace("\n", "").replace("-", "").replace("+", ""))


def test_heatmap_nan_pixels_render_blank():
    a = np.array([[np.nan, 1.0], [np.nan, np.nan]])
    text = heatmap(a, max_width=2, max_height=1, max_scale=1, signed=False)
    assert text.plain == " ▀"


def test_legend_shows_min_and_max_and_scale():
    text = legend(-2.5, 4.0, signed=True, width=40)
    assert text.plain.startswith("min -2.5 ") and text.plain.endswith(" max 4")
    assert len(text.plain) == 40
    bgs = [rgb(Style.parse(str(s.style)).bgcolor) for s in text.spans]
    assert bgs[0] == colors.NEG_RGB and bgs[-1] == colors.POS_RGB  # symmetric: -4..4
    mono = legend(0.0, 1.0, signed=False, color=False, width=30)
    assert "min 0" in mono.plain and "max 1" in mono.plain and "@@" in mono.plain
    assert not mono.spans


def test_bar_list_for_ten_logits():
    logits = np.array([0.5, -1.0, 2.0, 0, 0, 0, 0, 0, 0, 1.0])
    text = bar_list(logits, width=40, cursor=2)
    lines = text.plain.split("\n")
    assert len(lines) == 10
    assert lines[2].split()[:2] == ["2", "2"] and "█" in lines[2]
    assert lines[1].index("█") < lines[1].index("│") < lines[2].index("█")  # negative left
    assert colors.CURSOR_STYLE in styles_at(text, text.plain.index(lines[2]))
    assert max(len(line) for line in lines) <= 40


def adam_record():
    """The article's model after one Adam update: (optimizer, its record for the weight)."""
    from tui.session import Session

    s = Session("article")
    s.set_optimizer("adam")
    s.iteration()
    return s.optimizer, s.optimizer.explain(0)


def test_short_optimizer_pane_keeps_the_update_and_folds_the_bias_corrections():
    from tui.widgets.optimizer import fit_rows, update_rows

    opt, rec = adam_record()
    rows = update_rows(opt, rec, 0)
    assert len(rows) == 11 and fit_rows(rows, 11) == (rows, [])
    fitted, notes = fit_rows(rows, 8)
    terms = [r[0] for r in fitted]
    assert len(fitted) == 8 and notes == ["t = 1"]
    assert terms[-2:] == ["value before", "value after"] and "gradient" in terms
    m_hat = next(r for r in fitted if r[0] == "corrected m")
    assert m_hat[1] == "m̂ = m / 0.1"  # 1 - 0.9^1, the dropped row's number
    assert m_hat[2] == next(r for r in rows if r[0] == "corrected m")[2]
    assert fit_rows(rows, 2)[0][-2:] == rows[-2:]  # never drops what the update produced


async def test_optimizer_pane_at_80x24_shows_the_new_value():
    # At 80x24 the pane has 11 content lines: 2 of header, then Adam's 11 rows cut off w'.
    from textual.app import App

    from tui.widgets.optimizer import OptimizerPane

    opt, rec = adam_record()

    class One(App):
        CSS = "OptimizerPane { height: 1fr; }"

        def compose(self):
            yield OptimizerPane()

    async with One().run_test(size=(44, 11)) as pilot:
        pane = pilot.app.query_one(OptimizerPane)
        pane.show(opt, ["0.weight", "0.bias"], 0)
        await pilot.pause()
        lines = [strip.text for strip in pane.render_lines(pane.region.reset_offset)]
        text = "\n".join(lines)
        assert "w' = w - η·m̂/(√v̂+ε)" in text and "m̂ = m / 0.1" in text
        assert f"{rec['value_after'].reshape(-1)[0]:.4g}" in lines[-1]


async def test_curves_replot_only_when_the_history_changes():
    # Every step refreshes every pane; replotting an unchanged history cost a few ms a step.
    from textual.app import App

    from tui.widgets.curves import CurvesPane

    class One(App):
        def compose(self):
            yield CurvesPane()

    async with One().run_test(size=(60, 20)) as pilot:
        pane = pilot.app.query_one(CurvesPane)
        plt = pane.query_one("#curves-plot").plt
        cleared = []
        original = plt.clear_data
        plt.clear_data = lambda: cleared.append(1) or original()
        history = [(1, 2.3, 0.1), (2, 1.9, 0.3)]
        pane.show(history)
        pane.show(list(history))
        assert len(cleared) == 1
        history.append((3, 1.5, 0.5))
        pane.show(history)
        pane.show(history, "(running)")
        await pilot.pause()
        assert len(cleared) == 3 and pane.summary("(running)").startswith("iter 3  loss 1.5")
