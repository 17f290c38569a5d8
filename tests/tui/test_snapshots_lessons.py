"""Snapshots of the home screen and each lesson (own progress file, no background compile)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input

from tui.app import CnnTuiApp
from tui.progress import Progress

SIZES = [(80, 24), (120, 40)]


def app_at(tmp_path, **start) -> CnnTuiApp:
    return CnnTuiApp(warm_up=False, progress=Progress(tmp_path / "progress.json"), **start)


def scenario(page: int = 0, *keys: str):
    """run_before: go to `page`, wait for the view to be ready, press keys, settle."""

    async def run_before(pilot) -> None:
        await pilot.pause()
        screen = pilot.app.screen
        if page:
            screen.show_page(page)
        view = getattr(screen, "view", None)
        for _ in range(1200):  # views that compile a kernel first say so until it is done
            if view is None or view.ready:
                break
            await asyncio.sleep(0.05)
        await pilot.pause()
        if view is not None:  # the text's Markdown re-renders asynchronously: let it finish
            await screen.query_one("#lesson-md").update(screen._text)
        await pilot.press(*keys)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


def test_home_screen(snap_compare, tmp_path):
    assert snap_compare(app_at(tmp_path), terminal_size=(80, 24), run_before=scenario())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_lesson1_sliding_window(snap_compare, tmp_path, size):
    app = app_at(tmp_path, start="learn", lesson=1)
    keys = ("right", "down")
    assert snap_compare(app, terminal_size=size, run_before=scenario(1, *keys))


def test_lesson1_question_open(snap_compare, tmp_path):
    app = app_at(tmp_path, start="learn", lesson=1)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario(0, "a", "6"))


def test_lesson1_digit_kernels(snap_compare, tmp_path):
    app = app_at(tmp_path, start="learn", lesson=1)
    assert snap_compare(app, terminal_size=(120, 40), run_before=scenario(3, "k"))


def test_lesson2_stride_leaves_a_column_unread(snap_compare, tmp_path):
    app = app_at(tmp_path, start="learn", lesson=2)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario(1, "w", "a", "1", "enter"))


def test_lesson3_eight_filters(snap_compare, tmp_path):
    app = app_at(tmp_path, start="learn", lesson=3)
    assert snap_compare(app, terminal_size=(120, 40), run_before=scenario(0))


def test_lesson4_gradient_routed_to_the_winner(snap_compare, tmp_path):
    app = app_at(tmp_path, start="learn", lesson=4)
    keys = ("right", "a", "4", "enter")  # a wrong guess (or not): the worked answer shows
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario(0, *keys))


def test_lesson5_sigmoid_and_its_derivative(snap_compare, tmp_path):
    app = app_at(tmp_path, start="learn", lesson=5)
    assert snap_compare(app, terminal_size=(120, 40), run_before=scenario(0, "f"))


def test_lesson6_softmax_and_cross_entropy(snap_compare, tmp_path):
    app = app_at(tmp_path, start="learn", lesson=6)
    assert snap_compare(app, terminal_size=(120, 40), run_before=scenario(0, "a", "1", "enter"))
