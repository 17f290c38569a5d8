"""The command palette's searches never outlive it (Textual's raised NoMatches, ending the app)."""

from __future__ import annotations

import asyncio

import pytest
from _pilot import ready, settle
from textual.command import CommandInput, CommandList, CommandPalette
from textual.screen import Screen
from textual.widgets import Input
from textual.widgets import OptionList as TextualOptionList

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


async def test_export_asked_just_before_the_palette_does_not_open_over_it(tmp_path, monkeypatch):
    # Random keys: s then ctrl+p before a refresh; the export dialog (deferred a refresh) opened
    # over the palette, and the next ctrl+p pushed a second palette: DuplicateIds.
    from textual import events

    from tui.screens.export import ExportScreen
    from tui.screens.help import HelpScreen

    monkeypatch.chdir(tmp_path)
    app = CnnTuiApp(preset="article", warm_up=False)  # the explorer
    async with app.run_test(size=SIZE) as pilot:
        home = await ready(pilot)
        app.action_export()  # s: the dialog opens after the next refresh …
        app.action_command_palette()  # … and ctrl+p came first (keys queued on a busy app)
        await settle(pilot, lambda: isinstance(app.screen, Palette))
        await asyncio.sleep(0.2)
        await pilot.pause()
        assert not any(isinstance(s, ExportScreen) for s in app.screen_stack)
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is home)
        await pilot.press("s")  # export alone still opens, for the screen it was asked on
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is home)
        # Whatever brings a screen up over an open palette, ctrl+p then opens no second one.
        await open_palette(pilot)
        app.push_screen(HelpScreen([("k", "v")]))
        await pilot.pause()
        await app._post_message(events.Key("ctrl+p", None))
        await pilot.pause()
        assert sum(isinstance(s, CommandPalette) for s in app.screen_stack) == 1
        assert "open under this screen" in [n.message for n in app._notifications][-1]
        assert app.failures == [] and app.is_running


async def test_pageup_as_matches_arrive_before_the_list_is_laid_out():
    # Random keys (seed 2018807828): pageup right as new matches came in, before the list was
    # laid out: Textual's OptionList had no map of its lines and raised KeyError.
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        palette = await open_palette(pilot)
        commands = palette.query_one(CommandList)
        matches = list(commands.options)
        await pilot.press("z", "q")  # nothing matches: the list is hidden, it has no room
        await settle(pilot, lambda: not palette._list_visible and not commands.option_count)
        await pilot.pause()
        palette._refresh_command_list(commands, matches, True)  # the matches of a new search
        palette._action_command_list("page_up")  # … and pageup, in the same instant
        palette._action_command_list("page_down")
        await pilot.pause()
        await settle(pilot, lambda: commands.scrollable_content_region.height > 0)
        await pilot.press("pagedown")  # once laid out, paging works
        assert commands.highlighted > 0
        assert app.failures == [] and app.is_running


@pytest.mark.parametrize("size", [(40, 10), (60, 4)])
async def test_pageup_and_pagedown_on_a_home_list_with_no_room(size):
    # The home list at 40x10 has no row to show: pagedown raised KeyError (Textual's OptionList).
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(*size)
        await pilot.pause()
        await pilot.press("pagedown", "pageup", "down")
        await pilot.pause()
        assert app.failures == [] and app.is_running
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("pagedown")
        assert app.screen.query_one("#home-list").highlighted > 1


class BareList(Screen):
    """Textual's own OptionList, as Select's dropdown and the export dialog use it."""

    def compose(self):
        yield TextualOptionList(*[f"option {k}" for k in range(30)])


async def test_page_keys_on_any_option_list_with_no_room_do_nothing():
    # Predict's model dropdown (a Select) at 80x24 raised KeyError on pagedown (random keys,
    # seed 1297778568): the app lets no page key reach a list that has no row to show.
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.push_screen(BareList())
        await pilot.resize_terminal(60, 2)  # the list's border takes both rows
        await pilot.pause()
        await pilot.press("pagedown", "pageup")
        await pilot.pause()
        assert app.failures == [] and app.is_running
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("pagedown")  # with room, paging works
        assert app.screen.query_one(TextualOptionList).highlighted > 1


async def test_the_theme_palette_is_the_apps_palette_and_pages_safely():
    # Random keys (seed 2030, episode 1597806891, 160x50): the palette's "Theme" command opened
    # Textual's own CommandPalette (App.search_themes), which has none of the app's guards, and
    # pagedown before its list was laid out raised KeyError in OptionList._move_page.
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.search_themes()
        await pilot.pause()
        assert isinstance(app.screen, Palette)
        await pilot.resize_terminal(60, 2)
        await pilot.pause()
        await pilot.press("down", "pagedown", "pageup")
        await pilot.pause()
        assert app.failures == [] and app.is_running
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
