"""Seeded random keys in lessons 7-12: no crash, the lesson stays usable afterwards."""

from __future__ import annotations

import asyncio
import random

import pytest

from tui.app import CnnTuiApp
from tui.progress import Progress

# The lessons' own keys, the lesson screen's (not q), digits and enter for the answers.
KEYS = (
    list("buwrcxoaet0123456789")
    + ["space", "up", "down", "left", "right", "home", "end", "enter", "escape", "backspace"]
    + ["pagedown", "pageup", "n", "p", "question_mark", "tab"]
)
WEIGHTS = {"pagedown": 4, "b": 4, "right": 3, "space": 3, "a": 2, "enter": 2}


@pytest.mark.parametrize(("number", "size", "seed"), [(7, (80, 24), 1), (10, (120, 40), 2),
                                                       (12, (80, 24), 3)])  # fmt: skip
async def test_random_keys_in_lessons(tmp_path, monkeypatch, number, size, seed):
    import tui.lessons.lesson08_optimizers as l8
    import tui.lessons.lesson09_regularization as l9
    import tui.lessons.lesson10_residual as l10
    import tui.lessons.lesson11_transfer as l11

    # keep any training the monkey starts tiny
    monkeypatch.setattr(l8, "DIGIT_STEPS", 2)
    monkeypatch.setattr(l9, "EPOCHS", 1)
    monkeypatch.setattr(l9, "EXAMPLES", 32)
    monkeypatch.setattr(l10, "TRAIN_STEPS", 2)
    monkeypatch.setattr(l11, "STEPS", 2)
    monkeypatch.setattr(l11, "EXAMPLES", 16)
    rnd = random.Random(seed)
    weights = [WEIGHTS.get(k, 1) for k in KEYS]
    app = CnnTuiApp(start="learn", lesson=number, warm_up=False,
                    progress=Progress(tmp_path / "progress.json"))  # fmt: skip
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in rnd.choices(KEYS, weights, k=60):
            await pilot.press(key)
            await asyncio.sleep(0.01)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running and app._exception is None
        # still usable: lesson 8's valley answers its arrows
        from tui.screens.lesson import LessonScreen

        await app.switch_screen(LessonScreen(8, warm_up=False))
        await pilot.pause()
        view = app.screen.view
        t = view.state()["t"]
        await pilot.press("left")
        await pilot.pause()
        assert view.state()["t"] == t - 1
