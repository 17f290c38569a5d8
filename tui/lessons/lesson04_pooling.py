"""Lesson 4, pooling: max and average on the same feature map, forward and backward."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.binding import Binding

from tui.lessons.base import Lesson, LessonView, Page, Question
from tui.lessons.compute import EngineWork
from tui.lessons.layout import captioned, framed_grid, side_by_side, stack
from tui.lessons.lesson03_channels import digits, explore_trained_lenet, pretrained_lenet
from tui.render.numbers import format_number as fmt

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
SIDE = 4  # the patch shown: 4x4, pooled to 2x2
K = 2  # the pooling window (and stride)


def busiest_patch(fmap: np.ndarray) -> tuple[int, int]:
    """Top-left (on the pooling grid) of the SIDE x SIDE patch with the largest sum: some ink."""
    best, where = -1.0, (0, 0)
    for r in range(0, fmap.shape[0] - SIDE + 1, K):
        for c in range(0, fmap.shape[1] - SIDE + 1, K):
            total = float(fmap[r : r + SIDE, c : c + SIDE].sum())
            if total > best:
                best, where = total, (r, c)
    return where


class PoolView(EngineWork, LessonView):
    """A 4x4 patch of a real ReLU feature map through MaxPool2d(2) and AvgPool2d(2)."""

    FOLLOWED = ("index", "channel", "pos", "kind")  # a follower mirrors these (tui/presence.py)

    SECRET = frozenset({"share", "corner", "max"})

    BINDINGS = [
        Binding("left", "move(0,-1)", "window", key_display="←↑↓→"),
        Binding("right", "move(0,1)", "window right", show=False),
        Binding("up", "move(-1,0)", "window up", show=False),
        Binding("down", "move(1,0)", "window down", show=False),
        Binding("m", "kind", "max / average"),
        Binding("c", "channel(1)", "channel"),
        Binding("greater_than_sign", "digit(1)", "digit", key_display=">", show=False),
        Binding("less_than_sign", "digit(-1)", "previous digit", key_display="<", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="pool-view")
        self.index, self.channel, self.pos, self.kind = 0, 0, (0, 0), "max"

    def on_mount(self) -> None:
        self.compute()

    def show_page(self, mode: str) -> None:
        if mode in ("max", "average"):
            self.kind = mode
        super().show_page(mode)

    def explorer_prepare(self):
        return explore_trained_lenet(4, self.index)

    def kernel_key(self) -> str:
        return "lenet-forward+pool-backward"

    def calculate(self) -> dict:
        """The patch, both pools forward, and both backward for an upstream gradient."""
        from engine.pool import AvgPool2d, MaxPool2d

        conv1, relu1 = pretrained_lenet().layers[:2]
        x = digits().images[self.index : self.index + 1]  # (1, 1, 28, 28)
        fmap = relu1.forward(conv1.forward(x))[:, self.channel : self.channel + 1]
        r0, c0 = busiest_patch(fmap[0, 0])
        patch = np.ascontiguousarray(fmap[:, :, r0 : r0 + SIDE, c0 : c0 + SIDE])  # (1, 1, 6, 6)
        n = SIDE // K
        grad_out = (np.arange(n * n, dtype=np.float32).reshape(1, 1, n, n) + 1) / 10  # 0.1, 0.2..
        out, grads, argmax = {}, {}, None
        for name, pool in (("max", MaxPool2d(K)), ("average", AvgPool2d(K))):
            out[name] = pool.forward(patch)[0, 0]
            grads[name] = pool.backward(grad_out)[0, 0]
            if name == "max":
                argmax = pool.ctx.argmax[0, 0].copy()  # (2, 2) flat indices into the 4x4 patch
        return {"patch": patch[0, 0], "out": out, "grad_in": grads, "origin": (r0, c0),
                "grad_out": grad_out[0, 0], "argmax": argmax}  # fmt: skip

    def action_move(self, di: int, dj: int) -> None:
        """Move the pooling window (it jumps by the stride, 2)."""
        last = SIDE // K - 1
        self.pos = (min(max(self.pos[0] + di, 0), last), min(max(self.pos[1] + dj, 0), last))
        self.changed()

    def action_kind(self) -> None:
        """Switch between max and average pooling."""
        self.kind = "average" if self.kind == "max" else "max"
        self.changed()

    def action_channel(self, delta: int) -> None:
        """The next feature map of conv1."""
        self.channel = (self.channel + delta) % 8
        self.compute()

    def action_digit(self, delta: int) -> None:
        """The next (or previous) digit."""
        self.index = (self.index + delta) % len(digits())
        self.compute()

    def winner(self) -> tuple[int, int]:
        """(row, col) in the patch of the current window's maximum, as the engine chose it."""
        flat = int(self.result["argmax"][self.pos])
        return divmod(flat, self.result["patch"].shape[1])

    # ---- workshop: s exports, Z enlarges (nothing while a question is open) ---------------
    def exportables(self) -> list:
        """The patch, both pools' outputs and the gradients they pass back."""
        from tui.export import TensorExport

        r = self.result
        if r is None or self.concealed:
            return []
        items = [TensorExport(f"lesson 4 patch of channel {self.channel}", r["patch"])]
        for kind in ("max", "average"):
            items.append(TensorExport(f"lesson 4 {kind} pool output", r["out"][kind]))
            items.append(TensorExport(f"lesson 4 {kind} pool grad_input", r["grad_in"][kind]))
        return items

    def zoom_view(self):
        """The pooled output with the window's cell under the cursor."""
        from tui.screens.zoom import ZoomView

        r = self.result
        title = f"{self.kind} pool output"
        if r is None:
            return ZoomView(title, None, message="computing …")
        if self.concealed:
            return ZoomView(title, None, message="the question is open (a)")
        return ZoomView(title, r["out"][self.kind], self.pos)

    def zoom_move(self, di: int, dj: int) -> None:
        """The zoom's arrows move the window."""
        self.action_move(di, dj)

    def state(self) -> dict:
        r = self.result
        if r is None:
            return {}
        i, j = self.pos
        wr, wc = self.winner()
        window = r["patch"][K * i : K * i + K, K * j : K * j + K]
        return {"pos": self.pos, "winner": (wr, wc),
                "corner": CORNERS[(wr - K * i) * K + (wc - K * j)],
                "window": window.tolist(), "g": float(r["grad_out"][i, j]),
                "shown": " ".join(fmt(v) for v in window.ravel()),
                "avg_share": float(r["grad_in"]["average"][K * i, K * j]),
                "max_out": float(r["out"]["max"][i, j]),
                "tie": int((window == window.max()).sum()) > 1}  # fmt: skip

    def placeholders(self) -> dict[str, str]:
        s = self.state()
        if not s:
            return {k: "…" for k in ("i", "j", "g", "share", "corner", "max", "tie")}
        return {"i": str(s["pos"][0]), "j": str(s["pos"][1]), "g": fmt(s["g"]),
                "share": fmt(s["avg_share"]), "corner": s["corner"], "max": fmt(s["max_out"]),
                "tie": "a tie" if s["tie"] else "no tie"}  # fmt: skip

    def render(self) -> Text:
        if self.problem:
            return Text(self.problem)
        r = self.result
        if r is None:
            return Text("compiling the pooling kernels (first use only) …")
        i, j = self.pos
        hide = self.concealed
        win = (K * i, K * j, K, K)
        winner = None if hide or self.kind != "max" else self.winner()
        patch = framed_grid(np.round(r["patch"], 2), win, color=self.color, cursor=winner)
        out = framed_grid(np.round(r["out"][self.kind], 2), color=self.color,
                          cursor=None if hide else self.pos, hidden=hide)  # fmt: skip
        g_out = framed_grid(r["grad_out"], color=self.color, cursor=self.pos)
        g_in = framed_grid(np.round(r["grad_in"][self.kind], 3), win, color=self.color,
                           hidden=hide)  # fmt: skip
        r0, c0 = r["origin"]
        caption = f"conv1 ch {self.channel} (ReLU), rows {r0}-{r0 + SIDE - 1}"
        forward = side_by_side([captioned(caption, patch),
                                captioned(f"{self.kind} pool", out)])  # fmt: skip
        backward = side_by_side([captioned("grad_out (given)", g_out),
                                 captioned("grad_input", g_in)])  # fmt: skip
        s = self.state()
        line = Text(no_wrap=False)
        if hide:
            line.append("output and gradient: your turn (type it)", "bold")
        elif self.kind == "max":
            tie = " (a tie: the first wins)" if s["tie"] else ""
            line.append(f"max {fmt(s['max_out'])}: {s['corner']}{tie} gets all of g = "
                        f"{fmt(s['g'])}")  # fmt: skip
        else:
            line.append(f"mean of 4: each cell gets g/4 = {fmt(s['g'])}/4 = "
                        f"{fmt(s['avg_share'])}")  # fmt: skip
        return stack([forward, backward, line], gap=0)


