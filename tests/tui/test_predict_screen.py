"""The predict screen: a sample image, held-out digits, bad files, model sources."""

from __future__ import annotations

import numpy as np
from _pilot import plain, settle
from textual.widgets import Input, Select

from engine.checkpoint import load
from engine.images import image_to_input
from engine.paths import PRETRAINED_LENET, SAMPLES_DIR
from engine.train import predict_proba
from tui.app import CnnTuiApp
from tui.screens.explorer import ExplorerScreen
from tui.screens.predict import PredictScreen
from tui.screens.training import held_out_split

SIZE = (100, 30)


async def answered(pilot) -> None:
    """Wait until the predict screen's worker answered (files are read off the UI thread)."""
    await settle(pilot, lambda: all(w.is_finished for w in pilot.app.workers))
    await pilot.pause()


async def open_predict(pilot) -> PredictScreen:
    await pilot.pause()
    await pilot.press("P")
    await settle(pilot, lambda: getattr(pilot.app.screen, "request", 0) > 0)
    await answered(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PredictScreen)
    return screen


async def open_path(pilot, screen, field: str, path) -> None:
    """Type a path into a field the way a user does (o or a click, then enter) and wait."""
    screen.query_one(f"#{field}").focus()
    screen.query_one(f"#{field}").value = str(path)
    await pilot.press("enter")
    await answered(pilot)


async def test_sample_seven_shows_the_engine_probabilities_and_feature_maps():
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        model, shape, _ = load(PRETRAINED_LENET)
        x = image_to_input(SAMPLES_DIR / "digit_7.png", shape)
        expected = predict_proba(model, x)[0]
        np.testing.assert_allclose(screen.probs, expected, rtol=1e-5, atol=1e-9)
        probs = plain(screen.query_one("#pred-probs"), 70)
        assert f"predicted 7 (p = {expected[7]:.4f}) by pretrained lenet" in probs
        rows = {line.split()[0]: line.split()[1] for line in probs.splitlines()[1:] if line.strip()}
        for k in range(10):  # every bar's number is the engine's probability
            np.testing.assert_allclose(float(rows[str(k)]), expected[k], rtol=0.05)
        maps = plain(screen.query_one("#pred-maps"), 96)
        for name in ("0 Conv2d 8x28x28", "2 MaxPool2d 8x14x14", "3 Conv2d 16x14x14",
                     "5 MaxPool2d 16x7x7", "ch15"):  # fmt: skip
            assert name in maps
        await pilot.press("escape")
        assert isinstance(app.screen, ExplorerScreen)


