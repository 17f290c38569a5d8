"""The export dialog driven through the real app: key s and the palette, files read back, the
session directory when served, refusals outside it, escaped paths, no overwrite."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from _pilot import plain, ready, settle
from PIL import Image

from tui import sandbox
from tui.app import CnnTuiApp
from tui.screens.export import ExportScreen

SIZE = (80, 24)


def result(app) -> str:
    """The dialog's last line: what was written, or why not."""
    return plain(app.screen.query_one("#export-result"), 200)


async def open_dialog(pilot, key: str = "s") -> ExportScreen:
    await pilot.press(key)
    await settle(pilot, lambda: isinstance(pilot.app.screen, ExportScreen))
    return pilot.app.screen


async def pick(pilot, label_part: str) -> None:
    """Highlight the option whose label contains label_part and press enter."""
    options = pilot.app.screen.query_one("#export-list")
    for k in range(options.option_count):
        if label_part in str(options.get_option_at_index(k).prompt):
            options.highlighted = k
            await pilot.press("enter")
            await pilot.pause()
            dialog = pilot.app.screen
            await settle(pilot, lambda d=dialog: not d.writing)  # a worker writes the files
            return
    raise AssertionError(f"no option {label_part!r}")


async def test_key_s_exports_the_tensor_and_screenshot_that_read_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = CnnTuiApp(preset="article")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("f")  # the convolution's 1x3x3 output of the article's 5x5 example
        output = np.array(screen.session.stepper.activations[1][0])  # (1, 3, 3), from the engine
        dialog = await open_dialog(pilot)
        assert dialog.query_one("#export-dir").value == str(tmp_path)
        await pick(pilot, "all of the above")
        names = sorted(p.name for p in tmp_path.iterdir())
        stem = "layer-0-output-y-sample-1-of-1"
        assert names == sorted([f"{stem}.npy", f"{stem}.csv", f"{stem}-c0.png",
                                "cnn-tui-explorerscreen.svg"])  # fmt: skip
        assert np.array_equal(np.load(tmp_path / f"{stem}.npy"), output)
        assert output[0, 0, 0] == 6  # the article's sum, corrected (it prints 10)
        rows = list(csv.reader((tmp_path / f"{stem}.csv").read_text().splitlines()))
        back = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
        assert np.array_equal(back.astype(output.dtype), output[0])
        img = Image.open(tmp_path / f"{stem}-c0.png")
        assert img.size[0] == img.size[1] and img.size[0] % 3 == 0  # 3x3 square blocks
        svg = (tmp_path / "cnn-tui-explorerscreen.svg").read_text()
        assert "Tensor" in svg and "enter writes" not in svg  # the screen, not the dialog
        assert f"wrote {stem}.npy" not in result(app)  # paths are shown in full locally
        assert str(tmp_path / f"{stem}.npy") in result(app)
        # again: nothing is overwritten, the new files get numbered names
        await pick(pilot, ".npy")
        assert (tmp_path / f"{stem}-1.npy").exists() and f"{stem}-1.npy" in result(app)
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
        await pilot.press("escape")
        assert app.screen is screen


async def test_the_folder_is_kept_a_bad_one_is_named_and_paths_are_escaped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    odd = tmp_path / "[bold]slides"
    odd.mkdir()
    app = CnnTuiApp(preset="article")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f")
        dialog = await open_dialog(pilot)
        dialog.query_one("#export-dir").value = str(tmp_path / "missing")
        await pick(pilot, ".csv")
        assert "not written: not a directory" in result(app) and "missing" in result(app)
        dialog.query_one("#export-dir").value = str(odd)
        await pick(pilot, ".csv")
        assert "[bold]slides" in result(app)  # shown literally, not read as markup
        assert len(list(odd.iterdir())) == 1
        await pilot.press("escape")
        dialog = await open_dialog(pilot)
        assert dialog.query_one("#export-dir").value == str(odd)  # the next export goes there


