"""Lesson 10, residual networks: gradient flow through a deep plain stack and one with skips."""

from __future__ import annotations

import copy

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.lessons.base import Lesson, Page, Question
from tui.lessons.live import Curves, LiveView
from tui.render.numbers import format_number as fmt
from tui.widgets.gradflow import compare_table

DEPTH, BATCH, SEED, TRAIN_STEPS = 10, 8, 0, 30
BLOCK = 3  # the first block of the stack (layers 0-2 are the stem)


def build(depth: int = DEPTH, seed: int = SEED, batch: int = BATCH) -> dict:
    """Both stacks from the same weights, one backward pass each on the same digits."""
    from engine.data import mnist_split
    from engine.gradflow import deep_stack, first_layer_ratio, flows, trace_backward
    from engine.losses import CrossEntropyLoss

    train, _ = mnist_split()
    x, y = train.images[:batch], train.labels[:batch]
    out = {"x": x, "y": y}
    for name, residual in (("plain", False), ("residual", True)):
        # the same seed, the same draws: both stacks start from the same weights
        model = deep_stack(depth, residual=residual, rng=np.random.default_rng(seed))
        acts, grads = trace_backward(model, CrossEntropyLoss(), x, y)
        out[name] = {"model": model, "acts": acts, "grads": grads,
                     "flow": flows(model.layers, grads)}  # fmt: skip
    out["ratio"] = first_layer_ratio(out["plain"]["flow"], out["residual"]["flow"])
    return out


def build_and_explain() -> tuple[dict, dict]:
    """build() and the numbers of the first residual block."""
    data = build()
    return data, block_numbers(data["residual"])


def block_numbers(run: dict, block: int = BLOCK) -> dict:
    """y = F(x) + x and dL/dx = dL/dy·∂F/∂x + dL/dy at one element, with the engine's numbers."""
    layer = copy.deepcopy(run["model"].layers[block])  # the model's grads stay as traced
    x, g = run["acts"][block], run["grads"][block + 1]  # block input (N, C, H, W), dL/dy
    fx = x
    for sub in layer.layers:
        fx = sub.forward(fx)  # F(x): the body alone
    via_f = g
    for sub in reversed(layer.layers):
        via_f = sub.backward(via_f)  # dL/dy · ∂F/∂x: the gradient through the body
    # the largest |dL/dy| where the block's input is not 0, so both terms of y show
    score = np.where(x > 0, np.abs(g), -1.0)
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(score), g.shape))
    grad_x = run["grads"][block][idx]
    return {"index": idx, "x": float(x[idx]), "fx": float(fx[idx]),
            "y": float(run["acts"][block + 1][idx]), "g": float(g[idx]),
            "via_f": float(via_f[idx]), "grad_x": float(grad_x)}  # fmt: skip


def train_stacks(on_step, steps: int | None = None) -> dict:
    """engine.experiments.compare_depth on fresh copies of both stacks, same start and batches."""
    from engine.data import mnist_split
    from engine.experiments import compare_depth
    from engine.gradflow import deep_stack

    train, _ = mnist_split()
    plain = deep_stack(DEPTH, rng=np.random.default_rng(SEED))
    res = deep_stack(DEPTH, residual=True, rng=np.random.default_rng(SEED))
    data = train.subset(slice(0, 2000))
    steps = steps or TRAIN_STEPS
    return compare_depth(plain, res, data, steps=steps, batch_size=16, on_step=on_step)


