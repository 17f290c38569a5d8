"""CachedRender: a pane's text built once per change, size and colour mode, not per frame."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region

from tui.colormode import use_color


class CachedRender:
    """Mixin for a pane widget (before Widget): render() calls _build only after a change."""

    color_override: bool | None = None  # None: follow NO_COLOR / the app's no-colour mode
    _version = 0
    _cache: tuple[tuple, Text] | None = None
    _lines: list[Text] | None = None  # the lines last rendered: only changed ones repaint

    @property
    def color(self) -> bool:
        """Whether to use colour (see tui.colormode.use_color); an explicit override wins."""
        if self.color_override is not None:
            return self.color_override
        return use_color(self.app if self.is_attached else None)

    def _changed(self) -> None:
        """The content changed: repaint the lines that differ (over SSH, bytes are time).

        Textual sends every line of a refreshed region; a cursor move changes two cells and
        a header line of the tensor, so only those lines are marked dirty. A change in the
        number of lines (or a line that would wrap) repaints the whole pane.
        """
        self._version += 1
        old, width = self._lines, self.content_size.width
        if old is None or not self.is_mounted:
            self.refresh()
            return
        new = self.render().split("\n", allow_blank=True)  # the new cache; sets self._lines
        if len(new) != len(old) or any(line.cell_len > width for line in new):
            self.refresh()
            return
        rows = [y for y, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        if rows:
            self.refresh(*(Region(0, y, width, 1) for y in rows))

    def _build(self, width: int, height: int) -> Text:
        raise NotImplementedError

    def render(self) -> Text:
        """The pane's text, rebuilt only when its content, size or colour mode changed."""
        width, height = self.content_size.width, self.content_size.height
        key = (self._version, width, height, self.color)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._build(width, height))
            self._lines = self._cache[1].split("\n", allow_blank=True)
        return self._cache[1]
