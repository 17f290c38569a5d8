"""The transfer lesson: both curves from engine.transfer on one plot, with the final numbers."""

from __future__ import annotations

from _pilot import plain, press_busy, settle

from engine.transfer import transfer
from tui.app import CnnTuiApp
from tui.screens.explorer import ExplorerScreen
from tui.screens.training import held_out_split
from tui.screens.transfer import TransferScreen


async def test_tiny_lesson_shows_both_curves_and_the_engine_accuracies():
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("L")
        screen = app.screen
        assert isinstance(screen, TransferScreen)
        assert "Transfer learning" in plain(screen.query_one("#tl-explain"), 100)
        screen.query_one("#tl-steps").value = "4"
        screen.query_one("#tl-examples").value = "40"
        await press_busy(pilot, "r")
        await settle(pilot, lambda: screen.result is not None)
        ref = transfer(steps=4, train_examples=40, seed=0, eval_every=1, data=held_out_split())
        r = screen.result
        assert r.fine_tuned.losses == ref.fine_tuned.losses
        assert r.scratch.losses == ref.scratch.losses
        assert len(screen.losses["fine-tuned"]) == len(screen.losses["scratch"]) == 4
        text = plain(screen.query_one("#tl-result"), 120)
        assert ref.fine_tuned.final.summary() in text and ref.scratch.final.summary() in text
        assert "held-out digits 5,6,7,8,9" in text
        assert "frozen layers: 0, 3 (0.weight, 0.bias, 3.weight, 3.bias)" in text
        plot = plain(screen.query_one("#tl-plot"), 110)
        assert "fine-tuned loss" in plot and "scratch loss" in plot
        assert "fine-tuned acc %" in plot and "scratch acc %" in plot
        bar = screen.query_one("#tl-progress")
        assert (bar.progress, bar.total) == (8, 8)
        await pilot.press("escape")
        assert isinstance(app.screen, ExplorerScreen)


async def test_bad_budget_is_refused():
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("L")
        screen = app.screen
        screen.query_one("#tl-steps").value = "0"
        await pilot.press("r")
        assert "steps must be between 1 and 5000, got 0" in plain(
            screen.query_one("#tl-error"), 100
        )
        assert not screen.running
