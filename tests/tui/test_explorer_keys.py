"""The explorer's keys as a user meets them: undo keeps settings, o keeps a sensible lr, layer
edits undo and warn, presets over an edited network say so, a stale palette dismiss, 80x24."""

from __future__ import annotations

from _pilot import plain, press_busy, ready, settle, status
from textual.command import CommandPalette
from textual.widgets._footer import FooterKey
from textual_plotext import PlotextPlot

from engine.optim import DEFAULT_LR
from tui.app import CnnTuiApp
from tui.widgets.layers import LayersPane

WIDE = (120, 40)


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_undo_takes_back_the_step_and_o_keeps_the_article_lr():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", "i", "minus", "z")
        s = screen.session
        assert s.optimizer.lr == 0.002 and s.stepper.next_op.kind == "update"  # lr kept
        await pilot.press("u", "o", "o", "o")  # around to SGD again
        assert s.opt_kind == "sgd" and s.optimizer.lr == DEFAULT_LR["article"]["sgd"] == 0.005
        assert any("SGD lr 0.005, its usual learning rate for The article" in n for n in notes(app))
        # the iteration count goes on across the switches, with the curves
        assert "iteration 2, op 0/5" in status(screen)
        assert plain(screen.query_one("#curves-summary")).startswith("iter 1 ")
        await pilot.press("i")
        assert "iteration 2, op 5/5" in status(screen)
        assert plain(screen.query_one("#curves-summary")).startswith("iter 2 ")


async def test_layer_edits_warn_undo_and_presets_ask_before_replacing_them():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        s = screen.session
        await pilot.press("shift+tab", "end")  # the layers pane; its last layer: the head
        assert s.sel.layer == 7
        await pilot.press("d")
        assert len(s.layers) == 7 and s.custom
        warned = [n for n in notes(app) if "warning: the model now ends in 784 scores" in n]
        assert warned and "10 classes" in warned[0]
        await pilot.press("z")  # the edit comes back out
        assert len(s.layers) == 8 and not s.custom
        assert any("undid the edit: removed layer 7: Linear" in n for n in notes(app))
        await pilot.press("d")
        assert s.custom
        await pilot.press("1")  # says what it replaced, as the p picker does before
        assert s.name == "article" and not s.custom
        assert any("replaced your edited network (1 layer edit(s))" in n for n in notes(app))


async def test_a_second_dismiss_of_the_palette_during_a_run_keeps_the_app():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", "t")
        await settle(pilot, lambda: screen.run_state == "running")
        app.action_command_palette()
        await settle(pilot, lambda: isinstance(app.screen, CommandPalette))
        palette = app.screen
        await settle(pilot, lambda: palette.is_mounted and palette.query("CommandList"))
        palette.dismiss()  # enter on a command, then escape before the palette was gone
        palette.dismiss()
        await settle(pilot, lambda: app.screen is screen)
        assert app.is_running and app._exception is None and screen.run_state == "running"
        await press_busy(pilot, "x")
        await settle(pilot, lambda: screen.run_state == "idle")


async def test_80x24_status_footer_curves_and_loss_fit():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press(*["i"] * 3)
        s = screen.session
        line = status(screen).strip()
        assert len(line) <= 78 and line.endswith("Adam lr 0.002")  # whole parts only
        keys = {k.key: k for k in screen.query(FooterKey)}
        assert "q" in keys and keys["q"].description == "quit"
        assert all(k.region.right <= 80 and k.region.width > 0 for k in keys.values())
        layers = plain(screen.query_one(LayersPane), 30)
        assert f"loss CE = {s.stepper.loss_value:.4g}" in layers
        await pilot.press("tab", "tab")  # the curves' page
        assert screen.query_one(PlotextPlot).size.height >= 9  # 5 rows of plot inside its axes
        assert "w' = w - η·m̂/(√v̂+ε)" in plain(screen.query_one("#optimizer"))
