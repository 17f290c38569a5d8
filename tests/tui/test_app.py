"""Pilot tests: every explorer key, and what the engine and the panes show afterwards."""

from __future__ import annotations

import numpy as np
import pytest
from _pilot import plain, press_busy, ready, settle, status
from textual.strip import Strip

from tui.app import CnnTuiApp
from tui.screens.layer_editor import LayerEditor
from tui.screens.presets import PresetsScreen
from tui.widgets.curves import CurvesPane
from tui.widgets.layers import LayersPane
from tui.widgets.mathpane import MathPane
from tui.widgets.optimizer import OptimizerPane
from tui.widgets.status import StatusLine
from tui.widgets.tensor import TensorPane

WIDE = (120, 40)


async def test_default_is_lenet_on_a_real_digit():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        s = screen.session
        assert s.name == "lenet" and s.stepper.x.shape == (8, 1, 28, 28)
        assert 0.5 < float(s.stepper.x.max()) <= 1.0  # ink of a real MNIST digit
        assert s.stepper.targets.tolist() == s.train_data.labels[:8].tolist()
        layers = plain(screen.query_one(LayersPane))
        assert "Conv 1→8 k3 p1" in layers and "Linear 784→10" in layers and "▼" in layers


async def test_article_forward_shows_the_sum_six_and_the_map_of_sixes():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", "f")
        math = plain(screen.query_one(MathPane), 100)
        assert "(I*K)(0,0) = 4*1 + 3*0 + 2*(-1) + 4*1" in math and math.rstrip().endswith("= 6")
        tensor = plain(screen.query_one(TensorPane))
        assert tensor.count("6 6 6") == 3 and "1×3×3" in tensor
        np.testing.assert_array_equal(
            screen.session.stepper.activations[1], np.full((1, 1, 3, 3), 6)
        )


async def test_backward_is_refused_until_the_forward_pass_is_done_then_gradients_match():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", "b")
        s = screen.session
        assert s.stepper.position == 0
        assert "backward needs the forward pass and the loss first: 2 forward" in status(screen)
        await pilot.press("f", "f", "b")
        assert "∂L/∂y" in plain(screen.query_one(TensorPane))
        np.testing.assert_allclose(screen.query_one(TensorPane).array, np.full((1, 3, 3), 4 / 3))
        await pilot.press("b")
        tensor = screen.query_one(TensorPane)
        assert "∂L/∂x" in tensor.title
        np.testing.assert_array_equal(tensor.array, s.stepper.grads[0][0])
        assert "4 4 0 -4 -4" in " ".join(plain(tensor).split())
        math = plain(screen.query_one(MathPane), 100)
        i, j = s.sel.in_cursor[1:]
        assert math.rstrip().endswith(f"= {s.stepper.grads[0][0, 0, i, j]:.4g}".replace(".0", ""))
        await pilot.press("b")
        assert "the backward pass is complete: u applies" in status(screen)


def on_screen(widget) -> list[str]:
    """The widget's content lines as the screen now holds them (only refreshed lines redrawn)."""
    update = widget.screen._compositor.render_full_update()
    box = widget.content_region
    rows = update.strips[box.y : box.y + box.height]
    return [Strip.join(list(row)).crop(box.x, box.x + box.width).text.rstrip() for row in rows]


def laid_out_fresh(widget) -> list[str]:
    """The same lines laid out from scratch at the widget's content width."""
    console = widget.app.console
    options = console.options.update(width=widget.content_size.width, height=None)
    widget._laid_out = None
    lines = console.render_lines(widget.render(), options, pad=False)
    lines += [[]] * (widget.content_size.height - len(lines))
    return ["".join(seg.text for seg in line).rstrip() for line in lines][: len(lines)]


async def test_the_screen_shows_each_pane_as_it_now_is_after_every_step():
    # The layers and optimizer panes repaint only the lines that changed, and the optimizer
    # pane none when a step changed nothing it shows: what the screen holds must still be
    # exactly a fresh layout of each pane, step after step, through an update and an undo.
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        layers, opt = screen.query_one(LayersPane), screen.query_one(OptimizerPane)
        for key in ("1", "f", "f", "b", "b", "u", "f", "f", "b", "b", "u", "z", "z", "i", "o"):
            await pilot.press(key)
            await pilot.pause()
            for pane in (layers, opt):
                height = pane.content_size.height
                assert on_screen(pane) == laid_out_fresh(pane)[:height], (key, pane)
        assert "SGD+momentum" in " ".join(on_screen(opt))


