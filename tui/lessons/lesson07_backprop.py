"""Lesson 7, backpropagation: the LeNet-style net stepped backward a layer at a time."""

from __future__ import annotations

import copy
import re

import numpy as np
from rich.text import Text
from textual.binding import Binding

from tui.lessons.base import Lesson, Page, Question
from tui.lessons.live import LiveView, short_name
from tui.render.math import filled_equation
from tui.render.numbers import format_number as fmt

BATCH, SEED = 4, 0
RELU = 4  # the second ReLU: the question's layer
# dy/dx of each kind of layer, in words: the local derivative the chain rule multiplies by.
LOCAL = {
    "Linear": "W: dL/dx[k] = Σ_f dL/dy[f]·W[f,k]",
    "Flatten": "1: each dL/dx is its dL/dy, reshaped",
    "MaxPool2d": "1 at each window's max, 0 elsewhere",
    "ReLU": "1 where x > 0, 0 where x ≤ 0",
    "Conv2d": "the kernel: dL/dx[c',r,s] = Σ dL/dy[c,i,j]·w[c,c',u,v]",
}


def build(seed: int = SEED, batch: int = BATCH):
    """A Stepper over the lenet preset on `batch` training digits, past its loss backward."""
    from engine.data import mnist_split
    from engine.optim import SGD
    from engine.stepper import Stepper
    from engine.train import build_model

    train, _ = mnist_split()
    model, loss, _ = build_model("lenet", seed=seed)
    stepper = Stepper(model, loss, SGD(model.parameters(), lr=0.05),
                      train.images[:batch], train.labels[:batch])  # fmt: skip
    while stepper.next_op.kind != "backward":
        stepper.step()
    return stepper


def finite_difference(stepper, index):
    """A job computing dL/d(conv 0's weight[index]) by central differences, on copies.

    The copies are taken now (on the caller's thread), so the job never touches the stepper.
    """
    from engine.gradcheck import numeric_weight_grad

    model, loss = copy.deepcopy(stepper.model), copy.deepcopy(stepper.loss)
    x, targets = stepper.activations[0].copy(), stepper.targets.copy()
    return lambda: numeric_weight_grad(model, loss, x, targets, "0.weight", index)


def weight_check(stepper, index, numeric: float) -> dict:
    """dL/dw of conv 0's weight[index]: its sum over positions beside the finite difference."""
    e = stepper.explain_backward(0, index, wrt="weight")
    analytic = float(stepper.layers[0].weight.grad[index])
    rel = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-12)
    return {"index": index, "explanation": e, "terms": len(e.terms), "total": e.total,
            "analytic": analytic, "numeric": numeric, "relative": rel}  # fmt: skip


