"""PresetsScreen: pick the article's 5x5 example, the LeNet-style MNIST net or the residual net."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.safety import Guarded


class PresetsScreen(Guarded, ModalScreen[str | None]):
    """Dismisses with the chosen preset's name, or None on escape."""

    BINDINGS = [
        Binding("escape", "dismiss", "cancel"),
        *(Binding(str(k + 1), f"pick({k})", f"preset {k + 1}", show=False) for k in range(9)),
    ]

    def __init__(self, presets: list[tuple[str, str, str]], current: str = "") -> None:
        super().__init__()
        self.presets = presets  # (name, title, description)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="presets-body") as body:
            body.border_title = "Presets (enter loads, escape cancels)"
            options = []
            for number, (name, title, description) in enumerate(self.presets, start=1):
                label = Text.assemble((f"{number}  {title}", "bold"), "\n   ", description)
                options.append(Option(label, id=name))
            yield OptionList(*options, id="presets-list")
            yield Static("loading a preset replaces the model, optimizer state and curves")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        names = [name for name, _, _ in self.presets]
        if self.current in names:
            option_list.highlighted = names.index(self.current)
        option_list.focus()

    def action_pick(self, index: int) -> None:
        """The number keys load the preset listed under that number."""
        if index < len(self.presets):
            self.dismiss(self.presets[index][0])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
