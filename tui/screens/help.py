"""HelpScreen: every key of the explorer with what it does, and how to read the panes."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.safety import Guarded

GUIDE = """\
Layers: ▼ marks the next forward step (going down), ▲ the next backward step (going up).
Tensor: the selected layer's input, output, gradient or weight; [ ] channel, < > sample.
Math: the equation at the cursor with the real numbers; the receptive field is highlighted.
Optimizer: the last update of one parameter element (lr, gradient, momentum / Adam m, v).
Curves: loss (and accuracy) per iteration; t runs training in the background.
Lab screens: T training, P predict a digit, L transfer lesson; escape returns here.
Every action is also in the command palette (ctrl+p)."""


def key_table(rows: list[tuple[str, str]]) -> Table:
    """Two columns: the key and what it does."""
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, description in rows:
        table.add_row(key, description)
    return table


class LaidOutOnce:
    """A Rich renderable drawn once per width and set of options, then replayed.

    Why: Textual renders a widget's content once to measure its height and again to draw it,
    and a Rich Table of 20-50 keys does all its work (measuring every cell, wrapping) each
    time: a large part of a first `?`. The segments replayed are the ones the table made.
    """

    def __init__(self, renderable) -> None:
        self.renderable = renderable
        self._lines: dict[tuple, list] = {}
        self._sizes: dict[tuple, Measurement] = {}

    def __rich_console__(self, console, options):
        key = (options.max_width, options.min_width, options.justify, options.overflow,
               options.no_wrap, options.markup, options.highlight)  # fmt: skip
        if key not in self._lines:
            self._lines[key] = list(console.render(self.renderable, options))
        yield from self._lines[key]

    def __rich_measure__(self, console, options) -> Measurement:
        key = (options.max_width, options.min_width)
        if key not in self._sizes:
            self._sizes[key] = Measurement.get(console, options, self.renderable)
        return self._sizes[key]


class HelpScreen(Guarded, ModalScreen[None]):
    """A scrollable list of keys; escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "close"),
    ]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Keys (escape closes)"
            yield Static(Text("cnn-tui: the math of CNNs, one operation at a time", "bold"))
            yield Static(LaidOutOnce(key_table(self.rows)), id="help-keys")
            yield Static(GUIDE, id="help-guide")

    def on_screen_resume(self) -> None:
        self.query_one("#help-body").scroll_home(animate=False)  # a kept screen opens at the top


MAX_KEPT = 8  # help screens kept installed per app (one per distinct list of keys)
_kept: WeakKeyDictionary = WeakKeyDictionary()  # app -> names of its help screens, oldest first


def show_help(app, rows: list[tuple[str, str]]) -> None:
    """Push the help screen for these rows, made once per list of rows and kept installed.

    Why: a new HelpScreen measured and rendered its key table again on every press (a Rich
    Table, 40 ms of CPU of the 65 ms a press cost), which 30 served people pressing ? at once
    felt. A kept screen has its lines cached and shows again as it was, scrolled to the top.
    """
    name = f"help-{hash(tuple(rows))}"
    kept = _kept.setdefault(app, [])
    if not app.is_screen_installed(name):
        app.install_screen(HelpScreen(rows), name)
        kept.append(name)
        idle = [n for n in kept if app.get_screen(n) not in app.screen_stack]
        for old in idle[: max(0, len(kept) - MAX_KEPT)]:  # the oldest ones not on screen
            kept.remove(old)
            app.uninstall_screen(old)
    screen = app.get_screen(name)
    if screen not in app.screen_stack:
        app.push_screen(screen)
