"""Lesson 8, optimizers: SGD, momentum and Adam in a narrow valley, then on digits."""

from __future__ import annotations

import math
from itertools import groupby

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.lessons.base import Lesson, Page, Question
from tui.lessons.live import Curves, LiveView
from tui.render.numbers import format_number as fmt

STEPS, DIGIT_STEPS, EXAMPLES = 40, 40, 2000
DIGIT_LRS = {"sgd": 0.1, "momentum": 0.05, "adam": 0.01}  # tuned a little for the small CNN
NAMES = {"sgd": "SGD", "momentum": "momentum", "adam": "Adam"}
MARK = {"sgd": "S", "momentum": "M", "adam": "A"}
STYLE = {"sgd": "bold cyan", "momentum": "bold orange1", "adam": "bold green"}
SHADES = " .,:;-=+"  # the surface's height bands, low to high
BANDS = (0.05, 0.2, 0.5, 1, 2, 4, 8)  # loss levels where the next band starts


def valley_paths(steps: int = STEPS) -> dict:
    """The three optimizers' paths on engine.landscape's valley (pure NumPy: instant)."""
    from engine.landscape import OPTIMIZER_NAMES, Valley, descend

    surface = Valley()
    return {"surface": surface, **{n: descend(n, surface, steps) for n in OPTIMIZER_NAMES}}


def update_numbers(path, t: int) -> dict:
    """Step t's (1-based) update of weight a (coordinate 0) from the optimizer's own record."""
    rec = path.updates[t - 1]
    prev = path.updates[t - 2] if t >= 2 else None
    out = {"before": float(rec["value_before"][0]), "after": float(rec["value_after"][0]),
           "g": float(rec["grad"][0]), "lr": rec["lr"]}  # fmt: skip
    if "momentum_buffer" in rec:
        out["buf"] = float(rec["momentum_buffer"][0])
        out["buf_prev"] = None if prev is None else float(prev["momentum_buffer"][0])
    if "m" in rec:
        out.update(m=float(rec["m"][0]), v=float(rec["v"][0]), m_hat=float(rec["m_hat"][0]),
                   v_hat=float(rec["v_hat"][0]), bc1=rec["bias_correction1"],
                   bc2=rec["bias_correction2"], step=rec["step"],
                   m_prev=0.0 if prev is None else float(prev["m"][0]),
                   v_prev=0.0 if prev is None else float(prev["v"][0]))  # fmt: skip
    return out


def train_three(on_step, steps: int | None = None) -> dict:
    """engine.experiments.compare_optimizers on a small CNN: same start, same batches."""
    from engine.data import mnist_split
    from engine.experiments import compare_optimizers, small_cnn

    train, _ = mnist_split()
    model = small_cnn(0.0, rng=np.random.default_rng(0))
    return compare_optimizers(model, train.subset(slice(0, EXAMPLES)), steps=steps or DIGIT_STEPS,
                              lrs=DIGIT_LRS, on_step=on_step)  # fmt: skip


