"""Whether panes draw colour scales: one rule for every widget and screen."""

from __future__ import annotations

import os

# Rich quantises our RGB scales to these palettes; in 16 colours a blue-white-red or
# black-white scale collapses to a few shades of white, so the ASCII ramp reads better.
_TOO_FEW_COLOURS = {None, "standard", "windows"}


def use_color(app) -> bool:
    """Colour unless NO_COLOR, the app's no-colour mode, or a terminal with only 16 colours."""
    if "NO_COLOR" in os.environ or getattr(app, "no_color", False):
        return False
    console = getattr(app, "console", None)
    return console is None or console.color_system not in _TOO_FEW_COLOURS
