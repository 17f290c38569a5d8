"""KeyLine: a one-line footer of (key, what) pairs that drops what does not fit the width."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class KeyLine(Static):
    """The footer of the home and lesson screens: keys in order, those that fit the width."""

    keys: list[tuple[str, str]] = []

    def show(self, keys: list[tuple[str, str]]) -> None:
        """Set the (key, what) pairs to show, most important first."""
        self.keys = keys
        self.refresh()

    def render(self) -> Text:
        width = max(20, self.size.width)
        out = Text(no_wrap=True, overflow="crop")
        for key, what in self.keys:
            piece = len(key) + len(what) + 3
            if out.cell_len + piece > width:
                continue  # skip, but keep trying shorter ones (? help, q quit)
            out.append(f" {key}", "bold reverse")
            out.append(f" {what} ")
        return out
