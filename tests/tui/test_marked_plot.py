"""MarkedPlot: the marker laid over a figure built once is, cell by cell, plotext's own picture."""

from __future__ import annotations

import numpy as np
import pytest
from _pilot import settle
from textual.app import App

from tui.lessons.lesson05_activations import XS, curve
from tui.render.numbers import format_number as fmt
from tui.widgets.marked_plot import MarkedPlot, cells


class PlotApp(App):
    CSS = "MarkedPlot { width: 73; height: 12; }"

    def compose(self):
        yield MarkedPlot()


def drawer(name: str):
    y, d = curve(name, XS)

    def draw(plt) -> None:
        plt.plot(XS.tolist(), y.tolist(), label=name.lower(), marker="braille")
        plt.plot(XS.tolist(), d.tolist(), label="derivative", marker="braille")

    return draw


@pytest.mark.parametrize(("name", "width"), [("ReLU", 73), ("Sigmoid", 73), ("Tanh", 73),
                                             ("Sigmoid", 41)])  # fmt: skip
async def test_a_moved_marker_is_plotexts_own_picture_and_builds_nothing(name, width):
    app = PlotApp()
    async with app.run_test(size=(80, 14)) as pilot:
        plot = app.query_one(MarkedPlot)
        plot.styles.width = width  # lesson 5's plot at 120x40 and at 80x24
        draw = drawer(name)
        theme = plot._get_plotext_theme_name(app.theme)
        own = 0  # this test's own builds (plotext's picture to compare with)
        # Every 16th grid point, the ends, and points either side of the axis ticks.
        for k in sorted({0, 1, 59, 60, 61, 119, 120, 121, 179, 180, 181, 239, 240,
                         *range(0, 241, 16)}):  # fmt: skip
            x = float(XS[k])
            plot.show(name, draw, x, (-6, 6), f"{name} and its derivative (x = {fmt(x)})")
            await pilot.pause()
            shown = plot.render()
            # The first figure is built twice (plotext's picture, the bare one); a move: never.
            assert plot.builds - own == 2, (name, k)
            expected = plot._build(theme, marked=True)  # plotext's line at x
            own += 1
            assert cells(shown) == cells(expected), (name, k)
        assert any(base is not None for base in plot._bases.values())


async def test_a_title_too_long_to_fit_is_left_out_as_plotext_does():
    app = PlotApp()
    async with app.run_test(size=(80, 14)) as pilot:
        plot = app.query_one(MarkedPlot)
        draw = drawer("ReLU")
        plot.show("ReLU", draw, 1.0, (-6, 6), "short")
        await pilot.pause()
        plot.render()
        plot.show("ReLU", draw, 2.0, (-6, 6), "a title far too long for the plot " * 3)
        shown = plot.render()
        theme = plot._get_plotext_theme_name(app.theme)
        assert cells(shown) == cells(plot._build(theme, marked=True))
        assert np.all([ch == " " for ch, _ in cells(shown)[0]])


async def test_figures_built_ahead_show_without_a_build_and_as_plotext_draws_them():
    # Lesson 5's first `f` to a function built its figure twice (45-90 ms on a key): the other
    # functions are now built ahead, soon after, one at a time.
    app = PlotApp()
    async with app.run_test(size=(80, 14)) as pilot:
        plot = app.query_one(MarkedPlot)
        theme = plot._get_plotext_theme_name(app.theme)
        plot.show("ReLU", drawer("ReLU"), 1.0, (-6, 6), "ReLU and its derivative (x = 1)")
        for name in ("Sigmoid", "Tanh"):
            plot.ahead(name, drawer(name), 1.0, (-6, 6), f"{name} and its derivative (x = 1)")
        await settle(pilot, lambda: not plot._ahead and plot.builds == 2 * 3)
        for name in ("Sigmoid", "Tanh"):
            plot.show(name, drawer(name), 2.0, (-6, 6), f"{name} and its derivative (x = 2)")
            shown = plot.render()
            assert plot.builds == 6, name  # shown from the figure built ahead
            assert cells(shown) == cells(plot._build(theme, marked=True)), name
            plot.builds -= 1  # that comparison's own build
