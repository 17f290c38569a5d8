"""The training screen, driven through the app: runs, pause/resume/stop, refusals, overlays."""

from __future__ import annotations

import asyncio

import numpy as np
from _pilot import plain, press_busy, settle

from engine.checkpoint import load
from engine.train import TrainConfig, evaluate, predict_proba
from engine.train import run as engine_run
from tui.app import CnnTuiApp
from tui.screens.explorer import ExplorerScreen
from tui.screens.training import TrainingScreen, held_out_split
from tui.widgets.hyperparams import HyperParams, parse_config
from tui.widgets.run_curves import RunCurves

SIZE = (100, 30)


async def open_training(pilot) -> TrainingScreen:
    await pilot.pause()
    await pilot.press("T")
    screen = pilot.app.screen
    assert isinstance(screen, TrainingScreen)
    await settle(pilot, lambda: len(screen.query("SelectOverlay")) == 2)  # the form is mounted
    await pilot.pause()
    return screen


async def run_to_end(pilot, screen, **fields) -> None:
    screen.query_one(HyperParams).set(**fields)
    await pilot.pause()
    before = screen.last
    await press_busy(pilot, "r")
    await settle(pilot, lambda: screen.last is not before and screen.state == "idle")


async def test_tiny_run_shows_the_engine_numbers_then_escape_returns():
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        await run_to_end(pilot, screen, optimizer="adam", lr="0.002", steps="4", seed="3")
        # The same config run headless by the engine: the same losses, step by step.
        config = TrainConfig(optimizer="adam", lr=0.002, epochs=1, max_steps=4, seed=3)
        train_set, held_out = held_out_split()
        model, _, steps = engine_run(config, train_set)
        losses = [p.loss for p in steps]
        run = screen.query_one(RunCurves).series[0]
        assert [p[0] for p in run.points] == [1, 2, 3, 4]
        np.testing.assert_allclose([p[1] for p in run.points], losses, rtol=1e-6)
        # Evaluation and confusion equal engine.train.evaluate of the screen's model and ours.
        ours = evaluate(model, held_out)
        shown = evaluate(screen.last.model, held_out)
        np.testing.assert_array_equal(screen.last.evaluation.confusion, shown.confusion)
        np.testing.assert_array_equal(shown.confusion, ours.confusion)
        correct = int(np.trace(ours.confusion))
        assert f"{correct}/2000 correct on 2000 held-out digits" in plain(
            screen.query_one("#confusion"), 60
        )
        status = plain(screen.query_one("#train-status"), 100)
        assert f"accuracy {100 * ours.accuracy:.2f}% on 2000 held-out digits" in status
        bar = screen.query_one("#train-progress")
        assert (bar.progress, bar.total) == (4, 4)
        # Mistakes: the first misclassified held-out digit with its labels.
        wrong = np.flatnonzero(held_out.labels != screen.last.predicted)
        assert len(wrong) == 2000 - correct
        card = plain(screen.query_one("#mistakes"), 60)
        i = wrong[0]
        assert f"true {held_out.labels[i]} → predicted {screen.last.predicted[i]}" in card
        await pilot.press("right_square_bracket")
        i = wrong[1]
        assert f"2/{len(wrong)} wrong" in plain(screen.query_one("#mistakes"), 60)
        # The latest model is offered to the predict screen.
        assert app.lab_latest[0] is screen.last.model
        await pilot.press("escape")
        assert isinstance(app.screen, ExplorerScreen)
        await pilot.press("P", "n", "m")  # held-out digit 1 with the latest run's model
        await pilot.pause()
        predict = app.screen
        assert predict.model is screen.last.model and predict.digit == 0
        expected = predict_proba(screen.last.model, held_out.images[:1])[0]
        np.testing.assert_allclose(predict.probs, expected, rtol=1e-5, atol=1e-9)