class BackpropView(LiveView):
    """The layers, the gradient arriving at each, and the chain rule of the last step."""

    BINDINGS = [
        Binding("b", "back", "step back a layer"),
        Binding("u", "undo", "undo a step"),
        Binding("w", "weight", "another weight"),
    ]

    FOLLOWED = ("position", "weight_index")  # a follower mirrors these (tui/presence.py)

    def __init__(self) -> None:
        super().__init__(id="backprop-view")
        self.stepper = None
        self.check: dict | None = None
        self.weight_index = (0, 0, 1, 1)
        self._wanted: int | None = None  # a presenter's position, reached once the stepper exists

    def on_mount(self) -> None:
        self.start("stepper", build)  # the forward pass compiles kernels on first use

    def done(self, kind: str, result) -> None:
        if kind == "stepper":
            self.stepper = result
            self._for_mode()
            if self._wanted is not None:
                self.followed({"position"})
        elif result[0] == self.weight_index:  # not a stale check of another weight
            self.check = weight_check(self.stepper, *result)

    def check_weight(self, index) -> None:
        """Start the finite-difference check of one weight (float64 kernels compile once)."""
        job = finite_difference(self.stepper, index)
        self.start("check", lambda: (index, job()))

    # ---- stepping -------------------------------------------------------------------------
    @property
    def reached(self) -> int | None:
        """The lowest layer whose input gradient is computed (None: none yet)."""
        s = self.stepper
        done = [i for i in range(len(s.layers)) if s.grads[i] is not None]
        return min(done) if done else None

    def action_back(self) -> None:
        """Run the next backward op: one layer further toward the input."""
        if self.stepper is None:
            return
        if self.stepper.next_op.kind != "backward":
            self.app.notify("the backward pass reached the input: u undoes a step",
                            severity="information")  # fmt: skip
            return
        self.stepper.step()
        self.changed()

    def action_undo(self) -> None:
        """Undo the last backward step (the forward pass and the loss stay)."""
        if self.stepper is not None and self.stepper.next_op.kind != "loss_backward":
            if self.stepper.position > len(self.stepper.layers) + 2:
                self.stepper.undo()
                self.changed()

    def action_weight(self) -> None:
        """Check another weight of the first kernel (its 3x3 positions in turn)."""
        _, _, r, c = self.weight_index
        k = (r * 3 + c + 1) % 9
        self.weight_index = (0, 0, k // 3, k % 3)
        self.check = None
        if self.stepper is not None and self.stepper.grads[0] is not None:
            self.check_weight(self.weight_index)
        self.changed()

    # ---- following the presenter: the same seeded stepper, stepped to the same op ------------
    @property
    def position(self) -> int | None:
        """The stepper's op position (None while it is built): the step a follower mirrors."""
        return self._wanted if self.stepper is None else self.stepper.position

    @position.setter
    def position(self, value: int | None) -> None:
        self._wanted = value

    def followed(self, moved: set) -> None:
        """Step or undo to the presenter's position; check the presenter's weight."""
        s = self.stepper
        if s is None:
            return  # done() comes back here with the stepper
        wanted, self._wanted = self._wanted, None
        if "position" in moved and isinstance(wanted, int):
            while s.position < wanted and s.next_op.kind == "backward":
                s.step()
            while s.position > max(wanted, len(s.layers) + 2) and s.next_op.kind != "loss_backward":
                s.undo()  # the same bounds as u: the forward pass and the loss stay
        if "weight_index" in moved:  # as w does: a new check once conv 0 has its gradient
            self.check = None
            if s.grads[0] is not None:
                self.check_weight(self.weight_index)
        self.changed()

    def _run_until(self, layer: int) -> None:
        while self.stepper.grads[layer] is None and self.stepper.next_op.kind == "backward":
            self.stepper.step()

    def _for_mode(self) -> None:
        """Pages 2 and 3 need the backward pass to have reached their layer."""
        if self.stepper is None:
            return
        if self.mode == "relu":
            self._run_until(RELU)
        elif self.mode == "weight":
            self._run_until(0)
            if self.check is None:
                self.check_weight(self.weight_index)

    def show_page(self, mode: str) -> None:
        super().show_page(mode)
        self._for_mode()
        if self.stepper is not None:
            self.changed()

    @property
    def ready(self) -> bool:
        """The page's numbers exist: the stepper, the ReLU's gradient, the weight's check."""
        if self.stepper is None:
            return False
        if self.mode == "relu":
            return self.relu_numbers() is not None
        return self.check is not None if self.mode == "weight" else True

    # ---- numbers --------------------------------------------------------------------------
    def relu_numbers(self) -> dict | None:
        """The question's element of the second ReLU: its x, dL/dy and the engine's dL/dx."""
        s = self.stepper
        if s is None or s.grads[RELU] is None:
            return None
        x, g = s.activations[RELU][0], s.grads[RELU + 1][0]  # sample 0: (C, H, W)
        # the largest |dL/dy| where x <= 0 (where the gradient stops) if any, else anywhere
        score = np.where(x <= 0, np.abs(g), -1.0)
        if score.max() <= 0:
            score = np.abs(g)
        c, i, j = (int(v) for v in np.unravel_index(np.argmax(score), g.shape))
        e = s.explain_backward(RELU, (0, c, i, j))
        return {"index": (c, i, j), "x": float(x[c, i, j]), "g": float(g[c, i, j]),
                "grad_x": float(e.total), "local": 1.0 if x[c, i, j] > 0 else 0.0}  # fmt: skip

    def state(self) -> dict:
        return {"relu": self.relu_numbers(), "check": self.check}

    def placeholders(self) -> dict[str, str]:
        s = self.stepper
        out = {k: "…" for k in ("loss", "layer", "kind", "terms", "analytic", "numeric",
                                "relative", "batch", "positions", "relu_x")}  # fmt: skip
        out["batch"] = str(BATCH)
        if s is None:
            return out
        out["loss"] = fmt(s.loss_value)
        r = self.reached
        if r is not None:
            out["layer"], out["kind"] = str(r), type(s.layers[r]).__name__
        relu = self.relu_numbers()
        if relu is not None:
            out["relu_x"] = fmt(relu["x"])
        if self.check is not None:
            c = self.check
            out.update(terms=str(c["terms"]), analytic=fmt(c["analytic"], 6),
                       numeric=fmt(c["numeric"], 6), relative=f"{c['relative']:.1e}")  # fmt: skip
            h, w = s.activations[1].shape[2:]
            hidden = self.concealed and self.mode == "weight"  # the question asks for this
            out["positions"] = "how many? answer below" if hidden else f"{BATCH} × {h} × {w}"
        return out

    # ---- drawing --------------------------------------------------------------------------
    def render(self) -> Text:
        if self.problem:
            return Text(self.problem, style="bold red")
        if self.stepper is None:
            return Text("running the forward pass and the loss (first use compiles) …")
        width = max(30, self.size.width - 2)
        if self.mode == "weight":
            return self._weight_text(width)
        return self._chain_text(width)

    def _layers_text(self, width: int) -> Text:
        s = self.stepper
        t = Text(no_wrap=True, overflow="crop")
        t.append(f"loss {fmt(s.loss_value)}  ↓ dL/dlogits {_shape(s.grads[-1])}\n", "bold")
        reached = self.reached
        for i in reversed(range(len(s.layers))):
            g = s.grads[i]
            mark = "◀" if i == reached else " "
            style = "bold" if i == reached else ("dim" if g is None else "")
            norm = "" if g is None else f"‖dL/dx‖ {fmt(float(np.linalg.norm(g)))}"
            name = short_name(repr(s.layers[i]))
            t.append(f"{mark}{i} {name:<16} {norm}\n", style)
        return t

    def _chain_text(self, width: int) -> Text:
        s = self.stepper
        t = self._layers_text(width)
        i = self.reached
        if self.mode == "relu":
            i = RELU if s.grads[RELU] is not None else i
        if i is None:
            t.append("\nb steps the gradient back through layer 7", "bold")
            return t
        kind = type(s.layers[i]).__name__
        t.append(f"\nchain rule at layer {i} ({kind}):  dL/dx = dL/dy · dy/dx\n", "bold")
        t.append(f"dy/dx = {LOCAL.get(kind, 'see explain')}\n")
        if self.mode == "relu" and i == RELU:
            r = self.relu_numbers()
            c, a, b = r["index"]
            t.append(f"at x[{c},{a},{b}] = {fmt(r['x'])}:  dL/dx = {fmt(r['g'])} · ")
            if self.concealed:
                t.append("?  = ?", "bold")
            else:
                t.append(f"{fmt(r['local'])} = ")
                t.append(fmt(r["grad_x"]), "bold reverse")
            return t
        g = s.grads[i][0]
        idx = tuple(int(v) for v in np.unravel_index(np.argmax(np.abs(g)), g.shape))
        e = s.explain_backward(i, (0, *idx))
        t.append(filled_equation(e, width, max_lines=3))
        return t

    def _weight_text(self, width: int) -> Text:
        s = self.stepper
        t = Text(no_wrap=False)
        if s.grads[0] is None:
            return Text("stepping back to layer 0 …")
        idx = self.weight_index
        label = f"w[{','.join(map(str, idx))}]"
        t.append(f"dL/d{label} of layer 0 (Conv2d)\n", "bold")
        t.append(
            "= Σ over samples n and output positions (i,j) of dL/dy[n,c,i,j]·x[n,i+u-1,j+v-1]\n"
        )
        if self.check is None:
            t.append("\ncomputing the finite difference (float64) …")
            return t
        c = self.check
        e = c["explanation"]
        eq = filled_equation(e, width, max_lines=3)
        if self.concealed:  # the question asks for the count of terms
            eq = re.sub(r"\(\d+ terms", "(? terms", eq)
        t.append(eq + "\n")
        t.append(f"= {fmt(c['analytic'], 6)}", "bold")
        t.append("  (backward, float32)\n")
        t.append("finite difference: (L(w+ε) − L(w−ε)) / 2ε, ε = 1e-6, float64\n")
        t.append(f"= {fmt(c['numeric'], 6)}", "bold")
        t.append(f"  relative difference {c['relative']:.1e}\n")
        return t


def _shape(a) -> str:
    return "" if a is None else "x".join(map(str, a.shape))


RELU_QUESTION = Question(
    prompt=lambda s: (
        "Layer 4 is a ReLU. With x and dL/dy as shown, what is dL/dx there?"
        if s["relu"]
        else "wait for the backward pass"
    ),
    answer=lambda s: s["relu"]["grad_x"] if s["relu"] else float("nan"),
    worked=lambda s: (
        f"dy/dx is {fmt(s['relu']['local'])} (x = {fmt(s['relu']['x'])}), so "
        f"dL/dx = {fmt(s['relu']['g'])} · {fmt(s['relu']['local'])} = {fmt(s['relu']['grad_x'])}"
        if s["relu"]
        else ""
    ),
    tolerance=1e-6,
)

TERMS_QUESTION = Question(
    prompt="How many products does the sum for this one weight's gradient have?",
    answer=lambda s: s["check"]["terms"] if s["check"] else float("nan"),
    worked=lambda s: (
        f"one per sample and output position: {s['check']['terms']} "
        f"(the kernel weight touches every position of every sample)"
        if s["check"]
        else ""
    ),
    tolerance=0.5,
)

LESSON = Lesson(
    number=7,
    markdown_file="07-backprop.md",
    pages=(
        Page(BackpropView, mode="chain"),
        Page(BackpropView, question=RELU_QUESTION, mode="relu"),
        Page(BackpropView, question=TERMS_QUESTION, mode="weight"),
    ),
    explorer="lenet",
    keys=(
        ("b", "step the gradient back one layer"),
        ("u", "undo a backward step"),
        ("w", "check another weight of the first kernel (page 3)"),
    ),  # fmt: skip
)
