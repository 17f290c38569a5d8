"""Snapshots of the lab screens at 80x24 and 120x40 (no runs, so no clocks or throughput)."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tui.app import CnnTuiApp

SIZES = [(80, 24), (120, 40)]


def scenario(*keys: str):
    """run_before: open a lab screen, then drop toasts and blinking cursors."""

    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.app.workers.wait_for_complete()  # the predict screen reads files in a worker
        await pilot.pause()
        pilot.app.clear_notifications()
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_training_screen(snap_compare, size):
    app = CnnTuiApp(start="explore", warm_up=False)
    assert snap_compare(app, terminal_size=size, run_before=scenario("T"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_predict_sample_seven(snap_compare, size):
    app = CnnTuiApp(start="explore", warm_up=False)
    assert snap_compare(app, terminal_size=size, run_before=scenario("P"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_predict_held_out_digit(snap_compare, size):
    app = CnnTuiApp(start="explore", warm_up=False)
    assert snap_compare(app, terminal_size=size, run_before=scenario("P", "n", "n"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_transfer_screen(snap_compare, size):
    app = CnnTuiApp(start="explore", warm_up=False)
    assert snap_compare(app, terminal_size=size, run_before=scenario("L"))
