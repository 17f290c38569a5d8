"""HyperParams: the training form (preset, optimizer, lr, batch, epochs, L2, dropout, seed)."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Input, Label, Select

from engine.optim import OPTIMIZERS, default_lr
from engine.train import TrainConfig

PRESETS = ("lenet", "resnet")
# (field id, label, default text): the text fields, in form order after the two pickers.
FIELDS = (
    ("lr", "lr", "0.05"),
    ("batch", "batch", "32"),
    ("epochs", "epochs", "1"),
    ("wd", "L2 decay", "0"),
    ("dropout", "dropout", "0"),
    ("seed", "seed", "0"),
    ("steps", "max steps", ""),
)


def parse_int(text: str, name: str, lo: int, hi: int, errors: list[str]) -> int:
    """A whole number in [lo, hi]; a bad one appends a message naming the field to errors."""
    try:
        value = int(text.strip())
    except ValueError:
        errors.append(f"{name} must be a whole number, got {text.strip()!r}")
        return lo
    if not lo <= value <= hi:
        errors.append(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _float(text: str, name: str, lo: float, hi: float, errors: list[str], lo_open=False) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        errors.append(f"{name} must be a number, got {text.strip()!r}")
        return lo
    bad_lo = value <= lo if lo_open else value < lo
    if not math.isfinite(value) or bad_lo or value >= hi:
        left = "(" if lo_open else "["
        errors.append(f"{name} must be in {left}{lo:g}, {hi:g}), got {text.strip()}")
    return value


def parse_config(values: dict[str, str]) -> tuple[TrainConfig | None, list[str]]:
    """The form's text as a TrainConfig, or None and one message per bad field."""
    errors: list[str] = []
    preset, opt = values.get("preset", "lenet"), values.get("optimizer", "momentum")
    if preset not in PRESETS:
        errors.append(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    if opt not in OPTIMIZERS:
        errors.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {opt!r}")
    lr = _float(values["lr"], "lr", 0.0, 10.0, errors, lo_open=True)
    batch = parse_int(values["batch"], "batch size", 1, 8000, errors)
    epochs = parse_int(values["epochs"], "epochs", 1, 100, errors)
    wd = _float(values["wd"], "L2 weight decay", 0.0, 1.0, errors)
    dropout = _float(values["dropout"], "dropout", 0.0, 1.0, errors)
    seed = parse_int(values["seed"], "seed", 0, 2**31 - 1, errors)
    steps = None
    if values["steps"].strip():
        steps = parse_int(values["steps"], "max steps", 1, 10**7, errors)
    if errors:
        return None, errors
    config = TrainConfig(
        preset=preset, optimizer=opt, lr=lr, batch_size=batch, epochs=epochs,
        weight_decay=wd, dropout=dropout, seed=seed, max_steps=steps,
    )  # fmt: skip
    return config, []


class HyperParams(Grid):
    """Labelled pickers and inputs in a grid; read with values(), change with set()."""

    def compose(self) -> ComposeResult:
        yield Label("preset")
        yield Select([(p, p) for p in PRESETS], value="lenet", allow_blank=False,
                     compact=True, id="hp-preset")  # fmt: skip
        yield Label("optimizer")
        yield Select([(o, o) for o in OPTIMIZERS], value="momentum", allow_blank=False,
                     compact=True, id="hp-optimizer")  # fmt: skip
        for fid, label, default in FIELDS:
            yield Label(label)
            yield Input(default, placeholder="all" if fid == "steps" else "", compact=True,
                        id=f"hp-{fid}")  # fmt: skip

    def values(self) -> dict[str, str]:
        """Every field as text (pickers as their value)."""
        out = {
            "preset": str(self.query_one("#hp-preset", Select).value),
            "optimizer": str(self.query_one("#hp-optimizer", Select).value),
        }
        for fid, _, _ in FIELDS:
            out[fid] = self.query_one(f"#hp-{fid}", Input).value
        return out

    def set(self, **values: str) -> None:
        """Set fields by id (preset, optimizer, lr, batch, epochs, wd, dropout, seed, steps)."""
        for fid, value in values.items():
            widget = self.query_one(f"#hp-{fid}")
            widget.value = value

    _optimizer = "momentum"  # the picker's previous value

    def on_select_changed(self, event: Select.Changed) -> None:
        # A new optimizer gets its usual learning rate (plain SGD wants a larger one than Adam),
        # unless the user typed an lr of their own.
        if event.select.id != "hp-optimizer" or event.value not in OPTIMIZERS:
            return
        lr = self.query_one("#hp-lr", Input)
        preset = str(self.query_one("#hp-preset", Select).value)
        if lr.value.strip() == f"{default_lr(self._optimizer, preset):g}":
            lr.value = f"{default_lr(str(event.value), preset):g}"
        self._optimizer = str(event.value)
