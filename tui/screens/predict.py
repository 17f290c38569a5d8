"""PredictScreen: an image file or a held-out digit through a model, layer by layer, to softmax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static

# Imported here, on the interface thread: a first import inside the worker thread raced the
# interface's own imports (KeyError: 'engine' from the import system under load).
import engine.data  # noqa: F401 - held_out_split imports it in the worker
from engine.checkpoint import load
from engine.images import prepare_image
from engine.paths import PRETRAINED_LENET, SAMPLES_DIR
from tui.colormode import use_color
from tui.messages import Predicted
from tui.render import bar_list, heatmap
from tui.safety import why
from tui.sandbox import current
from tui.widgets.footer import Footer
from tui.widgets.labkit import LabKeys, held_out_split, tile

SOURCES = (("pretrained lenet", "pretrained"), ("latest training run", "latest"),
           ("checkpoint file", "checkpoint"))  # fmt: skip
DEFAULT_CKPT = "./cnn-tui-model.npz"
MAP_LAYERS = ("Conv2d", "MaxPool2d", "AvgPool2d", "Residual")  # layers whose channels we draw


def default_image() -> str:
    """The bundled sample 7, relative to the working directory when possible."""
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
    """Predict a digit with the pretrained, the latest trained or a checkpointed model.

    Files are read and the model run in a worker, so a slow or strange file never freezes the
    screen; what is shown (model, input, result) changes only when a request succeeds."""

    ERROR_ID = "pred-error"

    BINDINGS = [
        Binding("o", "open_image", "open image"),
        Binding("n", "digit(1)", "next"),
        Binding("p", "digit(-1)", "prev"),
        Binding("r", "random_digit", "random"),
        Binding("m", "cycle_model", "model"),
        Binding("escape", "back", "explorer"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.model = None
        self.input_shape = (1, 28, 28)
        self.model_name = ""
        self.source = "pretrained"  # where self.model came from (the picker shows this)
        self.digit = -1  # index of the held-out digit shown, -1 when an image file is shown
        self.path = ""  # the image file shown, "" when a digit is shown
        self.probs: np.ndarray | None = None
        self.request = 0  # the newest request; older workers' answers are dropped
        self._next_digit = -1  # the digit n/p move from (the newest asked for)
        self.x: np.ndarray | None = None  # (1, C, H, W): the input shown
        self.maps: list[tuple[str, np.ndarray]] = []  # each map layer's (C, H, W) output
        self.logits: np.ndarray | None = None  # (K,)
        self.zoom_class: int | None = None  # the class the zoom explains (None: the prediction)
        self._head = None  # (key, Explanation or message) of the zoomed logit, computed once
        self._tried = "pretrained"  # the source m moves on from (the newest asked for)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="pred-body", can_focus=True):
            with Horizontal(classes="row"):
                yield Label("image file")
                yield Input(default_image(), compact=True, id="image-path")
            with Horizontal(classes="row"):
                yield Label("model")
                yield Select(SOURCES, value="pretrained", allow_blank=False, compact=True,
                             id="model-source")  # fmt: skip
                yield Input(DEFAULT_CKPT, compact=True, id="ckpt-path")
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
        self.ask("pretrained", ("file", self.query_one("#image-path", Input).value.strip()))

    # ---- requests (answered by the worker) ----------------------------------------------------
    def ask(self, source: str, what: tuple[str, object]) -> None:
        """Predict `what` (("file", path) or ("digit", index)) with the model from `source`."""
        self.request += 1
        self._tried = source
        latest = getattr(self.app, "lab_latest", None)
        same = source == self.source and self.model is not None  # no need to load it again
        in_use = (self.model, self.input_shape, self.model_name) if same else None
        ckpt = self.query_one("#ckpt-path", Input).value.strip()
        self.compute(self.request, source, ckpt, latest, in_use, what)

    def shown(self) -> tuple[str, object]:
        """What is on screen now, to predict again with another model."""
        return ("digit", self.digit) if self.digit >= 0 else ("file", self.path)

    @work(thread=True, exclusive=True, group="predict", exit_on_error=False)
    def compute(self, request: int, source: str, ckpt: str, latest, in_use, what) -> None:
        """Load the model and the input, run the model layer by layer; post Predicted."""
        try:
            model, shape, name = in_use or self._load_model(source, ckpt, latest)
        except Exception as exc:  # any file: a clear message, never a crash
            return self.post_message(
                Predicted(request, error=f"could not use that model: {why(exc)}")
            )
        try:
            x, where, label, digit, path = self._load_input(what, shape)
        except Exception as exc:
            return self.post_message(
                Predicted(request, error=f"could not open the image: {why(exc)}")
            )
        try:
            maps, logits = feature_maps(model, x)
            if not np.all(np.isfinite(logits)):
                raise ValueError("the model's output is not finite")
        except Exception as exc:
            error = f"{name} cannot take this input: {why(exc)}"
            return self.post_message(Predicted(request, error=error))
        self.post_message(Predicted(request, model, shape, name, source, x, where, label, digit,
                                    path, maps, logits))  # fmt: skip

    @staticmethod
    def _load_model(source: str, ckpt: str, latest) -> tuple:
        if source == "latest":
            if latest is None:
                raise ValueError("no training run yet: T opens the training screen")
            return latest
        if source == "checkpoint" and not ckpt:
            raise ValueError("type a checkpoint path in the field right of the picker")
        path = PRETRAINED_LENET if source == "pretrained" else current().resolve(ckpt)
        model, shape, _ = load(path)
        name = "pretrained lenet" if source == "pretrained" else current().shown(path)
        return model, tuple(shape), name

    @staticmethod
    def _load_input(what: tuple[str, object], shape: tuple) -> tuple:
        kind, value = what
        if kind == "digit":
            _, held_out = held_out_split()
            index = int(value) % len(held_out)
            label = int(held_out.labels[index])
            where = f"held-out digit {index + 1}/2000, label {label}"
            return held_out.images[index : index + 1], where, label, index, ""
        path = str(value)
        if not path:
            raise ValueError("type an image path first (o moves the cursor there)")
        try:
            resolved = current().resolve(path)
            prepared = prepare_image(resolved, tuple(shape[1:]))
            if not np.all(np.isfinite(prepared.pixels)):
                raise ValueError("its pixels are not finite numbers")
        except Exception as exc:  # whatever went wrong, the message names the file
            raise ValueError(why(exc) if path in str(exc) else f"{path}: {why(exc)}") from exc
        note = " (inverted: dark ink on light paper)" if prepared.inverted else ""
        return prepared.as_input(shape[0]), f"{path}{note}", None, -1, path

    def on_predicted(self, message: Predicted) -> None:
        if message.request != self.request:
            return  # an older request, overtaken by a newer one
        if message.error:
            kept = f" (still showing {self.model_name})" if self.model_name else ""
            self._show_source(self.source)  # the picker names the model in use
            return self.problem(message.error + kept)
        self.clear_problem()
        self.model, self.input_shape = message.model, tuple(message.input_shape)
        self.model_name, self.source = message.name, message.source
        self.digit, self.path = message.digit, message.path
        self._next_digit = message.digit
        self._show_source(message.source)
        self.x, self.maps, self.logits = message.x, message.maps, message.logits
        self.zoom_class = None
        self.show(message.x, message.where, message.label, message.maps, message.logits)

    def _show_source(self, source: str) -> None:
        select = self.query_one("#model-source", Select)
        if select.value != source:
            with select.prevent(Select.Changed):
                select.value = source

    # ---- model ------------------------------------------------------------------------------
    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "model-source" and event.value != self.source:
            self.ask(str(event.value), self.shown())

    def action_cycle_model(self) -> None:
        """Next model: pretrained lenet, latest training run, checkpoint file."""
        values = [v for _, v in SOURCES]
        after = values[(values.index(self._tried) + 1) % len(values)]
        select = self.query_one("#model-source", Select)
        if select.value != after:
            select.value = after  # the change asks for that model
        else:  # back at the model in use (a failed choice was undone): nothing to load
            self._tried = after

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#pred-body").focus()  # keys are commands again (n, p, m, o)
        if event.input.id == "image-path":
            self.ask(self.source, ("file", event.value.strip()))
        else:
            self.ask("checkpoint", self.shown())

    # ---- inputs -----------------------------------------------------------------------------
    def action_open_image(self) -> None:
        """Type an image path (enter opens it, escape goes back)."""
        self.query_one("#image-path", Input).focus()

    def action_digit(self, delta: int) -> None:
        """Next/previous digit of the 2000 held-out ones."""
        base = self._next_digit
        self._next_digit = (base + delta) % 2000 if base >= 0 else 0
        self.ask(self.source, ("digit", self._next_digit))

    def action_random_digit(self) -> None:
        """A random held-out digit."""
        self._next_digit = int(np.random.default_rng().integers(2000))
        self.ask(self.source, ("digit", self._next_digit))

    def show(self, x: np.ndarray, where: str, label: int | None, maps, logits) -> None:
        """Show input, feature maps and probabilities of one prediction."""
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

    # ---- workshop: what s exports and Z enlarges (tui.export, tui.screens.zoom) ----------
    def exportables(self) -> list:
        """The input, the probabilities and logits, and every feature map layer shown."""
        from tui.export import TensorExport

        if self.x is None or self.probs is None:
            return []
        items = [TensorExport("predict input", self.x[0], signed=False),
                 TensorExport("predict softmax probabilities", self.probs, signed=False),
                 TensorExport("predict logits", self.logits)]  # fmt: skip
        items += [TensorExport(f"predict layer {name}", m) for name, m in self.maps]
        return items

    def zoom_view(self):
        """The ten probabilities, the zoomed class's cursor and its logit's equation."""
        from tui.screens.zoom import ZoomView

        if self.probs is None:
            return ZoomView("softmax probabilities", None, message="nothing predicted yet")
        k = int(self.probs.argmax()) if self.zoom_class is None else self.zoom_class
        explanation, message = self._head_explanation(k)
        title = f"softmax probabilities · class {k}"
        return ZoomView(title, self.probs[None, :], (0, k), explanation=explanation,
                        message=message)  # fmt: skip

    def zoom_move(self, di: int, dj: int) -> None:
        """Left and right pick the class whose probability and logit are zoomed."""
        if self.probs is not None:
            k = int(self.probs.argmax()) if self.zoom_class is None else self.zoom_class
            self.zoom_class = min(max(k + dj, 0), len(self.probs) - 1)

    def _head_explanation(self, k: int):
        """The engine's explanation of logit k by the model's last layer (once per input)."""
        from engine.explain import explain_forward

        key = (id(self.x), id(self.model), k)
        if self._head is None or self._head[0] != key:
            try:
                x = self.x
                was_training = self.model.training
                self.model.eval()
                try:
                    for layer in self.model.layers[:-1]:
                        x = layer.forward(x)
                finally:
                    self.model.train(was_training)
                self._head = (key, explain_forward(self.model.layers[-1], x, (0, k)), "")
            except Exception as exc:  # a head the engine cannot explain: say so
                self._head = (key, None, f"no equation for this model's head: {why(exc)}")
        return self._head[1], self._head[2]
