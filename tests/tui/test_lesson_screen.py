"""The lesson screen's own keys: typing an answer at once, the explorer on the lesson's state."""

from __future__ import annotations

import pytest
from _pilot import plain

from tui.app import CnnTuiApp
from tui.progress import Progress


def learn_app(tmp_path, number: int = 1) -> CnnTuiApp:
    """Lesson `number` with its own progress file and no background compile."""
    progress = Progress(tmp_path / "progress.json")
    return CnnTuiApp(start="learn", lesson=number, warm_up=False, progress=progress)


def question_line(screen) -> str:
    return plain(screen.query_one("#lesson-question"), 200)


# ---- typing the answer ----------------------------------------------------------------------
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_typing_a_digit_opens_the_answer_field_with_it(tmp_path, size):
    app = learn_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        field = screen.query_one("#lesson-answer")
        assert not screen.has_class("-asking")
        await pilot.press("1")  # no `a` first
        await pilot.pause()
        assert screen.has_class("-asking") and field.has_focus
        assert field.value == "1"
        await pilot.press("0", "enter")  # the article's 10: both digits reached the field
        await pilot.pause()
        assert "✗ not 10: it is 6" in question_line(screen)
        await pilot.press("6", "enter")
        await pilot.pause()
        assert question_line(screen).startswith("✓ 6: right")
        assert app.progress.count(1) == 1


async def test_a_minus_sign_opens_the_field_too(tmp_path):
    app = learn_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("minus", "6")
        await pilot.pause()
        assert app.screen.query_one("#lesson-answer").value == "-6"


async def test_a_views_own_digit_key_wins_and_pages_without_a_question_stay_quiet(tmp_path):
    app = learn_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.show_page(4)  # lesson 1's kernel editor: 0 sets the cell under the cursor to 0
        view = screen.view
        for _ in range(200):
            if view.ready:
                break
            await pilot.pause(0.05)
        assert view.kernels[-1][1, 1] == 1  # "yours" starts as the identity
        await pilot.press("0")
        await pilot.pause()
        assert view.kernels[-1][1, 1] == 0 and not screen.has_class("-asking")
        await pilot.press("7")  # not the view's key, and this page asks nothing
        await pilot.pause()
        assert not screen.has_class("-asking") and view.has_focus
