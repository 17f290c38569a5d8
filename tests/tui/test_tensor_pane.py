"""TensorPane in a tiny app: numbers/heatmap/bars, channel and mode keys, cursor messages."""

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region

from engine.presets import PRESETS, article_input
from tui.widgets import PANES_TCSS
from tui.widgets.tensor import EMPTY, TensorPane


class PaneApp(App):
    """One TensorPane filling the screen, recording the messages it posts."""

    CSS_PATH = PANES_TCSS

    def __init__(self, **pane_kwargs) -> None:
        super().__init__()
        self.pane_kwargs = pane_kwargs
        self.moved: list[tuple] = []
        self.channels: list[int] = []

    def compose(self) -> ComposeResult:
        yield TensorPane(id="tensor", **self.pane_kwargs)

    def on_tensor_pane_cursor_moved(self, message: TensorPane.CursorMoved) -> None:
        self.moved.append((message.channel, message.i, message.j, message.index))

    def on_tensor_pane_channel_changed(self, message: TensorPane.ChannelChanged) -> None:
        self.channels.append(message.channel)


def screen_lines(pane: TensorPane) -> list[str]:
    """What the pane draws inside its padding, one string per row, trailing blanks dropped."""
    strips = pane.render_lines(Region(0, 0, pane.outer_size.width, pane.outer_size.height))
    left = pane.styles.padding.left
    return [strip.text[left:].rstrip() for strip in strips]


def article_output() -> np.ndarray:
    """The engine's output for the article's 5x5 image and vertical-edge filter, (1, 3, 3)."""
    preset = PRESETS["article"]()
    out = preset.model.forward(article_input())[0]  # (C=1, 3, 3)
    # independent check: slide the kernel by hand over the image (rows 4 3 2 1 0)
    image = article_input()[0, 0].astype(np.float64)
    kernel = np.tile([1.0, 0.0, -1.0], (3, 1))
    by_hand = [[np.sum(image[i : i + 3, j : j + 3] * kernel) for j in range(3)] for i in range(3)]
    np.testing.assert_array_equal(out[0], by_hand)
    return out


async def test_empty_state_hint():
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.query_one(TensorPane)
        assert EMPTY in "\n".join(screen_lines(pane))
        pane.show(np.ones((2, 2)), title="x")
        pane.clear()
        await pilot.pause()
        assert screen_lines(pane)[0].strip() == EMPTY


async def test_article_map_of_sixes_shows_as_numbers():
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(article_output(), title="Conv2d output")
        await pilot.pause()
        lines = screen_lines(pane)
        assert lines[0].startswith("Conv2d output  channel 1/1  1×3×3  auto: numbers")
        body = [line.strip() for line in lines[1:4]]
        assert body == ["6 6 6"] * 3
        assert "\n".join(body).count("6") == 9
        assert lines[4].strip() == "min 6  max 6"


async def test_channel_keys_wrap_and_title_counts_channels():
    maps = np.arange(8 * 4 * 4, dtype=np.float32).reshape(8, 4, 4)
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(maps, title="feature maps")
        pane.focus()
        await pilot.press("]")
        assert pane.channel == 1 and "channel 2/8" in screen_lines(pane)[0]
        assert screen_lines(pane)[1].split()[0] == "16"  # channel 1 starts at 16
        await pilot.press("[", "[")
        assert pane.channel == 7 and "channel 8/8" in screen_lines(pane)[0]
        assert app.channels == [1, 0, 7]
        assert app.moved == []  # no cursor yet, so nothing to re-explain


async def test_mode_key_cycles_auto_numbers_heatmap():
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(article_output(), title="out")
        pane.focus()
        await pilot.press("m")
        assert pane.mode == "numbers" and "  numbers" in screen_lines(pane)[0]
        await pilot.press("m")
        lines = screen_lines(pane)
        assert pane.mode == "heatmap" and "heatmap" in lines[0]
        body = [line for line in lines[1:] if "▀" in line]
        assert len(body) == 6 and all(line == "▀" * 12 for line in body)  # 3x3 scaled 4x
        assert lines[7].startswith("min 6") and lines[7].endswith("max 6")
        await pilot.press("m")
        assert pane.mode == "auto"


async def test_arrows_move_cursor_and_post_messages():
    maps = np.random.default_rng(0).standard_normal((2, 5, 5)).astype(np.float32)
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(maps, title="out", cursor=(1, 1, 1))
        assert pane.channel == 1 and pane.cursor == (1, 1)
        pane.focus()
        await pilot.press("down", "right", "right", "up", "left")
        await pilot.press("up", "up", "up")  # clamped at the top edge
        await pilot.press("[")  # same element, other channel
        await pilot.pause()
        assert app.moved == [
            (1, 2, 1, (1, 2, 1)),
            (1, 2, 2, (1, 2, 2)),
            (1, 2, 3, (1, 2, 3)),
            (1, 1, 3, (1, 1, 3)),
            (1, 1, 2, (1, 1, 2)),
            (1, 0, 2, (1, 0, 2)),
            (1, 0, 2, (1, 0, 2)),
            (1, 0, 2, (1, 0, 2)),
            (0, 0, 2, (0, 0, 2)),
        ]
        from tui.render import format_number

        assert f"[0,2] = {format_number(maps[0, 0, 2])}" in screen_lines(pane)[0]


