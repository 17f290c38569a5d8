"""MathPane: the equation for the element under the cursor, with the engine's numbers filled in."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tui.render.math import explanation_text
from tui.widgets.cached import CachedRender

EMPTY = "nothing to explain yet — press f to step forward"


class MathPane(CachedRender, Widget):
    """Renders an engine Explanation: title, symbolic form, filled-in sum, terms, bias, total."""


    def __init__(self, *, color: bool | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.explanation = None
        self.message = EMPTY
        self.color_override = color

    def show(self, explanation) -> None:
        """Display an engine.explain Explanation."""
        self.explanation = explanation
        self._changed()

    def clear(self, message: str = EMPTY) -> None:
        """Show a message (e.g. why there is nothing to explain) instead of an equation."""
        self.explanation, self.message = None, message
        self._changed()

    def _build(self, width: int, height: int) -> Text:
        """The explanation fitted to the pane, or the message saying why there is none."""
        if self.explanation is None:
            return Text(self.message, style="dim italic")
        return explanation_text(self.explanation, width=width, height=height, color=self.color)
