"""Selection: which layer, tensor, sample and element the panes show, and the matching math."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

VIEWS = ("input", "output", "grad_out", "grad_input", "weight", "weight_grad")
TITLES = {
    "input": "input x",
    "output": "output y",
    "grad_out": "∂L/∂y (grad_out)",
    "grad_input": "∂L/∂x (grad_input)",
    "weight": "weight W",
    "weight_grad": "∂L/∂W (weight grad)",
}
SAME_SHAPE = ("ReLU", "Sigmoid", "Tanh", "Dropout", "Flatten")  # input index maps 1:1 to output


class LayerRow(NamedTuple):
    """One row of the layers pane; kind is "input", "layer", "loss" or "update"."""

    label: str
    shape: tuple[int, ...]
    params: int | None
    kind: str


@dataclass
class Shown:
    """What the tensor pane shows: one sample's array (or a message instead), cursor, highlight."""

    array: np.ndarray | None
    title: str
    message: str = ""
    cursor: tuple[int, ...] | None = None
    highlight: frozenset = field(default_factory=frozenset)


def _strongest(sample: np.ndarray) -> tuple[int, ...]:
    """Where channel 0 of one sample is largest in magnitude: a cursor start with ink under it."""
    plane = np.abs(sample[0] if sample.ndim == 3 else sample)
    where = np.unravel_index(int(np.argmax(plane)), plane.shape)
    return tuple(int(i) for i in ((0, *where) if sample.ndim == 3 else where))


def _clamp(index, shape) -> tuple[int, ...]:
    """index moved inside shape (zeros when it has the wrong length)."""
    if index is None or len(index) != len(shape):
        return (0,) * len(shape)
    return tuple(min(max(int(i), 0), d - 1) for i, d in zip(index, shape, strict=True))


