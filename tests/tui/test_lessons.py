"""The lesson framework: pages, placeholders, every lesson without colour and under random keys."""

from __future__ import annotations

import pytest
from _lessons import learn_app, until

from tui import lessons
from tui.lessons.base import unfilled

# ---- the framework --------------------------------------------------------------------------
WRITTEN = [e.number for e in lessons.ENTRIES if lessons.available(e.number)]


def test_the_first_six_lessons_are_written():
    assert WRITTEN[:1] == [1]


@pytest.mark.parametrize("number", WRITTEN)
def test_every_written_lesson_has_a_page_per_markdown_page_and_a_question(number):
    lesson = lessons.load(number)
    assert len(lesson.texts()) == len(lesson.pages)
    assert lesson.questions, "every lesson asks at least one question"
    assert lesson.title == lessons.entry(number).title


@pytest.mark.parametrize("number", WRITTEN)
async def test_every_placeholder_is_filled_on_every_page(tmp_path, number):
    app = learn_app(tmp_path, number)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        for page in range(len(screen.lesson.pages)):
            screen.show_page(page)
            await pilot.pause()
            assert not unfilled(screen._text), (page, unfilled(screen._text))


# ---- every lesson: NO_COLOR and random keys -----------------------------------------------
@pytest.mark.parametrize("number", WRITTEN)
async def test_every_lesson_without_colour(tmp_path, monkeypatch, number):
    monkeypatch.setenv("NO_COLOR", "1")
    app = learn_app(tmp_path, number)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        for page in range(len(screen.lesson.pages)):
            screen.show_page(page)
            view = screen.view
            await until(lambda view=view: view.ready)
            await pilot.pause()
            assert app._exception is None
            assert not view.color


async def test_random_keys_through_the_lessons_never_crash(tmp_path):
    import random

    keys = ["pagedown", "pageup", "n", "p", "left", "right", "up", "down", "a", "enter",
            "escape", "k", "c", "m", "f", "w", "plus", "minus", "1", "0", "t", "space",
            "less_than_sign", "greater_than_sign", "question_mark", "backspace"]  # fmt: skip
    rnd = random.Random(9)
    app = learn_app(tmp_path, 1)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in rnd.choices(keys, k=150):
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running and app._exception is None
