"""Bad input typed into the app's text fields: a clear message naming the problem, the state
unchanged, the app running, the text shown as typed. One app per screen, many cases each."""

from __future__ import annotations

import os

import numpy as np
from _pilot import plain, settle
from test_predict_screen import answered, open_path, open_predict
from test_training_screen import open_training

from tui.app import CnnTuiApp
from tui.widgets.hyperparams import HyperParams

SIZE = (100, 30)
LONG = "x" * 5000


async def test_predict_paths(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    named = tmp_path / "a[b=c].png"
    named.write_bytes(b"not an image at all")
    # (field, typed text, what the message must contain)
    cases = [
        ("image-path", "m[a=b", "m[a=b"),
        ("image-path", str(named), str(named)),
        ("image-path", "[bold]x[/bold].png", "[bold]x[/bold].png"),
        ("image-path", str(fifo), "named pipe (FIFO), not a"),
        ("image-path", str(tmp_path), "directory"),
        ("image-path", "/dev/null", "device"),
        ("image-path", "", "type an image path first"),
        ("image-path", "   ", "type an image path first"),
        ("image-path", "ünïcødé-ψ.png", "ünïcødé-ψ.png"),
        ("image-path", LONG, "x" * 50),
        ("image-path", "a\x00b", "NUL"),
        ("ckpt-path", "m[a=b", "m[a=b"),
        ("ckpt-path", str(fifo), "named pipe (FIFO), not a"),
        ("ckpt-path", str(tmp_path), "directory"),
        ("ckpt-path", "/dev/zero", "device"),
        ("ckpt-path", "", "type a checkpoint path"),
        ("ckpt-path", str(named), str(named)),
        ("ckpt-path", LONG, "x" * 50),
    ]
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        before = (screen.probs.copy(), screen.model, screen.model_name, screen.digit)
        for field, text, expected in cases:
            await open_path(pilot, screen, field, text)
            error = plain(screen.query_one("#pred-error"), 6000)
            assert expected in error, (field, text[:40], error[:300])
            np.testing.assert_array_equal(screen.probs, before[0])
            assert (screen.model, screen.model_name, screen.digit) == before[1:]
            assert screen.query_one("#model-source").value == "pretrained"
        assert app.is_running and app.failures == []


async def test_training_form_values():
    cases = [
        ({"lr": "nan"}, "lr must be in (0, 10), got nan"),
        ({"lr": "inf"}, "lr must be in (0, 10), got inf"),
        ({"lr": "-1"}, "lr must be in (0, 10)"),
        ({"lr": "1e400"}, "lr must be in (0, 10)"),
        ({"lr": ""}, "lr must be a number, got ''"),
        ({"lr": "[b]0.1"}, "lr must be a number, got '[b]0.1'"),
        ({"batch": "0"}, "batch size must be between 1 and 8000, got 0"),
        ({"batch": "9" * 40}, "batch size must be between 1 and 8000"),
        ({"batch": "3 2"}, "batch size must be a whole number, got '3 2'"),
        ({"epochs": "1.5"}, "epochs must be a whole number, got '1.5'"),
        ({"wd": "1"}, "L2 weight decay must be in [0, 1), got 1"),
        ({"dropout": "nan"}, "dropout must be in [0, 1), got nan"),
        ({"seed": "-5"}, "seed must be between 0 and 2147483647, got -5"),
        ({"seed": LONG}, "seed must be a whole number"),
        ({"steps": "0"}, "max steps must be between 1 and 10000000, got 0"),
    ]
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_training(pilot)
        form = screen.query_one(HyperParams)
        defaults = form.values()
        for fields, expected in cases:
            form.set(**{**{k: v for k, v in defaults.items() if k not in ("preset", "optimizer")},
                        **fields})  # fmt: skip
            await pilot.pause()
            await pilot.press("r")
            await pilot.pause()
            shown = plain(screen.query_one("#train-error"), 6000)
            assert expected in shown, (fields, shown[:300])
            assert screen.state == "idle" and screen.runs == [] and screen.last is None
        await pilot.press("w")  # nothing trained in the refused cases: save says so
        assert app.is_running and app.failures == []


async def test_transfer_budget_values():
    from tui.screens.transfer import TransferScreen

    cases = [
        ({"steps": "0"}, "steps must be between 1 and 5000, got 0"),
        ({"steps": "nan"}, "steps must be a whole number, got 'nan'"),
        ({"examples": "1e9"}, "examples must be a whole number, got '1e9'"),
        ({"seed": "-1"}, "seed must be between 0 and 2147483647, got -1"),
        ({"seed": "[red]1"}, "seed must be a whole number, got '[red]1'"),
    ]
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("L")
        await settle(pilot, lambda: isinstance(app.screen, TransferScreen))
        screen = app.screen
        await pilot.pause()
        for fields, expected in cases:
            for name in ("steps", "examples", "seed"):
                screen.query_one(f"#tl-{name}").value = fields.get(name, {"steps": "60",
                    "examples": "200", "seed": "0"}[name])  # fmt: skip
            await pilot.press("r")
            await pilot.pause()
            shown = plain(screen.query_one("#tl-error"), 6000)
            assert expected in shown, (fields, shown[:300])
            assert not screen.running and screen.result is None
        await answered(pilot)
        assert app.is_running and app.failures == []
