"""Lesson 3: the sum over input channels equals the engine's forward."""

from __future__ import annotations

import pytest
from _lessons import answer, learn_app, open_page, until


# ---- lesson 3 -------------------------------------------------------------------------------
async def test_lesson3_sum_over_input_channels_matches_the_engine(tmp_path):
    app = learn_app(tmp_path, 3)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, view = await open_page(app, pilot, 0)
        assert view.result["params1"] == 8 * 1 * 3 * 3 + 8  # by hand: weights + biases
        screen, view = await open_page(app, pilot, 1)
        await pilot.press("c", "c", "right", "down")
        await until(lambda: view.result["channel"] == 2 and view.result["pos"] == (7, 7))
        r = view.result
        assert len(r["partial"]) == 8 and r["terms"] == 8 * 3 * 3
        assert sum(r["partial"]) + r["bias"] == pytest.approx(r["engine_value"], abs=1e-4)
        assert r["total"] == pytest.approx(r["engine_value"], abs=1e-4)
        line = await answer(pilot, screen, "72")
        assert line.startswith("✓ 72: right")