async def test_update_shows_each_term_of_the_optimizer():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", "f", "f", "b", "b", "u")
        s = screen.session
        assert s.stepper.done
        info = s.optimizer.explain(0)
        assert info["value_after"][0, 0, 0, 0] == pytest.approx(1 - 0.005 * 36)
        text = plain(screen.query_one(OptimizerPane), 60)
        assert "SGD lr 0.005" in text and "w' = w - η·g" in text and "0.82" in text
        assert "36" in text  # the gradient of w[0,0,0,0]
        await pilot.press("o")  # SGD -> SGD+momentum: the pane follows
        await pilot.press("i")
        text = plain(screen.query_one(OptimizerPane), 60)
        assert "SGD+momentum" in text and "b = 0.9·b + g" in text
        await pilot.press("o", "i")
        text = plain(screen.query_one(OptimizerPane), 60)
        for term in ("Adam", "m = 0.9·m + 0.1·g", "v = 0.999·v", "1 - β1^t", "m̂ =", "v̂ ="):
            assert term in text
        lr = s.optimizer.lr
        await pilot.press("plus")
        assert s.optimizer.lr > lr
        await pilot.press("minus", "minus")
        assert s.optimizer.lr < lr


async def test_iteration_undo_reset_and_the_curves():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", "i")
        s = screen.session
        assert s.history == [(1, pytest.approx(36.0), None)]
        assert "iter 1  loss 36" in plain(screen.query_one("#curves-summary"))
        w1 = s.layers[0].weight.value.copy()
        await pilot.press("i", "z")
        assert s.completed == 1 and s.stepper.next_op.kind == "update"
        await pilot.press("z", "z")
        assert s.stepper.position == 2
        np.testing.assert_array_equal(s.layers[0].weight.value, w1)
        await pilot.press("r")
        assert s.history == [] and s.stepper.position == 0
        np.testing.assert_array_equal(s.layers[0].weight.value[0, 0, 0], [1, 0, -1])


async def test_views_samples_channels_modes_and_layer_selection():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        tensor = screen.query_one(TensorPane)
        await pilot.press("f")
        assert tensor.title.startswith("layer 0 output y · sample 1/8")
        titles = []
        for _ in range(6):
            await pilot.press("v")
            titles.append(tensor.title if tensor.array is not None else tensor.message)
        assert "∂L/∂y" in titles[0] and "∂L/∂x" in titles[1] and "weight W filter 0" in titles[2]
        assert "∂L/∂W" in titles[3] and "input x" in titles[4] and "output y" in titles[5]
        await pilot.press("greater_than_sign")
        assert screen.session.sel.sample == 1 and "sample 2/8" in tensor.title
        np.testing.assert_array_equal(tensor.array, screen.session.stepper.activations[1][1])
        await pilot.press("less_than_sign", "less_than_sign")
        assert screen.session.sel.sample == 7
        await pilot.press("right_square_bracket")
        assert tensor.channel == 1 and screen.session.sel.out_cursor[0] == 1
        mode = tensor.mode
        await pilot.press("m")
        assert tensor.mode != mode
        await pilot.press("shift+tab", "down", "down")  # layers pane: select layer 2
        assert screen.focused is screen.query_one(LayersPane)
        assert screen.session.sel.layer == 2 and tensor.array is None
        assert "output y of layer 2 is not computed yet: press f" in tensor.message


async def test_arrows_move_the_cursor_and_the_math_follows():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", "f")
        math = screen.query_one(MathPane)
        await pilot.press("right", "down")
        assert screen.session.sel.out_cursor == (0, 1, 1)
        assert "(I*K)(1,1) = 3*1 + 2*0 + 1*(-1)" in plain(math, 100)
        await pilot.press("v", "v", "v", "v", "v")  # back round to the input: receptive field
        tensor = screen.query_one(TensorPane)
        assert "receptive field" in tensor.title
        assert tensor.highlight == {(0, r, c) for r in (1, 2, 3) for c in (1, 2, 3)}


async def test_presets_screen_and_number_keys():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("p")
        assert isinstance(app.screen, PresetsScreen)
        await pilot.press("escape")
        assert app.screen is screen and screen.session.name == "lenet"
        await pilot.press("p", "down", "enter")
        assert app.screen is screen and screen.session.name == "resnet"
        layers = plain(screen.query_one(LayersPane))
        assert "Residual 8→8 " in layers and "Residual 8→16 s2" in layers
        await pilot.press("1")
        assert screen.session.name == "article"
        await pilot.press("2")
        assert screen.session.name == "lenet"
        await pilot.press("p", "1")
        assert app.screen is screen and screen.session.name == "article"


