"""HelpScreen: every key of the explorer with what it does, and how to read the panes."""

from __future__ import annotations

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
            yield Static(key_table(self.rows), id="help-keys")
            yield Static(GUIDE, id="help-guide")
