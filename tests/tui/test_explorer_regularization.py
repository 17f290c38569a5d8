"""The explorer sets L2 weight decay (w) and dropout before the head (D); both show in the
optimizer pane, and the update the engine records carries the L2 term."""

from __future__ import annotations

import numpy as np
from _pilot import plain, ready

from tui.app import CnnTuiApp
from tui.widgets.optimizer import OptimizerPane


async def test_weight_decay_is_in_the_update_and_the_pane():
    app = CnnTuiApp(preset="lenet", start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        s = screen.session
        await pilot.press("w", "w")
        await pilot.pause()
        assert s.weight_decay == 1e-3 and s.optimizer.weight_decay == 1e-3
        await pilot.press("i")
        await pilot.pause()
        k = s.first_param_of(0)
        rec = s.optimizer.explain(k)
        # PyTorch's L2: g + λw, and the step used it (momentum's first buffer is that gradient)
        np.testing.assert_allclose(rec["l2_term"], np.float32(1e-3) * rec["value_before"])
        pane = plain(screen.query_one(OptimizerPane), 60)
        assert "L2 0.001" in pane and "λ·w" in pane
        await pilot.press("o")  # another optimizer keeps the decay
        await pilot.pause()
        assert s.optimizer.weight_decay == 1e-3
        await pilot.press("w", "w", "w")  # 1e-2, 0.1, then the ladder wraps to 0
        await pilot.pause()
        assert s.weight_decay == 0.0 and s.optimizer.weight_decay == 0.0


async def test_dropout_cycles_before_the_head_and_shows_its_scale():
    app = CnnTuiApp(preset="lenet", start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        s = screen.session
        head = len(s.layers) - 1
        await pilot.press("D")
        await pilot.pause()
        assert type(s.layers[head]).__name__ == "Dropout" and s.layers[head].p == 0.25
        assert type(s.layers[head + 1]).__name__ == "Linear"
        pane = plain(screen.query_one(OptimizerPane), 60)
        assert f"dropout p=0.25 at layer {head}: kept units ×1.33" in pane
        await pilot.press("D")
        await pilot.pause()
        assert s.layers[head].p == 0.5
        await pilot.press("i")  # a training iteration draws a mask: 0 or 1 / (1 - p) = 2
        await pilot.pause()
        x, y = s.stepper.activations[head], s.stepper.activations[head + 1]
        kept = x != 0
        assert set(np.unique(np.round(y[kept] / x[kept], 5))) == {0.0, 2.0}
        await pilot.press("D")
        await pilot.pause()
        assert "Dropout" not in [type(layer).__name__ for layer in s.layers]
        assert "dropout" not in plain(screen.query_one(OptimizerPane), 60)


async def test_dropout_needs_a_head():
    app = CnnTuiApp(preset="article", start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("D")
        await pilot.pause()
        assert "Dropout" not in [type(layer).__name__ for layer in screen.session.layers]
        assert "this model has none" in plain(screen.query_one("StatusLine"), 120)
