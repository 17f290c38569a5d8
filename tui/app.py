"""CnnTuiApp: the home screen (or the explorer, or a lesson), a projector-friendly theme, and
every action in the palette."""

from __future__ import annotations

import gc
import traceback
from functools import partial
from typing import Any

from textual._context import active_message_pump
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider, SimpleProvider
from textual.screen import Screen
from textual.theme import Theme, ThemeProvider
from textual.widgets import OptionList
from textual.worker import WorkerFailed

from tui import presence
from tui.messages import LabModel
from tui.palette import Palette
from tui.safety import Guarded, action_name, failure_text
from tui.screens.explorer import ExplorerScreen
from tui.widgets import PANES_TCSS
from tui.widgets.option_list import can_page
from tui.workshop import WORKSHOP_BINDINGS, WorkshopActions, palette_rows

FOLLOW_POLL_S = 0.25  # how often the presenter publishes and participants look (a stat call)

# High contrast, saturated accents: dark greys and pastel hues wash out on projectors.
PROJECTOR = Theme(
    name="projector",
    primary="#3FA9F5",
    secondary="#FFD166",
    accent="#FF9F1C",
    warning="#FFD166",
    error="#FF5C5C",
    success="#5CDB5C",
    foreground="#FFFFFF",
    background="#000000",
    surface="#0A0A0A",
    panel="#1C1C1C",
    dark=True,
)
PROJECTOR_LIGHT = Theme(
    name="projector-light",
    primary="#0050B3",
    secondary="#8A5A00",
    accent="#B34700",
    warning="#8A5A00",
    error="#C00000",
    success="#006B00",
    foreground="#000000",
    background="#FFFFFF",
    surface="#F4F4F4",
    panel="#E0E0E0",
    dark=False,
)


PAGE_ACTIONS = ("page_up", "page_down")  # Textual pages a list that has no room: KeyError


class ActionsProvider(Provider):
    """Every key binding of the current screen (and its panes) as a palette command."""

    def commands(self) -> list[tuple[str, str, str]]:
        """(name, action, help) for every binding of the screen the palette was opened on."""
        screen = self.screen
        rows = screen.command_rows() if hasattr(screen, "command_rows") else []
        return [(name, action, f"{doc} (key {key})" if key else doc)
                for key, name, action, doc in rows]  # fmt: skip

    def _run(self, action: str) -> None:
        self.app.call_later(self.screen.run_action, action)

    async def discover(self) -> Hits:
        """Every action, listed when the palette opens."""
        for name, action, help_text in self.commands():
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        """Actions whose name fuzzily matches what was typed."""
        matcher = self.matcher(query)
        for name, action, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                run = partial(self._run, action)
                yield Hit(score, matcher.highlight(name), run, help=help_text)


class WorkshopCommands(ActionsProvider):
    """The workshop keys (export, zoom, projector theme) in the palette, on every screen."""

    def commands(self) -> list[tuple[str, str, str]]:
        """(name, action, help) of each workshop key; app actions, run from any screen."""
        return palette_rows()


async def _nothing() -> None:
    """An awaitable that does nothing (what an ignored pop_screen returns)."""


