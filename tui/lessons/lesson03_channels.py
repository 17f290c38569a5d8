"""Lesson 3, channels and filters: eight learned filters on a digit, and a sum over channels."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding

from tui.lessons.base import Lesson, LessonView, Page, Question
from tui.lessons.compute import EngineWork
from tui.lessons.layout import captioned, side_by_side, stack, tile_side
from tui.render.heatmap import heatmap
from tui.render.numbers import format_number as fmt
from tui.widgets.labkit import tile

_MODEL: dict[str, object] = {}


def pretrained_lenet():
    """The shipped LeNet-style net (trained on MNIST), loaded once per process."""
    if "lenet" not in _MODEL:
        from engine import paths
        from engine.checkpoint import load

        _MODEL["lenet"] = load(paths.PRETRAINED_LENET)[0]
    return _MODEL["lenet"]


def digits():
    """The bundled MNIST digits (engine.data), loaded once per process."""
    from engine.data import load_mnist

    return load_mnist()


@dataclass(frozen=True)
class TrainedLenet:
    """The explorer's `prepare` for lessons 3-6: the trained LeNet stepping 8 digits from the
    lesson's digit #digit (the explorer's batch), instead of a fresh LeNet on the first 8.

    It is made from two numbers, so a follower of the presenter builds the same network from the
    published `place()` (same seed, same numbers)."""

    lesson: int
    digit: int

    def __post_init__(self) -> None:
        if type(self.lesson) is not int or not 3 <= self.lesson <= 6:
            raise ValueError(f"no trained LeNet in lesson {self.lesson!r}")
        if type(self.digit) is not int or self.digit < 0:
            raise ValueError(f"not a digit's number: {self.digit!r}")

    def __call__(self, session) -> None:
        from tui.session import STEP_BATCH

        data = digits()
        rows = [(self.digit + k) % len(data) for k in range(STEP_BATCH)]
        title = f"the trained LeNet of lesson {self.lesson}, from digit #{self.digit}"
        session.adopt(pretrained_lenet(), data.images[rows], data.labels[rows], title)

    def place(self) -> dict:
        """What the presenter publishes so that followers build the same network."""
        return {"lesson": self.lesson, "digit": self.digit}


def explore_trained_lenet(number: int, index: int) -> TrainedLenet:
    """The explorer's `prepare` for lesson `number` on its digit #index."""
    return TrainedLenet(number, int(index))


