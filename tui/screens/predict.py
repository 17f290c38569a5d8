"""PredictScreen: an image file or a held-out digit through a model, layer by layer, to softmax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Select, Static

from tui.colormode import use_color
from tui.render import bar_list, heatmap
from tui.sandbox import SandboxError, current
from tui.widgets.labkit import LabKeys, held_out_split, tile

SOURCES = (("pretrained lenet", "pretrained"), ("latest training run", "latest"),
           ("checkpoint file", "checkpoint"))  # fmt: skip
MAP_LAYERS = ("Conv2d", "MaxPool2d", "AvgPool2d", "Residual")  # layers whose channels we draw


def default_image() -> str:
    """The bundled sample 7, relative to the working directory when possible."""
    from engine.paths import SAMPLES_DIR

    path = SAMPLES_DIR / "digit_7.png"
    if current().served:  # the server copies the samples into the session's own directory
        return path.name
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def feature_maps(model, x: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]:
    """Run x (1, C, H, W) layer by layer in eval mode: ([(name, maps (C, H, W))], logits (K,))."""
    was_training = model.training
    model.eval()
    maps = []
    try:
        out = x
        for k, layer in enumerate(model.layers):
            out = layer.forward(out)
            name = type(layer).__name__
            if name in MAP_LAYERS and out.ndim == 4:
                maps.append((f"{k} {name} {'x'.join(map(str, out.shape[1:]))}", out[0].copy()))
    finally:
        model.train(was_training)
    return maps, np.asarray(out[0], dtype=np.float64)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Stable softmax of one logit vector, float64."""
    e = np.exp(logits - logits.max())
    return e / e.sum()


def maps_text(maps: list[tuple[str, np.ndarray]], width: int, color: bool) -> Text:
    """Each layer's channels as small heatmaps with one colour scale per layer."""
    out = Text(no_wrap=True, overflow="crop")
    for name, m in maps:
        lo, hi = float(m.min()), float(m.max())
        size = 14 if m.shape[-1] > 7 else 7
        cards = []
        for c in range(m.shape[0]):
            card = Text(f"ch{c}\n")
            card.append(heatmap(m[c], max_width=size, max_height=size // 2, color=color,
                                lo=lo, hi=hi, max_scale=2))  # fmt: skip
            cards.append(card)
        if out.plain:
            out.append("\n\n")
        out.append(f"{name}  (min {lo:.3g}, max {hi:.3g})\n", style="bold")
        out.append_text(tile(cards, width))
    return out