class CnnTuiApp(Guarded, WorkshopActions, App[None]):
    """The math of CNNs, one operation at a time."""

    lab_latest: LabModel | None = None  # set by the training lab, read by the predict screen

    TITLE = "cnn-tui"
    # Styles: the panes, the explorer and dialogs, other screens, labs, lessons (later wins a tie).
    CSS_PATH = [PANES_TCSS, "app.tcss", "screens.tcss", "lab.tcss", "lessons.tcss"]
    COMMANDS = App.COMMANDS | {ActionsProvider, WorkshopCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [  # Textual adds App.BINDINGS (ctrl+q, ctrl+c) itself
        *WORKSHOP_BINDINGS,
        Binding("F", "follow(True)", "follow the presenter", show=False),
        Binding("O", "follow(False)", "explore on your own", show=False),
    ]

    def __init__(
        self,
        preset: str | None = None,
        seed: int = 0,
        warm_up: bool = True,
        start: str | None = None,
        lesson: int = 1,
        progress=None,
    ) -> None:
        """start: "home", "explore" (the explorer on `preset`) or "learn" (lesson `lesson`, with
        the home screen under it); by default the explorer when a preset is given, else home.
        progress: a tui.progress.Progress (default:
        the learner's file in the state directory)."""
        super().__init__()
        if start is None:
            start = "explore" if preset is not None else "home"
        if start not in ("home", "explore", "learn"):
            raise ValueError(f"start must be home, explore or learn, not {start!r}")
        self.preset, self.seed, self.warm_up = preset, seed, warm_up
        self.start, self.lesson = start, lesson
        self._progress = progress
        self.register_theme(PROJECTOR)
        self.register_theme(PROJECTOR_LIGHT)
        self.theme = "projector"
        self.role, self.channel = presence.role()
        self.following = self.role == "participant"
        self._published: dict | None = None
        self._pending: dict | None = None
        self.failures: list[tuple[str, str]] = []  # (what was being done, traceback) per bug

    def on_mount(self) -> None:
        self.call_after_refresh(self.freeze_heap)
        if self.start == "learn":
            from tui.screens.lesson import LessonScreen

            self.push_screen(LessonScreen(self.lesson, warm_up=self.warm_up))
        if self.role == "presenter":
            self.set_interval(FOLLOW_POLL_S, self.publish_presence)
        elif self.role == "participant":
            self.set_interval(FOLLOW_POLL_S, self.follow_presenter)
            self.notify("following the presenter: O explores on your own, F follows again")

    @staticmethod
    def freeze_heap() -> None:
        """Leave what is loaded by now (modules, kernels, the first screen) out of the garbage
        collector's full passes: each went through the whole heap, 30-130 ms with the engine
        loaded, and froze whichever key it fell on. Called once shown and after the warm-up;
        undone when the app ends (on_unmount), so that what it froze can be collected."""
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()  # an app run in a longer process (the tests) leaves nothing pinned

    def publish_presence(self) -> None:
        """Presenter: write where this session is, when it moved."""
        state = presence.published(self)
        if state != self._published:
            self.channel.publish(state)
            self._published = state

    def follow_presenter(self) -> None:
        """Participant: mirror the presenter's latest state while following."""
        self._pending = self.channel.poll() or self._pending
        if self.following and self._pending is not None:
            if presence.follow_app(self, self._pending):
                self._pending = None

    def action_follow(self, on: bool) -> None:
        """F follows the presenter again; O explores on your own."""
        if self.role != "participant":
            return self.notify("no presenter to follow in this session", severity="warning")
        self.following = on
        if on:
            self._pending = self.channel.poll() or self.channel.last
        self.notify("following the presenter" if on else "on your own: F follows again")

    @property
    def progress(self):
        """The learner's progress (loaded on first use)."""
        if self._progress is None:
            from tui.progress import Progress

            self._progress = Progress()
        return self._progress

    def pop_screen(self) -> AwaitComplete:
        """Pop the top screen; a second dismiss of a screen already gone is ignored.

        Keys typed fast (ctrl+p, a command, enter, escape) can dismiss the palette twice while
        a run keeps the app busy: Textual would pop the screen below it, or raise
        ScreenStackError on the last one and end the app.
        """
        caller = active_message_pump.get(None)
        while caller is not None and not isinstance(caller, (Screen, App)):
            caller = caller._parent  # a widget of the screen that asks
        gone = isinstance(caller, Screen) and caller not in self.screen_stack
        if gone or len(self.screen_stack) <= 1:
            self.log.warning(f"ignored a pop_screen from {caller!r}: nothing of it to pop")
            return AwaitComplete(_nothing()).call_next(self)
        return super().pop_screen()

    def search_themes(self) -> None:
        """The palette's "Theme" list, in the app's Palette: Textual's own CommandPalette here
        lacked its guards (random keys paged it before its list was laid out: KeyError)."""
        self.push_screen(Palette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def search_commands(self, commands, placeholder: str = "Search for commands…"):
        """A list of commands, in the app's Palette (as search_themes)."""
        provider = SimpleProvider(self.screen, commands)
        return self.push_screen(Palette(providers=[provider], placeholder=placeholder))

    def action_command_palette(self) -> None:
        """Open the command palette (tui.palette: no search outlives its dismissal)."""
        if not self.use_command_palette or Palette.is_open(self):
            return
        if any(isinstance(screen, CommandPalette) for screen in self.screen_stack):
            # A screen came up over an open palette (followed presenter, a late dialog); a
            # second palette would repeat its id and Textual would raise DuplicateIds.
            return self.notify("the command palette is open under this screen: close this one "
                               "first (escape)", severity="warning", timeout=4)  # fmt: skip
        self.push_screen(Palette(id="--command-palette"))

    # ---- bad input never ends the app ------------------------------------------------------
    def report_failure(self, doing: str, error: BaseException) -> None:
        """An unexpected exception: name it in a notification, keep its traceback, carry on."""
        trace = "".join(traceback.format_exception(error))
        self.failures.append((doing, trace))
        self.log.error(f"{doing} failed\n{trace}")
        self.notify(failure_text(doing, error), severity="error", timeout=10, markup=False)

    async def _dispatch_action(self, namespace: Any, action: str, params: Any) -> bool:
        # Every key binding, palette command and run_action call goes through here.
        if action in PAGE_ACTIONS and isinstance(namespace, OptionList) and not can_page(namespace):
            return True  # every option list: Select's dropdowns, export, home, presets
        try:
            return await super()._dispatch_action(namespace, action, params)
        except Exception as error:  # a bug in an action must not end the app
            self.report_failure(action_name(namespace, action), error)
            return True

    def _handle_exception(self, error: Exception) -> None:
        # A worker that failed (exit_on_error=True) stops alone: nothing else is broken.
        if isinstance(error, WorkerFailed):
            return self.report_failure("background work", error.error)
        super()._handle_exception(error)

    def get_default_screen(self) -> Screen:
        """The explorer when asked for, else the home screen (a lesson goes on top of it)."""
        if self.start == "explore":
            return ExplorerScreen(preset=self.preset, seed=self.seed, warm_up=self.warm_up)
        from tui.screens.home import HomeScreen

        return HomeScreen(warm_up=self.warm_up)
