"""Bad input never ends the app: failing actions, handlers, callbacks and workers are reported
in the app, the session carries on; user text is shown literally, never parsed as markup."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from _pilot import settle
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Select

import tui
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


async def test_failing_timer_callbacks_are_reported_and_the_timers_go_on():
    # An exception in a set_interval callback went to Textual's fatal handler: the app ended.
    ticks: list[int] = []

    def flaky_tick():
        ticks.append(len(ticks))
        if len(ticks) <= 3:
            raise RuntimeError("deliberate [b]tick failure")

    def late_once():
        raise ValueError("deliberate timer failure")

    app = CnnTuiApp(warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predict(pilot)
        app.set_interval(0.05, flaky_tick)
        await settle(pilot, lambda: len(ticks) >= 6)  # it failed 3 times, then went on ticking
        assert [d for d, _ in app.failures] == ["flaky tick"]  # a repeated failure: once
        assert "flaky tick failed: RuntimeError: deliberate [b]tick failure" in toasts(app)[-1]
        screen.set_timer(0.05, late_once)
        await settle(pilot, lambda: len(app.failures) == 2)
        assert app.failures[1][0] == "late once" and "ValueError" in app.failures[1][1]
        await pilot.press("n")  # the app goes on
        await settle(pilot, lambda: screen.digit == 0)
        assert app.is_running


def _timer_owners():
    """Every class in tui/ that starts a timer (self.set_interval / self.set_timer)."""
    root = Path(tui.__file__).parent
    for file in sorted(root.rglob("*.py")):
        tree = ast.parse(file.read_text())
        module = ".".join(file.relative_to(root.parent).with_suffix("").parts)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            calls = [c for c in ast.walk(node) if isinstance(c, ast.Call)
                     and isinstance(c.func, ast.Attribute)
                     and c.func.attr in ("set_interval", "set_timer")]  # fmt: skip
            if calls:
                yield getattr(importlib.import_module(module), node.name)


@pytest.mark.parametrize("cls", list(_timer_owners()), ids=lambda c: c.__name__)
def test_every_class_with_a_timer_is_guarded(cls):
    # A timer callback runs outside any action or handler: only Guarded reports its failure.
    assert issubclass(cls, Guarded), f"{cls.__name__}: add tui.safety.Guarded to its bases"


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
