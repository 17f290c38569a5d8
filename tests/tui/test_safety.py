"""Bad input never ends the app: failing actions, handlers, callbacks and workers are reported
in the app, the session carries on; user text is shown literally, never parsed as markup."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from _pilot import settle
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Select

import tui.screens
from tui.app import CnnTuiApp
from tui.safety import Guarded, failure_text
from tui.screens.predict import PredictScreen

SIZE = (100, 30)


def toasts(app) -> list[str]:
    """The text of every notification as its Toast renders it (markup parsed unless off)."""
    return [(Content.from_markup(n.message) if n.markup else Content(n.message)).plain
            for n in app._notifications]  # fmt: skip


async def open_predict(pilot) -> PredictScreen:
    await pilot.pause()
    await pilot.press("P")
    await settle(pilot, lambda: isinstance(pilot.app.screen, PredictScreen))
    screen = pilot.app.screen
    await settle(pilot, lambda: screen.probs is not None)
    return screen


def test_failure_text_names_the_action_the_type_and_is_bounded():
    text = failure_text("save", IndexError("list index out of range"))
    assert text == "save failed: IndexError: list index out of range (the app carries on)"
    long = failure_text("x", ValueError("a\nb " * 1000))
    assert len(long) < 400 and "\n" not in long
    assert failure_text("y", KeyError()) == "y failed: KeyError (the app carries on)"


async def test_a_failing_action_is_reported_and_the_session_carries_on(monkeypatch):
    def boom(self):
        raise RuntimeError("deliberate [b]failure")

    monkeypatch.setattr(PredictScreen, "action_random_digit", boom)
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        await pilot.press("r")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        assert [doing for doing, _ in app.failures] == ["random"]
        assert "RuntimeError: deliberate [b]failure" in app.failures[0][1]  # the traceback
        shown = "\n".join(toasts(app))
        assert "random failed: RuntimeError: deliberate [b]failure" in shown
        await pilot.press("n")  # the next key still works
        await settle(pilot, lambda: screen.digit == 0)


async def test_a_failing_message_handler_is_reported_and_the_screen_keeps_handling(monkeypatch):
    calls = []
    original = PredictScreen.on_select_changed

    def flaky(self, event):
        calls.append(event.value)
        if calls.count("latest") == 1 and event.value == "latest":
            raise ZeroDivisionError("deliberate")
        return original(self, event)

    monkeypatch.setattr(PredictScreen, "on_select_changed", flaky)
    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        select = screen.query_one("#model-source", Select)
        calls.clear()
        select.value = "latest"
        await settle(pilot, lambda: app.failures)
        assert app.failures[0][0] == "handling Changed" and app.is_running
        # The screen's message loop is alive: the next change is handled.
        select.value = "pretrained"
        await settle(pilot, lambda: calls == ["latest", "pretrained"])
        assert len(app.failures) == 1


async def test_failing_workers_and_callbacks_are_reported():
    def broken_worker():
        raise OSError("deliberate worker failure")

    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        app.run_worker(broken_worker, thread=True, name="a deliberate worker")  # exits on error
        await settle(pilot, lambda: len(app.failures) == 1)
        screen.run_worker(broken_worker, thread=True, name="quiet worker", exit_on_error=False)
        await settle(pilot, lambda: len(app.failures) == 2)
        assert [d for d, _ in app.failures] == ["background work", "quiet worker"]

        def _after_close(result):
            raise KeyError(result)

        from tui.screens.help import HelpScreen

        app.push_screen(HelpScreen([("k", "v")]), _after_close)
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot, lambda: len(app.failures) == 3)
        assert app.failures[2][0] == "after close" and app.is_running
        await pilot.press("n")
        await settle(pilot, lambda: screen.digit == 0)


def _screen_classes():
    for info in pkgutil.iter_modules(tui.screens.__path__):
        module = importlib.import_module(f"tui.screens.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.__name__:
                yield cls


@pytest.mark.parametrize("cls", list(_screen_classes()), ids=lambda c: c.__name__)
def test_every_screen_of_the_app_is_guarded(cls):
    # A screen whose handler raises would otherwise stop handling messages (Textual breaks its
    # message loop) and end the app: every screen mixes in Guarded (LabKeys/Notices do).
    assert issubclass(cls, Guarded), f"{cls.__name__}: add tui.safety.Guarded to its bases"
