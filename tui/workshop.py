"""Workshop keys on every screen: export (s), zoom for projectors (Z), projector theme (C)."""

from __future__ import annotations

from textual.binding import Binding

# Keys free on every screen (checked against each screen's and pane's BINDINGS).
WORKSHOP_BINDINGS = [
    Binding("s", "export", "export…", show=False),
    Binding("Z", "zoom", "zoom (projector)", show=False),
    Binding("C", "contrast", "light / dark projector theme", show=False),
]
WORKSHOP_KEYS = [
    ("s", "export: the tensor (.npy .csv .png), the curves (.csv), a screenshot (.svg)"),
    ("Z", "zoom: the numbers around the cursor and the equation in large type"),
    ("C", "projector theme: dark room / bright room (ctrl+p, Theme: every theme)"),
]
THEMES = ("projector", "projector-light")


class WorkshopActions:
    """Mixin for the App: the actions behind the workshop keys and palette commands."""

    export_dir: str | None = None  # the folder last written to (default: cwd / session dir)

    def action_export(self) -> None:
        """Open the export dialog for the current screen (after the palette has closed)."""
        self.call_after_refresh(self._open_export, self.screen)

    def _open_export(self, asked_on) -> None:
        from tui.screens.export import ExportScreen, choices, default_directory

        screen = self.screen
        # A key typed meanwhile (ctrl+p right after s) brought another screen up: the export
        # was for the screen it was asked on, not for that one (it opened over the palette).
        if screen is not asked_on or isinstance(screen, ExportScreen):
            return
        items = choices(screen, self.export_screenshot())  # the screen, not the dialog over it
        self.push_screen(ExportScreen(items, self.export_dir or default_directory()))

    def action_zoom(self) -> None:
        """The numbers around the cursor and the current equation, in large type."""
        from tui.screens.zoom import ZoomScreen

        if isinstance(self.screen, ZoomScreen):
            self.pop_screen()
            return
        view = self.screen.zoom_view() if hasattr(self.screen, "zoom_view") else None
        if view is None:
            self.notify("nothing to zoom into on this screen", severity="warning", timeout=4)
            return
        self.push_screen(ZoomScreen(self.screen))

    def action_contrast(self) -> None:
        """Switch between the dark and the light projector theme."""
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]
        self.notify(f"theme: {self.theme}", timeout=2)


def palette_rows() -> list[tuple[str, str, str]]:
    """(name, action, help) of each workshop key, for the command palette on every screen."""
    return [
        ("export…", "app.export", WORKSHOP_KEYS[0][1] + " (key s)"),
        ("zoom", "app.zoom", WORKSHOP_KEYS[1][1] + " (key Z)"),
        ("projector theme light / dark", "app.contrast", WORKSHOP_KEYS[2][1] + " (key C)"),
    ]