async def test_corrupt_image_shows_the_error_and_the_screen_keeps_working(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        before = screen.probs.copy()
        await open_path(pilot, screen, "image-path", bad)
        error = plain(screen.query_one("#pred-error"), 200)
        assert str(bad) in error and ("not an image" in error or "corrupt" in error)
        np.testing.assert_array_equal(screen.probs, before)  # the last prediction stays
        await open_path(pilot, screen, "image-path", tmp_path / "missing.png")
        assert "file not found" in plain(screen.query_one("#pred-error"), 200)
        # Held-out digits still work: next, previous (wraps to the last one).
        _, held_out = held_out_split()
        model, _, _ = load(PRETRAINED_LENET)
        assert not isinstance(screen.focused, Input)  # enter gave the keys back to the screen
        await pilot.press("n")
        await answered(pilot)
        assert screen.digit == 0 and plain(screen.query_one("#pred-error"), 100).strip() == ""
        np.testing.assert_allclose(screen.probs, predict_proba(model, held_out.images[:1])[0],
                                   rtol=1e-5, atol=1e-9)  # fmt: skip
        await pilot.press("p")
        await answered(pilot)
        assert screen.digit == 1999
        shown = plain(screen.query_one("#pred-input"), 40)
        assert f"held-out digit 2000/2000, label {held_out.labels[1999]}" in shown


async def test_model_sources_latest_run_and_bad_checkpoint(tmp_path):
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        await pilot.press("m")  # latest training run: none yet
        await answered(pilot)
        assert "no training run yet" in plain(screen.query_one("#pred-error"), 200)
        assert screen.model_name == "pretrained lenet"
        screen.query_one("#ckpt-path").value = str(tmp_path / "nope.npz")
        await pilot.press("m")  # checkpoint file: missing
        await answered(pilot)
        assert "nope.npz" in plain(screen.query_one("#pred-error"), 200)
        assert screen.model_name == "pretrained lenet"


async def test_a_served_session_refuses_paths_outside_its_directory(tmp_path, monkeypatch):
    """Served: ../, absolute paths and markup-like names are refused in words; nothing crashes."""
    from tui import sandbox

    (tmp_path / "digit_7.png").write_bytes((SAMPLES_DIR / "digit_7.png").read_bytes())
    monkeypatch.setattr(sandbox, "_current", sandbox.Sandbox(tmp_path))
    monkeypatch.chdir(tmp_path)
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        assert screen.query_one("#image-path").value == "digit_7.png"
        assert int(screen.probs.argmax()) == 7  # the session's own copy of the sample opened
        for path, words in (("../secret.png", "'..' is not allowed"),
                            ("/etc/passwd", "outside the session directory"),
                            ("[/bold]x.png", "no such file in the session directory")):  # fmt: skip
            await open_path(pilot, screen, "image-path", path)
            error = plain(screen.query_one("#pred-error"), 200)
            assert path in error and words in error, error
        await open_path(pilot, screen, "ckpt-path", "../model.npz")
        assert "'..' is not allowed" in plain(screen.query_one("#pred-error"), 200)
        assert int(screen.probs.argmax()) == 7  # what was shown stays


async def test_o_moves_the_cursor_to_the_path_so_letters_type_instead_of_acting():
    # Issue 8 item 18: after `o` the letters typed next ran as commands (m, n, p).
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        field = screen.query_one("#image-path", Input)
        await pilot.press("o")
        assert screen.focused is field
        field.value = ""
        await pilot.press(*"mnp")
        assert field.value == "mnp"
        assert (screen.digit, screen.model_name) == (-1, "pretrained lenet")
        assert screen.query_one("#model-source", Select).value == "pretrained"
        await pilot.press("escape")  # out of the field, still on the screen
        assert app.screen is screen and screen.focused is not field


async def test_failed_model_load_keeps_the_picker_on_the_model_in_use(tmp_path):
    # Issue 8 item 18: after a failed load the picker said "checkpoint file" while the result
    # came from the pretrained lenet.
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        before = screen.probs.copy()
        await open_path(pilot, screen, "ckpt-path", tmp_path / "missing.npz")
        assert "missing.npz" in plain(screen.query_one("#pred-error"), 200)
        assert screen.query_one("#model-source", Select).value == "pretrained"
        assert "by pretrained lenet" in plain(screen.query_one("#pred-probs"), 90)
        np.testing.assert_array_equal(screen.probs, before)
        await pilot.press("m", "m")  # latest (none yet, refused), then checkpoint (missing)
        await answered(pilot)
        assert screen.query_one("#model-source", Select).value == "pretrained"
        assert screen.model_name == "pretrained lenet"


async def test_brackets_in_paths_are_shown_as_typed_and_never_crash(tmp_path):
    # Issue 8 item 2: `m[a=b` raised MarkupError (the app exited); `a[b=c].npz` showed as `a.npz`.
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        await open_path(pilot, screen, "ckpt-path", "m[a=b")
        assert "m[a=b" in plain(screen.query_one("#pred-error"), 200)
        named = tmp_path / "a[b=c].npz"
        await open_path(pilot, screen, "ckpt-path", named)
        assert f"{named}" in plain(screen.query_one("#pred-error"), 300)
        notes = [n.message for n in app._notifications]
        assert any(str(named) in m for m in notes)
        assert all(not n.markup for n in app._notifications)
        bold = tmp_path / "[bold]x[/bold].png"
        await open_path(pilot, screen, "image-path", bold)
        assert "[bold]x[/bold].png" in plain(screen.query_one("#pred-error"), 300)
        assert app.is_running and app.failures == []


async def test_inf_pixels_and_non_regular_files_give_a_message_not_a_crash_or_a_hang(tmp_path):
    # Issue 8 items 3 and 10: an image of inf pixels crashed the app; a FIFO froze it.
    import os

    from PIL import Image

    inf = tmp_path / "inf.tiff"
    pixels = np.ones((28, 28), dtype=np.float32)
    pixels[10:18, 10:18] = np.inf  # a mode-F TIFF: NumPy's zero-size reduction escaped
    Image.fromarray(pixels, mode="F").save(inf)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        before = screen.probs.copy()
        await open_path(pilot, screen, "image-path", inf)
        error = plain(screen.query_one("#pred-error"), 200)
        # The engine now reads such images itself; either way the app names the file or
        # shows a prediction from finite numbers, and never crashes.
        if error.strip():
            assert error.startswith(f"could not open the image: {inf}: ")
        else:
            assert np.all(np.isfinite(screen.probs)) and screen.path == str(inf)
        await open_path(pilot, screen, "image-path", SAMPLES_DIR / "digit_7.png")
        before = screen.probs.copy()
        for field in ("image-path", "ckpt-path"):
            await open_path(pilot, screen, field, fifo)
            error = plain(screen.query_one("#pred-error"), 200)
            what = "an image file" if field == "image-path" else "a checkpoint file"
            assert f"{fifo}: is a named pipe (FIFO), not {what}" in error
        await open_path(pilot, screen, "ckpt-path", tmp_path)
        assert "is a directory" in plain(screen.query_one("#pred-error"), 200)
        np.testing.assert_array_equal(screen.probs, before)
        assert screen.model_name == "pretrained lenet" and app.failures == []