WINNER_QUESTION = Question(
    prompt=lambda s: (
        f"Max pooling, window ({s['pos'][0]},{s['pos'][1]}): which cell wins "
        "(and gets the whole gradient)?"
    ),
    answer=lambda s: s["corner"],
    worked=lambda s: (
        f"the window holds {s['shown']} (row by row); the first largest is the "
        f"{s['corner']} one, and it gets all of g"
    ),
    kind="choice",
    options=CORNERS,
)

SHARE_QUESTION = Question(
    prompt=lambda s: (
        f"Average pooling: output ({s['pos'][0]},{s['pos'][1]}) receives the "
        f"gradient g = {fmt(s['g'])}. What does each of its 4 input cells get?"
    ),
    answer=lambda s: s["avg_share"],
    worked=lambda s: (
        f"the mean is (a + b + c + d) / 4, so each cell gets g / 4 = "
        f"{fmt(s['g'])} / 4 = {fmt(s['avg_share'])}"
    ),
    tolerance=0.0005,
)

LESSON = Lesson(
    number=4,
    markdown_file="04-pooling.md",
    pages=(
        Page(PoolView, question=WINNER_QUESTION, mode="max"),
        Page(PoolView, question=SHARE_QUESTION, mode="average"),
    ),
    explorer="lenet",
    keys=(
        ("←↑↓→", "move the pooling window"),
        ("m", "max / average pooling"),
        ("c", "next feature map"),
        ("< >", "previous / next digit"),
    ),  # fmt: skip
)