async def test_large_map_heatmap_fits_and_follows_resize():
    image = np.random.default_rng(2).random((28, 28)).astype(np.float32)
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(image, title="input", highlight={(0, 0), (0, 1), (1, 0)})
        await pilot.pause()
        lines = screen_lines(pane)
        assert "auto: heatmap" in lines[0] and "28×28" in lines[0]
        body = [line for line in lines[1:] if "▀" in line]
        assert len(body) == 14 and all(line.strip() == "▀" * 28 for line in body)
        assert any(line.startswith("min ") and "max " in line for line in lines)
        await pilot.resize_terminal(30, 10)
        await pilot.pause()
        lines = screen_lines(pane)
        body = [line for line in lines if "▀" in line]
        assert pane.size.width == 28  # 30 columns minus the padding
        assert 0 < len(body) <= 8 and all(len(line.strip()) <= 28 for line in body)
        assert len(body[0].strip()) == 2 * len(body)  # square pixels, aspect kept


@pytest.mark.parametrize("colour_off", ["NO_COLOR", "16 colours"])
async def test_ascii_heatmap_without_colour(monkeypatch, colour_off):
    # NO_COLOR, or a 16-colour terminal where Rich maps the RGB scales onto near-white.
    from rich.console import Console

    if colour_off == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
    app = PaneApp()
    async with app.run_test(size=(60, 20)) as pilot:
        pane = app.query_one(TensorPane)
        if colour_off == "16 colours":
            assert pane.color is True  # truecolor, pinned by tests/conftest.py
            app.console = Console(color_system="standard", force_terminal=True)
        assert pane.color is False
        signed = np.linspace(-1, 1, 64, dtype=np.float32).reshape(8, 8)
        pane.show(signed, title="grad")
        pane.set_mode("heatmap")
        await pilot.pause()
        text = "\n".join(screen_lines(pane)[1:])
        assert "▀" not in text and "-@" in text and "+@" in text