class ResidualView(LiveView):
    """The gradient-flow chart of both stacks, one residual block's numbers, both trained."""

    BINDINGS = [Binding("r", "train", "train both")]
    FOLLOWED = ("trained",)  # a follower trains when the presenter did (tui/presence.py)

    def __init__(self) -> None:
        super().__init__(id="residual-view")
        self.trained = False  # r was pressed: both stacks trained (or training)
        self.data: dict | None = None
        self.block: dict | None = None
        self.losses: dict[str, list[float]] = {"plain": [], "residual": []}

    def compose(self) -> ComposeResult:
        yield Static(id="res-body")
        yield Curves(id="res-curves")

    def on_mount(self) -> None:
        self.start("flow", build_and_explain)
        self.redraw()

    def action_train(self) -> None:
        """Train both stacks with Adam on the same batches, side by side."""
        self.trained = True
        self.train("train", train_stacks, ("plain", "residual"))

    def followed(self, moved: set) -> None:
        """The presenter trained both stacks: so does the follower (seeded: the same losses)."""
        if self.trained and not self.busy and not any(self.losses.values()):
            self.action_train()
        self.changed()
        self.redraw()

    def done(self, kind: str, result) -> None:
        if kind == "flow":
            self.data, self.block = result
            return
        self.losses = {n: list(r.losses) for n, r in result.items()}
        last = {n: float(np.mean(r.losses[-5:])) for n, r in result.items()}
        self.status = (f"done: mean loss of the last 5 steps: plain {fmt(last['plain'])}, "
                       f"residual {fmt(last['residual'])}")  # fmt: skip

    @property
    def ready(self) -> bool:
        """The engine's numbers have arrived from the worker."""
        return self.data is not None

    # ---- what the text and the questions read --------------------------------------------
    def state(self) -> dict:
        if self.data is None:
            return {"ready": False}
        plain = [f.grad_input_norm for f in self.data["plain"]["flow"]]
        res = [f.grad_input_norm for f in self.data["residual"]["flow"]]
        return {"ready": True, "ratio": self.data["ratio"], "plain": plain, "residual": res,
                "block": self.block}  # fmt: skip

    def placeholders(self) -> dict[str, str]:
        if self.data is None:
            return {k: "…" for k in ("depth", "ratio", "plain_w0", "res_w0", "plain_last",
                                     "x", "fx", "y", "g", "via_f", "grad_x", "index")}  # fmt: skip
        p, r, b = self.data["plain"]["flow"], self.data["residual"]["flow"], self.block
        return {"depth": str(DEPTH), "ratio": f"{self.data['ratio']:.1e}",
                "plain_w0": fmt(p[0].grad_weight_norm), "res_w0": fmt(r[0].grad_weight_norm),
                "plain_last": fmt(p[-1].grad_weight_norm),
                "x": fmt(b["x"]), "fx": fmt(b["fx"]), "y": fmt(b["y"]), "g": fmt(b["g"]),
                "via_f": fmt(b["via_f"]), "grad_x": fmt(b["grad_x"]),
                "index": ",".join(map(str, b["index"][1:]))}  # fmt: skip

    # ---- drawing --------------------------------------------------------------------------
    def redraw(self) -> None:
        body = self.query_one("#res-body", Static)
        curves = self.query_one(Curves)
        curves.display = self.mode == "train"
        if self.problem:
            body.update(Text(self.problem, style="bold red"))
            return
        if self.data is None:
            body.update(Text("building both stacks and running one backward pass …"))
            return
        width = max(30, self.size.width - 2)
        if self.mode == "block":
            body.update(self._block_text())
        elif self.mode == "train":
            body.update(Text(self.status or "r trains both stacks (Adam, same batches)"))
            steps = {n: (list(range(1, len(v) + 1)), v) for n, v in self.losses.items()}
            curves.show(steps, "training loss", "step", self.color)
        else:
            p, r = self.data["plain"]["flow"], self.data["residual"]["flow"]
            text = compare_table(p, r, ("plain", "residual"), width, color=self.color)
            text.append("\nfirst layer: plain / residual = ")
            text.append("?" if self.concealed else f"{self.data['ratio']:.1e}", "bold")
            body.update(text)

    def _block_text(self) -> Text:
        b = self.block
        i = ",".join(map(str, b["index"][1:]))
        t = Text(no_wrap=True, overflow="crop")
        t.append(f"residual block {BLOCK}, element ({i}) of sample 0\n\n", "bold")
        t.append(
            f"forward   y = F(x) + x\n          {fmt(b['y'])} = {fmt(b['fx'])} + {fmt(b['x'])}\n\n"
        )
        t.append("backward  dL/dx = dL/dy·∂F/∂x + dL/dy·1\n")
        t.append(f"          dL/dy = {fmt(b['g'])}\n")
        t.append(f"          through F: {fmt(b['via_f'])}\n")
        t.append(f"          through the skip: {fmt(b['g'])}\n")
        t.append("          dL/dx = ")
        t.append("?" if self.concealed else fmt(b["grad_x"]), "bold")
        return t


def _where_smallest(state: dict) -> str:
    if not state["ready"]:
        return "wait for the chart"
    plain = state["plain"]
    smallest = int(np.argmin(plain))
    return "near the input" if smallest < len(plain) / 2 else "near the output"


FLOW_QUESTION = Question(
    prompt="In the plain stack, where are the weight gradients smallest?",
    answer=_where_smallest,
    worked=lambda s: (
        "it shrinks at every block on its way back, so it is smallest at the "
        f"first layers: the plain first layer gets {s['ratio']:.1e} of the residual one's"
        if s["ready"]
        else ""
    ),
    kind="choice",
    options=("near the input", "near the output"),
)

SKIP_QUESTION = Question(
    prompt="Add the two paths: what is dL/dx at this element?",
    answer=lambda s: s["block"]["grad_x"] if s["ready"] else float("nan"),
    worked=lambda s: (
        f"{fmt(s['block']['via_f'])} (through F) + {fmt(s['block']['g'])} (the skip)"
        f" = {fmt(s['block']['grad_x'])}"
        if s["ready"]
        else ""
    ),
    tolerance=5e-4,
)


LESSON = Lesson(
    number=10,
    markdown_file="10-residual.md",
    pages=(
        Page(ResidualView, question=FLOW_QUESTION, mode="flow"),
        Page(ResidualView, question=SKIP_QUESTION, mode="block"),
        Page(ResidualView, mode="train"),
    ),
    explorer="resnet",
    keys=(("r", "train both stacks side by side (page 3)"),),
)
