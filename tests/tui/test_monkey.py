"""Hundreds of seeded random key presses at several sizes: the app never raises and stays usable."""

from __future__ import annotations

import random

import pytest
from _pilot import press_busy, ready, settle

from tui.app import CnnTuiApp

# Every explorer key plus what the modal screens and panes answer to; not quit or the palette
# (the palette's own Quit command would end the run early).
KEYS = (
    list("fbuizrtxpadevmog123")
    + ["less_than_sign", "greater_than_sign", "left_square_bracket", "right_square_bracket"]
    + ["plus", "minus", "question_mark", "tab", "shift+tab", "shift+up", "shift+down"]
    + ["up", "down", "left", "right", "home", "end", "enter", "escape", "backspace"]
    + ["ctrl+s", "0", "5", "comma", "space"]
)
# Stepping keys more often, so passes get deep into backward and update.
WEIGHTS = {"f": 6, "b": 5, "i": 3, "u": 2, "escape": 3, "up": 3, "down": 3, "left": 2, "right": 2}


async def tap(pilot, explorer, key: str) -> None:
    """Press a key (without waiting for an idle CPU while a run is going on)."""
    if explorer.run_state == "idle":
        await pilot.press(key)
    else:
        await press_busy(pilot, key)


@pytest.mark.parametrize(
    ("size", "seed", "presses"),
    [((80, 24), 1, 130), ((120, 40), 2, 130), ((100, 30), 3, 110), ((64, 20), 4, 60)],
)
async def test_random_keys_never_crash(size, seed, presses):
    rnd = random.Random(seed)
    weights = [WEIGHTS.get(k, 1) for k in KEYS]
    app = CnnTuiApp(start="explore")
    async with app.run_test(size=size) as pilot:
        screen = await ready(pilot)
        for key in rnd.choices(KEYS, weights, k=presses):
            await tap(pilot, screen, key)
        while app.screen is not screen:  # close whatever modal the monkey left open
            await pilot.press("escape")
        screen.stop_run()
        await settle(pilot, lambda: not any(w.is_running for w in app.workers))
        assert app.is_running and app._exception is None
        # Still usable: a fresh preset steps forward and shows the article's sum.
        await pilot.press("1", "f")
        assert screen.session.stepper.activations[1][0, 0, 0, 0] == 6.0


def _monkey():
    """tools/monkey.py as a module (tools/ is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "monkey.py"
    spec = importlib.util.spec_from_file_location("monkey", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MONKEY_EPISODES = (  # 2,000 seeded keys: sizes and starting screens in turn
    ((80, 24), 11, {"start": "home"}),
    ((120, 40), 12, {"start": "explore", "preset": "lenet"}),
    ((160, 50), 13, {"start": "learn", "lesson": 1}),
    ((100, 30), 14, {"start": "learn", "lesson": 7}),
)
MONKEY_PRESSES = 500  # per episode; the long runs are tools/monkey.py's (see its --keys)


@pytest.mark.parametrize(("size", "seed", "start"), MONKEY_EPISODES)
async def test_monkey_tool_seeded_keys_find_no_failure(size, seed, start, tmp_path, monkeypatch):
    # The same driver as the long runs: active bindings of whatever screen is up (so new
    # screens are covered), resizes, a ping after every key; any exception, reported failure,
    # exit or frozen screen is a failure with the seed and the last keys.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # progress, exports: not the user's
    monkeypatch.chdir(tmp_path)
    result = await _monkey().episode(seed, size, MONKEY_PRESSES, freeze=60.0, start=start)
    assert result["failure"] is None, result
    assert result["keys"] == MONKEY_PRESSES