async def test_second_run_is_overlaid_in_its_own_series_and_checkpoint_saves(tmp_path):
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_training(pilot)
        await run_to_end(pilot, screen, optimizer="sgd", lr="0.1", steps="3")
        await run_to_end(pilot, screen, optimizer="adam", lr="0.002", steps="3")
        series = screen.query_one(RunCurves).series
        assert len(series) == 2 and series[0].label.startswith("#1 sgd")
        assert series[1].label.startswith("#2 adam")
        assert series[0].points != series[1].points  # same seed, other optimizer
        plot = plain(screen.query_one("#loss-plot"), 60)
        assert "#1 sgd" in plot and "#2 adam" in plot  # the legend names both
        # Save: a bad path is refused with a message, a good one round-trips the weights.
        bad = tmp_path / "no-such-dir" / "m.npz"
        screen.query_one("#save-path").value = str(bad)
        await pilot.press("w")
        await settle(pilot, lambda: not screen.saving)
        assert "could not save" in plain(screen.query_one("#train-error"), 100)
        assert not bad.exists()
        good = tmp_path / "m.npz"
        screen.query_one("#save-path").value = str(good)
        await pilot.press("w")
        await settle(pilot, lambda: not screen.saving)
        model, shape, meta = load(good)
        assert shape == (1, 28, 28) and "2000 held-out digits" in meta["summary"]
        for a, b in zip(model.parameters(), screen.last.model.parameters(), strict=True):
            np.testing.assert_array_equal(a.value, b.value)


async def test_pause_resume_and_stop():
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        screen.query_one(HyperParams).set(optimizer="adam", lr="0.002", steps="2000")
        await press_busy(pilot, "r")
        await settle(pilot, lambda: screen.live is not None)  # a loaded machine is slow
        series = screen.live
        await settle(pilot, lambda: len(series.points) >= 3)
        await press_busy(pilot, "space")
        await settle(pilot, lambda: screen.state == "paused")  # a loaded machine is slow
        assert not screen._run.go.is_set()
        # The run thread finishes its step in flight, posts every step so far, then parks: the
        # plot then shows exactly the steps made (no sleep guessing how long a step takes).
        await settle(pilot, screen._run.parked.is_set)
        made = screen._run.parked_at
        await settle(pilot, lambda: len(series.points) == made)
        assert [p[0] for p in series.points] == list(range(1, made + 1))
        await asyncio.sleep(0.6)
        assert len(series.points) == made and screen._run.parked.is_set()  # nothing moves
        assert "paused" in plain(screen.query_one("#train-status"), 120)
        await press_busy(pilot, "space")
        await settle(pilot, lambda: screen.state == "running")
        await settle(pilot, lambda: len(series.points) > made + 2)
        await press_busy(pilot, "x")
        await settle(pilot, lambda: screen.last is not None and screen.state == "idle")
        assert screen.last.stopped and screen.last.steps < 2000
        assert "stopped after" in plain(screen.query_one("#train-status"), 120)


async def test_bad_values_are_refused_with_a_message():
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        screen.query_one(HyperParams).set(lr="-1", batch="zero", dropout="1.5")
        await pilot.press("r")
        error = plain(screen.query_one("#train-error"), 200)
        assert "lr must be in (0, 10), got -1" in error
        assert "batch size must be a whole number, got 'zero'" in error
        assert "dropout must be in [0, 1), got 1.5" in error
        assert screen.state == "idle" and screen.runs == []
    ok, errors = parse_config(
        dict(
            preset="resnet",
            optimizer="momentum",
            lr="0.01",
            batch="8",
            epochs="2",
            wd="1e-4",
            dropout="0.25",
            seed="7",
            steps="",
        )
    )
    assert errors == [] and ok.weight_decay == 1e-4 and ok.dropout == 0.25 and ok.max_steps is None


async def test_palette_lists_every_key_of_the_screen():
    from tui.app import ActionsProvider

    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        names = [name for name, _, _ in ActionsProvider(screen).commands()]
        assert names == [b.description for b in TrainingScreen.BINDINGS]
        assert {"run", "pause/resume", "stop", "save", "explorer"} <= set(names)


