"""The footer: rebuilt when its keys change, kept when its screen comes back with the same keys."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from tui.widgets.footer import Footer


class Keys(Screen):
    BINDINGS = [Binding("a", "go", "go"), Binding("s", "stop", "stop")]
    running = False

    def compose(self):
        yield Static("keys")
        yield Footer(show_command_palette=False)

    def check_action(self, action, parameters):
        return (self.running or None) if action == "stop" else True  # None: shown disabled


class Dialog(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "close")]

    def compose(self):
        yield Static("a dialog")


class Host(App):
    def on_mount(self) -> None:
        self.push_screen(Keys())


def keys_shown(screen) -> list[tuple[str, bool]]:
    return [(k.description, k.has_class("-disabled")) for k in screen.query(FooterKey)]


async def test_the_footer_follows_its_keys_and_is_kept_when_they_stay():
    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert keys_shown(screen) == [("go", False), ("stop", True)]
        widgets = list(screen.query(FooterKey))
        app.push_screen(Dialog())
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and list(screen.query(FooterKey)) == widgets  # kept
        screen.running = True
        screen.refresh_bindings()  # "stop" is enabled now: the footer shows it
        await pilot.pause()
        await pilot.pause()
        assert keys_shown(screen) == [("go", False), ("stop", False)]
