"""Shared bits of the lab screens: palette rows from BINDINGS, heatmap tiling."""

from __future__ import annotations

from rich.text import Text


class LabKeys:
    """Mixin for a lab screen: every binding as a (key, name, action, doc) palette row."""

    def command_rows(self) -> list[tuple[str, str, str, str]]:
        """(key, name, action, what it does) per binding, for the command palette."""
        rows = []
        for binding in self.BINDINGS:
            method = getattr(self, "action_" + binding.action.split("(")[0], None)
            doc = (method.__doc__ or "").strip().splitlines()[0] if method else ""
            key = self.app.get_key_display(binding)
            rows.append((key, binding.description, binding.action, doc or binding.description))
        return rows

    def action_back(self) -> None:
        """Back to the explorer."""
        self.app.pop_screen()


def tile(cards: list[Text], width: int, gap: int = 1) -> Text:
    """Lay out multi-line Texts left to right, wrapping to new rows within `width` cells."""
    out = Text(no_wrap=True, overflow="crop")
    row: list[list[Text]] = []
    used = 0

    def flush() -> None:
        if not row:
            return
        widths = [max((line.cell_len for line in c), default=0) for c in row]
        height = max(len(c) for c in row)
        for r in range(height):
            if out.plain:
                out.append("\n")
            for k, card in enumerate(row):
                line = card[r] if r < len(card) else Text("")
                out.append_text(line)
                out.append(" " * (widths[k] - line.cell_len + (gap if k < len(row) - 1 else 0)))
        row.clear()

    for card in cards:
        lines = card.split("\n", allow_blank=True)
        w = max((line.cell_len for line in lines), default=0)
        if row and used + w > width:
            flush()
            out.append("\n")  # a blank line between rows of cards
            used = 0
        row.append(list(lines))
        used += w + gap
    flush()
    return out
