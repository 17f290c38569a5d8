"""Lesson 12, your own digit: draw on a 28x28 canvas and watch the pretrained net's answer."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from tui.lessons.base import Lesson, Page, Question
from tui.lessons.live import LiveView
from tui.widgets.canvas import SIZE, DigitCanvas

START_DIGIT = 3  # the held-out digit on the canvas when the lesson opens


def load_model():
    """The pretrained LeNet-style net and a held-out digit to start from."""
    from engine.checkpoint import load
    from engine.data import mnist_split
    from engine.paths import PRETRAINED_LENET

    model, shape, _ = load(PRETRAINED_LENET)
    model.eval()
    _, held = mnist_split()
    start = np.array(held.images[START_DIGIT, 0])  # (28, 28)
    return model, tuple(shape), start


def network_input(pixels: np.ndarray) -> np.ndarray:
    """The drawing as MNIST digits are: the ink centred by its mass in a 20x20 box, (1,1,28,28)."""
    from engine.images import mnist_like

    digit, _ = mnist_like(np.asarray(pixels, dtype=np.float32), (SIZE, SIZE), invert=False)
    return digit[None, None].astype(np.float32)


def predict(model, pixels: np.ndarray) -> dict:
    """Probabilities, the feature maps of every conv/pool layer, and the centred input."""
    from tui.screens.predict import feature_maps, softmax

    x = network_input(pixels)
    maps, logits = feature_maps(model, x)
    return {"x": x[0, 0], "maps": maps, "probs": softmax(logits), "blank": not pixels.any()}


def read_image(path_text: str) -> np.ndarray:
    """An image file as 28x28 pixels in [0, 1] (white ink on black); ValueError says why not.

    The path goes through the session's sandbox (served sessions: their own directory only).
    """
    from engine.images import prepare_image
    from tui.sandbox import current

    path = current().resolve(path_text)  # SandboxError is a ValueError
    if not path.exists():
        raise ValueError(f"{path_text}: file not found")
    if not path.is_file():  # a directory, a FIFO or a device would never be an image
        raise ValueError(f"{path_text}: not a regular file")
    return prepare_image(path, (SIZE, SIZE)).pixels


def prepare():
    """The pretrained net, the starting digit and its prediction (the first run compiles)."""
    model, _shape, start = load_model()
    return model, start, predict(model, start)


class DrawView(LiveView):
    """The canvas, the class probabilities, the feature maps; o opens an image file."""

    # The canvas handles these when it has focus; listed here so the key line shows them.
    BINDINGS = [
        Binding("space", "canvas('toggle_pen')", "pen", key_display="space"),
        Binding("c", "canvas('clear')", "clear"),
        Binding("x", "canvas('toggle_eraser')", "eraser"),
        Binding("o", "open", "open image"),
    ]

    FOLLOWED = ("drawing", "pen")  # a follower sees the presenter's digit (tui/presence.py)

    def __init__(self) -> None:
        super().__init__(id="draw-view")
        self.model = None
        self.result: dict | None = None
        self.note = ""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield DigitCanvas(id="draw-canvas")
            yield Static(id="draw-probs")
        yield Input(placeholder="image file, then enter (escape: back)", compact=True,
                    id="draw-path")  # fmt: skip
        yield Static(id="draw-note")
        yield Static(id="draw-maps")

    def on_mount(self) -> None:
        self.start("model", prepare)
        self.redraw()

    def on_focus(self) -> None:
        self.query_one(DigitCanvas).focus()  # the arrows and space belong to the pen

    def done(self, kind: str, result) -> None:
        self.model, start, self.result = result
        canvas = self.query_one(DigitCanvas)
        drawn = canvas.pixels.any() and not np.array_equal(canvas.pixels, start)
        if drawn:  # drawn (or the presenter's digit came) while the model loaded: keep it
            self.result = predict(self.model, canvas.pixels)
            self.changed()
            return
        with self.prevent(DigitCanvas.Changed):
            canvas.set_pixels(start)
        self.note = "a held-out digit to start with: c clears it, then draw your own"

    # ---- following the presenter: the canvas's pixels and pen --------------------------------
    def _canvas(self) -> DigitCanvas:
        canvas = self.query(DigitCanvas)
        return canvas.first() if canvas else DigitCanvas()  # not composed yet: a blank one

    @property
    def drawing(self) -> np.ndarray:
        """The canvas's pixels (28, 28): the step a follower mirrors."""
        return self._canvas().pixels

    @drawing.setter
    def drawing(self, pixels: np.ndarray) -> None:
        self._canvas().set_pixels(pixels)  # Changed: the prediction follows

    @property
    def pen(self) -> tuple[int, int]:
        """Where the canvas's pen is (row, col)."""
        return self._canvas().pen

    @pen.setter
    def pen(self, at: tuple[int, int]) -> None:
        canvas = self._canvas()
        canvas.pen = (min(max(int(at[0]), 0), SIZE - 1), min(max(int(at[1]), 0), SIZE - 1))
        canvas.refresh()

    def on_digit_canvas_changed(self, message: DigitCanvas.Changed) -> None:
        if self.model is not None:
            self.result = predict(self.model, message.canvas.pixels)
            if self.note.startswith("a held-out"):
                self.note = ""
            self.changed()
            self.redraw()

    def action_canvas(self, action: str) -> None:
        """Run a canvas action (when the view, not the canvas, has focus)."""
        getattr(self.query_one(DigitCanvas), f"action_{action}")()

    def action_open(self) -> None:
        """Type the path of an image file to put on the canvas."""
        self.add_class("-opening")
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.remove_class("-opening")
        self.query_one(DigitCanvas).focus()
        if not text:
            return
        try:
            pixels = read_image(text)
        except ValueError as exc:  # engine.images.ImageError is a ValueError
            self.note = f"could not open it: {exc}"
            self.redraw()
            return
        self.query_one(DigitCanvas).set_pixels(pixels)
        self.note = f"opened {text}"
        self.redraw()

    def key_escape(self, event) -> None:
        if self.has_class("-opening"):
            event.stop()
            self.remove_class("-opening")
            self.query_one(DigitCanvas).focus()

    @property
    def ready(self) -> bool:
        """The engine's numbers have arrived from the worker."""
        return self.result is not None

    # ---- numbers --------------------------------------------------------------------------
    def state(self) -> dict:
        if self.result is None:
            return {"ready": False}
        probs = self.result["probs"]
        return {"ready": True, "digit": str(int(np.argmax(probs))), "p": float(probs.max()),
                "blank": self.result["blank"]}  # fmt: skip

    def placeholders(self) -> dict[str, str]:
        s = self.state()
        out = {"guess": "…", "confidence": "…", "channels": "…", "deep": "…"}
        if s["ready"]:
            hide = self.concealed
            out.update(guess="?" if hide else s["digit"],
                       confidence="?" if hide else f"{100 * s['p']:.1f}%")  # fmt: skip
            maps = self.result["maps"]
            out["channels"] = str(maps[0][1].shape[0])
            out["deep"] = "x".join(map(str, maps[-1][1].shape))
        return out

    # ---- drawing --------------------------------------------------------------------------
    def redraw(self) -> None:
        probs_box = self.query_one("#draw-probs", Static)
        canvas = self.query_one(DigitCanvas)
        note = Text(canvas.status + ("  · " + self.note if self.note else ""), style="dim")
        self.query_one("#draw-note", Static).update(note)
        maps = self.query_one("#draw-maps", Static)
        if self.problem:
            probs_box.update(Text(self.problem, style="bold red"))
            return
        if self.result is None:
            probs_box.update(Text("loading the pretrained net …"))
            return
        probs = self.result["probs"]
        if self.concealed:
            probs_box.update(Text("P(digit):\nhidden until\nyou answer", style="bold"))
        else:
            room = probs_box.size.width or max(10, self.size.width - 33)
            probs_box.update(prob_bars(probs, room, self.color))
        if self.mode == "features":
            from tui.screens.predict import maps_text

            width = max(30, self.size.width - 2)
            layers = (
                self.result["maps"][:1] if self.app.size.height < 30 else self.result["maps"][:3]
            )
            maps.update(maps_text(layers, width, self.color))
            maps.display = True
        else:
            maps.display = False


