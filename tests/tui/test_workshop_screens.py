"""Export (s) and zoom (Z) on predict, transfer and the lessons: files read back against the
engine, the zoomed equation's total against the engine's forward pass, answers kept hidden."""

from __future__ import annotations

import csv

import numpy as np
from _pilot import plain, press_busy, settle
from test_export_screen import open_dialog, pick, result
from test_predict_screen import open_predict

from engine.checkpoint import load
from engine.images import image_to_input
from engine.paths import PRETRAINED_LENET, SAMPLES_DIR
from engine.train import predict_proba
from tui.app import CnnTuiApp
from tui.progress import Progress
from tui.screens.zoom import ZoomScreen

SIZE = (100, 30)


async def zoom(pilot) -> ZoomScreen:
    await pilot.press("Z")
    await settle(pilot, lambda: isinstance(pilot.app.screen, ZoomScreen))
    await pilot.pause()
    return pilot.app.screen


def title(screen: ZoomScreen) -> str:
    return plain(screen.query_one("#zoom-title"), 200)


async def test_predict_exports_its_probabilities_and_zooms_into_a_logit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        model, shape, _ = load(PRETRAINED_LENET)
        x = image_to_input(SAMPLES_DIR / "digit_7.png", shape)
        expected = predict_proba(model, x)[0]  # (10,), the engine's own forward
        await open_dialog(pilot)
        await pick(pilot, "predict softmax probabilities (10) as .npy")
        back = np.load(tmp_path / "predict-softmax-probabilities.npy")
        np.testing.assert_allclose(back, expected, rtol=1e-5, atol=1e-9)
        await pick(pilot, "predict layer 0 Conv2d 8x28x28 (8×28×28) as .csv")
        rows = list(csv.reader((tmp_path / "predict-layer-0-conv2d-8x28x28.csv").open()))
        assert len(rows) == 1 + 8 * 28 and rows[0][:3] == ["channel", "row", "col0"]
        await pilot.press("escape")

        z = await zoom(pilot)
        assert "softmax probabilities · class 7" in title(z)  # the prediction first
        logits = model.forward(x)[0]  # (10,)
        ex = z.source.zoom_view().explanation  # the Linear head's sum for logit 7
        assert abs(ex.total - float(logits[7])) < 1e-3 * max(1.0, abs(float(logits[7])))
        await pilot.press("right")
        await settle(pilot, lambda: "class 8" in title(z))
        assert abs(z.source.zoom_view().explanation.total - float(logits[8])) < 1e-2
        await pilot.press("Z")
        assert app.screen is screen


