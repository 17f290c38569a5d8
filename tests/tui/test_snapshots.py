"""Snapshots of the main screens at 80x24 and 120x40 (fixed seed, no clock, no toasts)."""

from __future__ import annotations

import pytest
from _pilot import ready
from textual.widgets import Input

from tui.app import CnnTuiApp

SIZES = [(80, 24), (120, 40)]


def explorer() -> CnnTuiApp:
    """The app opened on the explorer (`cnn-tui explore`)."""
    return CnnTuiApp(start="explore")


def scenario(*keys: str):
    """run_before: wait for the session, press keys, then drop toasts and blinking cursors."""

    async def run_before(pilot) -> None:
        await ready(pilot)
        for key in keys:
            await pilot.press(key)
            # A key's work may finish in a worker that notifies late: wait for it, then drop
            # toasts, after every key: a toast raised under a modal screen stays on the screen
            # below, where clearing them at the end would not reach it.
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            pilot.app.clear_notifications()
            await pilot.pause()
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_lenet_first_convolution(snap_compare, size):
    assert snap_compare(explorer(), terminal_size=size, run_before=scenario("f"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_article_sum_of_six(snap_compare, size):
    assert snap_compare(explorer(), terminal_size=size, run_before=scenario("1", "f"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_article_backward_and_update(snap_compare, size):
    keys = ("1", "f", "f", "b", "b", "u", "tab")  # tab: the optimizer pane at 80x24 too
    assert snap_compare(explorer(), terminal_size=size, run_before=scenario(*keys))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_curves_after_iterations(snap_compare, size):
    keys = ("i",) * 6 + ("tab", "tab")
    assert snap_compare(explorer(), terminal_size=size, run_before=scenario(*keys))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_layer_editor(snap_compare, size):
    assert snap_compare(explorer(), terminal_size=size, run_before=scenario("1", "e"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_screen(snap_compare, size):
    assert snap_compare(explorer(), terminal_size=size, run_before=scenario("question_mark"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_presets_screen(snap_compare, size):
    assert snap_compare(explorer(), terminal_size=size, run_before=scenario("p"))


def test_too_small_terminal(snap_compare):
    assert snap_compare(explorer(), terminal_size=(70, 20), run_before=scenario())
