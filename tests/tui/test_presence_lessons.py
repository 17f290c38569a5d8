"""Follow the presenter through the steps of lessons 7-12: a stepper stepped back and undone, a
time slider, seeded training runs and a drawn digit reach the follower with the same numbers."""

from __future__ import annotations

import json
from functools import partial

import pytest
from _pilot import settle

from tui import presence
from tui.app import CnnTuiApp
from tui.progress import Progress

until = partial(settle, None)  # wait (letting the app run) until check() is true


def lesson_app(role_env: str, channel, tmp_path, monkeypatch, number: int, name: str):
    """Lesson `number` in a presenter's or a participant's session."""
    monkeypatch.delenv(presence.PRESENT_ENV, raising=False)
    monkeypatch.delenv(presence.FOLLOW_ENV, raising=False)
    monkeypatch.setenv(role_env, str(channel))
    progress = Progress(tmp_path / f"{name}.json")
    app = CnnTuiApp(start="learn", lesson=number, warm_up=False, progress=progress)
    monkeypatch.delenv(role_env)
    return app


def backprop(view):
    s = view.stepper
    grad = s.grads[view.reached].tolist() if view.reached is not None else None
    check = view.check and view.check["analytic"]
    return s.position, view.reached, view.weight_index, grad, check


def losses(view):
    return {name: list(v) for name, v in view.losses.items()} if not view.busy else None


def digit(view):
    return view.drawing.tolist(), view.pen, view.result and view.result["probs"].tolist()


# number, page, the presenter's keys in steps (a state is published after each), what to compare,
# and when the view has its numbers
LESSONS = {
    7: (0, [("b",) * 4, ("u",), ("w",)], backprop, lambda v: v.stepper is not None),
    8: (1, [("home", "right", "right"), ("r",)], lambda v: (v.t, v.state(), losses(v)),
        lambda v: not v.busy),  # fmt: skip
    10: (0, [("r",)], losses, lambda v: v.data is not None and not v.busy),
    11: (0, [("r",)], lambda v: (losses(v), v.result and v.result.scratch.losses),
         lambda v: v.table is not None and not v.busy),  # fmt: skip
    12: (0, [("c", "space", "down", "down", "down", "right", "space"), ("left", "left")], digit,
         lambda v: v.result is not None),  # fmt: skip
}


@pytest.mark.parametrize("number", sorted(LESSONS))
async def test_a_follower_reaches_the_presenters_step_in_lessons_7_to_12(
    tmp_path, monkeypatch, number
):
    import tui.lessons.lesson08_optimizers as l8
    import tui.lessons.lesson10_residual as l10
    import tui.lessons.lesson11_transfer as l11

    monkeypatch.setattr(l8, "DIGIT_STEPS", 3)
    monkeypatch.setattr(l10, "TRAIN_STEPS", 2)
    monkeypatch.setattr(l11, "STEPS", 2)
    monkeypatch.setattr(l11, "EXAMPLES", 16)
    page, steps, numbers, ready = LESSONS[number]
    channel = tmp_path / "presenter.json"
    presenter = lesson_app(presence.PRESENT_ENV, channel, tmp_path, monkeypatch, number, "p")
    snapshots: list[tuple[dict, object]] = []

    def published_view() -> dict | None:
        if not channel.exists():
            return None
        return json.loads(channel.read_text())["stack"][-1].get("view")

    async with presenter.run_test(size=(120, 40)) as pilot:
        screen = presenter.screen
        screen.show_page(page)
        view = screen.view
        await until(lambda: ready(view), 120)
        before = numbers(view)
        for keys in steps:
            await pilot.press(*keys)
            await pilot.pause()
            await until(lambda: ready(view), 120)
            mine = json.loads(json.dumps(presence.view_state(view)))
            await until(lambda: published_view() == mine)  # noqa: B023 (awaited right here)
            snapshots.append((json.loads(channel.read_text()), numbers(view)))
    assert snapshots[-1][1] != before  # the keys did move the presenter

    channel.unlink()
    follower = lesson_app(presence.FOLLOW_ENV, channel, tmp_path, monkeypatch, number, "f")
    async with follower.run_test(size=(120, 40)) as pilot:
        for state, lead in snapshots:
            channel.write_text(json.dumps(state))
            await until(lambda: follower.screen.page == page)
            view = follower.screen.view
            await until(lambda: ready(view) and numbers(view) == lead, 120)  # noqa: B023
