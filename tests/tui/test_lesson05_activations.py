"""Lesson 5: the activations' derivatives and a dead ReLU."""

from __future__ import annotations

import numpy as np
import pytest
from _lessons import answer, learn_app, open_page


# ---- lesson 5 -------------------------------------------------------------------------------
async def test_lesson5_derivatives_and_a_dead_relu(tmp_path):
    app = learn_app(tmp_path, 5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, view = await open_page(app, pilot, 0)
        s = view.state()
        assert s["sig_max"] == pytest.approx(0.25, abs=1e-7)  # σ(0)(1 − σ(0)) = 0.5 · 0.5
        assert s["tanh_max"] == pytest.approx(1.0, abs=1e-7)  # 1 − tanh(0)²
        assert (s["x"], s["d"]) == (1.0, 1.0)  # ReLU' at x = 1
        await pilot.press(*["left"] * 40)  # x = -1
        assert view.state()["d"] == 0.0
        await pilot.press("f")  # sigmoid at x = -1: σ'(x) = σ(x)(1 − σ(x))
        sig = 1 / (1 + np.exp(1.0))
        assert view.state()["d"] == pytest.approx(sig * (1 - sig), abs=1e-7)
        line = await answer(pilot, screen, "0.25")
        assert line.startswith("✓ 0.25: right")
        screen, view = await open_page(app, pilot, 1)
        assert view.state()["five"] == pytest.approx(0.25**5, rel=1e-6)
        screen, view = await open_page(app, pilot, 2)
        s = view.state()
        assert s["active_before"] > 0 and s["active_after"] == 0 and s["grad_sum"] == 0
