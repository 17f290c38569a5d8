"""LayerEditor: a form for one layer that validates as you type and shows the size formula."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from tui.safety import Guarded

# Constructor fields per layer type, in the order the form shows them.
FIELDS: dict[str, tuple[str, ...]] = {
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding"),
    "MaxPool2d": ("kernel_size", "stride"),
    "AvgPool2d": ("kernel_size", "stride"),
    "ReLU": (),
    "Sigmoid": (),
    "Tanh": (),
    "Dropout": ("p",),
    "Flatten": (),
    "Linear": ("in_features", "out_features"),
    "Residual": ("channels",),
}
ALL_FIELDS = tuple(dict.fromkeys(f for fields in FIELDS.values() for f in fields))
PAIR_FIELDS = {"kernel_size", "stride", "padding"}  # "3" or "3,2" (height, width)
OPTIONAL = {("MaxPool2d", "stride"), ("AvgPool2d", "stride")}  # blank = same as kernel_size
HINTS = {"stride": "1 or 2,1 (pools: blank = kernel)", "kernel_size": "3 or 3,2", "p": "0 <= p < 1"}

Check = Callable[[dict], list[str]]  # candidate spec -> preview lines; ValueError says why not
KEYS = "enter or ctrl+s applies · tab next field · esc cancels"
# The engine's messages start with where they come from ("from_spec: spec: ..."): the dialog
# already says which layer, so the user reads only what is wrong.
INTERNAL_PREFIX = re.compile(r"^(from_spec: [^:]*: )+")


def reason(error: Exception) -> str:
    """An error as the dialog shows it: without the engine's internal prefixes."""
    return INTERNAL_PREFIX.sub("", str(error))


def defaults(kind: str, in_shape: tuple[int, ...]) -> dict:
    """Starting values that fit the input and keep its shape, so the rest of the model fits."""
    channels = in_shape[0] if len(in_shape) == 3 else 1
    features = math.prod(in_shape) if in_shape else 1
    conv = {"in_channels": channels, "out_channels": channels, "kernel_size": 3, "stride": 1}
    return {
        "Conv2d": {**conv, "padding": 1},
        "MaxPool2d": {"kernel_size": 2},
        "AvgPool2d": {"kernel_size": 2},
        "Dropout": {"p": 0.5},
        "Linear": {"in_features": features, "out_features": features},
        "Residual": {"channels": channels},
    }.get(kind, {})


def residual_spec(channels: int) -> dict:
    """The residual block the editor offers: conv3x3-ReLU-conv3x3 plus the identity skip."""
    conv = {
        "type": "Conv2d",
        "in_channels": channels,
        "out_channels": channels,
        "kernel_size": 3,
        "stride": 1,
        "padding": 1,
    }
    return {"type": "Residual", "layers": [conv, {"type": "ReLU"}, dict(conv)]}


def spec_values(spec: dict) -> dict:
    """Form values for an existing spec (a Residual shows its channel count)."""
    if spec.get("type") == "Residual":
        convs = [s for s in spec.get("layers", []) if s.get("type") == "Conv2d"]
        return {"channels": convs[0]["in_channels"] if convs else 1}
    return {k: v for k, v in spec.items() if k != "type"}


def show_value(value) -> str:
    """A spec value as the text the user would type."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) if len(set(value)) > 1 else str(value[0])
    return str(value)


def parse_field(kind: str, name: str, text: str):
    """Parse one field, raising ValueError that names the field and the bad text."""
    text = text.strip()
    if not text:
        if (kind, name) in OPTIONAL:
            return None
        raise ValueError(f"{name}: required")
    if name == "p":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"p: {text!r} is not a number") from None
    parts = text.replace("x", ",").split(",") if name in PAIR_FIELDS else [text]
    try:
        values = [int(part) for part in parts]
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a whole number") from None
    if len(values) > 2:
        raise ValueError(f"{name}: give one number or a height,width pair, not {text!r}")
    return values[0] if len(values) == 1 else tuple(values)


def build_spec(kind: str, texts: dict[str, str]) -> dict:
    """The layer spec from the form's texts; ValueError names the first bad field."""
    values = {name: parse_field(kind, name, texts.get(name, "")) for name in FIELDS[kind]}
    if kind == "Residual":
        return residual_spec(values["channels"])
    return {"type": kind, **{k: v for k, v in values.items() if v is not None}}