class ChannelsView(EngineWork, LessonView):
    """conv1's eight filters and maps on a digit; conv2's sum over its eight input channels."""

    FOLLOWED = ("index", "channel", "pos")  # a follower mirrors these (tui/presence.py)

    SECRET = frozenset({"params1", "terms"})

    BINDINGS = [
        Binding("greater_than_sign", "digit(1)", "digit", key_display=">"),
        Binding("less_than_sign", "digit(-1)", "previous digit", key_display="<", show=False),
        Binding("c", "channel(1)", "channel"),
        Binding("C", "channel(-1)", "previous channel", show=False),
        Binding("left", "move(0,-1)", "move", key_display="←↑↓→"),
        Binding("right", "move(0,1)", "move right", show=False),
        Binding("up", "move(-1,0)", "move up", show=False),
        Binding("down", "move(1,0)", "move down", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="channels-view")
        self.index, self.channel, self.pos = 0, 0, (6, 6)

    def on_mount(self) -> None:
        self.compute()

    def explorer_prepare(self):
        return explore_trained_lenet(3, self.index)

    def kernel_key(self) -> str:
        return "lenet-forward"

    def calculate(self) -> dict:
        """conv1 maps, conv2's input, and conv2's output element explained (terms by channel)."""
        from engine.explain import explain_forward

        model = pretrained_lenet()
        conv1, relu1, pool1, conv2 = model.layers[:4]
        x = digits().images[self.index : self.index + 1]  # (1, 1, 28, 28)
        maps1 = conv1.forward(x)  # (1, 8, 28, 28)
        x2 = pool1.forward(relu1.forward(maps1))  # (1, 8, 14, 14): conv2's input
        out2 = conv2.forward(x2)  # (1, 16, 14, 14)
        i, j = self.pos
        e = explain_forward(conv2, x2, (0, self.channel, i, j))
        per = conv2.kernel_size[0] * conv2.kernel_size[1]
        partial = [math.fsum(t.value for t in e.terms[c * per : (c + 1) * per])
                   for c in range(conv2.in_channels)]  # fmt: skip
        return {"x": x[0, 0], "maps1": maps1[0], "w1": conv1.weight.value[:, 0].copy(),
                "b1": conv1.bias.value.copy(), "x2": x2[0], "out2": out2[0, self.channel],
                "engine_value": float(out2[0, self.channel, i, j]), "partial": partial,
                "bias": e.bias, "total": e.total, "terms": len(e.terms),
                "in_channels": conv2.in_channels, "k": conv2.kernel_size,
                "params1": conv1.weight.value.size + conv1.bias.value.size,
                "label": int(digits().labels[self.index]), "pos": self.pos,
                "channel": self.channel, "filters": conv1.out_channels,
                "k1": conv1.kernel_size, "explanation": e}  # fmt: skip

    def action_digit(self, delta: int) -> None:
        """The next (or previous) digit."""
        self.index = (self.index + delta) % len(digits())
        self.compute()

    def action_channel(self, delta: int) -> None:
        """conv2's next (or previous) output channel."""
        self.channel = (self.channel + delta) % 16
        self.compute()

    def action_move(self, di: int, dj: int) -> None:
        """Move the explained position over conv2's 14x14 output."""
        self.pos = (min(max(self.pos[0] + di, 0), 13), min(max(self.pos[1] + dj, 0), 13))
        self.compute()

    def state(self) -> dict:
        return dict(self.result or {})

    # ---- workshop: s exports, Z enlarges (the term count stays hidden while it is asked) ---
    def exportables(self) -> list:
        """conv1's filters and maps, conv2's input and the output channel explained."""
        from tui.export import TensorExport

        r = self.result
        if r is None:
            return []
        return [
            TensorExport("lesson 3 conv1 filters", r["w1"]),
            TensorExport(f"lesson 3 conv1 maps of digit {self.index}", r["maps1"]),
            TensorExport("lesson 3 conv2 input", r["x2"]),
            TensorExport(f"lesson 3 conv2 output channel {self.channel}", r["out2"]),
        ]

    def zoom_view(self):
        """conv2's output channel around the position, and its sum over eight channels."""
        from tui.screens.zoom import ZoomView

        r = self.result
        title = f"conv2 output channel {self.channel}"
        if r is None:
            return ZoomView(title, None, message="computing …")
        if self.concealed:  # the equation would count its terms: the open question's answer
            return ZoomView(title, r["out2"], self.pos, message="the question is open (a)")
        return ZoomView(title, r["out2"], self.pos, explanation=r["explanation"])

    def zoom_move(self, di: int, dj: int) -> None:
        """The zoom's arrows move the explained position."""
        self.action_move(di, dj)

    def placeholders(self) -> dict[str, str]:
        r = self.result
        if r is None:
            names = ("label", "params1", "terms", "in_channels", "channel", "i", "j", "total",
                     "kh", "kw", "filters", "kh1", "kw1")  # fmt: skip
            return {k: "…" for k in names}
        return {"label": str(r["label"]), "params1": str(r["params1"]),
                "terms": str(r["terms"]), "in_channels": str(r["in_channels"]),
                "channel": str(r["channel"]), "i": str(r["pos"][0]), "j": str(r["pos"][1]),
                "total": fmt(r["total"]), "kh": str(r["k"][0]), "kw": str(r["k"][1]),
                "filters": str(r["filters"]), "kh1": str(r["k1"][0]),
                "kw1": str(r["k1"][1])}  # fmt: skip

    def render(self) -> Text:
        if self.problem:
            return Text(self.problem)
        r = self.result
        if r is None:
            return Text("loading the trained network and compiling its kernels …")
        width, height = self.room()
        if self.mode == "sum":
            return self._render_sum(r, width)
        # The maps depend on the digit only: the arrows (which move the position the next page
        # explains) and the question redraw nothing of them.
        key = (self.index, width, height, self.color)
        if self._maps_drawn[0] != key:
            maps = r["maps1"]
            side = tile_side(len(maps) + 1, width, height - 1)
            digit = heatmap(r["x"], max_width=side, max_height=side // 2, color=self.color)
            cards = [captioned(f"digit ({r['label']})", digit)]
            for c in range(len(maps)):
                hm = heatmap(maps[c], max_width=side, max_height=side // 2, color=self.color)
                cards.append(captioned(f"map {c}", hm))
            head = Text(f"digit #{self.index} → conv1: {len(maps)} filters, {len(maps)} maps",
                        style="bold")  # fmt: skip
            self._maps_drawn = (key, stack([head, tile(cards, width, gap=2)], gap=0))
        return self._maps_drawn[1].copy()

    _maps_drawn: tuple = (None, None)  # (digit, width, height, colour), the maps drawn for it

    def _render_sum(self, r: dict, width: int) -> Text:
        i, j = r["pos"]
        c = r["channel"]
        lines = Text(no_wrap=True, overflow="crop")
        kh, kw = r["k"]
        lines.append(f"y[{c},{i},{j}] = Σ over {r['in_channels']} input channels of "
                     f"({kh}x{kw} products) + bias\n", "bold")  # fmt: skip
        for cp, s in enumerate(r["partial"]):
            lines.append(f"  channel {cp}: Σ {kh * kw} products = ")
            lines.append(f"{fmt(s):>8}\n")
        lines.append(f"  + bias              = {fmt(r['bias']):>8}\n")
        lines.append(f"  = y[{c},{i},{j}]           = ")
        if self.concealed:
            lines.append("?", "bold")
        else:
            lines.append(fmt(r["total"]), "bold reverse")
            lines.append(f"   (engine forward: {fmt(r['engine_value'])})", "dim")
        side = 14 if width < 70 else 20
        out = heatmap(r["out2"], max_width=side, max_height=side // 2, cursor=r["pos"],
                      color=self.color)  # fmt: skip
        field = [(cp, a, b) for cp in range(r["in_channels"])
                 for a in range(i - 1, i + 2) for b in range(j - 1, j + 2)]  # fmt: skip
        ins = [heatmap(r["x2"][cp], max_width=7, max_height=4, highlight=field, color=self.color)
               for cp in range(r["in_channels"])]  # fmt: skip
        inputs = captioned("its 8 input channels (window tinted)", tile(ins, width, gap=1))
        top = side_by_side([captioned(f"conv2 output channel {c}", out), inputs], gap=2)
        return stack([top, lines], gap=0)


PARAMS_QUESTION = Question(
    prompt="conv1 has 8 filters of 3x3 on 1 input channel, and a bias each. "
    "How many numbers does it learn?",
    answer=lambda s: s["params1"],
    worked=lambda s: f"8 filters x (1 x 3 x 3 weights + 1 bias) = {s['params1']}",
)

TERMS_QUESTION = Question(
    prompt=lambda s: (
        f"conv2 has {s['in_channels']} input channels and a {s['k'][0]}x{s['k'][1]}"
        " window. How many products make one of its outputs (bias aside)?"
    ),
    answer=lambda s: s["terms"],
    worked=lambda s: f"{s['in_channels']} channels x {s['k'][0]} x {s['k'][1]} = {s['terms']}",
)

LESSON = Lesson(
    number=3,
    markdown_file="03-channels.md",
    pages=(
        Page(ChannelsView, question=PARAMS_QUESTION, mode="filters"),
        Page(ChannelsView, question=TERMS_QUESTION, mode="sum"),
    ),
    explorer="lenet",
    keys=(
        ("< >", "previous / next digit"),
        ("c / C", "conv2's next / previous output channel"),
        ("←↑↓→", "move the explained position (page 2)"),
    ),  # fmt: skip
)