class PredictScreen(LabKeys, Screen):
    """Predict a digit with the pretrained, the latest trained or a checkpointed model."""

    ERROR_ID = "pred-error"

    DEFAULT_CSS = """
    PredictScreen .row { height: 1; }
    PredictScreen .row Label { width: 12; }
    PredictScreen .row Input { width: 1fr; }
    PredictScreen #model-source { width: 28; }
    PredictScreen #pred-error { height: auto; color: $error; text-style: bold; }
    PredictScreen #pred-top { height: auto; }
    PredictScreen #pred-input, PredictScreen #pred-probs, PredictScreen #pred-maps {
        height: auto; border: round $primary 60%; padding: 0 1; }
    PredictScreen #pred-input { width: 32; }
    PredictScreen #pred-probs { width: 1fr; }
    """

    BINDINGS = [
        Binding("o", "open_image", "open image"),
        Binding("n", "digit(1)", "next digit"),
        Binding("p", "digit(-1)", "previous digit"),
        Binding("r", "random_digit", "random digit"),
        Binding("m", "cycle_model", "model"),
        Binding("f", "focus_path", "type a path", show=False),
        Binding("escape", "back", "explorer"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.model = None
        self.input_shape = (1, 28, 28)
        self.model_name = ""
        self.digit = -1  # index of the held-out digit shown, -1 when an image file is shown
        self.probs: np.ndarray | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="pred-body", can_focus=True):
            with Horizontal(classes="row"):
                yield Label("image file")
                yield Input(default_image(), compact=True, id="image-path")
            with Horizontal(classes="row"):
                yield Label("model")
                yield Select(SOURCES, value="pretrained", allow_blank=False, compact=True,
                             id="model-source")  # fmt: skip
                yield Input("./cnn-tui-model.npz", compact=True, id="ckpt-path")
            yield Static("", id="pred-error")
            with Horizontal(id="pred-top"):
                yield Static("", id="pred-input")
                yield Static("", id="pred-probs")
            yield Static("", id="pred-maps")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#pred-input").border_title = "Input 28x28"
        self.query_one("#pred-probs").border_title = "Softmax probabilities"
        self.query_one("#pred-maps").border_title = "Feature maps"
        self.query_one("#pred-body").focus()
        if self.load_model("pretrained"):
            self.action_open_image()

    # ---- model ------------------------------------------------------------------------------
    def load_model(self, source: str) -> bool:
        """Use the pretrained lenet, the training screen's latest model, or a checkpoint file."""
        from engine.checkpoint import load
        from engine.paths import PRETRAINED_LENET

        try:
            if source == "latest":
                latest = self.app.lab_latest
                if latest is None:
                    raise ValueError("no training run yet: T opens the training screen")
                model, shape, name = latest
            else:
                path = PRETRAINED_LENET if source == "pretrained" else current().resolve(
                    self.query_one("#ckpt-path", Input).value)  # fmt: skip
                model, shape, _ = load(path)
                name = "pretrained lenet" if source == "pretrained" else str(path)
        except (OSError, ValueError) as exc:
            self.problem(f"could not use that model: {exc}")
            return False
        self.model, self.input_shape, self.model_name = model, tuple(shape), name
        self.clear_problem()
        return True

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "model-source" and self.load_model(str(event.value)):
            self.redo()

    def action_cycle_model(self) -> None:
        """Next model: pretrained lenet, latest training run, checkpoint file."""
        select = self.query_one("#model-source", Select)
        values = [v for _, v in SOURCES]
        select.value = values[(values.index(select.value) + 1) % len(values)]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "image-path":
            self.action_open_image()
        elif self.load_model("checkpoint"):
            self.query_one("#model-source", Select).value = "checkpoint"
            self.redo()

    def action_focus_path(self) -> None:
        """Type an image path (enter opens it)."""
        self.query_one("#image-path", Input).focus()

    # ---- inputs -----------------------------------------------------------------------------
    def redo(self) -> None:
        """Predict again what is shown, with the current model."""
        if self.digit >= 0:
            self.show_digit(self.digit)
        else:
            self.action_open_image()

    def action_open_image(self) -> None:
        """Prepare the image file in the path field and predict it."""
        from engine.images import ImageError, prepare_image

        path = self.query_one("#image-path", Input).value.strip()
        if not path:
            return self.problem("type an image path first (f focuses the field)")
        try:
            prepared = prepare_image(current().resolve(path), self.input_shape[1:])
        except (ImageError, SandboxError) as exc:
            return self.problem(str(exc))
        self.digit = -1
        note = " (inverted: dark ink on light paper)" if prepared.inverted else ""
        self.predict(prepared.as_input(self.input_shape[0]), f"{path}{note}", None)

    def action_digit(self, delta: int) -> None:
        """Next/previous digit of the 2000 held-out ones."""
        self.show_digit((self.digit + delta) % 2000 if self.digit >= 0 else 0)

    def action_random_digit(self) -> None:
        """A random held-out digit."""
        self.show_digit(int(np.random.default_rng().integers(2000)))

    def show_digit(self, index: int) -> None:
        """Predict held-out digit `index` (0-1999)."""
        _, held_out = held_out_split()
        self.digit = index % len(held_out)
        x = held_out.images[self.digit : self.digit + 1]
        label = int(held_out.labels[self.digit])
        self.predict(x, f"held-out digit {self.digit + 1}/2000, label {label}", label)

    def predict(self, x: np.ndarray, where: str, label: int | None) -> None:
        """Forward x layer by layer; show input, feature maps and probabilities."""
        if self.model is None:
            return self.problem("no model: pick one with m")
        try:
            maps, logits = feature_maps(self.model, x)
        except ValueError as exc:
            return self.problem(f"{self.model_name} cannot take this input: {exc}")
        self.clear_problem()
        color = use_color(self.app)
        self.probs = probs = softmax(logits)
        pred = int(probs.argmax())
        card = heatmap(x[0, 0], max_width=28, max_height=14, signed=False, color=color)
        self.query_one("#pred-input", Static).update(Text(where + "\n").append_text(card))
        head = Text(f"predicted {pred} (p = {probs[pred]:.4f}) by {self.model_name}", "bold")
        if label is not None:
            head.append("  ✓ correct" if label == pred else f"  ✗ true label {label}")
        bars = bar_list(probs, width=44, cursor=pred, signed=False, color=color,
                        labels=[str(k) for k in range(len(probs))])  # fmt: skip
        self.query_one("#pred-probs", Static).update(head.append("\n").append_text(bars))
        width = max(40, self.size.width - 6)
        self.query_one("#pred-maps", Static).update(maps_text(maps, width, color))