async def test_edit_refuses_an_impossible_setting_and_applies_a_valid_one():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", "e")
        editor = app.screen
        assert isinstance(editor, LayerEditor)
        model = screen.session.model
        editor.query_one("#field-kernel_size").value = "7"
        await pilot.pause()
        preview = plain(editor.query_one("#editor-preview"), 200)
        assert "✗" in preview and "floor((5 + 0 - 7) / 1) + 1 = -1" in preview
        await pilot.press("enter")
        assert app.screen is editor and screen.session.model is model
        editor.query_one("#field-kernel_size").value = "3"
        editor.query_one("#field-padding").value = "1"
        await pilot.pause()
        preview = plain(editor.query_one("#editor-preview"), 200)
        assert "✓ output 1×5×5" in preview and "floor((5 + 2 - 3) / 1) + 1 = 5" in preview
        await pilot.press("enter")
        assert app.screen is screen and screen.session.layers[0].padding == (1, 1)
        assert screen.session.stepper.targets.shape == (1, 1, 5, 5)
        await pilot.press("e", "escape")
        assert app.screen is screen and screen.session.layers[0].padding == (1, 1)


async def test_add_delete_and_move_layers():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        s = screen.session
        await pilot.press("a")
        assert isinstance(app.screen, LayerEditor)
        await pilot.press("enter")  # the default new layer keeps the shapes
        assert len(s.layers) == 9 and type(s.layers[1]).__name__ == "Conv2d"
        assert s.sel.layer == 1
        await pilot.press("shift+down")
        assert type(s.layers[2]).__name__ == "Conv2d" and s.sel.layer == 2
        await pilot.press("shift+up", "d")
        assert len(s.layers) == 8 and type(s.layers[1]).__name__ == "ReLU"
        await pilot.press("shift+tab", "end", "d", "d")  # Linear, then (refused) Flatten
        assert len(s.layers) == 7 and "it would end in 16×7×7" in status(screen)


async def test_training_run_starts_pauses_and_stops_without_freezing():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        s = screen.session
        await pilot.press("t")
        assert screen.run_state == "running"
        await settle(pilot, lambda: len(screen.query_one(CurvesPane).points) >= 3)
        # f is refused during a run, so the status line must not offer it
        summary = screen.query_one(StatusLine).summary
        assert summary.startswith("[running: t pauses, x stops] training · iteration")
        assert "f starts" not in summary
        await press_busy(pilot, "f")
        await settle(pilot, lambda: "training run is going on" in status(screen))
        await press_busy(pilot, "minus", "o")  # learning rate and optimizer change mid-run
        await settle(pilot, lambda: s.opt_kind == "sgd" and screen.run_state == "running")
        await settle(pilot, lambda: type(s.stepper.optimizer).__name__ == "SGD" and s.completed > 4)
        await press_busy(pilot, "t")
        await settle(pilot, lambda: screen.run_state == "paused")  # the key may queue behind a run
        await pilot.pause(0.3)
        done = s.completed
        await pilot.pause(0.3)
        assert s.completed == done  # paused means paused
        await pilot.press("x")
        await settle(pilot, lambda: not any(w.is_running for w in app.workers))
        assert screen.run_state == "idle" and s.completed == done
        assert len(s.stepper.x) == 64 and "iter" in plain(screen.query_one("#curves-summary"))
        await pilot.press("x")
        assert "no training run to stop" in status(screen)


async def test_divergence_is_named_and_nothing_is_lost():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", *["plus"] * 9)  # lr 0.005 -> 5
        assert screen.session.optimizer.lr == 5
        await pilot.press("t")
        await settle(pilot, lambda: screen.run_state == "idle")
        assert "training diverged" in status(screen) and "loss" in status(screen)
        s = screen.session
        kept = s.completed
        assert kept > 0 and all(np.isfinite(p[1]) for p in s.history)
        await pilot.press("minus", "z")
        assert app.is_running and screen.session is s


async def test_gradcheck_verifies_the_selected_layer():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("g")
        await settle(pilot, lambda: getattr(screen, "last_gradcheck", None) is not None)
        label, errors = screen.last_gradcheck
        assert label.startswith("layer 0 Conv2d(1->8")
        assert set(errors) == {"input", "weight", "bias"}
        assert max(errors.values()) < 1e-6


async def test_stepping_into_divergence_names_the_loss_and_keeps_the_state():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("1", *["plus"] * 9)
        s = screen.session
        for _ in range(40):
            await pilot.press("i")
            if "diverged" in status(screen):
                break
        text = status(screen)
        assert "diverged: loss: MSELoss() diverged in iteration" in text
        assert "(not finite)" in text and "lower the learning rate, undo or reset" in text
        position, completed = s.stepper.position, s.completed
        assert s.stepper.next_op.kind == "loss"  # stopped before the op that diverged
        await pilot.press("f")  # trying again says so again; nothing moved
        assert s.stepper.position == position and s.completed == completed
        await pilot.press("r", "f")
        assert s.stepper.activations[1][0, 0, 0, 0] == 6.0
