"""Lesson 4: the pooling winner and the routed gradient, against NumPy by hand."""

from __future__ import annotations

import numpy as np
from _lessons import answer, learn_app, open_page, size_ids


# ---- lesson 4 -------------------------------------------------------------------------------
@size_ids
async def test_lesson4_winner_and_routed_gradient(tmp_path, size):
    app = learn_app(tmp_path, 4)
    async with app.run_test(size=size) as pilot:
        screen, view = await open_page(app, pilot, 0)
        r = view.result
        patch, g = r["patch"].astype(np.float64), r["grad_out"]
        for i in range(2):
            for j in range(2):
                await pilot.press("up", "left", *(["down"] * i), *(["right"] * j))
                await pilot.pause()
                window = patch[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                first = int(np.flatnonzero(window.ravel() == window.max())[0])  # row-major
                wr, wc = 2 * i + first // 2, 2 * j + first % 2
                assert view.winner() == (wr, wc)
                routed = r["grad_in"]["max"][2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                expected = np.zeros((2, 2))
                expected.flat[first] = g[i, j]
                np.testing.assert_allclose(routed, expected, atol=1e-7)
                spread = r["grad_in"]["average"][2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                np.testing.assert_allclose(spread, np.full((2, 2), g[i, j] / 4), atol=1e-7)
        corner = view.state()["corner"]
        number = ("top-left", "top-right", "bottom-left", "bottom-right").index(corner) + 1
        line = await answer(pilot, screen, str(number))
        assert line.startswith(f"✓ {corner}: right")


def test_a_tie_goes_to_the_first_cell_in_row_major_order():
    from engine.pool import MaxPool2d

    pool = MaxPool2d(2)
    x = np.zeros((1, 1, 2, 2), dtype=np.float32)  # a window of ReLU zeros: a four-way tie
    pool.forward(x)
    g = pool.backward(np.ones((1, 1, 1, 1), dtype=np.float32))
    assert g[0, 0].tolist() == [[1, 0], [0, 0]]