async def test_transfer_exports_its_curves_and_zooms_into_the_final_numbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("L")
        screen = app.screen
        z = await zoom(pilot)  # nothing run yet: it says what to do
        assert "r runs both" in plain(z.query_one("#zoom-grid"), 200)
        await pilot.press("escape")
        screen.query_one("#tl-steps").value = "3"
        screen.query_one("#tl-examples").value = "30"
        await press_busy(pilot, "r")
        await settle(pilot, lambda: screen.result is not None)
        await open_dialog(pilot)
        await pick(pilot, "transfer losses")
        with (tmp_path / "transfer-losses.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        r = screen.result
        assert [float(row["fine-tuned loss"]) for row in rows] == r.fine_tuned.losses
        assert [float(row["scratch loss"]) for row in rows] == r.scratch.losses
        k = len(r.fine_tuned.final.confusion)
        await pick(pilot, f"transfer fine-tuned confusion ({k}×{k}) as .npy")
        confusion = np.load(tmp_path / "transfer-fine-tuned-confusion.npy")
        assert np.array_equal(confusion, r.fine_tuned.final.confusion)
        assert confusion.sum() == r.fine_tuned.final.count
        await pilot.press("escape")
        z = await zoom(pilot)
        plane = z.source.zoom_view().plane
        assert plane[0, 1] == 100 * r.fine_tuned.final.accuracy
        assert plane[1, 0] == r.scratch.final.loss


def learn(tmp_path, number: int, answered: int = 0) -> CnnTuiApp:
    progress = Progress(tmp_path / "progress.json")
    for question in range(answered):  # answered before: the view shows its answers
        progress.mark(number, question)
    return CnnTuiApp(start="learn", lesson=number, warm_up=False, progress=progress)


async def test_lesson_one_zoom_hides_the_open_answer_then_shows_the_six(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = learn(tmp_path, 1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lesson = app.screen
        view = lesson.view
        assert view.concealed  # page 1 asks for (I*K)(0,0)
        z = await zoom(pilot)
        assert "input I · the window at (0,0)" in title(z)
        assert "= ?" in plain(z.query_one("#zoom-lhs"), 200)
        assert "6" not in plain(z.query_one("#zoom-eq"), 200)
        await pilot.press("escape")
        await open_dialog(pilot)
        assert "output" not in result(app) + str(
            [o.prompt for o in app.screen.query_one("#export-list")._options]
        )
        await pilot.press("escape")

        lesson.show_page(1)  # a page without a question: the output is there to see
        await pilot.pause()
        z = await zoom(pilot)
        assert "output I*K · [0,0] = 6" in title(z)  # the article's sum, corrected (it prints 10)
        assert z.source.zoom_view().explanation.total == 6
        await pilot.press("right")
        await settle(pilot, lambda: view.pos == (0, 1))
        await pilot.press("escape")
        await open_dialog(pilot)
        await pick(pilot, "lesson 1 output I*K (3×3) as .npy")
        out = np.load(tmp_path / "lesson-1-output-i-k.npy")
        assert np.array_equal(out, view.out) and out[0, 0] == 6


async def test_lesson_three_zoom_sums_eight_channels_to_the_engines_output(tmp_path):
    app = learn(tmp_path, 3, answered=2)
    async with app.run_test(size=(100, 30)) as pilot:
        lesson = app.screen
        await settle(pilot, lambda: lesson.view is not None and lesson.view.result is not None)
        view = lesson.view
        assert not view.concealed
        await pilot.press("right", "down")
        await settle(pilot, lambda: view.result["pos"] == (7, 7))
        z = await zoom(pilot)
        shown = z.source.zoom_view()
        i, j = view.pos
        assert shown.plane[i, j] == view.result["engine_value"]  # conv2's forward, the engine
        assert abs(shown.explanation.total - view.result["engine_value"]) < 1e-4
        assert f"[{i},{j}]" in title(z)


def answered_all(tmp_path, number: int) -> CnnTuiApp:
    from tui import lessons

    return learn(tmp_path, number, answered=len(lessons.load(number).questions))


async def test_lesson_four_exports_and_zooms_the_pool_its_windows_make(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = answered_all(tmp_path, 4)
    async with app.run_test(size=(100, 30)) as pilot:
        lesson = app.screen
        await settle(pilot, lambda: lesson.view is not None and lesson.view.result is not None)
        view = lesson.view
        z = await zoom(pilot)
        await pilot.press("right")  # the window one to the right
        await settle(pilot, lambda: view.pos == (0, 1))
        shown = z.source.zoom_view()
        patch = view.result["patch"]  # (4, 4) of a real feature map
        n = patch.shape[0] // 2  # MaxPool2d(2)
        by_hand = np.array([[patch[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max() for j in range(n)]
                            for i in range(n)])  # fmt: skip
        assert view.kind == "max" and np.array_equal(shown.plane, by_hand)
        assert shown.cursor == (0, 1) and "[0,1]" in title(z)
        await pilot.press("escape")
        await open_dialog(pilot)
        await pick(pilot, f"lesson 4 max pool output ({n}×{n}) as .npy")
        assert np.array_equal(np.load(tmp_path / "lesson-4-max-pool-output.npy"), by_hand)


async def test_lesson_six_mse_gradient_and_lesson_eight_losses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = answered_all(tmp_path, 6)
    async with app.run_test(size=(100, 30)) as pilot:
        lesson = app.screen
        await settle(pilot, lambda: lesson.view is not None)
        mse = len(lesson.lesson.pages) - 1  # the MSE page is the last
        lesson.show_page(mse)
        await settle(pilot, lambda: lesson.view.result is not None)
        view = lesson.view
        z = await zoom(pilot)
        r = view.result
        by_hand = 2 * (r["pred"].astype(np.float64) - r["target"]) / r["pred"].size
        np.testing.assert_allclose(z.source.zoom_view().plane, by_hand, rtol=1e-6)
        await pilot.press("escape")

        lesson.action_lesson(8)  # the optimizers: their runs' losses export as curves
        await settle(pilot, lambda: getattr(app.screen, "number", 0) == 8)
        await settle(pilot, lambda: app.screen.view is not None)
        view8 = app.screen.view
        view8.losses = {name: [2.0 - k / 4 for k in range(3)] for name in view8.losses}
        await open_dialog(pilot)
        await pick(pilot, "lesson 8 losses (3 points) as .csv")
        with (tmp_path / "lesson-8-losses.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [int(row["step"]) for row in rows] == [1, 2, 3]
        for name in view8.losses:
            assert [float(row[f"{name} loss"]) for row in rows] == [2.0, 1.75, 1.5]
