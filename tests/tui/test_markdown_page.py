"""MarkdownPage: an update re-renders only the blocks whose text changed."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Markdown

from tui.widgets.markdown_page import MarkdownPage, blocks

PAGE = "## Padding\n\nThe padded input is {w} wide.\n\n- one\n- two\n\nfloor((H + 2p - k) / s) + 1"


def test_blocks_are_the_top_level_markdown_blocks():
    assert blocks(PAGE.format(w=7)) == ["## Padding", "The padded input is 7 wide.", "- one\n- two",
                                        "floor((H + 2p - k) / s) + 1"]  # fmt: skip


async def test_a_changed_number_re_renders_only_its_block():
    app = App()
    async with app.run_test() as pilot:
        page = MarkdownPage()
        await app.screen.mount(page)
        await page.update(PAGE.format(w=7))
        await pilot.pause()
        assert len(page.query_children(Markdown)) == 1  # a new page: one widget, one parse
        await page.update(PAGE.format(w=9))  # its numbers change: one widget per block
        await pilot.pause()
        parts = list(page.query_children(Markdown))
        assert len(parts) == 4 and "9 wide" in parts[1].source
        await page.update(PAGE.format(w=7))
        await pilot.pause()
        assert list(page.query_children(Markdown)) == parts
        assert len(parts) == 4 and "7 wide" in parts[1].source
        kept = [list(p.children) for p in parts]  # each block's rendered widgets
        await page.update(PAGE.format(w=11))
        await pilot.pause()
        now = list(page.query_children(Markdown))
        assert now == parts  # the same four widgets
        assert "11 wide" in now[1].source
        assert [list(p.children) for k, p in enumerate(now) if k != 1] == kept[:1] + kept[2:]
        assert list(now[1].children) != kept[1]  # only this block was rebuilt
        await page.update("## Another page\n\nOne paragraph.")  # another shape: all anew
        await pilot.pause()
        shown = [p.source for p in page.query_children(Markdown)]
        assert shown == ["## Another page\n\nOne paragraph."]  # a new page: one widget again
