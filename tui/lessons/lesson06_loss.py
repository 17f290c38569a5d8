"""Lesson 6, loss: logits -> softmax -> cross-entropy for a real digit, its gradient; and MSE."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.binding import Binding

from tui.lessons.base import Lesson, LessonView, Page, Question
from tui.lessons.compute import EngineWork
from tui.lessons.layout import captioned, framed_grid, side_by_side, stack
from tui.lessons.lesson03_channels import digits, explore_trained_lenet, pretrained_lenet
from tui.render.numbers import format_number as fmt


class CrossEntropyView(EngineWork, LessonView):
    """The trained net's ten logits for a digit, their softmax, the loss and its gradient."""

    FOLLOWED = ("index", "target")  # a follower mirrors these (tui/presence.py)

    SECRET = frozenset({"loss", "g_t"})

    BINDINGS = [
        Binding("greater_than_sign", "digit(1)", "digit", key_display=">"),
        Binding("less_than_sign", "digit(-1)", "previous digit", key_display="<", show=False),
        Binding("left", "target(-1)", "target", key_display="←→"),
        Binding("right", "target(1)", "next target", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="cross-entropy-view")
        self.index, self.target = None, None  # index None: the first digit the net is unsure of

    def on_mount(self) -> None:
        self.compute()

    def explorer_prepare(self):
        return explore_trained_lenet(6, self.index or 0)

    def kernel_key(self) -> str:
        return "lenet-forward"

    def calculate(self) -> dict:
        """Logits (engine forward), probabilities, loss and gradient (engine CrossEntropyLoss)."""
        from engine.losses import CrossEntropyLoss

        model = pretrained_lenet()
        if self.index is None:
            self.index = self.first_unsure(model)
        x = digits().images[self.index : self.index + 1]  # (1, 1, 28, 28)
        label = int(digits().labels[self.index])
        target = label if self.target is None else self.target
        logits = model.forward(x)  # (1, 10)
        loss_fn = CrossEntropyLoss()
        loss = loss_fn.forward(logits, np.array([target]))
        grad = loss_fn.backward()  # (1, 10): (p - onehot) / N with N = 1
        p = loss_fn.ctx.probs[0]
        return {"logits": logits[0].astype(np.float64), "p": p, "loss": loss, "grad": grad[0],
                "label": label, "target": target, "p_t": float(p[target]),
                "index": self.index}  # fmt: skip

    @staticmethod
    def first_unsure(model, look: int = 256) -> int:
        """The first digit whose label gets p < 0.9 from the net (a loss worth computing)."""
        from engine.train import predict_proba

        probs = predict_proba(model, digits().images[:look])  # (look, 10)
        labels = digits().labels[:look]
        unsure = np.flatnonzero(probs[np.arange(look), labels] < 0.9)
        return int(unsure[0]) if unsure.size else 0

    def action_digit(self, delta: int) -> None:
        """The next (or previous) digit; the target goes back to its label."""
        if self.index is None:
            return
        self.index, self.target = (self.index + delta) % len(digits()), None
        self.compute()

    def action_target(self, delta: int) -> None:
        """Pretend the target were another class: watch the loss and gradient change."""
        current = self.result["target"] if self.result else 0
        self.target = (current + delta) % 10
        self.compute()

    # ---- workshop: s exports, Z enlarges (nothing while a question is open) ---------------
    def exportables(self) -> list:
        """The ten logits, their softmax and the loss's gradient."""
        from tui.export import TensorExport

        r = self.result
        if r is None or self.concealed:
            return []
        tag = f"lesson 6 digit {self.index} target {r['target']}"
        return [TensorExport(f"{tag} logits", r["logits"]),
                TensorExport(f"{tag} softmax", r["p"], signed=False),
                TensorExport(f"{tag} grad of the loss", r["grad"])]  # fmt: skip

    def zoom_view(self):
        """The ten probabilities, the target's under the cursor."""
        from tui.screens.zoom import ZoomView

        r = self.result
        if r is None or self.concealed:
            why = "computing …" if r is None else "the question is open (a)"
            return ZoomView("softmax probabilities", None, message=why)
        loss = f"loss = -log p[{r['target']}] = {r['loss']:.4g}"
        return ZoomView(f"softmax probabilities · target {r['target']}", r["p"][None, :],
                        (0, r["target"]), message=loss)  # fmt: skip

    def state(self) -> dict:
        return dict(self.result or {})

    def placeholders(self) -> dict[str, str]:
        r = self.result
        if r is None:
            return {k: "…" for k in ("label", "target", "p_t", "loss", "g_t", "top", "p_top")}
        top = int(np.argmax(r["p"]))
        return {"label": str(r["label"]), "target": str(r["target"]), "p_t": fmt(r["p_t"]),
                "loss": fmt(r["loss"]), "g_t": fmt(float(r["grad"][r["target"]])),
                "top": str(top), "p_top": fmt(float(r["p"][top]))}  # fmt: skip

    def render(self) -> Text:
        if self.problem:
            return Text(self.problem)
        r = self.result
        if r is None:
            return Text("loading the trained network and compiling its kernels …")
        hide = self.concealed
        t = r["target"]
        table = Text(no_wrap=True, overflow="crop")
        table.append(" k  logit z  p=softmax            dL/dz\n", "bold")
        for k in range(10):
            mark = "◀ t" if k == t else ""
            style = "bold" if k == t else None
            g = "?" if hide and self.mode == "gradient" and k == t else fmt(float(r["grad"][k]))
            p = fmt(float(r["p"][k]), 3)
            bar = "█" * round(6 * float(r["p"][k]))
            table.append(f"{k:>2} {fmt(float(r['logits'][k])):>8} {p:>10} {bar:<6} {g:>10} "
                         f"{mark}\n", style)  # fmt: skip
        loss = Text(no_wrap=True)
        loss.append(f"L = −log p[{t}] = −log {fmt(r['p_t'])} = ", "bold")
        loss.append("?" if hide and self.mode == "softmax" else fmt(r["loss"]), "bold reverse")
        head = Text(f"digit #{r['index']}, label {r['label']}, target {t}", style="bold")
        return stack([head, table, loss], gap=0)


class MseView(EngineWork, LessonView):
    """The article's 3x3 output against a target: MSE and its gradient 2(ŷ − y)/n."""

    FOLLOWED = ("target", "pos")  # a follower mirrors these (tui/presence.py)

    SECRET = frozenset({"g"})

    BINDINGS = [
        Binding("left", "move(0,-1)", "element", key_display="←↑↓→"),
        Binding("right", "move(0,1)", "element right", show=False),
        Binding("up", "move(-1,0)", "element up", show=False),
        Binding("down", "move(1,0)", "element down", show=False),
        Binding("plus,equals_sign", "edit(1)", "target +1", key_display="+"),
        Binding("minus", "edit(-1)", "target -1", key_display="-", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="mse-view")
        from engine.presets import article_target

        self.target = article_target()[0, 0].astype(np.float32)  # (3, 3) zeros
        self.pos = (0, 0)

    def on_mount(self) -> None:
        self.compute()

    EXPLORER = "article"  # this page's example is the article's, with its MSE loss

    def kernel_key(self) -> str:
        return "conv3x3"

    def calculate(self) -> dict:
        """ŷ from the article's conv (engine forward); loss and gradient from MSELoss."""
        from engine.losses import MSELoss
        from engine.presets import article_input
        from tui.lessons.lesson01_convolution import article_layer

        pred = article_layer().forward(article_input())  # (1, 1, 3, 3)
        loss_fn = MSELoss()
        target = self.target.reshape(pred.shape)
        loss = loss_fn.forward(pred, target)
        grad = loss_fn.backward()  # (1, 1, 3, 3)
        return {"pred": pred[0, 0], "target": self.target.copy(), "loss": loss,
                "grad": grad[0, 0], "n": int(pred.size)}  # fmt: skip

    def action_move(self, di: int, dj: int) -> None:
        """Select another element."""
        self.pos = ((self.pos[0] + di) % 3, (self.pos[1] + dj) % 3)
        self.changed()

    def action_edit(self, delta: float) -> None:
        """Change the target at the selected element by 1."""
        self.target[self.pos] = np.clip(self.target[self.pos] + delta, -20, 20)
        self.compute()

    # ---- workshop: s exports, Z enlarges (nothing while a question is open) ---------------
    def exportables(self) -> list:
        """The prediction, the target and the gradient of the MSE."""
        from tui.export import TensorExport

        r = self.result
        if r is None or self.concealed:
            return []
        return [TensorExport("lesson 6 mse prediction", r["pred"]),
                TensorExport("lesson 6 mse target", r["target"]),
                TensorExport("lesson 6 mse grad", r["grad"])]  # fmt: skip

    def zoom_view(self):
        """The gradient 2(y - t)/n with the selected element under the cursor."""
        from tui.screens.zoom import ZoomView

        r = self.result
        if r is None or self.concealed:
            why = "computing …" if r is None else "the question is open (a)"
            return ZoomView("MSE gradient", None, message=why)
        return ZoomView("MSE gradient 2(y - t)/n", r["grad"], self.pos,
                        message=f"loss = {r['loss']:.4g}")  # fmt: skip

    def zoom_move(self, di: int, dj: int) -> None:
        """The zoom's arrows select another element."""
        self.action_move(di, dj)

    def state(self) -> dict:
        r = self.result
        if r is None:
            return {}
        return {"pos": self.pos, "pred": float(r["pred"][self.pos]),
                "y": float(r["target"][self.pos]), "g": float(r["grad"][self.pos]),
                "n": r["n"], "loss": r["loss"]}  # fmt: skip

    def placeholders(self) -> dict[str, str]:
        s = self.state()
        if not s:
            return {k: "…" for k in ("pred", "y", "g", "n", "loss", "i", "j")}
        return {"pred": fmt(s["pred"]), "y": fmt(s["y"]), "g": fmt(s["g"]), "n": str(s["n"]),
                "loss": fmt(s["loss"]), "i": str(self.pos[0]), "j": str(self.pos[1])}  # fmt: skip

    def render(self) -> Text:
        if self.problem:
            return Text(self.problem)
        r = self.result
        if r is None:
            return Text("compiling the convolution kernel (first use only) …")
        hide = self.concealed
        grids = side_by_side([
            captioned("ŷ", framed_grid(r["pred"], color=self.color, cursor=self.pos)),
            captioned("target y", framed_grid(r["target"], color=self.color, cursor=self.pos)),
            captioned("dL/dŷ", framed_grid(np.round(r["grad"], 3), color=self.color,
                                             cursor=None if hide else self.pos, hidden=hide)),
        ])  # fmt: skip
        s = self.state()
        text = Text(no_wrap=False)
        text.append(f"L = mean((ŷ − y)²) over n = {r['n']} = {fmt(r['loss'])}\n", "bold")
        text.append(f"dL/dŷ{self.pos} = 2(ŷ − y)/n = 2·({fmt(s['pred'])} − {fmt(s['y'])})/"
                    f"{r['n']} = ")  # fmt: skip
        text.append("?" if hide else fmt(s["g"]), "bold reverse")
        return stack([grids, text], gap=0)


CE_QUESTION = Question(
    prompt=lambda s: (
        f"The net gives the target class {s['target']} the probability "
        f"p = {fmt(s['p_t'])}. What is the loss −log p? (natural log)"
    ),
    answer=lambda s: s["loss"],
    worked=lambda s: f"−ln {fmt(s['p_t'])} = {fmt(s['loss'])}",
    tolerance=0.01,
)

GRAD_QUESTION = Question(
    prompt=lambda s: (
        f"With p[{s['target']}] = {fmt(s['p_t'])}, what is dL/dz for the target class?"
    ),
    answer=lambda s: float(s["grad"][s["target"]]),
    worked=lambda s: (
        f"p − 1 = {fmt(s['p_t'])} − 1 = {fmt(float(s['grad'][s['target']]))} "
        "(the other classes get their p)"
    ),
    tolerance=0.01,
)

MSE_QUESTION = Question(
    prompt=lambda s: (
        f"ŷ = {fmt(s['pred'])}, y = {fmt(s['y'])}, n = {s['n']}: what is dL/dŷ at this element?"
    ),
    answer=lambda s: s["g"],
    worked=lambda s: f"2(ŷ − y)/n = 2·({fmt(s['pred'])} − {fmt(s['y'])})/{s['n']} = {fmt(s['g'])}",
    tolerance=0.01,
)

LESSON = Lesson(
    number=6,
    markdown_file="06-loss.md",
    pages=(
        Page(CrossEntropyView, question=CE_QUESTION, mode="softmax"),
        Page(CrossEntropyView, question=GRAD_QUESTION, mode="gradient"),
        Page(MseView, question=MSE_QUESTION, mode="mse"),
    ),
    explorer="lenet",
    keys=(
        ("< >", "previous / next digit"),
        ("← →", "pretend another target class"),
        ("←↑↓→ + -", "MSE page: pick an element, change its target"),
    ),  # fmt: skip
)
