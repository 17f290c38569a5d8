"""can_page: whether Textual's OptionList can page (the app's dispatch and the palette ask)."""

from __future__ import annotations

from textual.widgets import OptionList


def can_page(option_list: OptionList) -> bool:
    """True when pageup/pagedown can work: Textual's OptionList pages through a map of its
    lines, which it builds only while the list has room (a terminal resized to a few rows, a
    list not laid out yet); without it, _move_page raises KeyError."""
    return bool(option_list.scrollable_content_region)
