"""The command palette's searches never outlive it (Textual's raised NoMatches, ending the app)."""

from __future__ import annotations

import asyncio

from _pilot import settle
from textual.command import CommandInput, CommandList, CommandPalette
from textual.widgets import Input

from tui.app import ActionsProvider, CnnTuiApp
from tui.palette import Palette

SIZE = (100, 30)
GATHER = Palette._GATHER_COMMANDS_GROUP


async def open_palette(pilot) -> Palette:
    await pilot.pause()
    await pilot.press("ctrl+p")
    await settle(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    palette = pilot.app.screen
    await settle(pilot, lambda: palette._list_visible)  # the commands are listed
    return palette


def searches(app) -> list:
    return [w for w in app.workers if w.group == GATHER and not w.is_cancelled]


async def test_a_search_ending_after_the_list_is_removed_is_harmless(monkeypatch):
    # The random-key run's crash: the search finished while Textual removed the palette's
    # children; its _list_visible watcher then raised NoMatches('CommandList').
    release = asyncio.Event()
    real_search = ActionsProvider.search

    async def slow_search(self, query):
        await release.wait()  # a busy machine: the search takes a while
        async for hit in real_search(self, query):
            yield hit

    monkeypatch.setattr(ActionsProvider, "search", slow_search)
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        palette = await open_palette(pilot)
        await pilot.press("z", "q", "x")  # a search matching nothing waits in the provider
        await settle(pilot, lambda: len(searches(app)) == 1)
        await palette.query_one(CommandList).remove()  # what the removal does first
        release.set()
        await settle(pilot, lambda: not searches(app))
        await asyncio.sleep(0.7)  # the busy and "no matches" timers (0.5 s) have passed
        assert app.failures == [] and app.is_running


async def test_a_key_typed_after_the_dismiss_starts_no_search(monkeypatch):
    from textual.worker_manager import WorkerManager

    started, real_add = [], WorkerManager.add_worker

    def add_worker(self, worker, *args, **kwargs):
        started.append(worker.description)
        return real_add(self, worker, *args, **kwargs)

    monkeypatch.setattr(WorkerManager, "add_worker", add_worker)
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        palette = await open_palette(pilot)
        typed = palette.query_one(CommandInput)
        # A letter typed just before a command is chosen is handled after the dismiss (on a
        # busy machine keys queue up): its search would run while the palette is removed.
        assert palette.post_message(Input.Changed(typed, "r"))
        palette.dismiss()
        await settle(pilot, lambda: not palette.is_attached)  # removed: its messages are handled
        assert "_gather_commands('r')" not in started, started
        await asyncio.sleep(0.7)
        assert app.failures == [] and app.is_running
        # The next palette works as before: typing narrows the list.
        palette = await open_palette(pilot)
        await pilot.press("q", "u", "i", "t")
        await settle(pilot, lambda: not searches(app))
        names = [str(o.prompt).split("\n")[0] for o in palette.query_one(CommandList).options]
        assert names and all("q" in n.lower() for n in names)