async def test_vector_shows_labelled_bars_and_moves_along_length():
    logits = np.array([0.1, -2.0, 3.5, 0, 0, 0, 0, 0, 0, 1.0], dtype=np.float32)
    app = PaneApp()
    async with app.run_test(size=(60, 14)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(logits, title="logits", cursor=2)
        pane.focus()
        await pilot.pause()
        lines = screen_lines(pane)
        assert "auto: bars" in lines[0] and "[2] = 3.5" in lines[0]
        assert [line.split()[0] for line in lines[1:11]] == [str(k) for k in range(10)]
        assert lines[3].split()[:2] == ["2", "3.5"] and "█" in lines[3]
        await pilot.press("down", "right", "up")
        assert [m[3] for m in app.moved] == [(3,), (4,), (3,)]
        assert [m[1] for m in app.moved] == [3, 4, 3]


async def test_bars_that_do_not_fit_say_how_many_more():
    logits = np.arange(10, dtype=np.float32)
    app = PaneApp()
    async with app.run_test(size=(60, 10)) as pilot:  # header + 8 bars + legend
        pane = app.query_one(TensorPane)
        pane.show(logits, title="logits")
        await pilot.pause()
        lines = [line for line in screen_lines(pane) if line]
        assert [line.split()[0] for line in lines[1:9]] == [str(k) for k in range(8)]
        assert lines[9].endswith("0-7 of 10, 2 more (↑ ↓)")
        pane.show(logits, title="logits", cursor=9)
        await pilot.pause()
        assert screen_lines(pane)[9].endswith("2-9 of 10, 2 more (↑ ↓)")


async def test_long_vector_wraps_into_a_heatmap_and_render_is_cached():
    features = np.random.default_rng(3).standard_normal(784).astype(np.float32)
    app = PaneApp()
    async with app.run_test(size=(60, 20)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(features, title="Flatten output", cursor=30)
        await pilot.pause()
        lines = screen_lines(pane)
        assert "784  auto: heatmap  [30] = " in lines[0]
        body = [line for line in lines if "▀" in line]
        assert len(body) == 14 and all(line == "▀" * 28 for line in body)  # 28 x 28 wrap
        assert pane.render() is pane.render()  # no rebuild without a change
        before = pane.render()
        pane.focus()
        await pilot.press("down")
        assert pane.render() is not before and app.moved[-1][3] == (31,)


async def test_show_clamps_channel_and_rejects_unknown_modes():
    app = PaneApp()
    async with app.run_test(size=(60, 12)):
        pane = app.query_one(TensorPane)
        pane.show(np.zeros((8, 3, 3)), cursor=(6, 9, -4))
        assert (pane.channel, pane.cursor) == (6, (2, 0))
        pane.show(np.zeros((2, 3, 3)))
        assert pane.channel == 1 and pane.cursor is None
        pane.show(np.zeros((2, 2, 2, 2)))
        assert pane.array is None and "cannot show" in pane.message
        with pytest.raises(ValueError, match="auto"):
            pane.set_mode("sparkles")


async def test_engine_receptive_field_highlights_the_shown_channel_only():
    from engine import explain_forward
    from tui.render import colors

    preset = PRESETS["article"]()
    x = article_input()
    field = explain_forward(preset.model.layers[0], x, (0, 0, 1, 2)).receptive_field
    assert len(field) == 9 and len(field[0]) == 4  # (n, c, r, s)
    two_channels = np.concatenate([x[0], x[0]])  # (2, 5, 5): the field names channel 0 only
    app = PaneApp()
    async with app.run_test(size=(60, 12)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(two_channels, title="input", highlight=field)
        await pilot.pause()
        text = pane.render()
        marked = [s for s in text.spans if s.style == colors.HIGHLIGHT_STYLE]
        assert len(marked) == 9
        body = text.plain.split("\n")[1:6]
        assert [line.split() for line in body][1] == ["4", "3", "2", "1", "0"]
        row_start = text.plain.index(body[1])
        assert sorted(text.plain[s.start : s.end].strip() for s in marked) == sorted("210" * 3)
        assert all(s.start >= row_start for s in marked)  # rows 1..3, not row 0
        pane.set_channel(1)
        await pilot.pause()
        assert not [s for s in pane.render().spans if s.style == colors.HIGHLIGHT_STYLE]
        pane.show(np.arange(10.0), title="logits", highlight=[(0, 3), (0, 7)])
        await pilot.pause()
        marked = [s for s in pane.render().spans if s.style == colors.HIGHLIGHT_STYLE]
        assert [pane.render().plain[s.start : s.end].split()[0] for s in marked] == ["3", "7"]


async def test_long_title_in_a_narrow_pane_keeps_the_legend_visible():
    # The explorer's 80x24 layout: a 42-column, 11-row tensor pane showing a 28x28 gradient
    # with a title too long for one line. A header wrapped by the terminal instead of packed
    # by the pane was a line taller than counted and pushed the min/max legend off the pane.
    grad = np.random.default_rng(3).standard_normal((1, 28, 28)).astype(np.float32)
    app = PaneApp()
    async with app.run_test(size=(44, 11)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(grad, title="layer 0 ∂L/∂x (grad_input) · sample 1/8", cursor=(0, 9, 7))
        await pilot.pause()
        lines = screen_lines(pane)
        assert len(lines) == 11 and all(len(line) <= pane.size.width for line in lines)
        assert lines[0].startswith("layer 0 ∂L/∂x (grad_input) · sample 1/8")
        assert "[9,7] = " in "\n".join(lines[:3])
        assert lines[-1].startswith("min ") and "max " in lines[-1]


async def test_long_title_breaks_at_its_separators_instead_of_being_cut():
    app = PaneApp()
    async with app.run_test(size=(44, 12)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(np.ones((1, 5, 5)), title="layer 0 input x · sample 1/1 · receptive field")
        await pilot.pause()
        lines = screen_lines(pane)
        assert lines[0] == "layer 0 input x · sample 1/1"
        assert lines[1] == "receptive field  channel 1/1"
        assert lines[2].startswith("1×5×5  auto: numbers")
        assert "…" not in "\n".join(lines)


async def test_numbers_mode_on_a_big_map_shows_a_window_around_the_cursor():
    # 28 numbers a row in a 42-column pane wrapped into ragged lines that read as a wrong grid.
    image = np.arange(28 * 28, dtype=np.float32).reshape(28, 28) / 10
    app = PaneApp()
    async with app.run_test(size=(44, 12)) as pilot:
        pane = app.query_one(TensorPane)
        pane.show(image, title="input", cursor=(20, 25))
        pane.set_mode("numbers")
        await pilot.pause()
        lines = screen_lines(pane)
        assert len(lines) == 12 and all(len(line) <= pane.size.width for line in lines)
        foot = next(line for line in lines if line.startswith("min "))
        grid = [line.split() for line in lines[1 : lines.index(foot)] if line]
        width = len(grid[0])
        assert all(len(row) == width for row in grid) and width >= 4
        assert foot.startswith("min 0  max 78.3")
        rows, cols = foot.split("rows ")[1].split(", cols ")
        r0, r1 = map(int, rows.split("-"))
        c0, c1 = map(int, cols.split("-"))
        assert r0 <= 20 <= r1 and c0 <= 25 <= c1 and c1 == 27  # clamped at the right edge
        assert r1 - r0 + 1 == len(grid) and c1 - c0 + 1 == width
        assert grid[20 - r0][25 - c0] == "58"  # image[20, 25] = (20 * 28 + 25) / 10, 2 digits
        assert "[20,25] = 58.5" in lines[0]
