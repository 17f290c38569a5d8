"""Follow the presenter through home, lessons, pages and a view's step (the channel file between
a presenter's app and a participant's, as `cnn-tui serve` wires them)."""

from __future__ import annotations

import asyncio
import json
from functools import partial

from _pilot import settle

from tui import presence
from tui.app import CnnTuiApp
from tui.progress import Progress

until = partial(settle, None)  # wait (letting the app run) until check() is true


def app_as(role_env: str, channel, tmp_path, monkeypatch, name: str) -> CnnTuiApp:
    """A home-screen app whose session is the presenter's or a participant's."""
    monkeypatch.delenv(presence.PRESENT_ENV, raising=False)
    monkeypatch.delenv(presence.FOLLOW_ENV, raising=False)
    monkeypatch.setenv(role_env, str(channel))
    app = CnnTuiApp(warm_up=False, progress=Progress(tmp_path / f"{name}.json"))
    monkeypatch.delenv(role_env)
    return app


def where(app) -> list:
    """The follower's places: screen names, with the lesson number and page of a lesson."""
    out = []
    for s in app.screen_stack:
        out.append((type(s).__name__, getattr(s, "number", None), getattr(s, "page", None)))
    return out


async def test_a_follower_moves_to_the_presenters_lesson_page_and_step(tmp_path, monkeypatch):
    channel = tmp_path / "presenter.json"
    presenter = app_as(presence.PRESENT_ENV, channel, tmp_path, monkeypatch, "p")
    published: list[dict] = []

    def latest() -> dict:
        return json.loads(channel.read_text()) if channel.exists() else {}

    async def record(check) -> None:
        await until(lambda: check(latest().get("stack", [])))
        published.append(latest())

    async with presenter.run_test(size=(100, 30)) as pilot:
        await record(lambda st: st == [{"screen": "HomeScreen", "highlighted": 0}])
        await pilot.press("down")  # lesson 2 highlighted
        await record(lambda st: st and st[0].get("highlighted") == 1)
        await pilot.press("up", "enter")  # lesson 1
        await record(lambda st: len(st) == 2 and st[1].get("lesson") == 1)
        await pilot.press("right", "down")  # the article's window to (1, 1)
        await record(lambda st: len(st) == 2 and st[1]["view"] == {"pos": [1, 1]})
        screen = presenter.screen
        while screen.page == 0:  # PgDn scrolls the text first, then turns the page
            await pilot.press("pagedown")
        await record(lambda st: len(st) == 2 and st[1]["page"] == 1)
        await pilot.press("n")  # lesson 2, in place of lesson 1
        await record(lambda st: len(st) == 2 and st[1]["lesson"] == 2)
        await pilot.press("escape", "e")  # home, then the explorer
        await record(lambda st: len(st) == 2 and st[1].get("preset") == "lenet")
        await pilot.press("Z")  # the projector zoom over the explorer
        await record(lambda st: [p["screen"] for p in st][2:] == ["ZoomScreen"])
    assert published[-1]["stack"][0]["screen"] == "HomeScreen"

    # The participant, fed the presenter's states one after the other through the same file.
    channel.unlink()
    follower = app_as(presence.FOLLOW_ENV, channel, tmp_path, monkeypatch, "f")
    steps = iter(published)

    def feed() -> None:
        channel.write_text(json.dumps(next(steps)))

    async with follower.run_test(size=(100, 30)) as pilot:
        home = follower.screen
        feed()
        feed()  # the presenter's highlight moved to lesson 2
        await until(lambda: home.query_one("#home-list").highlighted == 1)
        feed()
        await until(lambda: where(follower)[1:] == [("LessonScreen", 1, 0)])
        lesson = follower.screen
        await until(lambda: lesson.view is not None)
        feed()
        await until(lambda: lesson.view.pos == (1, 1))
        assert "Lesson 1 of 12" in str(lesson.query_one("#lesson-head").render())
        feed()
        await until(lambda: where(follower)[1:] == [("LessonScreen", 1, 1)])
        assert follower.screen is lesson  # the same lesson turned its page
        feed()
        await until(lambda: where(follower)[1:] == [("LessonScreen", 2, 0)])
        assert where(follower)[0][0] == "HomeScreen"

        # On their own (O), the participant's keys move only them, and the file stays as written.
        before = channel.read_bytes()
        await pilot.press("O")
        feed()  # the presenter went home and into the explorer: not followed while away
        await pilot.press("escape")  # the participant goes home themselves
        await until(lambda: [s for s, _, _ in where(follower)] == ["HomeScreen"])
        await asyncio.sleep(0.6)  # two polls
        assert [s for s, _, _ in where(follower)] == ["HomeScreen"]
        assert channel.read_bytes() != before  # only the feed above wrote it
        written = channel.read_bytes()
        await pilot.press("down", "down")
        await asyncio.sleep(0.6)
        assert channel.read_bytes() == written  # a participant never writes the channel
        await pilot.press("F")  # follow again: straight to the presenter's explorer
        await until(lambda: [s for s, _, _ in where(follower)] == ["HomeScreen", "ExplorerScreen"])
        feed()  # the presenter zoomed: so does the room
        await until(lambda: [s for s, _, _ in where(follower)][2:] == ["ZoomScreen"])
        assert follower.screen.source is follower.screen_stack[1]  # zooming its own explorer