class LayerEditor(Guarded, ModalScreen[dict | None]):
    """Dismisses with the new layer's spec when it validates; escape leaves the model as it was."""

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("ctrl+s", "apply", "apply"),
    ]

    def __init__(self, title: str, spec: dict | None, in_shape: tuple[int, ...], check: Check):
        super().__init__()
        self.title_text = title
        self.in_shape = tuple(in_shape)
        self.check = check
        self.kind = (spec or {}).get("type", "Conv2d" if len(in_shape) == 3 else "Linear")
        if self.kind not in FIELDS:
            self.kind = "Conv2d"
        self.values = spec_values(spec) if spec else defaults(self.kind, self.in_shape)
        self.spec: dict | None = None  # the last candidate that validated
        self.reason = ""  # why the current candidate is refused

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-body") as body:
            body.border_title = self.title_text
            shape = "×".join(map(str, self.in_shape))
            yield Static(f"input to this layer: {shape}", id="editor-input")
            with Horizontal(classes="editor-row"):
                yield Label("type", classes="editor-label")
                options = [(kind, kind) for kind in FIELDS]
                yield Select(
                    options, value=self.kind, allow_blank=False, compact=True, id="editor-type"
                )
            for name in ALL_FIELDS:
                with Horizontal(classes="editor-row", id=f"row-{name}"):
                    yield Label(name, classes="editor-label")
                    yield Input(
                        show_value(self.values.get(name)),
                        compact=True,
                        placeholder=HINTS.get(name, ""),
                        id=f"field-{name}",
                    )
            yield Static(id="editor-preview")
            with Horizontal(id="editor-buttons"):
                yield Button("apply", compact=True, id="editor-apply")
                yield Static(KEYS, id="editor-keys")

    def on_mount(self) -> None:
        self._show_fields()
        self.validate()

    def _show_fields(self) -> None:
        for name in ALL_FIELDS:
            self.query_one(f"#row-{name}").display = name in FIELDS[self.kind]
        first = FIELDS[self.kind]
        # A layer without settings: the cursor goes to apply, so enter applies (on the type
        # picker enter would open the list again).
        target = self.query_one(f"#field-{first[0]}") if first else self.query_one(Button)
        target.focus()

    def texts(self) -> dict[str, str]:
        """The current text of every field."""
        return {name: self.query_one(f"#field-{name}", Input).value for name in ALL_FIELDS}

    def validate(self) -> bool:
        """Build the candidate and ask the session to try it; show the formula or the reason."""
        preview = self.query_one("#editor-preview", Static)
        try:
            spec = build_spec(self.kind, self.texts())
            lines = self.check(spec)
        except ValueError as exc:
            self.spec, self.reason = None, reason(exc)
            preview.update(Text(f"✗ {self.reason}", style="bold red"))
            preview.set_class(True, "-invalid")
            return False
        self.spec = spec
        preview.update(Text("\n".join(["✓ " + lines[0], *lines[1:]]) if lines else "✓"))
        preview.set_class(False, "-invalid")
        return True

    @on(Select.Changed, "#editor-type")
    def _type_changed(self, event: Select.Changed) -> None:
        if event.value == self.kind or event.value is Select.BLANK:
            return
        self.kind = str(event.value)
        fresh = defaults(self.kind, self.in_shape)
        for name in FIELDS[self.kind]:  # no stale value from the previous type survives
            self.query_one(f"#field-{name}", Input).value = show_value(fresh.get(name))
        self._show_fields()
        self.validate()

    @on(Input.Changed)
    def _field_changed(self) -> None:
        self.validate()

    @on(Input.Submitted)
    @on(Button.Pressed, "#editor-apply")
    def _submitted(self) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        """Apply only a setting that validated; otherwise stay open (the dialog says why)."""
        if self.validate() and self.spec is not None:
            self.dismiss(self.spec)
        else:  # the reason is in the dialog already: a short note, not a copy over it
            self.app.bell()
            self.notify("not applied: see ✗ in the dialog", severity="error", timeout=3)

    def action_cancel(self) -> None:
        """Close without changing the model."""
        self.dismiss(None)