async def test_palette_export_and_the_training_lab_curves(tmp_path, monkeypatch):
    from tui.screens.training import TrainingScreen
    from tui.widgets.run_curves import RunSeries

    monkeypatch.chdir(tmp_path)
    app = CnnTuiApp(preset="article")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"export")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pick(pilot, "screenshot")
        svg = next(tmp_path.glob("*.svg")).read_text()
        assert "Tensor" in svg and "Search for commands" not in svg  # not the palette
        await pilot.press("escape")
        await pilot.press("T")
        await settle(pilot, lambda: isinstance(app.screen, TrainingScreen))
        # points as the run thread reports them: (step, loss, running accuracy)
        app.screen.runs = [RunSeries("#1 sgd lr=0.05 s0", [(1, 2.25, 0.125), (2, 1.5, 0.25)])]
        await open_dialog(pilot)
        await pick(pilot, "training runs (2 points) as .csv")
        with (tmp_path / "training-runs.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [
            (r["run"], int(r["step"]), float(r["loss"]), float(r["accuracy"])) for r in rows
        ] == [("#1 sgd lr=0.05 s0", 1, 2.25, 0.125), ("#1 sgd lr=0.05 s0", 2, 1.5, 0.25)]


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A served session: its own directory, and deliveries to the browser recorded."""
    root = tmp_path / "session"
    root.mkdir()
    box = sandbox.Sandbox(root)
    monkeypatch.setattr(sandbox, "current", lambda: box)
    delivered = []
    monkeypatch.setattr(CnnTuiApp, "deliver_binary",
                        lambda self, path, **kw: delivered.append((path, kw)))  # fmt: skip
    monkeypatch.chdir(tmp_path)
    return root, delivered


async def test_served_exports_go_to_the_session_and_the_browser_and_nowhere_else(served):
    root, delivered = served
    outside = root.parent
    (outside / "elsewhere").mkdir()
    (root / "out").symlink_to(outside / "elsewhere")
    app = CnnTuiApp(preset="article")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f")
        dialog = await open_dialog(pilot)
        assert dialog.query_one("#export-dir").value == "."  # no server path shown
        assert "sent to your browser" in result(app)
        await pick(pilot, ".npy")
        [written] = [p for p in root.iterdir() if p.name != "out"]
        assert delivered == [(written, {"save_filename": written.name})]
        assert f"wrote {written.name}" in result(app)  # named within the session directory
        before = sorted(p.name for p in outside.rglob("*"))
        for folder in ("..", "../elsewhere", str(outside), "out", "/dev"):
            dialog.query_one("#export-dir").value = folder
            await pick(pilot, ".csv")
            assert "not written:" in result(app), folder
            assert "session directory" in result(app), folder
            assert str(root) not in result(app)  # the server's paths stay unnamed
        assert sorted(p.name for p in outside.rglob("*")) == before
        assert len(delivered) == 1 and len(list(root.iterdir())) == 2  # the .npy and "out"
        dialog.query_one("#export-dir").value = "."
        await pick(pilot, "heatmap")
        assert len(delivered) == 2 and delivered[-1][0].parent == root
        png = Image.open(io.BytesIO(delivered[-1][0].read_bytes()))
        assert png.size[0] % 3 == 0


async def test_files_are_made_and_written_off_the_interface_thread(tmp_path, monkeypatch):
    import threading

    monkeypatch.chdir(tmp_path)
    made_in = []

    def make() -> bytes:  # a slow maker (a big PNG) must not hold up the screen
        made_in.append(threading.current_thread())
        return b"\x93NUMPY"

    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ExportScreen([("raw bytes", "t.bin", make)], str(tmp_path)))
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.pause()
        await pick(pilot, "raw bytes")
        assert (tmp_path / "t.bin").read_bytes() == b"\x93NUMPY"
        assert made_in and made_in[0] is not threading.main_thread()
        assert "t.bin" in result(app)
