"""The home screen: its key line fits the terminal."""

from __future__ import annotations

import pytest
from rich.text import Text

from tui.app import CnnTuiApp
from tui.progress import Progress


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_home_key_line_fits_with_every_key(tmp_path, size):
    app = CnnTuiApp(warm_up=False, progress=Progress(tmp_path / "p.json"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        keys = app.screen.query_one("#home-keys")
        shown = keys.render()
        shown = shown if isinstance(shown, Text) else Text(str(shown))
        assert shown.cell_len <= keys.content_size.width  # nothing cut at the right edge
        for piece in ("enter open", "e explorer", "T training", "P predict", "L transfer",
                      "? help", "q quit"):  # fmt: skip
            assert piece in shown.plain, piece
