"""Palette: Textual's command palette, with no work outliving its dismissal.

Textual's CommandPalette (8.2.8) can raise NoMatches('CommandList') and end the app. A key typed
between the palette's dismiss and its removal (ctrl+p, enter on a command, then a letter, on a
busy machine) starts a new search; that search, or the busy timer, finishes while Textual removes
the palette's children, before it cancels the palette's own workers. Its watchers of
`_list_visible` and `_show_busy` (and the "no matches" timer) then look for a list that is
already gone.
So the palette cancels its search as soon as it is dismissed or covered, starts none afterwards,
and its watchers skip the widgets that are gone.
"""

from __future__ import annotations

from functools import wraps

from textual.command import CommandList, CommandPalette
from textual.widgets import LoadingIndicator

from tui.safety import Guarded
from tui.widgets.option_list import can_page


class Palette(Guarded, CommandPalette):
    """The command palette of the app (same look and keys as Textual's)."""

    _leaving = False  # dismissed or covered: no search may start or show anything any more

    def _leave(self) -> None:
        self._leaving = True
        self._cancel_gather_commands()
        self._stop_busy_countdown()
        self._stop_no_matches_countdown()

    def dismiss(self, result=None):
        """Close the palette; its search stops here, not when its widgets are gone."""
        self._leave()
        return super().dismiss(result)

    def _on_screen_suspend(self) -> None:
        # Popped by something other than dismiss (an app key, a stale pop): the same. Covered by
        # a pushed screen, it stays on the stack and goes on. (Textual calls Screen's handler too.)
        if self not in self.app.screen_stack:
            self._leave()

    def _gather_commands(self, search_value: str):
        # A search asked for after the dismiss (a key typed meanwhile) would outlive the list.
        if self._leaving or not self.query(CommandList):
            return None
        return super()._gather_commands(search_value)

    def set_timer(self, delay: float, callback=None, **kwargs):
        """As Textual's; the palette's timers (busy, "no matches") touch the list, so they do
        nothing once the palette is leaving or the list is gone."""
        if callback is not None:
            run = callback

            @wraps(run)
            def callback():
                if not self._leaving and self.query(CommandList):
                    return run()

        return super().set_timer(delay, callback, **kwargs)

    def _action_command_list(self, action: str) -> None:
        # pageup right as new matches come in, before the list is laid out: Textual's
        # OptionList has no map of its lines yet and raised KeyError (random keys found it).
        lists = self.query(CommandList)
        if not lists or (action.startswith("page_") and not can_page(lists.first())):
            return
        super()._action_command_list(action)

    def _watch__list_visible(self) -> None:
        if self.query(CommandList) and self.query("#--input"):
            super()._watch__list_visible()

    async def _watch__show_busy(self) -> None:
        if self.query(LoadingIndicator) and self.query(CommandList):
            await super()._watch__show_busy()
