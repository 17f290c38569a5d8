"""Snapshots of lessons 7-12 once their views are ready (own progress file, no warm-up)."""

from __future__ import annotations

import asyncio

import pytest

from tui.app import CnnTuiApp
from tui.progress import Progress

READY = {
    7: lambda v: v.stepper is not None,
    8: lambda v: True,
    9: lambda v: v.result is not None,
    10: lambda v: v.data is not None,
    11: lambda v: v.table is not None,
    12: lambda v: v.result is not None,
}


def lesson(tmp_path, number: int) -> CnnTuiApp:
    return CnnTuiApp(start="learn", lesson=number, warm_up=False,
                     progress=Progress(tmp_path / "progress.json"))  # fmt: skip


def scenario(number: int, page: int = 0, *keys: str):
    """run_before: wait for the view's engine work, go to `page`, press keys, settle."""

    async def run_before(pilot) -> None:
        screen = pilot.app.screen
        for _ in range(2400):
            await pilot.pause()
            if screen.view is not None and READY[number](screen.view):
                break
            await asyncio.sleep(0.05)
        if page:
            screen.show_page(page)
        await pilot.press(*keys)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()

    return run_before


def test_lesson7_backward_steps(snap_compare, tmp_path):
    app = lesson(tmp_path, 7)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario(7, 0, "b", "b", "b"))


def test_lesson8_valley(snap_compare, tmp_path):
    app = lesson(tmp_path, 8)
    assert snap_compare(app, terminal_size=(120, 40), run_before=scenario(8, 0, "home", "right"))


def test_lesson9_dropout_mask(snap_compare, tmp_path, monkeypatch):
    import tui.lessons.lesson09_regularization as l9

    monkeypatch.setattr(l9, "EPOCHS", 2)
    monkeypatch.setattr(l9, "EXAMPLES", 64)
    app = lesson(tmp_path, 9)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario(9, 1))


def test_lesson10_gradient_flow(snap_compare, tmp_path):
    app = lesson(tmp_path, 10)
    assert snap_compare(app, terminal_size=(120, 40), run_before=scenario(10))


def test_lesson11_frozen_layers(snap_compare, tmp_path):
    app = lesson(tmp_path, 11)
    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario(11))


@pytest.mark.parametrize("keys", [("c", "space", "down", "down", "down", "space")], ids=["stroke"])
def test_lesson12_canvas(snap_compare, tmp_path, keys):
    app = lesson(tmp_path, 12)
    assert snap_compare(app, terminal_size=(120, 40), run_before=scenario(12, 0, *keys))