def prob_bars(probs: np.ndarray, width: int, color: bool) -> Text:
    """'7 ████████  99%' per class, the most probable in bold."""
    best = int(np.argmax(probs))
    bar_w = max(1, min(20, width - 7))  # "7 " + bar + " 100%"
    t = Text("P(digit)\n", style="bold", no_wrap=True, overflow="crop")
    for d, p in enumerate(probs):
        n = int(round(float(p) * bar_w))
        style = "bold" if d == best else None
        t.append(f"{d} ", style)
        t.append(
            "█" * n + " " * (bar_w - n), ("bold green" if color else "bold") if d == best else None
        )
        t.append(f"{100 * float(p):4.0f}%\n", style)
    return t


def _guess(s: dict) -> float:
    return float(s["digit"]) if s["ready"] else float("nan")


GUESS_QUESTION = Question(
    prompt="Which digit will the network say the canvas shows? (type 0-9)",
    answer=_guess,
    worked=lambda s: (
        f"the largest probability is digit {s['digit']}, {100 * s['p']:.1f}%" if s["ready"] else ""
    ),
    tolerance=0.1,
)

LESSON = Lesson(
    number=12,
    markdown_file="12-your-digit.md",
    pages=(
        Page(DrawView, question=GUESS_QUESTION, mode="draw"),
        Page(DrawView, mode="features"),
        Page(DrawView, mode="file"),
    ),
    explorer="lenet",
    keys=(
        ("mouse", "draw on the canvas (drag)"),
        ("←↑↓→ / space", "move the pen / pen on-off"),
        ("x", "eraser on/off"),
        ("c", "clear the canvas"),
        ("o", "open an image file"),
    ),  # fmt: skip
)
