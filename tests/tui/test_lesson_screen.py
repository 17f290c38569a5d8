"""The lesson screen's own keys: typing an answer at once, the explorer on the lesson's state."""

from __future__ import annotations

import numpy as np
import pytest
from _lessons import learn_app, question_line
from textual import events
from textual.widgets import Input


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


CHARACTERS = {"enter": "\r", "minus": "-"}


async def type_in_one_burst(app, pilot, keys) -> None:
    """Post every key to the app at once, as a paste or `tmux send-keys 12 Enter` does: none
    waits for the one before it to be handled."""
    for key in keys:
        app._driver.send_message(events.Key(key, CHARACTERS.get(key, key)))
    for _ in range(40):
        await pilot.pause(0.02)


@pytest.mark.parametrize(
    "keys, shown",
    [
        (("6", "enter"), "✓ 6: right"),  # the enter was lost: 6 stayed in the field
        (("1", "0", "enter"), "✗ not 10: it is 6"),  # only the 0 reached the field
        (("minus", "6", "enter"), "✗ not -6: it is 6"),
    ],
    ids=["6-enter", "10-enter", "minus6-enter"],
)
async def test_an_answer_typed_in_one_burst_keeps_every_key(tmp_path, keys, shown):
    app = learn_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await type_in_one_burst(app, pilot, keys)
        assert question_line(screen).startswith(shown), screen.query_one("#lesson-answer").value
        assert not screen.has_class("-asking") and screen.view.has_focus


async def test_a_minus_typed_in_a_field_stays_in_the_field(tmp_path):
    # The digit, minus and point keys open the answer field by priority bindings; Textual does
    # not keep a "minus" binding from a focused field (it knows no character for that key).
    app = learn_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await type_in_one_burst(app, pilot, ["1", "minus", "6"])
        assert app.screen.query_one("#lesson-answer").value == "1-6"
        await pilot.press("minus", "2")
        assert app.screen.query_one("#lesson-answer").value == "1-6-2"


@pytest.mark.parametrize("keys, typed", [(("minus", "6"), "-6"), (("full_stop", "5"), ".5")])
async def test_a_minus_sign_or_a_point_opens_the_field_too(tmp_path, keys, typed):
    app = learn_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        assert app.screen.query_one("#lesson-answer").value == typed


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


async def test_an_answer_left_open_when_the_page_changes_is_not_checked_against_it(tmp_path):
    # Random keys (suite seed 11): enter in the answer field on a page that asks nothing raised
    # AttributeError ('NoneType' has no attribute 'check') in check_answer.
    app = learn_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        field = screen.query_one("#lesson-answer")
        await pilot.press("1")  # page 1 asks: the field opens
        await pilot.pause()
        assert screen.has_class("-asking")
        screen.show_page(4)  # the page changes by another way than PgDn (a followed presenter)
        await pilot.pause()
        assert not screen.has_class("-asking") and screen.qstate[0] == "open"
        field.post_message(Input.Submitted(field, "1"))  # a late enter in the hidden field
        await pilot.pause()
        assert app.failures == [] and screen.page == 4
        assert "no question on this page" in question_line(screen)
        screen.show_page(0)  # back on the question: it is still open and answers as before
        await pilot.pause()
        await pilot.press("6", "enter")
        await pilot.pause()
        assert question_line(screen).startswith("✓ 6: right") and app.failures == []


# ---- repainting: a key repaints the view, and a layout follows when its height changes ------
def screen_text(app) -> str:
    """What the terminal shows now, as plain lines (the compositor's own strips)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


async def test_a_slide_repaints_the_view_on_screen_with_the_new_sums(tmp_path):
    app = learn_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.show_page(1)  # the sums are shown on page 2
        await pilot.pause()
        assert "(I*K)(0,0) = 2 + 2 + 2 = 6" in screen_text(app)
        await pilot.press("right", "down")
        await pilot.pause()
        shown = screen_text(app)
        assert "(I*K)(1,1) = 2 + 2 + 2 = 6" in shown and "(I*K)(0,0)" not in shown


async def test_the_view_grows_and_shrinks_with_its_lines(tmp_path):
    app = learn_app(tmp_path, 2)  # lesson 2: more padding draws a larger padded input
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.screen.view
        heights = []
        for key in ("right", "right", "left", "left", "left"):  # p 1 -> 3 -> 0
            await pilot.press(key)
            await pilot.pause()
            lines = view.render().plain.count("\n") + 1
            assert view.size.height in (lines, lines - 1), (key, view.size.height, lines)
            heights.append(view.size.height)
        assert len(set(heights)) >= 3  # the height did change, and each time it was laid out


# ---- e: the explorer on the lesson's model and digits ---------------------------------------
async def explorer_from(app, pilot):
    """Press e and wait until the explorer's session is built; the explorer screen."""
    await pilot.press("e")
    for _ in range(2400):
        if getattr(app.screen, "session", None) is not None:
            break
        await pilot.pause(0.05)
    assert type(app.screen).__name__ == "ExplorerScreen" and app.screen.session is not None
    return app.screen


@pytest.mark.parametrize("number", [3, 4, 5, 6])
async def test_e_opens_the_explorer_on_the_lessons_trained_net_and_digit(tmp_path, number):
    from tui.lessons.lesson03_channels import digits, pretrained_lenet

    app = learn_app(tmp_path, number)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.screen.view
        for _ in range(2400):
            if view.ready:
                break
            await pilot.pause(0.05)
        if number != 6:
            await pilot.press("greater_than_sign")  # another digit
            await pilot.pause()
        index = view.index
        assert index != 0 or number == 6
        explorer = await explorer_from(app, pilot)
        session = explorer.session
        trained = pretrained_lenet()
        for mine, theirs in zip(session.model.parameters(), trained.parameters(), strict=True):
            np.testing.assert_array_equal(mine.value, theirs.value)  # the trained net's weights
        assert session.model is not trained  # a copy: stepping in the explorer leaves the lesson's
        rows = [(index + k) % len(digits()) for k in range(len(session.stepper.x))]
        np.testing.assert_array_equal(session.stepper.x, digits().images[rows])
        assert f"lesson {number}" in session.preset.title
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "LessonScreen" and app.screen.number == number


async def test_e_on_lesson_6s_mse_page_opens_the_article_example(tmp_path):
    app = learn_app(tmp_path, 6)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.show_page(len(app.screen.lesson.pages) - 1)
        await pilot.pause()
        assert type(app.screen.view).__name__ == "MseView"
        explorer = await explorer_from(app, pilot)
        assert explorer.session.name == "article"
