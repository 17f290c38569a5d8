"""OptionList: Textual's, paging safely when the list has no room to show a line."""

from __future__ import annotations

from textual.widgets import OptionList as TextualOptionList


def can_page(option_list: TextualOptionList) -> bool:
    """True when pageup/pagedown can work: Textual's OptionList pages through a map of its
    lines, which it builds only while the list has room (a terminal resized to a few rows, a
    list not laid out yet); without it, _move_page raises KeyError."""
    return bool(option_list.scrollable_content_region)


class OptionList(TextualOptionList):
    """Textual's OptionList; pageup/pagedown with no room to show a line do nothing."""

    def _move_page(self, direction) -> None:
        if can_page(self):
            super()._move_page(direction)
