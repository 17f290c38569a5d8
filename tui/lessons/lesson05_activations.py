"""Lesson 5, activations: ReLU, sigmoid, tanh and their derivatives; on a map; a dead ReLU."""

from __future__ import annotations

import copy

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.lessons.base import Lesson, LessonView, Page, Question
from tui.lessons.compute import EngineWork
from tui.lessons.layout import captioned, side_by_side, stack
from tui.lessons.lesson03_channels import digits, explore_trained_lenet, pretrained_lenet
from tui.render.heatmap import heatmap
from tui.render.numbers import format_number as fmt
from tui.widgets.marked_plot import MarkedPlot

FUNCTIONS = ("ReLU", "Sigmoid", "Tanh")
XS = np.linspace(-6.0, 6.0, 241)  # step 0.05: x = 0 is on the grid
BATCH = 64


def curve(name: str, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), f'(x)) from the engine's layer: forward, then backward of ones."""
    import engine

    layer = getattr(engine, name)()
    y = layer.forward(xs.reshape(1, -1))  # (1, F): activations take (N, F) too
    d = layer.backward(np.ones_like(y))
    return y[0], d[0]


class ActivationView(EngineWork, LessonView):
    """The plot of f and f' with the current x marked, and the numbers at x."""

    FOLLOWED = ("function", "at", "channel", "index")  # a follower mirrors these (tui/presence.py)

    SECRET = frozenset({"sig_max", "five"})

    BINDINGS = [
        Binding("f", "function(1)", "function"),
        Binding("left", "move(-1)", "move x", key_display="←→"),
        Binding("right", "move(1)", "x right", show=False),
        Binding("shift+left", "move(-10)", "x - 0.5", show=False),
        Binding("shift+right", "move(10)", "x + 0.5", show=False),
        Binding("c", "channel(1)", "channel", show=False),
        Binding("greater_than_sign", "digit(1)", "digit", key_display=">", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="activation-view")
        self.function, self.at, self.channel, self.index = "ReLU", 140, 0, 0  # XS[140] = 1.0

    def compose(self) -> ComposeResult:
        yield MarkedPlot(id="activation-plot")
        yield Static(id="activation-numbers")

    def on_mount(self) -> None:
        self._mounted = True
        self.show_page(self.mode)

    _mounted = False

    def show_page(self, mode: str) -> None:
        if mode == "vanishing" and self.mode != mode:
            self.function, self.at = "Sigmoid", 120 + 40  # x = 2
        self.mode = mode
        if self._mounted:  # the plot exists once composed
            self.query_one("#activation-plot").display = mode != "dead"
            self.compute()

    @property
    def ready(self) -> bool:
        return self.result is not None and (self.mode != "dead" or "dead" in self.result)

    def explorer_prepare(self):
        return explore_trained_lenet(5, self.index)

    def kernel_key(self) -> str:
        return "lenet-forward" if self.mode == "dead" else ""

    def calculate(self) -> dict:
        """Curves of all three functions; on the dead-ReLU page, the batch through conv1."""
        import engine

        out = {name: curve(name, XS) for name in FUNCTIONS}
        g = np.ones((1, 1))  # the gradient passed back through five sigmoids, each at x = 0
        for _ in range(5):
            layer = engine.Sigmoid()
            layer.forward(np.zeros((1, 1)))
            g = layer.backward(g)
        out["five"] = float(g[0, 0])
        if self.mode == "dead":
            out["dead"] = self._dead_unit()
        return out

    def _dead_unit(self) -> dict:
        """conv1's channel `channel` on a batch, before and after its bias is pushed down."""
        import engine

        conv1 = pretrained_lenet().layers[0]
        batch = digits().images[:BATCH]  # (64, 1, 28, 28)
        pre = conv1.forward(batch)[:, self.channel]  # (64, 28, 28)
        push = -float(pre.max()) - 0.5  # just enough to sink every pre-activation below 0
        broken = copy.deepcopy(conv1)
        broken.bias.value[self.channel] += push
        pre_dead = broken.forward(batch)[:, self.channel : self.channel + 1]
        relu = engine.ReLU()
        relu.forward(pre_dead)
        grad = relu.backward(np.ones_like(pre_dead))
        alive = engine.ReLU()
        y_alive = alive.forward(pre[:, None])
        act = getattr(engine, self.function)()
        shown = act.forward(pre[self.index : self.index + 1, None])[0, 0]
        return {"pre": pre[self.index], "post": shown, "push": push,
                "active_before": int(alive.ctx.mask.sum()),
                "active_after": int(relu.ctx.mask.sum()),
                "grad_sum": float(np.abs(grad).sum()), "positions": int(pre.size),
                "alive_mean": float(y_alive.mean())}  # fmt: skip

    # ---- keys -----------------------------------------------------------------------------
    def action_function(self, delta: int) -> None:
        """The next activation function."""
        self.function = FUNCTIONS[(FUNCTIONS.index(self.function) + delta) % len(FUNCTIONS)]
        self.compute()

    def action_move(self, steps: int) -> None:
        """Move the marked x (0.05 a step)."""
        self.at = min(max(self.at + steps, 0), len(XS) - 1)
        self.changed()

    def action_channel(self, delta: int) -> None:
        """The next conv1 channel (the dead-ReLU page)."""
        self.channel = (self.channel + delta) % 8
        self.compute()

    def action_digit(self, delta: int) -> None:
        """The next digit (the dead-ReLU page)."""
        self.index = (self.index + delta) % BATCH
        self.compute()

    # ---- state ----------------------------------------------------------------------------
    def state(self) -> dict:
        r = self.result
        if r is None:
            return {}
        y, d = r[self.function]
        s_y, s_d = r["Sigmoid"]
        t_y, t_d = r["Tanh"]
        out = {"function": self.function, "x": float(XS[self.at]), "y": float(y[self.at]),
               "d": float(d[self.at]), "sig_max": float(s_d.max()),
               "sig_at_0": float(s_d[120]), "tanh_max": float(t_d.max()),
               "sig_far": float(s_d[-1]), "x_far": float(XS[-1])}  # fmt: skip
        out["five"] = r["five"]
        if "dead" in r:
            out.update({k: v for k, v in r["dead"].items() if not isinstance(v, np.ndarray)})
        return out

    def placeholders(self) -> dict[str, str]:
        s = self.state()
        keys = ("function", "x", "y", "d", "sig_max", "sig_at_0", "tanh_max", "sig_far",
                "x_far", "five", "push", "active_before", "active_after", "positions",
                "channel")  # fmt: skip
        if not s:
            return {k: "…" for k in keys}
        out = {k: (fmt(v) if isinstance(v, float) else str(v)) for k, v in s.items()}
        out["channel"] = str(self.channel)
        for k in keys:
            out.setdefault(k, "…")
        return out

    # ---- drawing --------------------------------------------------------------------------
    def watch_concealed(self, _old: bool, _new: bool) -> None:
        self._draw()

    def changed(self) -> None:
        self._draw()
        super().changed()

    def _draw(self) -> None:
        if not self._mounted:
            return
        numbers = self.query_one("#activation-numbers", Static)
        if self.problem:
            numbers.update(self.problem)
            return
        r = self.result
        if r is None:
            numbers.update("computing …")
            return
        if self.mode == "dead":
            dead = r.get("dead")
            numbers.update(self._dead_text(dead) if dead else "computing the batch …")
            return
        x = float(XS[self.at])
        title = "{} and its derivative (x = {})".format
        # The curves are built once per function; a move only moves the marker (MarkedPlot).
        plot = self.query_one(MarkedPlot)
        plot.show(self.function, self._drawer(self.function), x, (-6, 6),
                  title(self.function, fmt(x)))  # fmt: skip
        if not self._ahead_asked:  # the other functions' figures, built while the user reads
            self._ahead_asked = True
            for name in FUNCTIONS:
                if name != self.function:
                    plot.ahead(name, self._drawer(name), x, (-6, 6), title(name, fmt(x)))
        s = self.state()
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"x = {fmt(s['x'])}:  ", "bold")
        text.append(f"{self.function.lower()}(x) = {fmt(s['y'])}   ")
        text.append(f"{self.function.lower()}'(x) = ")
        hide = self.concealed
        text.append("?" if hide and self.function == "Sigmoid" else fmt(s["d"]), "bold")
        # One line, as before (no_wrap): no layout of the whole screen for a new x.
        numbers.update(text, layout=numbers.size.height != 1)

    _ahead_asked = False

    def _drawer(self, name: str):
        """draw(plt) for one function's curve and its derivative (MarkedPlot's curves)."""
        y, d = self.result[name]

        def draw(plt) -> None:
            plt.plot(XS.tolist(), y.tolist(), label=name.lower(), marker="braille")
            plt.plot(XS.tolist(), d.tolist(), label="derivative", marker="braille")

        return draw

    def _dead_text(self, dead: dict) -> Text:
        width = max(30, self.size.width - 2)
        side = min(28, (width - 4) // 2)
        pre = heatmap(dead["pre"], max_width=side, max_height=side // 2, color=self.color)
        post = heatmap(dead["post"], max_width=side, max_height=side // 2, color=self.color)
        maps = side_by_side([captioned(f"conv1 ch {self.channel}, before", pre),
                             captioned(f"after {self.function}", post)], gap=2)  # fmt: skip
        info = Text(no_wrap=False)
        info.append(f"batch of {BATCH} digits, {dead['positions']} positions of channel "
                    f"{self.channel}:\n")  # fmt: skip
        info.append(f"  ReLU active (x > 0) at {dead['active_before']} of them\n")
        info.append(f"  bias pushed by {fmt(dead['push'])}: active at ")
        info.append(str(dead["active_after"]), "bold")
        info.append(f", gradient through it {fmt(dead['grad_sum'])}: a dead ReLU", "bold")
        return stack([maps, info], gap=0)

    def render(self) -> Text:
        return Text("")


PEAK_QUESTION = Question(
    prompt="The derivative of the sigmoid is σ(x)(1 − σ(x)). What is the largest value it "
    "ever takes?",
    answer=lambda s: s["sig_max"],
    worked=lambda s: f"at x = 0, σ = 0.5, so σ' = 0.5 × 0.5 = {fmt(s['sig_max'])}",
    tolerance=0.001,
)

FIVE_QUESTION = Question(
    prompt="A gradient passes back through 5 sigmoids, each at its best (x = 0). "
    "By how much is it multiplied, at most?",
    answer=lambda s: s["five"],
    worked=lambda s: f"σ'(0)^5 = {fmt(s['sig_at_0'])}^5 = {fmt(s['five'])}",
    tolerance=0.00005,
)

LESSON = Lesson(
    number=5,
    markdown_file="05-activations.md",
    pages=(
        Page(ActivationView, question=PEAK_QUESTION, mode="functions"),
        Page(ActivationView, question=FIVE_QUESTION, mode="vanishing"),
        Page(ActivationView, mode="dead"),
    ),
    explorer="lenet",
    keys=(
        ("f", "next function: ReLU, sigmoid, tanh"),
        ("← →", "move x (shift: faster)"),
        ("c / >", "dead-ReLU page: next channel / digit"),
    ),  # fmt: skip
)
