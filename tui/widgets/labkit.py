"""Shared bits of the screens: palette rows, problem notices, run switches, heatmap tiling."""

from __future__ import annotations

import threading
import time

from rich.text import Text

from tui.safety import Guarded

NOTICE_S = 6.0  # how long a problem's notification stays
_DATA: dict[str, object] = {}  # the 8000/2000 split, loaded once per process


def held_out_split():
    """(train, held_out) from engine.data.mnist_split, cached (every lab screen uses it)."""
    if "split" not in _DATA:
        from engine.data import mnist_split

        _DATA["split"] = mnist_split()
    return _DATA["split"]


def command_rows(screen) -> list[tuple[str, str, str, str]]:
    """(key, name, action, what it does) per binding of `screen`, for the help and the palette."""
    rows = []
    for binding in screen.BINDINGS:
        method = getattr(screen, "action_" + binding.action.split("(")[0], None)
        doc = (method.__doc__ or "").strip().splitlines()[0] if method else ""
        if "(" in binding.action:  # one method behind several keys: the name says more
            doc = binding.description
        key = screen.app.get_key_display(binding)
        rows.append((key, binding.description, binding.action, doc or binding.description))
    return rows


class Notices(Guarded):
    """Mixin for a screen: problem notifications that do not pile up when a key is repeated
    (shown literally: user and file text is never markup), and failures reported (Guarded)."""

    _last_notice: tuple[str, float] = ("", -NOTICE_S)

    def notify_once(self, text: str, severity: str = "error") -> None:
        """Notify, unless the same text was notified and is still on screen."""
        now = time.monotonic()
        if self._last_notice[0] == text and now - self._last_notice[1] < NOTICE_S:
            return
        self._last_notice = (text, now)
        self.notify(text, severity=severity, timeout=NOTICE_S, markup=False)  # paths are text


class RunControl:
    """One run's switches: `go` cleared = paused, `stop` set = end after this step; `parked` is
    set by the run thread while it waits paused, once its steps up to `parked_at` are posted."""

    def __init__(self, run_id: int) -> None:
        self.id = run_id
        self.go, self.stop = threading.Event(), threading.Event()
        self.parked, self.parked_at = threading.Event(), 0
        self.go.set()


class LabKeys(Notices):
    """Mixin for a lab screen: palette rows, back to the explorer, problems under the form."""

    ERROR_ID = ""  # id of the Static that keeps the last problem in view

    def command_rows(self) -> list[tuple[str, str, str, str]]:
        """(key, name, action, what it does) per binding, for the command palette."""
        return command_rows(self)

    def action_back(self) -> None:
        """Back to the explorer (from a text field: out of the field first)."""
        from textual.containers import VerticalScroll
        from textual.widgets import Input

        if isinstance(self.focused, Input):  # typing a path or a number: escape leaves the field
            bodies = self.query(VerticalScroll)
            return bodies.first().focus() if bodies else self.set_focus(None)
        self.app.pop_screen()

    def problem(self, text: str) -> None:
        """Name the problem under the form and in a notification; what is shown stays."""
        self.query_one(f"#{self.ERROR_ID}").update(Text(text))  # a typed path is not markup
        self.notify_once(text)

    def clear_problem(self) -> None:
        """The last action worked: drop the problem shown under the form."""
        self.query_one(f"#{self.ERROR_ID}").update("")


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
