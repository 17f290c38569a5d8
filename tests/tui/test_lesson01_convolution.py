"""Lesson 1: the article's example sums to 6 everywhere; the digit page against NumPy by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _lessons import learn_app, question_line, size_ids, until
from _pilot import plain


# ---- lesson 1 -------------------------------------------------------------------------------
@size_ids
async def test_lesson1_sums_to_six_at_all_nine_positions(tmp_path, size):
    from engine.presets import article

    preset = article(np.random.default_rng(0))
    engine_out = preset.model.forward(np.tile(np.arange(4, -1, -1), (1, 1, 5, 1)))  # rows 4..0
    hand = 3 * (4 * 1 + 3 * 0 + 2 * -1)  # three kernel rows of 4·1 + 3·0 + 2·(−1)
    assert hand == 6
    app = learn_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.show_page(1)  # no question on page 2: the sums are shown
        await pilot.pause()
        view = screen.view
        seen = set()
        path = [(None, (0, 0)), ("right", (0, 1)), ("right", (0, 2)), ("down", (1, 2)),
                ("left", (1, 1)), ("left", (1, 0)), ("down", (2, 0)), ("right", (2, 1)),
                ("right", (2, 2))]  # fmt: skip
        for key, (i, j) in path:  # a snake through all nine positions, one key each
            if key:
                await pilot.press(key)
                await pilot.pause()
            state = view.state()
            assert state["pos"] == (i, j)
            assert state["total"] == pytest.approx(engine_out[0, 0, i, j]) == hand
            assert state["rows"] == [2, 2, 2]
            shown = plain(view, size[0])
            assert f"(I*K)({i},{j}) = 2 + 2 + 2 = 6" in shown
            assert f"window is at ({i},{j})" in screen._text
            seen.add((i, j))
        assert len(seen) == 9


@size_ids
async def test_lesson1_question_conceals_then_checks_against_the_engine(tmp_path, size):
    app = learn_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        view = screen.view
        assert "?" in plain(view, size[0]) and "2 + 2 + 2 = 6" not in plain(view, size[0])
        await pilot.press("a", "1", "0", "enter")  # the article's 10
        await pilot.pause()
        line = question_line(screen)
        assert "✗ not 10: it is 6" in line and "2 + 2 + 2 = 6" in line
        assert app.progress.count(1) == 0
        await pilot.press("a", "x", "enter")
        await pilot.pause()
        assert "'x' is not a number" in question_line(screen)
        await pilot.press("backspace", "6", "enter")
        await pilot.pause()
        assert question_line(screen).startswith("✓ 6: right")
        assert app.progress.count(1) == 1
        assert json.loads((tmp_path / "progress.json").read_text())["answered"] == {"1": [0]}
        await pilot.press("escape")  # back to the home screen: lesson 1 is ticked
        await pilot.pause()
        listing = app.screen.query_one("#home-list")
        assert "✓" in listing.get_option_at_index(0).prompt.plain


async def test_lesson1_window_is_framed_without_colour(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = learn_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        lines = plain(app.screen.view, 80).splitlines()
        assert any("┌" in line and "┐" in line for line in lines)
        framed = [line for line in lines if line.count("│") == 2]
        assert len(framed) == 3  # the three rows of the window, boxed at columns 1..3
        assert all(line.split("│")[1].split() == ["3", "2", "1"] for line in framed)


async def test_lesson1_digit_page_convolves_with_the_engine(tmp_path):
    from engine.conv import Conv2d
    from engine.data import load_mnist
    from tui.lessons.lesson01_convolution import named_kernels

    app = learn_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.show_page(3)
        view = app.screen.view
        await until(lambda: view.out is not None)
        await pilot.press("greater_than_sign", "k")  # digit 1, horizontal edge
        await pilot.pause()
        x = load_mnist().images[1:2].astype(np.float64)  # (1, 1, 28, 28)
        k = named_kernels()[1].astype(np.float64)
        ref = np.zeros((28, 28))
        xp = np.pad(x[0, 0], 1)
        for u in range(3):
            for v in range(3):
                ref += k[u, v] * xp[u : u + 28, v : v + 28]  # cross-correlation, by hand
        assert view.state()["kernel"] == "horizontal edge"
        np.testing.assert_allclose(view.out[1], ref, atol=1e-5)
        assert isinstance(view.conv, Conv2d)
        # edit your kernel: the centre cell from 1 to 3 triples the copy of the digit
        await pilot.press("up", "down", "plus", "plus")
        await pilot.pause()
        np.testing.assert_allclose(view.out[4], 3 * x[0, 0], atol=1e-5)
