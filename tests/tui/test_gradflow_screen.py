"""The explorer's gradient-flow view (G): per-layer norms from the engine, flags, both sources."""

from __future__ import annotations

import numpy as np
import pytest
from _pilot import plain, ready

from tui.app import CnnTuiApp
from tui.screens.gradflow import GradFlowScreen


def explorer(preset: str) -> CnnTuiApp:
    return CnnTuiApp(preset=preset, start="explore")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_flow_of_the_steppers_backward_pass(size):
    app = explorer("lenet")
    async with app.run_test(size=size) as pilot:
        screen = await ready(pilot)
        await pilot.press("i")  # one whole iteration: the trace has every gradient
        await pilot.pause()
        s = screen.session.stepper
        await pilot.press("G")
        await pilot.pause()
        flow_screen = app.screen
        assert isinstance(flow_screen, GradFlowScreen)
        assert "after the backward pass of iteration 1" in flow_screen.note
        for f in flow_screen.flow:  # norms of the trace's own arrays, by NumPy here
            assert f.grad_input_norm == pytest.approx(np.linalg.norm(s.grads[f.index]))
        conv0 = flow_screen.flow[0]
        assert conv0.grad_weight_norm == pytest.approx(np.linalg.norm(s.layers[0].weight.grad))
        shown = plain(flow_screen.query_one("#gf-table"), size[0])
        assert "‖dL/dx‖" in shown and "no layer flagged" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_flow_on_a_copy_before_the_backward_pass_leaves_the_explorer_alone():
    app = explorer("lenet")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        s = screen.session.stepper
        position = s.position
        weights = [p.value.copy() for p in s.model.parameters()]
        await pilot.press("G")
        await pilot.pause()
        assert "on a copy" in app.screen.note
        assert s.position == position and all(g is None for g in s.grads)
        assert all(np.array_equal(w, p.value) for w, p in zip(weights, s.model.parameters(),
                                                               strict=True))  # fmt: skip


async def test_vanishing_layers_are_flagged():
    from engine.gradflow import deep_stack, gradient_flow
    from engine.losses import CrossEntropyLoss

    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    model = deep_stack(12, rng=np.random.default_rng(0))
    flow = gradient_flow(model, CrossEntropyLoss(), x, np.array([0, 1, 2, 3]))
    app = explorer("article")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.push_screen(GradFlowScreen(flow, "test"))
        await pilot.pause()
        shown = plain(app.screen.query_one("#gf-table"), 80)
        assert "↓ vanishing" in shown
        assert "0 vanishing" in shown  # the first layer, in the summary