async def test_divergence_shows_the_engine_message_and_keeps_good_weights():
    app = CnnTuiApp(start="explore", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        await run_to_end(pilot, screen, optimizer="sgd", lr="9", steps="30")
        error = plain(screen.query_one("#train-error"), 300)
        assert "training diverged at step" in error and "last good weights are kept" in error
        assert all(np.isfinite(p.value).all() for p in screen.last.model.parameters())
        _, held_out = held_out_split()
        ev = evaluate(screen.last.model, held_out)
        np.testing.assert_array_equal(ev.confusion, screen.last.evaluation.confusion)
        assert "diverged after" in plain(screen.query_one("#train-status"), 120)


async def test_a_served_session_saves_into_its_directory_and_hands_the_file_to_the_browser(
    tmp_path, monkeypatch
):
    from tui import sandbox

    monkeypatch.setattr(sandbox, "_current", sandbox.Sandbox(tmp_path))
    app = CnnTuiApp(warm_up=False)
    delivered = []
    monkeypatch.setattr(app, "deliver_binary", lambda path, **kw: delivered.append(path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        await run_to_end(pilot, screen, optimizer="sgd", lr="0.1", steps="3")
        for refused in ("../m.npz", str(tmp_path.parent / "m.npz")):
            screen.query_one("#save-path").value = refused
            await pilot.press("w")
            await settle(pilot, lambda: not screen.saving)
            assert "session directory" in plain(screen.query_one("#train-error"), 200)
        assert not (tmp_path.parent / "m.npz").exists() and delivered == []
        screen.query_one("#save-path").value = "m.npz"
        await pilot.press("w")
        await settle(pilot, lambda: not screen.saving)
        assert delivered == [tmp_path.resolve() / "m.npz"]
        assert load(tmp_path / "m.npz")[1] == (1, 28, 28)


async def test_clear_runs_then_save_keeps_the_app_and_names_the_run(tmp_path):
    # Issue 8 item 1: `c` emptied the runs list and `w` then raised IndexError at runs[-1].
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        await run_to_end(pilot, screen, optimizer="sgd", lr="0.1", steps="2", seed="4")
        label = screen.query_one(RunCurves).series[0].label
        await pilot.press("c")
        assert screen.query_one(RunCurves).series == []
        path = tmp_path / "after-clear.npz"
        screen.query_one("#save-path").value = str(path)
        await pilot.press("w")
        await settle(pilot, lambda: path.exists() and not screen.saving)
        _, _, meta = load(path)
        assert meta["label"] == label and label.startswith("#1 sgd lr=0.1 s4")
        assert app.failures == [] and app.is_running


async def test_at_80x24_the_confusion_matrix_comes_into_view_and_q_quit_is_in_the_footer():
    # Issue 8 item 22: at 80x24 the confusion matrix was below the fold; no `q quit` shown.
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_training(pilot)
        await run_to_end(pilot, screen, optimizer="sgd", lr="0.1", steps="2")
        await pilot.pause()
        body, confusion = screen.query_one("#train-body"), screen.query_one("#confusion")
        await settle(pilot, lambda: body.region.contains_region(confusion.region))
        assert "correct on 2000 held-out digits" in plain(confusion, 60)
        keys = {k.key: k.description for k in screen.query("FooterKey")}
        assert keys.get("q") == "quit"
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running and app.failures == []


async def test_save_runs_off_the_interface_thread_and_names_the_path_literally(
    tmp_path, monkeypatch
):
    # `w` wrote the checkpoint on the interface thread: a slow disk froze the whole screen.
    import threading

    import engine.checkpoint

    real_save, release, seen = engine.checkpoint.save, threading.Event(), []

    def slow_save(path, *args):
        seen.append(threading.current_thread())
        release.wait(10)  # a slow disk; on the interface thread this would block the test too
        return real_save(path, *args)

    monkeypatch.setattr(engine.checkpoint, "save", slow_save)
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        await run_to_end(pilot, screen, optimizer="sgd", lr="0.1", steps="2")
        path = tmp_path / "[bold]slow[b=c].npz"  # markup in a path is shown as typed
        screen.query_one("#save-path").value = str(path)
        await pilot.press("w")
        await settle(pilot, lambda: len(seen) == 1)
        assert seen[0] is not threading.main_thread()
        assert screen.saving == str(path) and not path.exists()
        shown = [n.message for n in app._notifications]
        assert f"saving to {path} …" in shown
        await pilot.press("w")  # a second save while the first is writing is refused
        assert "still saving to" in plain(screen.query_one("#train-error"), 200)
        await pilot.press("right_square_bracket")  # the screen answers keys meanwhile
        assert "2/" in plain(screen.query_one("#mistakes"), 60)
        release.set()
        await settle(pilot, lambda: not screen.saving)
        assert load(path)[1] == (1, 28, 28) and len(seen) == 1
        assert f"saved {path}" in [n.message for n in app._notifications]
        # A refusal names the typed path literally under the form.
        bad = tmp_path / "no[red]dir" / "m.npz"
        screen.query_one("#save-path").value = str(bad)
        await pilot.press("w")
        await settle(pilot, lambda: not screen.saving)
        assert f"could not save to {bad}" in plain(screen.query_one("#train-error"), 300)
        assert app.failures == [] and not bad.exists()
