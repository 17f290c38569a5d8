"""MathPane: the equation for the element under the cursor, with the engine's numbers filled in."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tui.colormode import use_color
from tui.render.math import explanation_text

EMPTY = "nothing to explain yet — press f to step forward"


class MathPane(Widget):
    """Renders an engine Explanation: title, symbolic form, filled-in sum, terms, bias, total."""

    DEFAULT_CSS = """
    MathPane { width: 1fr; height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, color: bool | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.explanation = None
        self.message = EMPTY
        self.color_override = color  # None: follow NO_COLOR / the app's no-colour mode
        self._version = 0
        self._cache: tuple[tuple, Text] | None = None

    @property
    def color(self) -> bool:
        """Whether to use colour (see tui.colormode.use_color); an explicit override wins."""
        if self.color_override is not None:
            return self.color_override
        return use_color(self.app if self.is_attached else None)

    def show(self, explanation) -> None:
        """Display an engine.explain Explanation."""
        self.explanation = explanation
        self._changed()

    def clear(self, message: str = EMPTY) -> None:
        """Show a message (e.g. why there is nothing to explain) instead of an equation."""
        self.explanation, self.message = None, message
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self.refresh()

    def render(self) -> Text:
        """The explanation fitted to the pane, cached until it or the pane size changes."""
        width, height = self.content_size.width, self.content_size.height
        key = (self._version, width, height, self.color)
        if self._cache is None or self._cache[0] != key:
            if self.explanation is None:
                text = Text(self.message, style="dim italic")
            else:
                text = explanation_text(
                    self.explanation, width=width, height=height, color=self.color
                )
            self._cache = (key, text)
        return self._cache[1]
