"""CachedRender: a pane's text built once per change, size and colour mode, not per frame."""

from __future__ import annotations

from rich.text import Text

from tui.colormode import use_color


class CachedRender:
    """Mixin for a pane widget (before Widget): render() calls _build only after a change."""

    color_override: bool | None = None  # None: follow NO_COLOR / the app's no-colour mode
    _version = 0
    _cache: tuple[tuple, Text] | None = None

    @property
    def color(self) -> bool:
        """Whether to use colour (see tui.colormode.use_color); an explicit override wins."""
        if self.color_override is not None:
            return self.color_override
        return use_color(self.app if self.is_attached else None)

    def _changed(self) -> None:
        self._version += 1
        self.refresh()

    def _build(self, width: int, height: int) -> Text:
        raise NotImplementedError

    def render(self) -> Text:
        """The pane's text, rebuilt only when its content, size or colour mode changed."""
        width, height = self.content_size.width, self.content_size.height
        key = (self._version, width, height, self.color)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._build(width, height))
        return self._cache[1]