class Selection:
    """Layer, view, sample, cursors; follows the pass so each step shows what it computed."""

    def __init__(self, session) -> None:
        self.session = session
        self.reset()

    def reset(self) -> None:
        """Layer 0, its output, sample 0; cursors unset until their numbers exist."""
        self.layer, self.view, self.sample, self.filter = 0, "output", 0, 0
        self.out_cursor = self.in_cursor = self.w_cursor = None
        self.in_channel, self.anchor, self.loss_focus = 0, None, False

    # ---- geometry -------------------------------------------------------------------------
    @property
    def st(self):
        """The session's Stepper (replaced on every model change, so never cached)."""
        return self.session.stepper

    def shapes(self) -> list[tuple[int, ...]]:
        """Per-sample input shape then every layer's output shape."""
        in_shape = tuple(self.session.input_shape)
        return [in_shape, *self.session.model.shapes(in_shape)]

    def weight(self):
        """The selected layer's weight Parameter, if it has one."""
        return getattr(self.session.layers[self.layer], "weight", None)

    def views(self) -> list[str]:
        """Views that exist for the selected layer (weights only where there are weights)."""
        return [v for v in VIEWS if self.weight() is not None or not v.startswith("weight")]

    def clamp(self) -> None:
        """Keep every index valid after the model, batch or layer changed."""
        self.layer = min(max(self.layer, 0), len(self.session.layers) - 1)
        if self.view not in self.views():
            self.view = "output"
        self.sample = min(max(self.sample, 0), len(self.st.x) - 1)
        shapes, L, n = self.shapes(), self.layer, self.sample
        # A fresh cursor waits for its numbers, then starts on the strongest element.
        out, grad_in = self.st.activations[L + 1], self.st.grads[L]
        if self.out_cursor is None and out is not None:
            self.out_cursor = _strongest(out[n])
        if self.in_cursor is None and grad_in is not None:
            self.in_cursor = _strongest(grad_in[n])
        if self.out_cursor is not None:
            self.out_cursor = _clamp(self.out_cursor, shapes[L + 1])
        if self.in_cursor is not None:
            self.in_cursor = _clamp(self.in_cursor, shapes[L])
        w = self.weight()
        if w is not None:
            self.filter = min(max(self.filter, 0), w.shape[0] - 1) if w.value.ndim == 4 else 0
            self.w_cursor = _clamp(self.w_cursor, w.shape[1:] if w.value.ndim == 4 else w.shape)

    # ---- changes ------------------------------------------------------------------------
    def set_layer(self, index: int) -> None:
        """Select a layer (its cursors start at the first element)."""
        if index != self.layer:
            self.layer, self.out_cursor, self.in_cursor, self.w_cursor = index, None, None, None
        self.loss_focus = False
        self.clamp()

    def cycle_view(self) -> str:
        """input -> output -> grad_out -> grad_input -> weight -> weight grad -> input."""
        views = self.views()
        here = views.index(self.view) if self.view in views else -1
        self.view = views[(here + 1) % len(views)]
        self.loss_focus = False
        self.clamp()  # a weight view needs its cursor even before any step set one
        return TITLES[self.view]

    def step_sample(self, delta: int) -> str:
        """Next/previous sample of the batch (in weight views: next/previous filter)."""
        w = self.weight()
        if self.view.startswith("weight") and w is not None and w.value.ndim == 4:
            self.filter = (self.filter + delta) % w.shape[0]
            return f"filter {self.filter + 1} of {w.shape[0]}"
        n = len(self.st.x)
        self.sample = (self.sample + delta) % n
        return f"sample {self.sample + 1} of {n}"

    def follow(self, op) -> None:
        """Point the panes at what `op` just computed."""
        self.loss_focus = False
        if op is not None and op.kind == "forward":
            self.set_layer(op.layer)
            self.view = self.view if self.view in ("input", "output") else "output"
        elif op is not None and op.kind in ("loss", "loss_backward"):
            self.set_layer(len(self.session.layers) - 1)
            self.view = "output" if op.kind == "loss" else "grad_out"
            self.loss_focus = op.kind == "loss"
        elif op is not None and op.kind == "backward":
            self.set_layer(op.layer)
            self.view = "grad_input"
        self.clamp()

    def move_cursor(self, index: tuple[int, ...], channel: int) -> None:
        """The tensor pane's cursor moved to `index` (its array's coordinates) on `channel`."""
        self.loss_focus = False
        if self.view in ("output", "grad_out"):
            self.out_cursor = index
        elif self.view == "grad_input":
            self.in_cursor = index
        elif self.view.startswith("weight"):
            self.w_cursor = index
        elif self.view == "input":
            self.in_channel = channel
            self._move_from_input(index)
        self.clamp()

    def _move_from_input(self, index: tuple[int, ...]) -> None:
        """On the input, arrows walk the output element whose receptive field is highlighted."""
        kind = type(self.session.layers[self.layer]).__name__
        if kind in SAME_SHAPE:
            out_shape = self.shapes()[self.layer + 1]
            flat = np.ravel_multi_index(index, self.shapes()[self.layer])
            self.out_cursor = tuple(int(i) for i in np.unravel_index(flat, out_shape))
            return
        if self.anchor is None or len(self.anchor) != len(index) or self.out_cursor is None:
            return
        signs = [int(np.sign(a - b)) for a, b in zip(index, self.anchor, strict=True)]
        cur = list(self.out_cursor)
        if len(cur) == 1:
            cur[0] += sum(signs)
        else:
            cur[-2] += signs[-2]
            cur[-1] += signs[-1]
        self.out_cursor = tuple(cur)

    def set_channel(self, channel: int) -> None:
        """The tensor pane switched channel: it moves the explained element along."""
        if self.view in ("output", "grad_out") and len(self.out_cursor or ()) == 3:
            self.out_cursor = (channel, *self.out_cursor[1:])
        elif self.view == "grad_input" and len(self.in_cursor or ()) == 3:
            self.in_cursor = (channel, *self.in_cursor[1:])
        elif self.view.startswith("weight") and len(self.w_cursor) == 3:
            self.w_cursor = (channel, *self.w_cursor[1:])
        elif self.view == "input":
            self.in_channel = channel
            if (
                type(self.session.layers[self.layer]).__name__ != "Conv2d"
                and len(self.out_cursor or ()) == 3
            ):
                self.out_cursor = (channel, *self.out_cursor[1:])
        self.clamp()
