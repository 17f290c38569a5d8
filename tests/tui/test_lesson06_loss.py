"""Lesson 6: cross-entropy is -log p and its gradient p - onehot; MSE on the article's example."""

from __future__ import annotations

import numpy as np
import pytest
from _lessons import answer, learn_app, open_page, size_ids, until


# ---- lesson 6 -------------------------------------------------------------------------------
@size_ids
async def test_lesson6_cross_entropy_is_minus_log_p(tmp_path, size):
    app = learn_app(tmp_path, 6)
    async with app.run_test(size=size) as pilot:
        screen, view = await open_page(app, pilot, 0)
        for _ in range(3):
            r = view.result
            z = r["logits"]
            p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # softmax by hand, float64
            t = r["target"]
            assert r["loss"] == pytest.approx(-np.log(p[t]), rel=1e-4, abs=1e-6)
            onehot = np.eye(10)[t]
            np.testing.assert_allclose(r["grad"], p - onehot, atol=1e-5)
            await pilot.press("right")  # pretend the target were the next class
            await until(lambda t=t: view.result["target"] == (t + 1) % 10)
        await pilot.press("left", "left", "left")
        await until(lambda: view.result["target"] == view.result["label"])
        line = await answer(pilot, screen, fmt_number(view.result["loss"]))
        assert "right" in line


def fmt_number(value: float) -> str:
    return f"{value:.4f}"


async def test_lesson6_mse_and_its_gradient_on_the_article_example(tmp_path):
    app = learn_app(tmp_path, 6)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, view = await open_page(app, pilot, 2)
        r = view.result
        assert r["loss"] == pytest.approx(36.0)  # mean((6 - 0)²) over 9 elements
        np.testing.assert_allclose(r["grad"], np.full((3, 3), 2 * 6 / 9), rtol=1e-6)
        await pilot.press("right", "plus", "plus")  # target at (0,1) from 0 to 2
        await until(lambda: view.result["target"][0, 1] == 2)
        assert view.state()["g"] == pytest.approx(2 * (6 - 2) / 9, rel=1e-6)
        line = await answer(pilot, screen, "0.889")
        assert line.startswith("✓ 0.889: right")
