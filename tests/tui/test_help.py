"""The help screen: made once per list of keys and kept, opening at the top; the home list is
rebuilt only when progress changed."""

from __future__ import annotations

from _pilot import plain

from tui.app import CnnTuiApp
from tui.progress import Progress
from tui.screens.help import MAX_KEPT, HelpScreen, show_help


async def test_a_second_question_mark_shows_the_same_help_at_the_top(tmp_path):
    app = CnnTuiApp(warm_up=False, progress=Progress(tmp_path / "p.json"))
    async with app.run_test(size=(80, 12)) as pilot:  # short: the help scrolls
        home = app.screen
        await pilot.press("question_mark")
        first = app.screen
        assert isinstance(first, HelpScreen)
        text = plain(first.query_one("#help-keys"), 80)
        body = first.query_one("#help-body")
        body.scroll_end(animate=False)
        await pilot.pause()
        assert body.scroll_y > 0
        await pilot.press("escape")
        assert app.screen is home
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is first and body.scroll_y == 0  # kept, and opened at the top
        assert plain(first.query_one("#help-keys"), 80) == text
        await pilot.press("escape")


async def test_help_screens_kept_are_bounded_and_each_shows_its_own_keys(tmp_path):
    app = CnnTuiApp(warm_up=False, progress=Progress(tmp_path / "p.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        for k in range(MAX_KEPT + 3):
            show_help(app, [(str(k), f"key number {k}")])
            await pilot.pause()
            assert f"key number {k}" in plain(app.screen.query_one("#help-keys"), 80)
            app.pop_screen()
            await pilot.pause()
        kept = [n for n in app._installed_screens if n.startswith("help-")]
        assert len(kept) == MAX_KEPT


async def test_the_home_list_is_rebuilt_only_when_progress_changed(tmp_path):
    app = CnnTuiApp(warm_up=False, progress=Progress(tmp_path / "p.json"))
    async with app.run_test(size=(100, 30)) as pilot:
        listing = app.screen.query_one("#home-list")
        first = listing.get_option_at_index(0)
        await pilot.press("question_mark", "escape")
        assert listing.get_option_at_index(0) is first  # the same progress: not rebuilt
        app.progress.mark(1, 0)  # an answer in lesson 1
        await pilot.press("question_mark", "escape")
        shown = str(listing.get_option_at_index(0).prompt)
        assert listing.get_option_at_index(0) is not first and "○" not in shown  # ◐ or ✓


def test_the_key_table_is_laid_out_once_per_width_and_draws_what_the_table_draws():
    import io

    from rich.console import Console
    from rich.measure import Measurement

    from tui.screens.explorer_keys import BINDINGS, PANE_KEYS
    from tui.screens.help import LaidOutOnce, key_table

    rows = [(b.key_display or b.key, b.description) for b in BINDINGS] + PANE_KEYS
    drawn = []

    class Counted(type(key_table(rows))):
        def __rich_console__(self, console, options):
            drawn.append(options.max_width)
            yield from super().__rich_console__(console, options)

    table = key_table(rows)
    table.__class__ = Counted
    once = LaidOutOnce(table)
    console = Console(file=io.StringIO(), color_system="truecolor", width=200)
    for width in (12, 30, 60, 100, 160):  # narrow ones wrap the descriptions
        options = console.options.update_width(width)
        assert console.render_lines(once, options) == console.render_lines(key_table(rows), options)
        assert console.render_lines(once, options) == console.render_lines(key_table(rows), options)
        assert Measurement.get(console, options, once) == Measurement.get(
            console, options, key_table(rows)
        )
    assert drawn == [12, 30, 60, 100, 160]  # once per width, replayed the second time


async def test_the_home_help_lists_keys_not_twelve_keyless_lesson_rows(tmp_path):
    # The home help showed "start this lesson" 12 times with an empty key column (the
    # palette's rows for the lessons); the list on the home screen names the lessons.
    app = CnnTuiApp(warm_up=False, progress=Progress(tmp_path / "p.json"))
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert all(key for key, _ in app.screen.rows)
        assert "start this lesson" not in plain(app.screen.query_one("#help-keys"), 80)
