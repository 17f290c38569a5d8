"""The explorer as a whole: startup, layout at each size, paging, help, palette, NO_COLOR."""

from __future__ import annotations

import threading

import pytest
from _pilot import plain, ready, settle, status

from tui.app import CnnTuiApp
from tui.screens.help import HelpScreen
from tui.widgets.layers import LayersPane, count_text, short_name
from tui.widgets.tensor import TensorPane

WIDE = (120, 40)


async def test_first_frame_comes_before_the_engine_and_shows_progress(monkeypatch):
    import tui.session

    release = threading.Event()
    real = tui.session.Session

    def slow_session(*args, **kwargs):  # the warm-up worker blocks here until released
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(tui.session, "Session", slow_session)
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        try:
            # A cold Numba cache compiles every kernel first (PERFORMANCE.md: up to ~40 s here).
            await settle(pilot, lambda: "loading lenet" in status(app.screen), timeout=180)
            assert "compiling kernels" in status(app.screen)
            await pilot.press("f")
            assert "! not ready yet: compiling kernels" in status(app.screen)
            assert "loading the model" in plain(app.screen.query_one(TensorPane))
        finally:
            release.set()
        screen = await ready(pilot)
        assert screen.session.name == "lenet"
        assert "next: forward 0" in status(screen)


async def test_help_palette_and_quit():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = plain(app.screen.query_one("#help-keys"), 100)
        for key in ("f", "b", "u", "i", "z", "r", "t", "x", "p", "g", "<", ">", "[", "]", "?"):
            assert any(line.split()[:1] == [key] for line in keys.splitlines()), key
        await pilot.press("escape")
        assert app.screen is screen
        from tui.app import ActionsProvider

        provider = ActionsProvider(screen)
        names = [name for name, _, _ in provider.commands()]
        assert len(names) == len(screen.BINDINGS) and "forward" in names
        await pilot.press("ctrl+p")
        await pilot.press(*"forward")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot, lambda: screen.session.stepper.position == 1)
        await pilot.press("q")
    assert app.return_code == 0


async def test_too_small_terminal_says_so_and_recovers():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await ready(pilot)
        message = screen.query_one("#too-small")
        assert message.display and screen.has_class("-too-small")
        assert "enlarge the terminal to at least 80x24 (now 60x20)" in plain(message, 60)
        await pilot.press("f")  # keys still work; nothing is lost
        assert screen.session.stepper.position == 1
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not screen.has_class("-too-small") and screen.query_one("#panes").display


async def test_missing_mnist_falls_back_to_the_article_and_says_why(monkeypatch):
    import engine.data

    def missing(*args, **kwargs):
        raise engine.data.DataError("assets/mnist/t10k-images-idx3-ubyte.gz: file not found")

    monkeypatch.setattr(engine.data, "mnist_split", missing)
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        assert screen.session.name == "article"
        assert "opened the article example" in status(screen) and "file not found" in status(screen)
        await pilot.press("2")  # asking for MNIST again: refused with the reason, article kept
        assert screen.session.name == "article" and "file not found" in status(screen)
        await pilot.press("f")
        assert screen.session.stepper.activations[1][0, 0, 0, 0] == 6.0


def visible(screen, pane_id: str) -> bool:
    """Displayed and given some room on screen."""
    widget = screen.query_one(f"#{pane_id}")
    return widget.display and widget.parent.display and widget.region.area > 0


async def test_wide_terminal_shows_every_pane():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        assert not screen.has_class("-compact")
        for pane in ("layers", "tensor", "math", "optimizer", "curves"):
            assert visible(screen, pane), pane


async def test_80x24_pages_the_panes_and_tab_reaches_every_one():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        assert screen.has_class("-compact")
        assert visible(screen, "tensor") and visible(screen, "math")
        assert not visible(screen, "optimizer") and not visible(screen, "curves")
        seen = []
        for _ in range(4):
            await pilot.press("tab")
            focused = screen.focused
            assert focused is not None and visible(screen, focused.id), focused
            seen.append(focused.id)
        assert seen == ["optimizer", "curves", "layers", "tensor"]
        assert visible(screen, "math") and not visible(screen, "curves")
        await pilot.press("shift+tab")
        assert screen.focused.id == "layers"
        await pilot.press("shift+tab")
        assert screen.focused.id == "curves" and visible(screen, "optimizer")


async def test_resizing_switches_layouts_live():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.resize_terminal(90, 28)
        await pilot.pause()
        assert screen.has_class("-compact") and not screen.has_class("-too-small")
        await pilot.resize_terminal(79, 30)
        await pilot.pause()
        assert screen.has_class("-too-small")
        assert "(now 79x30)" in plain(screen.query_one("#too-small"), 79)
        await pilot.resize_terminal(130, 45)
        await pilot.pause()
        assert not screen.has_class("-compact") and not screen.has_class("-too-small")


