"""The predict screen: a sample image, held-out digits, bad files, model sources."""

from __future__ import annotations

import numpy as np
from _pilot import plain

from engine.checkpoint import load
from engine.images import image_to_input
from engine.paths import PRETRAINED_LENET, SAMPLES_DIR
from engine.train import predict_proba
from tui.app import CnnTuiApp
from tui.screens.explorer import ExplorerScreen
from tui.screens.predict import PredictScreen
from tui.screens.training import held_out_split

SIZE = (100, 30)


async def open_predict(pilot) -> PredictScreen:
    await pilot.pause()
    await pilot.press("P")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, PredictScreen)
    return screen


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
        screen.query_one("#image-path").value = str(bad)
        await pilot.press("o")
        error = plain(screen.query_one("#pred-error"), 200)
        assert str(bad) in error and ("not an image" in error or "corrupt" in error)
        np.testing.assert_array_equal(screen.probs, before)  # the last prediction stays
        screen.query_one("#image-path").value = str(tmp_path / "missing.png")
        await pilot.press("o")
        assert "file not found" in plain(screen.query_one("#pred-error"), 200)
        # Held-out digits still work: next, previous (wraps to the last one).
        _, held_out = held_out_split()
        model, _, _ = load(PRETRAINED_LENET)
        await pilot.press("n")
        assert screen.digit == 0 and plain(screen.query_one("#pred-error"), 100).strip() == ""
        np.testing.assert_allclose(screen.probs, predict_proba(model, held_out.images[:1])[0],
                                   rtol=1e-5, atol=1e-9)  # fmt: skip
        await pilot.press("p")
        assert screen.digit == 1999
        shown = plain(screen.query_one("#pred-input"), 40)
        assert f"held-out digit 2000/2000, label {held_out.labels[1999]}" in shown


async def test_model_sources_latest_run_and_bad_checkpoint(tmp_path):
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        await pilot.press("m")  # latest training run: none yet
        await pilot.pause()
        assert "no training run yet" in plain(screen.query_one("#pred-error"), 200)
        assert screen.model_name == "pretrained lenet"
        screen.query_one("#ckpt-path").value = str(tmp_path / "nope.npz")
        await pilot.press("m")  # checkpoint file: missing
        await pilot.pause()
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
            screen.query_one("#image-path").value = path
            await pilot.press("o")
            error = plain(screen.query_one("#pred-error"), 200)
            assert path in error and words in error, error
        screen.query_one("#ckpt-path").value = "../model.npz"
        screen.on_input_submitted(type("E", (), {"input": screen.query_one("#ckpt-path")})())
        assert "'..' is not allowed" in plain(screen.query_one("#pred-error"), 200)
        assert int(screen.probs.argmax()) == 7  # what was shown stays
