"""Helpers for the explorer's Pilot tests: wait for the session, read a pane as plain text."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console


async def ready(pilot, timeout: float = 180.0):
    """Wait until the warm-up worker delivered the session; returns the explorer screen."""
    for _ in range(int(timeout / 0.05)):
        screen = pilot.app.screen
        if getattr(screen, "session", None) is not None:
            await pilot.pause()
            return screen
        await asyncio.sleep(0.05)
    raise TimeoutError("the session never became ready")


async def settle(pilot, until, timeout: float = 60.0) -> None:
    """Wait until `until()` is true; sleeping lets the app handle the workers' messages (Pilot's
    pause would wait for an idle CPU, which never comes while a run trains)."""
    for _ in range(int(timeout / 0.05)):
        if until():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition never became true")


async def press_busy(pilot, *keys: str) -> None:
    """Press keys while a run keeps the CPU busy: Pilot.press would wait a second per key for
    an idle process; this delivers each key through the driver and gives the app a moment."""
    from textual import events

    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(pilot.app)
        pilot.app._driver.send_message(event)
        await asyncio.sleep(0.05)


def plain(widget, width: int | None = None) -> str:
    """What a widget renders, as plain text (Text or any rich renderable)."""
    console = Console(width=width or max(widget.content_size.width, 40), record=True,
                      color_system=None, file=io.StringIO())  # fmt: skip
    from textual.widgets import Static

    plain_static = isinstance(widget, Static) and type(widget).render is Static.render
    console.print(widget.content if plain_static else widget.render())
    return console.export_text()


def status(screen) -> str:
    """The status line's text."""
    return plain(screen.query_one("#status"), 200)
