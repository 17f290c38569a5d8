"""Footer: Textual's footer, rebuilt only when the keys it shows changed."""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """Textual's Footer, minus the rebuild when its screen comes back with the same keys.

    Textual's footer recomposes (a new widget per key, each bound and laid out) whenever its
    screen's bindings signal fires, which includes every return from a dialog or the help
    screen: in the explorer a third of the CPU of a `?` and escape. Same keys, same footer.
    """

    _shown: tuple | None = None  # the keys the footer was last composed with

    def _keys(self) -> tuple:
        return tuple(
            (b.binding, b.enabled, b.tooltip) for b in self.screen.active_bindings.values()
        )

    def compose(self):
        if self._bindings_ready:
            self._shown = self._keys()
        return super().compose()

    def bindings_changed(self, screen) -> None:
        if self._shown is not None and self.is_attached and screen is self.screen:
            if self._keys() == self._shown:
                return  # nothing new to show: keep the footer as drawn
        super().bindings_changed(screen)
