"""Lesson 9, regularization: a CNN learns 200 digits by heart; dropout and L2 narrow the gap."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.lessons.base import Lesson, Page, Question
from tui.lessons.live import Curves, LiveView
from tui.render.numbers import format_number as fmt

EXAMPLES, HELD_OUT, EPOCHS, P, DECAY, LR = 200, 500, 12, 0.5, 0.03, 0.05
HALF = " ▄▀█"  # (top kept, bottom kept) -> the half-block that shows both
LABEL = {"plain": "plain", "dropout": f"dropout {P}", "l2": f"L2 λ={DECAY}"}


def run_all(epochs: int | None = None, examples: int | None = None, on_step=None) -> dict:
    """The three runs, the dropout mask of the first digit, and one L2 update."""
    epochs, examples = epochs or EPOCHS, examples or EXAMPLES
    from engine.data import mnist_split
    from engine.experiments import compare_regularization, dropout_mask, l2_update, small_cnn

    train, held = mnist_split()
    data = train.subset(slice(0, examples), f"{examples} digits")
    held = held.subset(slice(0, HELD_OUT), f"{HELD_OUT} held-out digits")
    model = small_cnn(P, rng=np.random.default_rng(0))
    runs = compare_regularization(model, data, held, epochs=epochs, weight_decay=DECAY, lr=LR,
                                  on_step=on_step)  # fmt: skip
    mask = dropout_mask(runs["dropout"].model, data.images[:1])  # (1, 784)
    update = l2_update(runs["l2"].model, data.images[:32], data.labels[:32], DECAY, LR)
    return {"runs": runs, "mask": mask, "update": update, "epochs": epochs}


class RegularizationView(LiveView):
    """Training and held-out curves, the dropout mask, the L2 term, the gaps."""

    BINDINGS = [Binding("r", "run", "run again")]
    LABELS = LABEL

    def __init__(self) -> None:
        super().__init__(id="regularization-view")
        self.result: dict | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="reg-body")
        yield Curves(id="reg-curves")

    def on_mount(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        """Train the three runs (plain, dropout, L2) again from the same start."""
        self.train("runs", lambda on_step: run_all(on_step=on_step), LABEL)

    def done(self, kind: str, result) -> None:
        self.result, self.status = result, ""

    @property
    def ready(self) -> bool:
        """The engine's numbers have arrived from the worker."""
        return self.result is not None

    # ---- numbers --------------------------------------------------------------------------
    def state(self) -> dict:
        if self.result is None:
            return {"ready": False}
        runs, mask = self.result["runs"], self.result["mask"]
        kept = mask[mask > 0]
        return {"ready": True, "gaps": {n: r.gap for n, r in runs.items()},
                "scale": float(kept[0]) if kept.size else 0.0,
                "kept": float((mask > 0).mean())}  # fmt: skip

    def placeholders(self) -> dict[str, str]:
        keys = ("examples", "held_out", "epochs", "p", "decay", "lr", "train_loss", "held_loss",
                "best_held", "best_epoch", "gap_plain", "gap_dropout", "gap_l2", "kept",
                "acc_train", "acc_held")  # fmt: skip
        out = {k: "…" for k in keys}
        out.update(examples=str(EXAMPLES), held_out=str(HELD_OUT), epochs=str(EPOCHS),
                   p=fmt(P), decay=fmt(DECAY), lr=fmt(LR))  # fmt: skip
        if self.result is None:
            return out
        runs = self.result["runs"]
        plain = runs["plain"]
        held = [e.loss for e in plain.held_out]
        best = int(np.argmin(held))
        out.update(train_loss=fmt(plain.train_eval[-1].loss), held_loss=fmt(held[-1]),
                   best_held=fmt(held[best]), best_epoch=str(plain.epochs[best]),
                   acc_train=f"{100 * plain.train_eval[-1].accuracy:.1f}%",
                   acc_held=f"{100 * plain.held_out[-1].accuracy:.1f}%",
                   kept=f"{100 * self.state()['kept']:.0f}%")  # fmt: skip
        if not self.concealed or self.mode != "l2":
            out.update({f"gap_{n}": fmt(r.gap) for n, r in runs.items()})
        else:
            out.update({f"gap_{n}": "?" for n in runs})
        return out

    # ---- drawing --------------------------------------------------------------------------
    def redraw(self) -> None:
        body, curves = self.query_one("#reg-body", Static), self.query_one(Curves)
        if self.problem:
            body.update(Text(self.problem, style="bold red"))
            curves.display = False
            return
        if self.result is None:
            body.update(Text(self.status or "…"))
            curves.display = False
            return
        curves.display = True
        runs = self.result["runs"]
        shown = {"overfit": ("plain",), "dropout": ("plain", "dropout")}.get(self.mode)
        shown = shown or ("plain", "l2")
        series = {}
        for n in shown:
            r = runs[n]
            series[f"{LABEL[n]} train"] = (r.epochs, [e.loss for e in r.train_eval])
            series[f"{LABEL[n]} held-out"] = (r.epochs, [e.loss for e in r.held_out])
        curves.show(series, "loss per epoch", "epoch", self.color)
        t = Text(no_wrap=True, overflow="crop")
        if self.status:
            t.append(self.status + "\n")
        if self.mode == "dropout":
            t.append_text(self._mask_text())
        elif self.mode == "l2":
            t.append_text(self._l2_text())
        t.append_text(self._gap_table(shown if self.mode != "l2" else tuple(runs)))
        body.update(t)

    def _gap_table(self, names) -> Text:
        runs = self.result["runs"]
        t = Text(no_wrap=True, overflow="crop")
        t.append(f"{'loss':<13}{'train':>7}{'held':>7}{'gap':>7}{'acc':>6}\n", "bold")
        for n in names:
            r = runs[n]
            hide = self.concealed and self.mode == "l2"
            gap = "?" if hide else fmt(r.gap)
            train, held = fmt(r.train_eval[-1].loss, 2), fmt(r.held_out[-1].loss, 2)
            acc = f"{100 * r.held_out[-1].accuracy:.0f}%"
            t.append(f"{LABEL[n]:<13}{train:>7}{held:>7}{gap:>7}{acc:>6}\n")
        return t

    def _mask_text(self) -> Text:
        mask = self.result["mask"][0].reshape(-1, 14, 14)[0]  # channel 0 of the first digit
        t = Text(no_wrap=True, overflow="crop")
        scale = "?" if self.concealed else fmt(float(mask.max()))
        t.append(f"mask of channel 0: ink kept (×{scale}), blank dropped\n", "bold")
        kept = mask > 0
        for top, bottom in zip(kept[0::2], kept[1::2], strict=True):  # two rows per line
            t.append("".join(HALF[int(a) * 2 + int(b)] for a, b in zip(top, bottom, strict=True)))
            t.append("\n")
        return t

    def _l2_text(self) -> Text:
        name, index, rec = self.result["update"]
        at = index
        w, g, l2 = rec["value_before"][at], rec["grad"][at], rec["l2_term"][at]
        after = rec["value_after"][at]
        t = Text(no_wrap=True, overflow="crop")
        t.append(f"weight {name}[{','.join(map(str, index))}], one SGD step with L2:\n", "bold")
        t.append(f"g + λw = {fmt(g)} + {fmt(DECAY)}·{fmt(w)} = {fmt(g + l2)}\n")
        t.append(f"w ← w − lr·(g + λw) = {fmt(w)} − {fmt(LR)}·{fmt(g + l2)} = {fmt(after)}\n\n")
        return t


