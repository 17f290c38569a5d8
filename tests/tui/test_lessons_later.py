"""Lessons 7-12: each lesson's key numbers on screen against the engine, at 80x24 and 120x40."""

from __future__ import annotations

import asyncio
import copy

import numpy as np
import pytest
from _pilot import plain

from tui.app import CnnTuiApp
from tui.progress import Progress

SIZES = [(80, 24), (120, 40)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


def learn_app(tmp_path, number: int) -> CnnTuiApp:
    """Lesson `number` with its own progress file and no background compile."""
    return CnnTuiApp(start="learn", lesson=number, warm_up=False,
                     progress=Progress(tmp_path / "progress.json"))  # fmt: skip


async def until(pilot, check, timeout: float = 120.0) -> None:
    """Let the app run until check() is true."""
    for _ in range(int(timeout / 0.05)):
        if check():
            await pilot.pause()
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition never became true")


def question_line(screen) -> str:
    return plain(screen.query_one("#lesson-question"), 200)


async def answer(pilot, text: str) -> str:
    """Type an answer to the page's question; returns the verdict line."""
    await pilot.press("a", *text, "enter")
    await pilot.pause()
    return question_line(pilot.app.screen)


def body(view, width: int) -> str:
    """The view's text: its own render, or its first Static."""
    from textual.widgets import Static

    statics = list(view.query(Static))
    return plain(statics[0], width) if statics else plain(view, width)


# ---- lesson 7: backpropagation -----------------------------------------------------------
@size_ids
async def test_lesson7_steps_back_with_the_chain_rule_and_checks_a_weight(tmp_path, size):
    from engine.losses import CrossEntropyLoss

    app = learn_app(tmp_path, 7)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        view = screen.view
        await until(pilot, lambda: view.stepper is not None)
        s = view.stepper
        assert view.reached is None and "b steps the gradient back" in plain(view, size[0])
        for k in range(8):
            await pilot.press("b")
            await pilot.pause()
            assert view.reached == 7 - k
            assert "dL/dx = dL/dy · dy/dx" in plain(view, size[0])
        assert "reached layer 0 (Conv2d)" in screen._text
        await pilot.press("u")
        await pilot.pause()
        assert view.reached == 1
        # page 2: ReLU's backward is dL/dy where x > 0, else 0: by hand from the trace
        screen.show_page(1)
        await pilot.pause()
        r = view.state()["relu"]
        c, i, j = r["index"]
        x, g = s.activations[4][0, c, i, j], s.grads[5][0, c, i, j]
        assert r["grad_x"] == (g if x > 0 else 0.0) == s.grads[4][0, c, i, j]
        assert "?" in plain(view, size[0])
        verdict = await answer(pilot, repr(float(g if x > 0 else 0.0)))
        assert verdict.startswith("✓")
        # page 3: one weight's gradient, its number of terms and a finite difference
        screen.show_page(2)
        await until(pilot, lambda: view.check is not None)
        check = view.check
        assert check["terms"] == 4 * 28 * 28  # batch of 4, every output position of 28x28
        assert check["analytic"] == s.layers[0].weight.grad[0, 0, 1, 1]
        # an independent central difference in float64, written out here
        m = copy.deepcopy(s.model).to(np.float64)
        xb = s.activations[0].astype(np.float64)
        w = m.layers[0].weight.value
        w[0, 0, 1, 1] += 1e-6
        up = CrossEntropyLoss().forward(m.forward(xb), s.targets)
        w[0, 0, 1, 1] -= 2e-6
        down = CrossEntropyLoss().forward(m.forward(xb), s.targets)
        numeric = (up - down) / 2e-6
        assert check["numeric"] == pytest.approx(numeric, rel=1e-6)
        assert check["analytic"] == pytest.approx(numeric, rel=1e-3)
        shown = plain(view, size[0])
        assert "(? terms" in shown and "finite difference" in shown
        assert (await answer(pilot, "3136")).startswith("✓ 3136")
        assert app.progress.count(7) == 2


# ---- lesson 8: optimizers ----------------------------------------------------------------
@size_ids
async def test_lesson8_paths_and_updates_are_the_engines(tmp_path, size, monkeypatch):
    import tui.lessons.lesson08_optimizers as l8
    from engine.landscape import SGD_LR, descend

    monkeypatch.setattr(l8, "DIGIT_STEPS", 3)
    app = learn_app(tmp_path, 8)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        view = screen.view
        await pilot.pause()
        state = view.state()
        assert state["t"] == 40
        ends = {n: descend(n, steps=40).losses[-1] for n in ("sgd", "momentum", "adam")}
        assert state["losses"] == pytest.approx(ends, rel=0, abs=0)
        assert ends["momentum"] < ends["sgd"] / 3 and ends["adam"] < ends["sgd"] / 3
        text = body(view, size[0])
        assert "S SGD" in text and "M momentum" in text and "A Adam" in text
        assert (await answer(pilot, "2")).startswith("✓ momentum")  # lowest at step 40
        screen.show_page(1)
        await pilot.press("home", "right", "right")  # step 3
        await pilot.pause()
        u = view.state()["momentum"]
        # PyTorch's momentum by hand: v = 0.9 v + g, w -= lr v (v starts at the first g)
        path = descend("momentum", steps=3)
        g = [path.points[k] * np.array([1.0, 50.0]) for k in range(3)]
        v = g[0]
        v = 0.9 * v + g[1]
        v = 0.9 * v + g[2]
        assert u["buf"] == pytest.approx(v[0], rel=1e-12)
        assert u["after"] == pytest.approx(path.points[2][0] - SGD_LR * v[0], rel=1e-12)
        a = view.state()["adam"]
        assert a["m_hat"] == pytest.approx(a["m"] / (1 - 0.9**3)) and a["step"] == 3
        assert "w = " in body(view, size[0]) and "?" in body(view, size[0])
        assert (await answer(pilot, f"{u['after']:.4f}")).startswith("✓")
        screen.show_page(2)
        await until(pilot, lambda: view.status.startswith("done"))
        assert {n: len(v) for n, v in view.losses.items()} == {"sgd": 3, "momentum": 3, "adam": 3}
        firsts = {v[0] for v in view.losses.values()}
        assert len(firsts) == 1  # the same start and the same first batch


# ---- lesson 9: regularization ------------------------------------------------------------
@size_ids
async def test_lesson9_gaps_are_measured_by_the_engine(tmp_path, size, monkeypatch):
    import tui.lessons.lesson09_regularization as l9
    from engine.train import evaluate

    monkeypatch.setattr(l9, "EPOCHS", 2)
    monkeypatch.setattr(l9, "EXAMPLES", 64)
    app = learn_app(tmp_path, 9)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        view = screen.view
        await until(pilot, lambda: view.result is not None)
        runs = view.result["runs"]
        from engine.data import mnist_split

        train, held = mnist_split()
        few, held = train.subset(slice(0, 64)), held.subset(slice(0, l9.HELD_OUT))
        for run in runs.values():
            assert run.epochs == [1, 2]
            gap = evaluate(run.model, held).loss - evaluate(run.model, few).loss
            assert run.gap == pytest.approx(gap, rel=1e-9)
        assert l9.fmt(runs["plain"].gap) in screen._text
        screen.show_page(1)
        await pilot.pause()
        mask = view.result["mask"]
        assert set(np.unique(mask)) == {0.0, 2.0}  # inverted dropout: kept units × 1/(1 − 0.5)
        assert "dropped" in body(view, size[0]) and any(c in body(view, size[0]) for c in "▀▄")
        assert (await answer(pilot, "2")).startswith("✓ 2")
        screen.show_page(2)
        await pilot.pause()
        name, index, rec = view.result["update"]
        w, g = rec["value_before"][index], rec["grad"][index]
        assert rec["value_after"][index] == pytest.approx(w - l9.LR * (g + l9.DECAY * w), rel=1e-5)
        assert "g + λw" in body(view, size[0])
        best = min(runs, key=lambda n: runs[n].gap)
        choice = list(l9.LABEL).index(best) + 1
        assert (await answer(pilot, str(choice))).startswith("✓")


# ---- lesson 10: residual networks --------------------------------------------------------
@size_ids
async def test_lesson10_plain_first_layer_gradient_is_far_below_the_residual_one(
    tmp_path, size, monkeypatch
):
    import tui.lessons.lesson10_residual as l10

    monkeypatch.setattr(l10, "TRAIN_STEPS", 2)
    app = learn_app(tmp_path, 10)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        view = screen.view
        await until(pilot, lambda: view.data is not None)
        plain_flow, res_flow = view.data["plain"]["flow"], view.data["residual"]["flow"]
        w_plain = float(np.linalg.norm(view.data["plain"]["model"].layers[0].weight.grad))
        w_res = float(np.linalg.norm(view.data["residual"]["model"].layers[0].weight.grad))
        assert plain_flow[0].grad_weight_norm == pytest.approx(w_plain)
        assert res_flow[0].grad_weight_norm == pytest.approx(w_res)
        assert w_plain < 1e-3 * w_res  # far below
        assert view.data["ratio"] == pytest.approx(w_plain / w_res)
        assert plain_flow[0].status == "vanishing" and res_flow[0].status == "ok"
        assert "plain / residual = ?" in body(view, size[0])
        assert (await answer(pilot, "1")).startswith("✓ near the input")
        screen.show_page(1)
        await pilot.pause()
        b = view.block
        g = view.data["residual"]["grads"][l10.BLOCK + 1][b["index"]]
        assert b["g"] == g and b["x"] > 0
        assert b["y"] == pytest.approx(b["fx"] + b["x"], abs=1e-6)  # y = F(x) + x
        assert b["grad_x"] == pytest.approx(b["via_f"] + b["g"], abs=1e-7)  # the skip adds dL/dy
        assert (await answer(pilot, repr(b["via_f"] + b["g"]))).startswith("✓")
        screen.show_page(2)
        await pilot.press("r")
        await until(pilot, lambda: view.status.startswith("done"))
        assert [len(v) for v in view.losses.values()] == [2, 2]


# ---- lesson 11: transfer learning --------------------------------------------------------
@size_ids
async def test_lesson11_head_and_both_runs(tmp_path, size, monkeypatch):
    import tui.lessons.lesson11_transfer as l11

    monkeypatch.setattr(l11, "STEPS", 2)
    monkeypatch.setattr(l11, "EXAMPLES", 16)
    app = learn_app(tmp_path, 11)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        view = screen.view
        await until(pilot, lambda: view.table is not None)
        assert view.state()["head"] == 784 * 10 + 10
        assert "fine-tuning trains ?" in body(view, size[0])
        assert (await answer(pilot, "7850")).startswith("✓ 7850")
        screen.show_page(1)
        await until(pilot, lambda: view.result is not None)
        r = view.result
        assert len(r.fine_tuned.losses) == 2 == len(r.scratch.losses)
        assert r.fine_tuned.trainable == 7850 and r.scratch.trainable == view.state()["total"]
        assert f"{100 * r.fine_tuned.final.accuracy:.1f}%" in screen._text


# ---- lesson 12: your own digit -----------------------------------------------------------
@size_ids
async def test_lesson12_drawing_updates_the_prediction(tmp_path, size):
    from engine.train import predict_proba
    from tui.lessons.lesson12_your_digit import network_input
    from tui.widgets.canvas import DigitCanvas

    app = learn_app(tmp_path, 12)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        view = screen.view
        await until(pilot, lambda: view.result is not None)
        canvas = view.query_one(DigitCanvas)
        assert app.focused is canvas

        def engine_probs():
            return predict_proba(view.model, network_input(canvas.pixels))[0]

        np.testing.assert_allclose(view.result["probs"], engine_probs(), rtol=1e-6)
        digit = str(int(np.argmax(engine_probs())))
        assert (await answer(pilot, digit)).startswith(f"✓ {digit}")
        await pilot.press("c")
        await pilot.pause()
        assert not canvas.pixels.any() and view.result["blank"]
        # a vertical stroke with the keyboard: pen down, eight pixels down, pen up
        await pilot.press("space", *["down"] * 8, "space")
        await pilot.pause()
        assert canvas.pixels[14:24, 14:16].min() == 1.0 and canvas.pixels[:, :12].max() == 0
        np.testing.assert_allclose(view.result["probs"], engine_probs(), rtol=1e-6)
        # the mouse: a press paints at its cell (two pixel rows per cell)
        await pilot.click(DigitCanvas, offset=(4, 3))  # border 1: content cell (3, 2)
        await pilot.pause()
        assert canvas.pixels[4:6, 3:5].min() == 1.0
        np.testing.assert_allclose(view.result["probs"], engine_probs(), rtol=1e-6)


async def test_lesson12_opens_only_regular_image_files(tmp_path):
    import os

    from engine.paths import SAMPLES_DIR
    from tui.widgets.canvas import DigitCanvas

    app = learn_app(tmp_path, 12)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.screen.view
        await until(pilot, lambda: view.result is not None)
        app.screen.show_page(2)
        fifo = tmp_path / "[bold]pipe"
        os.mkfifo(fifo)
        await pilot.press("o", *str(fifo), "enter")
        await pilot.pause()
        note = plain(view.query_one("#draw-note"), 200)
        assert f"{fifo}: not a regular file" in note  # markup in the name shown as typed
        await pilot.press("o", *str(tmp_path), "enter")
        await pilot.pause()
        assert "not a regular file" in plain(view.query_one("#draw-note"), 200)
        await pilot.press("o", *str(SAMPLES_DIR / "digit_7.png"), "enter")
        await pilot.pause()
        assert view.query_one(DigitCanvas).pixels.any()
        assert view.state()["digit"] == "7"


# ---- without colour ------------------------------------------------------------------------
@pytest.mark.parametrize("number", [8, 10, 12])
async def test_lessons_draw_without_colour(tmp_path, monkeypatch, number):
    monkeypatch.setenv("NO_COLOR", "1")
    app = learn_app(tmp_path, number)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.screen.view
        ready = {8: lambda: True, 10: lambda: view.data is not None,
                 12: lambda: view.result is not None}[number]  # fmt: skip
        await until(pilot, ready)
        text = body(view, 80) if number != 12 else plain(view.query_one("DigitCanvas"), 40)
        marks = {8: ("S", "M", "A", "✕"), 10: ("█", "↓", "vanish"), 12: ("█",)}[number]
        if number == 10:
            from tui.widgets.gradflow import flow_table

            text = plain_text(flow_table(view.data["plain"]["flow"], 80, color=False))
        for mark in marks:
            assert mark in text, (mark, text)


def plain_text(text) -> str:
    return text.plain


def test_lesson12_served_session_reads_only_its_own_directory(tmp_path, monkeypatch):
    import shutil

    from engine.paths import SAMPLES_DIR
    from tui import sandbox
    from tui.lessons.lesson12_your_digit import read_image

    box = tmp_path / "session"
    box.mkdir()
    shutil.copy(SAMPLES_DIR / "digit_7.png", box / "seven.png")
    monkeypatch.setattr(sandbox, "_current", sandbox.Sandbox(box))
    assert read_image("seven.png").shape == (28, 28)
    with pytest.raises(ValueError, match="outside the session directory"):
        read_image(str(SAMPLES_DIR / "digit_7.png"))
    with pytest.raises(ValueError, match="'..' is not allowed"):
        read_image("../session/seven.png")