class OptimizerView(LiveView):
    """The valley with three paths (arrows step through time), updates, curves on digits."""

    BINDINGS = [
        Binding("right", "time(1)", "step", key_display="←→"),
        Binding("left", "time(-1)", "step back", show=False),
        Binding("end", "time(1000)", "last step", show=False),
        Binding("home", "time(-1000)", "first step", show=False),
        Binding("r", "train", "run on digits"),
    ]
    LABELS = {n: f"with {name}" for n, name in NAMES.items()}
    FOLLOWED = ("t", "ran")  # a follower mirrors these (tui/presence.py)

    def __init__(self) -> None:
        super().__init__(id="optimizer-view")
        self.paths = valley_paths()
        self.t = STEPS
        self.losses = {n: [] for n in NAMES}
        self.ran = False

    def compose(self) -> ComposeResult:
        yield Static(id="opt-body")
        yield Curves(id="opt-curves")

    def on_mount(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        self.call_after_refresh(self.redraw)  # the valley is drawn to the width

    def action_time(self, delta: int) -> None:
        """Move every path one step forward or back in time."""
        t = min(max(self.t + delta, 1), STEPS)
        if t != self.t:
            self.t = t
            self.changed()
            self.redraw()

    def action_train(self) -> None:
        """Train a small CNN three times: same start, same batches, one optimizer each."""
        self.ran = True
        self.train("train", train_three, NAMES)

    def followed(self, moved: set) -> None:
        """The presenter's step in time; its run on digits (seeded: the same losses) if it ran."""
        if self.ran and not self.busy and not any(self.losses.values()):
            self.action_train()
        self.changed()
        self.redraw()

    def done(self, kind: str, result) -> None:
        self.losses = {n: list(r.losses) for n, r in result.items()}
        last = ", ".join(f"{NAMES[n]} {fmt(np.mean(v[-5:]))}" for n, v in self.losses.items())
        self.status = f"done; mean loss of the last 5 steps: {last}"

    def show_page(self, mode: str) -> None:
        super().show_page(mode)
        if self.is_mounted and mode == "digits" and not self.ran:
            self.action_train()

    # ---- numbers --------------------------------------------------------------------------
    def state(self) -> dict:
        return {"t": self.t, **{n: update_numbers(self.paths[n], self.t) for n in NAMES},
                "losses": {n: float(self.paths[n].losses[self.t]) for n in NAMES}}  # fmt: skip

    def placeholders(self) -> dict[str, str]:
        p = self.paths
        s = p["surface"]
        out = {"t": str(self.t), "steps": str(STEPS), "steep": fmt(s.steep),
               "sgd_lr": fmt(p["sgd"].updates[0]["lr"]), "adam_lr": fmt(p["adam"].updates[0]["lr"]),
               "limit": fmt(2 / s.steep), "digit_steps": str(DIGIT_STEPS)}  # fmt: skip
        done = self.status.startswith("done")
        for n in NAMES:
            out[f"{n}_digits"] = fmt(float(np.mean(self.losses[n][-5:]))) if done else "…"
            out[f"{n}_dlr"] = fmt(DIGIT_LRS[n])
            hide = self.concealed and self.mode == "valley"  # the question asks which is lowest
            out[f"{n}_loss"] = "?" if hide else fmt(float(p[n].losses[self.t]))
            out[f"{n}_end"] = fmt(float(p[n].losses[-1]))
        return out

    # ---- drawing --------------------------------------------------------------------------
    def redraw(self) -> None:
        body, curves = self.query_one("#opt-body", Static), self.query_one(Curves)
        curves.display = self.mode == "digits"
        width = max(30, self.size.width - 2)
        if self.mode == "update":
            body.update(self._update_text(width))
        elif self.mode == "digits":
            text = Text(self.problem or self.status or "r trains the net with each optimizer")
            body.update(text)
            series = {NAMES[n]: (list(range(1, len(v) + 1)), v) for n, v in self.losses.items()}
            curves.show(series, "training loss, same start and batches", "step", self.color)
        else:
            body.update(self._valley_text(width))

    def _valley_text(self, width: int) -> Text:
        cols = max(24, min(70, width - 2))
        rows = 9 if self.app.size.height < 30 else 15
        a_range, b_range = (-4.5, 1.0), (-0.8, 0.8)
        surface = self.paths["surface"]
        levels = np.searchsorted(BANDS, surface.grid(a_range, b_range, cols, rows))
        cells = [[(SHADES[v], "dim") for v in row] for row in levels]

        def put(a, b, ch, style):
            c = round((a - a_range[0]) / (a_range[1] - a_range[0]) * (cols - 1))
            r = round((b_range[1] - b) / (b_range[1] - b_range[0]) * (rows - 1))
            if 0 <= r < rows and 0 <= c < cols:
                cells[r][c] = (ch, style)

        for n in NAMES:
            style = STYLE[n] if self.color else "bold"
            for a, b in self.paths[n].points[: self.t]:
                put(a, b, MARK[n].lower(), style if self.color else "")
            put(*self.paths[n].points[self.t], MARK[n], style + " reverse")
        put(0.0, 0.0, "✕", "bold")  # on top: where every path is heading
        t = Text(no_wrap=True, overflow="crop")
        t.append(
            f"f(a,b) = ½(a² + {fmt(surface.steep)}·b²), minimum ✕ at (0,0); step {self.t}/{STEPS}\n"
        )
        for row in cells:
            # One span per run of a style, not one per cell: a key's repaint converts every
            # span (about 1,000 cells a step were most of its time).
            for style, run in groupby(row, key=lambda cell: cell[1]):
                t.append("".join(ch for ch, _ in run), style)
            t.append("\n")
        for n in NAMES:
            t.append(f"{MARK[n]} {NAMES[n]:<8}", STYLE[n] if self.color else "bold")
            a, b = self.paths[n].points[self.t]
            loss = "?" if self.concealed else fmt(float(self.paths[n].losses[self.t]))
            t.append(f" a {fmt(a):>7} b {fmt(b):>7} loss {loss}\n")
        return t

    def _update_text(self, width: int) -> Text:
        s = self.state()
        t = Text(no_wrap=False)
        t.append(f"step {self.t} (←→ another): the update of weight a\n", "bold")
        u = s["sgd"]
        self._label(t, "sgd", "SGD")
        t.append(f"  w = {fmt(u['before'])} − {fmt(u['lr'])}·{par(u['g'])} = {fmt(u['after'])}\n")
        u = s["momentum"]
        self._label(t, "momentum", "momentum")
        first = u["buf_prev"] is None
        prev = "g (the first step)" if first else f"0.9·{par(u['buf_prev'])} + {par(u['g'])}"
        t.append(f"  v = {prev} = {fmt(u['buf'])}\n")
        t.append(f"  w = {fmt(u['before'])} − {fmt(u['lr'])}·{par(u['buf'])} = ")
        t.append("?" if self.concealed else fmt(u["after"]), "bold")
        u = s["adam"]
        step, lr = u["step"], fmt(u["lr"])
        self._label(t, "adam", f"\nAdam (g = {fmt(u['g'])}, t = {step})")
        lines = [
            f"m = 0.9·{par(u['m_prev'])} + 0.1·{par(u['g'])} = {fmt(u['m'])}",
            f"v = 0.999·{par(u['v_prev'])} + 0.001·{par(u['g'])}² = {fmt(u['v'])}",
            f"m̂ = m/(1 − 0.9^{step}) = {fmt(u['m'])}/{fmt(u['bc1'])} = {fmt(u['m_hat'])}",
            f"v̂ = v/(1 − 0.999^{step}) = {fmt(u['v'])}/{fmt(u['bc2'])} = {fmt(u['v_hat'])}",
            f"w = {fmt(u['before'])} − {lr}·m̂/(√v̂ + ε) = {fmt(u['after'])}",
        ]
        t.append("".join(f"  {line}\n" for line in lines))
        return t

    def _label(self, t: Text, name: str, label: str) -> None:
        t.append(label + "\n", STYLE[name] if self.color else "bold")


def par(x: float) -> str:
    """A number for a product: negatives in parentheses."""
    s = fmt(x)
    return f"({s})" if s.startswith("-") else s


MOMENTUM_QUESTION = Question(
    prompt=lambda s: f"Step {s['t']}: with the buffer v shown, what is momentum's new a?",
    answer=lambda s: s["momentum"]["after"],
    worked=lambda s: (
        f"w − lr·v = {fmt(s['momentum']['before'])} − {fmt(s['momentum']['lr'])}"
        f"·{fmt(s['momentum']['buf'])} = {fmt(s['momentum']['after'])}"
    ),
    tolerance=0.005,
)


def _lowest(s: dict) -> str:
    return NAMES[min(s["losses"], key=s["losses"].get)]


VALLEY_QUESTION = Question(
    prompt=lambda s: f"At step {s['t']}, which optimizer is lowest in the valley?",
    answer=_lowest,
    worked=lambda s: ", ".join(f"{NAMES[n]} {fmt(v)}" for n, v in s["losses"].items()),
    kind="choice",
    options=tuple(NAMES.values()),
)


def _finite(v: float) -> bool:
    return math.isfinite(v)


LESSON = Lesson(
    number=8,
    markdown_file="08-optimizers.md",
    pages=(
        Page(OptimizerView, question=VALLEY_QUESTION, mode="valley"),
        Page(OptimizerView, question=MOMENTUM_QUESTION, mode="update"),
        Page(OptimizerView, mode="digits"),
    ),
    explorer="lenet",
    keys=(
        ("← →", "step the three optimizers back and forth"),
        ("home / end", "first / last step"),
        ("r", "train on digits again (page 3)"),
    ),  # fmt: skip
)