def _smallest_gap(s: dict) -> str:
    return LABEL[min(s["gaps"], key=s["gaps"].get)] if s["ready"] else "wait for the runs"


GAP_QUESTION = Question(
    prompt="Which run ends with the smallest gap between held-out and training loss?",
    answer=_smallest_gap,
    worked=lambda s: (
        ", ".join(f"{LABEL[n]} {fmt(g)}" for n, g in s["gaps"].items()) if s["ready"] else ""
    ),
    kind="choice",
    options=tuple(LABEL.values()),
)

SCALE_QUESTION = Question(
    prompt=f"With p = {P}, by what factor does dropout multiply the units it keeps?",
    answer=lambda s: s["scale"] if s["ready"] else float("nan"),
    worked=lambda s: (
        f"1 / (1 − p) = 1 / (1 − {P}) = {fmt(1 / (1 - P))}: the kept units make up "
        "for the dropped ones, so at evaluation (no dropout) nothing needs rescaling"
    ),
)

LESSON = Lesson(
    number=9,
    markdown_file="09-regularization.md",
    pages=(
        Page(RegularizationView, mode="overfit"),
        Page(RegularizationView, question=SCALE_QUESTION, mode="dropout"),
        Page(RegularizationView, question=GAP_QUESTION, mode="l2"),
    ),
    explorer="lenet",
    keys=(("r", "train the three runs again"),),
)