def test_a_view_step_survives_json_in_its_own_types():
    class View:
        FOLLOWED = ("pos", "settings", "kernel", "kind")
        changes = 0

        def __init__(self) -> None:
            import numpy as np

            self.pos, self.settings, self.kind = (0, 0), {"k": 3, "s": 1}, "max"
            self.kernel = np.zeros((2, 2), np.float32)

        def changed(self) -> None:
            View.changes += 1

    import numpy as np

    lead, follower = View(), View()
    lead.pos, lead.settings, lead.kind = (2, 1), {"k": 5, "s": 2}, "average"
    lead.kernel[1, 0] = -1.5
    state = json.loads(json.dumps(presence.view_state(lead)))
    presence.follow_view(follower, state)
    assert follower.pos == (2, 1) and isinstance(follower.pos, tuple)
    assert follower.settings == {"k": 5, "s": 2} and follower.kind == "average"
    assert follower.kernel.dtype == np.float32 and follower.kernel[1, 0] == -1.5
    assert View.changes == 1
    presence.follow_view(follower, state)  # the same step again: nothing to redraw
    assert View.changes == 1
    presence.follow_view(follower, {"pos": [1, 2, 3], "kernel": [[1.0]]})  # wrong shapes: kept
    assert follower.pos == (2, 1) and follower.kernel.shape == (2, 2)


async def test_a_followers_explorer_from_lesson_3_holds_the_presenters_trained_net(
    tmp_path, monkeypatch
):
    from _pilot import plain

    channel = tmp_path / "presenter.json"
    presenter = app_as(presence.PRESENT_ENV, channel, tmp_path, monkeypatch, "p")

    def shown(app) -> tuple[str, str]:
        return plain(app.screen.query_one("#tensor")), plain(app.screen.query_one("#math"))

    async with presenter.run_test(size=(100, 30)) as pilot:
        await pilot.press("down", "down", "enter")  # lesson 3
        await until(lambda: getattr(presenter.screen, "number", None) == 3)
        view = presenter.screen.view
        await until(lambda: view is not None and view.ready)
        await pilot.press("greater_than_sign", "greater_than_sign")  # digit #2
        await until(lambda: view.index == 2)
        await pilot.press("e")  # the explorer on the lesson's trained LeNet and digit
        await until(lambda: getattr(presenter.screen, "session", None) is not None)
        await pilot.press("f", "f", "f")  # three ops forward: conv1 and on
        await until(lambda: presence.state_of(presenter.screen).get("ops") == 3)
        await until(lambda: json.loads(channel.read_text())["stack"][-1].get("ops") == 3)
        state = json.loads(channel.read_text())
        await pilot.pause()
        lead = shown(presenter)
    assert state["stack"][-1]["net"] == {"lesson": 3, "digit": 2}

    channel.unlink()
    follower = app_as(presence.FOLLOW_ENV, channel, tmp_path, monkeypatch, "f")
    async with follower.run_test(size=(100, 30)) as pilot:
        channel.write_text(json.dumps(state))
        await until(lambda: [s for s, _, _ in where(follower)][-1] == "ExplorerScreen", 120)
        screen = follower.screen
        await until(lambda: screen.session is not None, 120)
        await until(lambda: presence.state_of(screen).get("ops") == 3)
        await pilot.pause()
        assert shown(follower) == lead  # the same values at the same element, in both panes
        assert "trained LeNet of lesson 3, from digit #2" in screen.session.preset.title


def test_a_follower_drops_or_takes_the_lessons_net_as_the_presenters_session_did():
    import numpy as np
    import pytest

    from tui.lessons.lesson03_channels import TrainedLenet, pretrained_lenet
    from tui.session import Session

    def weights(session) -> list:
        return [p.value.copy() for p in session.model.parameters()]

    fresh = weights(Session("lenet"))
    trained = [p.value for p in pretrained_lenet().parameters()]
    follower, net = Session("lenet"), TrainedLenet(4, 7)
    presence._replay(follower, "lenet", 2, net)  # the presenter's explorer holds lesson 4's net
    assert follower.adopted and presence._ops_done(follower.stepper) == 2
    assert all(np.array_equal(a, b) for a, b in zip(weights(follower), trained, strict=True))
    presence._replay(follower, "lenet", 0, None)  # the presenter loaded a fresh LeNet (key 2)
    assert not follower.adopted
    assert all(np.array_equal(a, b) for a, b in zip(weights(follower), fresh, strict=True))
    for bad in ({"lesson": 9, "digit": 0}, {"lesson": 3, "digit": -1}, {"lesson": "3"}, {"x": 1}):
        with pytest.raises((TypeError, ValueError)):  # follow_app stays put on these
            presence._net(bad)
