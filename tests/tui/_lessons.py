"""Helpers of the lesson tests: a lesson app with its own progress file, waiting, answering."""

from __future__ import annotations

import asyncio

import pytest
from _pilot import plain

from tui.app import CnnTuiApp
from tui.progress import Progress

SIZES = [(80, 24), (120, 40)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


def learn_app(tmp_path, number: int = 1) -> CnnTuiApp:
    """Lesson `number` with its own progress file and no background compile."""
    progress = Progress(tmp_path / "progress.json")
    return CnnTuiApp(start="learn", lesson=number, warm_up=False, progress=progress)


async def until(check, timeout: float = 60.0) -> None:
    """Wait (letting the app run) until check() is true."""
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition never became true")


def question_line(screen) -> str:
    return plain(screen.query_one("#lesson-question"), 200)


async def open_page(app, pilot, page: int):
    """Show `page` of the lesson on screen and wait until its view has its numbers."""
    screen = app.screen
    screen.show_page(page)
    view = screen.view
    await until(lambda: view.ready)
    await pilot.pause()
    return screen, view


async def answer(pilot, screen, reply: str) -> str:
    """Type a reply to the page's question; the question line afterwards."""
    await pilot.press("a", *reply, "enter")
    await pilot.pause()
    return question_line(screen)
