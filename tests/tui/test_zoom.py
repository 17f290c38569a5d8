"""The projector zoom: big glyphs of the engine's numbers around the cursor and of the equation."""

from __future__ import annotations

import numpy as np
from _pilot import plain, ready, settle

from engine.explain import Explanation, Term
from tui.app import CnnTuiApp
from tui.render.numbers import format_number
from tui.screens.zoom import ZoomScreen, ZoomView, big_equation, big_lines, big_rhs, zoom_grid

SIZE = (80, 24)


def test_big_lines_uses_textual_glyphs_three_lines_high():
    six = big_lines("6")
    assert six == ["┏━╸", "┣━┓", "┗━┛"]  # Textual's bold 3x3 six
    minus_half = big_lines("-0.5")
    assert len(minus_half) == 3 and minus_half[1].startswith("╺━╸")  # the minus sign
    assert minus_half[2][6] == "•"  # the decimal point sits on the bottom line
    assert big_lines("=")[1] == "═══"


def test_the_grid_is_a_window_centred_on_the_cursor_with_the_cursor_marked():
    plane = np.arange(49.0).reshape(7, 7)
    view = ZoomView("t", plane, cursor=(3, 5))
    text, part = zoom_grid(view, width=40, lines=11, color=False)
    lines = text.plain.split("\n")
    assert len(lines) == 3 * 3 + 2  # three rows of glyphs, a blank line between
    # 2-digit numbers are 6 columns: (40 + 2) // 8 = 5 columns; rows 2-4 around row 3
    assert part == "rows 2-4/7 cols 2-6/7"
    first = [big_lines(format_number(v)) for v in plane[2, 2:7]]
    assert lines[0] == "  ".join(g[0] for g in first)
    reversed_spans = [s for s in text.spans if "reverse" in str(s.style)]
    cursor_line_start = len("\n".join(lines[:4])) + 1  # the first glyph line of row 3
    start = cursor_line_start + 3 * 8  # the fourth column (index 5) after three of 6 + gap 2
    assert any(s.start == start and s.end == start + 6 for s in reversed_spans)


def test_the_big_equation_fits_the_width_and_ends_with_the_total():
    terms = [Term(f"t{k}", (4.0, 1.0), 4.0) for k in range(9)]
    ex = Explanation("conv", "y = sum", "(I*K)(0,0)", terms, 0.0, 36.0, [], kind="sum")
    assert big_rhs(ex, 2) == "4x1+4x1+…+0=36"
    text = big_equation(ex, width=60)
    lines = text.plain.split("\n")
    assert len(lines) <= 7 and max(len(line) for line in lines) <= 60
    tail = big_lines("=36")
    assert all(line.endswith(t) for line, t in zip(lines[-3:], tail, strict=True))
    assert "…" in text.plain  # not all nine terms fit in two lines of 60 columns


def test_a_linear_heads_784_terms_give_the_same_equation_as_the_first_few(monkeypatch):
    import tui.screens.zoom as zoom

    terms = [Term(f"t{k}", (4.0, 1.0), 4.0) for k in range(784)]  # LeNet's head: 16*7*7 inputs
    ex = Explanation("linear", "y = Wx + b", "y[0,7]", terms, 0.0, 3136.0, [], kind="sum")
    wraps = []
    real_wrap = zoom._wrap
    monkeypatch.setattr(
        zoom, "_wrap", lambda text, width: wraps.append(1) or real_wrap(text, width)
    )
    text = big_equation(ex, width=78)
    tail = big_lines("=3136")
    lines = text.plain.split("\n")
    assert all(line.endswith(t) for line, t in zip(lines[-3:], tail, strict=True))
    assert big_lines("4x1")[0] in lines[0] and "…" in text.plain
    assert len(wraps) <= 2 * 78 // 12 + 1  # tried from the most that can fit, not from 784


async def test_zoom_opens_at_80x24_with_the_engine_numbers_and_follows_the_cursor():
    app = CnnTuiApp(preset="article")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("f")
        out = screen.session.stepper.activations[1][0, 0]  # (3, 3) from the engine
        await pilot.press("Z")
        await settle(pilot, lambda: isinstance(app.screen, ZoomScreen))
        zoom = app.screen
        grid = plain(zoom.query_one("#zoom-grid"), 80).splitlines()
        # all nine outputs in glyphs (each is the article's corrected sum, 6)
        expected = "  ".join(big_lines(format_number(out[0, j]))[0] for j in range(3))
        assert grid[0].strip() == expected and float(out[0, 0]) == 6.0
        title = plain(zoom.query_one("#zoom-title"), 200)
        assert "layer 0 output" in title and "[0,0] = 6" in title
        explanation = screen.query_one("#math").explanation
        assert explanation.total == float(out[0, 0])
        lhs = plain(zoom.query_one("#zoom-lhs"), 200)
        assert f"{explanation.lhs} =" in lhs
        eq = plain(zoom.query_one("#zoom-eq"), 80).rstrip("\n").splitlines()
        tail = big_lines("=" + format_number(explanation.total, 4))  # ends "= 6" in glyphs
        ends = zip(eq[-3:], tail, strict=True)
        assert all(line.rstrip().endswith(t.rstrip()) for line, t in ends)
        assert big_lines("4x1")[0] in eq[0]  # the first term, I[0,0]*K[0,0] = 4*1
        # everything fits the projected 80x24: nothing below the bottom edge but the key line
        for wid in ("#zoom-title", "#zoom-grid", "#zoom-lhs", "#zoom-eq", "#zoom-symbolic"):
            region = zoom.query_one(wid).region
            assert region.bottom <= SIZE[1] - 1 and region.right <= SIZE[0], wid
        await pilot.press("right")
        await settle(pilot, lambda: "[0,1] = 6" in plain(zoom.query_one("#zoom-title"), 200))
        assert screen.session.sel.out_cursor[-2:] == (0, 1)  # the explorer's cursor moved
        assert screen.query_one("#math").explanation.index[-1] == 1
        await pilot.press("s")  # exporting while zoomed offers what the explorer shows
        await settle(pilot, lambda: type(app.screen).__name__ == "ExportScreen")
        options = app.screen.query_one("#export-list")
        labels = [str(options.get_option_at_index(k).prompt) for k in range(options.option_count)]
        assert any(label.endswith("(1×3×3) as .npy") for label in labels)
        await pilot.press("escape")
        await pilot.press("Z")  # Z closes the zoom as it opened it
        assert app.screen is screen