async def test_layer_list_marks_where_the_pass_stands():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        layers = screen.query_one(LayersPane)

        def marked() -> str:
            """The label on the row that carries a marker."""
            for line in plain(layers, 40).splitlines():
                if line.strip()[:1] in "▼▲◆✓" and line.strip():
                    return line.split(maxsplit=1)[1].strip()
            return ""

        await pilot.press("1")
        assert marked().startswith("0 Conv 1→1 k3") and "▼" in plain(layers, 40)
        await pilot.press("f")
        assert marked().startswith("loss MSE")
        await pilot.press("f")
        assert marked().startswith("loss MSE = 36") and "▲" in plain(layers, 40)
        await pilot.press("b")
        assert marked().startswith("0 Conv") and "▲" in plain(layers, 40)
        await pilot.press("b")
        assert marked().startswith("update") and "◆" in plain(layers, 40)
        await pilot.press("u")
        assert "✓" in plain(layers, 40) and layers.border_subtitle == "10 params"


async def test_a_step_repaints_only_the_layer_rows_that_changed(monkeypatch):
    """Over SSH every repainted cell is sent: a step that moves the pass marker redraws the
    rows it leaves and enters, not the whole layer list (which a whole-pane refresh does)."""
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        layers = screen.query_one(LayersPane)
        calls = []
        original = LayersPane.refresh

        def recording(self, *regions, **kwargs):
            calls.append(regions)
            return original(self, *regions, **kwargs)

        monkeypatch.setattr(LayersPane, "refresh", recording)
        await pilot.press("f")
        await pilot.pause()
        assert calls, "the marker moved, so some rows must be redrawn"
        assert all(regions for regions in calls), "a step refreshed the whole layer list"
        rows = {region.y for regions in calls for region in regions}
        assert 1 <= len(rows) <= 4 < len(layers.rows)


async def test_clicking_a_layer_row_selects_it():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        layers = screen.query_one(LayersPane)
        # Row 0 is the header, row 1 the input, rows 2.. the layers: layer 3 is on line 5.
        await pilot.click(LayersPane, offset=(10, 5 + layers.gutter.top))
        assert screen.session.sel.layer == 3 and screen.focused is layers
        await pilot.click(LayersPane, offset=(10, 1 + layers.gutter.top))  # the input row
        assert screen.session.sel.layer == 3


async def test_no_color_keeps_everything_readable(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        assert app.no_color
        await pilot.press("f")
        tensor = screen.query_one(TensorPane)
        assert not tensor.color
        text = plain(tensor)
        assert "▀" not in text and any(ch in text for ch in "@#%*+=")
        assert "Conv 1→8 k3 p1" in plain(screen.query_one(LayersPane))


async def test_a_refusal_stays_on_the_status_line_until_the_next_success():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("u", "u", "u")
        assert status(screen).startswith("! the update needs every gradient: 18 op(s) to go first")
        # a refused key pressed again adds no second notification of the same text
        shown = [n.message for n in app._notifications]
        assert shown.count("the update needs every gradient: 18 op(s) to go first") == 1
        assert screen.query_one("#status").has_class("-error")
        await pilot.press("f")
        assert status(screen).startswith("next: forward 1: ReLU()")
        assert not screen.query_one("#status").has_class("-error")


async def test_starting_a_run_clears_an_old_refusal_from_the_status_line():
    app = CnnTuiApp(preset="article", start="explore")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("x")  # nothing to stop: refused
        assert status(screen).startswith("! no training run to stop: t starts one")
        await pilot.press("t")  # the run starts: the status line says so, not the old refusal
        await settle(pilot, lambda: status(screen).startswith("[running: t pauses, x stops]"))
        assert not screen.query_one("#status").has_class("-error")
        screen.stop_run()
        await settle(pilot, lambda: not any(w.is_running for w in app.workers))


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ({"type": "Conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 3,
          "stride": 1, "padding": 1}, "Conv 1→8 k3 p1"),
        ({"type": "Conv2d", "in_channels": 8, "out_channels": 16, "kernel_size": [3, 3],
          "stride": [2, 2], "padding": [1, 1]}, "Conv 8→16 k3 s2 p1"),
        ({"type": "MaxPool2d", "kernel_size": 2, "stride": None}, "MaxPool 2"),
        ({"type": "AvgPool2d", "kernel_size": 3, "stride": 1}, "AvgPool 3 s1"),
        ({"type": "Linear", "in_features": 784, "out_features": 10}, "Linear 784→10"),
        ({"type": "Dropout", "p": 0.25}, "Dropout 0.25"),
        ({"type": "Residual", "layers": [{"type": "Conv2d", "in_channels": 8,
          "out_channels": 16, "kernel_size": 3, "stride": 2}, {"type": "ReLU"}]},
         "Residual 8→16 s2"),
        ({"type": "Residual", "layers": [{"type": "ReLU"}]}, "Residual (1)"),
    ],
)  # fmt: skip
def test_short_layer_names(spec, name):
    assert short_name(spec) == name


def test_parameter_counts_fit_five_characters():
    assert [count_text(n) for n in (None, 0, 80, 9098, 12_345, 2_500_000)] == [
        "", "0", "80", "9098", "12.3k", "2.5M"
    ]  # fmt: skip


async def test_cycling_to_the_weights_before_any_step_shows_the_first_weight():
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=WIDE) as pilot:
        screen = await ready(pilot)
        for _ in range(6):  # output -> grad_out -> grad_input -> weight -> weight grad -> input
            await pilot.press("v")
            if screen.session.sel.view == "weight":
                w = screen.session.sel.weight().value
                assert f"{w[0, 0, 0, 0]:.4g}" in plain(screen.query_one("#math"), 200)
        assert screen.session.sel.view == "output" and app.is_running
