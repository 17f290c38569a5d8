"""Workshop keys: the projector themes are high-contrast, C switches them, help and palette list
the workshop keys."""

from __future__ import annotations

import pytest
from _pilot import plain, ready

from tui.app import PROJECTOR, PROJECTOR_LIGHT, CnnTuiApp, WorkshopCommands
from tui.screens.help import HelpScreen
from tui.workshop import WORKSHOP_KEYS


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of #rrggbb."""
    rgb = [int(hex_colour[k : k + 2], 16) / 255 for k in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio, 1 to 21."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_by_hand():
    assert contrast("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # a known value


@pytest.mark.parametrize("theme", [PROJECTOR, PROJECTOR_LIGHT], ids=lambda t: t.name)
def test_projector_themes_are_high_contrast(theme):
    # text 7:1 (WCAG AAA), every hue used for text or marks at least 4.5:1 (AA) on the background
    assert contrast(theme.foreground, theme.background) >= 7
    for name in ("primary", "secondary", "accent", "warning", "error", "success"):
        assert contrast(getattr(theme, name), theme.background) >= 4.5, name


async def test_keys_in_help_palette_and_the_theme_switch():
    app = CnnTuiApp(preset="article")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = plain(app.screen.query_one("#help-keys"), 100).splitlines()
        assert {"s", "C"} <= {key for key, _ in WORKSHOP_KEYS}
        for key, _ in WORKSHOP_KEYS:
            assert any(line.split()[:1] == [key] for line in keys), key
        await pilot.press("escape")
        names = [name for name, _, _ in WorkshopCommands(screen).commands()]
        assert names[0] == "export…" and "projector theme light / dark" in names
        assert app.theme == "projector"
        await pilot.press("C")
        assert app.theme == "projector-light"
        await pilot.press("C")
        assert app.theme == "projector"
