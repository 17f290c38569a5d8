"""HomeScreen: what this is, the lessons with the learner's progress, and the other places."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.widgets.keyline import KeyLine
from tui.widgets.labkit import Notices, command_rows

PLACES = [
    ("explore", "Explorer", "step a network, one number at a time"),
    ("training", "Training lab", "train, watch curves and mistakes"),
    ("predict", "Predict", "a digit or an image file"),
    ("transfer", "Transfer", "digits 0-4 features reused for 5-9"),
]

# The key line, most important first (what does not fit the width is left out; ? lists all).
KEY_LINE = [("enter", "open"), ("e", "explorer"), ("T", "training"), ("P", "predict"),
            ("L", "transfer"), ("?", "help"), ("q", "quit")]  # fmt: skip


class HomeScreen(Notices, Screen):
    """The entry: the lessons in order (Enter starts one) and the explorer and labs."""

    BINDINGS = [
        Binding("enter", "open", "open", show=False),
        Binding("e", "place('explore')", "explorer"),
        Binding("T", "place('training')", "training lab", show=False),
        Binding("P", "place('predict')", "predict", show=False),
        Binding("L", "place('transfer')", "transfer", show=False),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, warm_up: bool = True) -> None:
        super().__init__()
        self.warm_up = warm_up
        self._marks: tuple | None = None  # the progress marks the list was last filled with

    def compose(self) -> ComposeResult:
        title = Text("cnn-tui", style="bold")
        title.append(": the math of convolutional neural networks, live in your terminal.",
                     style="not bold")  # fmt: skip
        title.append("\nTwelve short lessons walk from one convolution to your own hand-drawn "
                     "digit; every number comes from the engine.", style="dim")  # fmt: skip
        yield Static(title, id="home-title")
        yield OptionList(id="home-list")
        yield KeyLine(id="home-keys")

    def on_mount(self) -> None:
        self.query_one(KeyLine).show(KEY_LINE)
        self.fill()
        self.query_one(OptionList).focus()
        problem = self.app.progress.take_problem()
        if problem:
            self.notify(problem, severity="warning", timeout=8)

    def on_screen_resume(self) -> None:
        self.fill()

    def fill(self) -> None:
        """(Re)build the list with the current progress; the highlight stays where it was."""
        from tui import lessons

        progress = self.app.progress
        marks = tuple(self._mark(e.number, progress) for e in lessons.ENTRIES)
        if marks == self._marks:
            return  # the same progress as the list shows: coming back from help costs nothing
        self._marks = marks
        listing = self.query_one(OptionList)
        keep = listing.highlighted
        listing.clear_options()
        for e, mark in zip(lessons.ENTRIES, marks, strict=True):
            line = Text(no_wrap=True, overflow="ellipsis")
            if mark is None:
                line.append(f" ·  {e.number:>2}  {e.title}  (coming)", style="dim")
                listing.add_option(Option(line, id=f"lesson-{e.number}", disabled=True))
                continue
            line.append(f" {mark}  {e.number:>2}  {e.title}")
            listing.add_option(Option(line, id=f"lesson-{e.number}"))
        listing.add_option(None)
        for key, name, what in PLACES:
            line = Text(f" →  {name:<13}", no_wrap=True, overflow="ellipsis")
            line.append(f"  {what}", style="dim")
            listing.add_option(Option(line, id=f"place-{key}"))
        listing.highlighted = keep if keep is not None else 0

    @staticmethod
    def _mark(number: int, progress) -> str | None:
        """✓ every question answered, ◐ some, ○ none; None for a lesson still to come."""
        from tui import lessons

        if not lessons.available(number):
            return None
        total = len(lessons.load(number).questions)
        return "✓" if progress.done(number, total) else ("◐" if progress.count(number) else "○")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.open_option(event.option.id or "")

    def action_open(self) -> None:
        """Open the highlighted lesson or place."""
        listing = self.query_one(OptionList)
        if listing.highlighted is not None:
            self.open_option(listing.get_option_at_index(listing.highlighted).id or "")

    def open_option(self, option_id: str) -> None:
        """Start a lesson ("lesson-N") or go to a place ("place-name")."""
        kind, _, name = option_id.partition("-")
        if kind == "lesson":
            self.action_lesson(int(name))
        elif kind == "place":
            self.action_place(name)

    def action_lesson(self, number: int) -> None:
        """Start lesson `number`."""
        from tui.screens.lesson import LessonScreen

        self.app.push_screen(LessonScreen(number, warm_up=self.warm_up))

    def action_place(self, name: str) -> None:
        """The explorer or one of the lab screens (escape comes back here)."""
        if name == "explore":
            from tui.screens.explorer import ExplorerScreen

            self.app.push_screen(ExplorerScreen(warm_up=self.warm_up))
            return
        from tui.screens.predict import PredictScreen
        from tui.screens.training import TrainingScreen
        from tui.screens.transfer import TransferScreen

        make = {"training": TrainingScreen, "predict": PredictScreen, "transfer": TransferScreen}
        screen_name = f"lab-{name}"
        if not self.app.is_screen_installed(screen_name):
            self.app.install_screen(make[name](), screen_name)
        self.app.push_screen(screen_name)

    def action_help(self) -> None:
        """Every key of the home screen."""
        from tui.screens.help import show_help

        # Keys only: the lessons' palette rows have none (the list on screen names them).
        show_help(self.app, [(k, d) for k, _n, _a, d in self.command_rows() if k])

    def action_quit(self) -> None:
        """Quit the app."""
        self.app.exit()

    def presence_state(self) -> dict:
        """What a presenter publishes: the highlighted lesson or place."""
        listing = self.query(OptionList)
        return {"highlighted": listing.first().highlighted} if listing else {}

    def follow_presenter(self, state: dict) -> bool:
        """Highlight what the presenter highlights (False until the list is there)."""
        if not self.query(OptionList):
            return False
        listing = self.query_one(OptionList)
        at = state.get("highlighted")
        if isinstance(at, int) and 0 <= at < listing.option_count:
            listing.highlighted = at
        return True

    def command_rows(self) -> list[tuple[str, str, str, str]]:
        """Palette rows: the keys and every lesson by name."""
        from tui.lessons import ENTRIES

        rows = command_rows(self)
        rows += [("", f"Lesson {e.number}: {e.title}", f"lesson({e.number})", "start this lesson")
                 for e in ENTRIES]  # fmt: skip
        return rows
