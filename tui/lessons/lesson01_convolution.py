"""Lesson 1, convolution: the article's 5x5 example slid by hand, then kernels on a real digit."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.binding import Binding

from tui.lessons.base import Lesson, LessonView, Page, Question
from tui.lessons.compute import EngineWork
from tui.lessons.layout import captioned, framed_grid, side_by_side, stack
from tui.render.heatmap import heatmap
from tui.render.numbers import format_number as fmt


def show_term(term) -> str:
    """A product as the text shows it: 4·1, 2·(−1) (Markdown would read * as emphasis)."""
    return term.show().replace("*", "·").replace("-", "−")


def article_layer():
    """The article's Conv2d(1->1, k=3) with the vertical-edge kernel and bias 0."""
    from engine.presets import article

    # the preset sets the kernel and bias itself; a fixed generator keeps the draw reproducible
    return article(np.random.default_rng(0)).model.layers[0]


class ArticleView(LessonView):
    """The 5x5 input, the kernel and the 3x3 output; arrows slide the window."""

    FOLLOWED = ("pos",)  # a follower mirrors these (tui/presence.py)

    SECRET = frozenset({"total", "rows_total", "row_sum"})

    BINDINGS = [
        Binding("left", "slide(0,-1)", "slide", key_display="←↑↓→"),
        Binding("right", "slide(0,1)", "slide", show=False),
        Binding("up", "slide(-1,0)", "slide", show=False),
        Binding("down", "slide(1,0)", "slide", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="article-view")
        from engine.module import Context
        from engine.presets import article_input

        self.conv, self.x = article_layer(), article_input()  # x: (1, 1, 5, 5)
        _, self.out_h, self.out_w = self.conv.output_shape(self.x.shape[1:])
        # The context a forward would save (input, parameters, output shape), built without
        # running the Numba kernel: lesson 1 answers keys before anything has compiled. The
        # engine's own explain_forward reads it; the tests check it against a real forward.
        ctx = Context(
            self.x,
            (1, 1, self.out_h, self.out_w),
            weight=self.conv.weight.value.copy(),
            bias=self.conv.bias.value.copy(),
        )
        # Every output element explained once (float64 terms): the grid and the sums shown.
        self.explained = {(i, j): self.conv.explain_forward(ctx, (0, 0, i, j))
                          for i in range(self.out_h) for j in range(self.out_w)}  # fmt: skip
        self.out = np.array([[self.explained[i, j].total for j in range(self.out_w)]
                             for i in range(self.out_h)])  # fmt: skip
        self.pos = (0, 0)

    def action_slide(self, di: int, dj: int) -> None:
        """Slide the window one step (it stops at the edges)."""
        i = min(max(self.pos[0] + di, 0), self.out_h - 1)
        j = min(max(self.pos[1] + dj, 0), self.out_w - 1)
        if (i, j) != self.pos:
            self.pos = (i, j)
            self.changed()

    def row_sums(self) -> list[float]:
        """The sum of each kernel row's three products at the current position."""
        terms = self.explained[self.pos].terms
        k = self.conv.kernel_size[1]
        return [math.fsum(t.value for t in terms[r * k : (r + 1) * k])
                for r in range(len(terms) // k)]  # fmt: skip

    def state(self) -> dict:
        e = self.explained[self.pos]
        return {"pos": self.pos, "total": e.total, "terms": [t.factors for t in e.terms],
                "rows": self.row_sums(), "out": self.out.tolist()}  # fmt: skip

    def worked(self) -> str:
        """The products row by row and their sum, with the numbers."""
        i, j = self.pos
        rows = " + ".join(fmt(r) for r in self.row_sums())
        e = self.explained[self.pos]
        terms = " + ".join(show_term(t) for t in e.terms)
        return f"(I*K)({i},{j}) = {terms} = {rows} = {fmt(e.total)}"

    def placeholders(self) -> dict[str, str]:
        i, j = self.pos
        rows = self.row_sums()
        return {
            "i": str(i), "j": str(j), "total": fmt(self.explained[self.pos].total),
            "row_sum": fmt(rows[0]), "rows_total": " + ".join(fmt(r) for r in rows),
            "out_h": str(self.out_h), "out_w": str(self.out_w),
            "positions": str(self.out_h * self.out_w),
            "first_row": " + ".join(show_term(t) for t in self.explained[self.pos].terms[:3]),
        }  # fmt: skip

    # ---- workshop: s exports, Z enlarges (the answer stays hidden while it is asked) -------
    def exportables(self) -> list:
        """The input, the kernel and, unless its question is open, the output."""
        from tui.export import TensorExport

        items = [TensorExport("lesson 1 input I", self.x[0, 0]),
                 TensorExport("lesson 1 kernel K", self.conv.weight.value[0, 0])]  # fmt: skip
        if not self.concealed:
            items.append(TensorExport("lesson 1 output I*K", self.out))
        return items

    def zoom_view(self):
        """The output around the window with its nine products; the input while asked."""
        from engine.explain import receptive_field
        from tui.screens.zoom import ZoomView

        i, j = self.pos
        if self.concealed:
            marks = frozenset((r, c) for _, _, r, c in receptive_field(self.conv, self.x.shape,
                                                                      (0, 0, i, j)))  # fmt: skip
            centre = (i + self.conv.kernel_size[0] // 2, j + self.conv.kernel_size[1] // 2)
            return ZoomView(f"input I · the window at ({i},{j})", self.x[0, 0], centre, marks,
                            message=f"(I*K)({i},{j}) = ?  your turn: type it")  # fmt: skip
        return ZoomView("output I*K", self.out, self.pos, explanation=self.explained[self.pos])

    def zoom_move(self, di: int, dj: int) -> None:
        """The zoom's arrows slide the window."""
        self.action_slide(di, dj)

    def render(self) -> Text:
        i, j = self.pos
        kh, kw = self.conv.kernel_size
        hide = self.concealed
        kernel = self.conv.weight.value[0, 0]
        grid_in = framed_grid(self.x[0, 0], (i, j, kh, kw), color=self.color)
        grid_k = framed_grid(kernel, color=self.color)
        grid_out = framed_grid(self.out, color=self.color, cursor=None if hide else self.pos,
                               hidden=hide)  # fmt: skip
        top = side_by_side([captioned("input I", grid_in), captioned("kernel K", grid_k),
                            captioned("output I*K", grid_out)])  # fmt: skip
        e = self.explained[self.pos]
        lines = Text(no_wrap=True, overflow="crop")
        for r, total in enumerate(self.row_sums()):
            row_terms = e.terms[r * kw : (r + 1) * kw]
            lines.append(" + ".join(show_term(t) for t in row_terms))
            lines.append(f"   row {r}: ")
            lines.append("?" if hide else fmt(total), "bold")
            lines.append("\n")
        lines.append(f"(I*K)({i},{j}) = ", "bold")
        if hide:
            lines.append("? (your turn: type it)", "bold")
        else:
            lines.append(" + ".join(fmt(r) for r in self.row_sums()) + " = ")
            lines.append(fmt(e.total), "bold reverse")
        return stack([top, captioned(f"the window at ({i},{j}): products, row by row", lines)])


def _ask_sum(state: dict) -> str:
    i, j = state["pos"]
    return f"The window is at ({i},{j}). Add up its nine products: what is (I*K)({i},{j})?"


SUM_QUESTION = Question(
    prompt=_ask_sum,
    answer=lambda s: s["total"],
    worked=lambda s: (
        "the rows make " + " + ".join(fmt(r) for r in s["rows"]) + f" = {fmt(s['total'])}"
    ),
)

KERNEL_NAMES = ("vertical edge", "horizontal edge", "blur", "sharpen", "yours")


def named_kernels() -> np.ndarray:
    """The five kernels of the digit page, (5, 3, 3) float32: edges, blur, sharpen, yours."""
    from engine.presets import VERTICAL_EDGE_KERNEL

    vertical = VERTICAL_EDGE_KERNEL
    blur = np.full((3, 3), 1 / 9)
    sharpen = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    yours = np.zeros((3, 3))
    yours[1, 1] = 1  # starts as the identity: edit it and watch the output change
    return np.stack([vertical, vertical.T, blur, sharpen, yours]).astype(np.float32)


class DigitView(EngineWork, LessonView):
    """A real MNIST digit through five 3x3 kernels (one Conv2d, 5 output channels)."""

    FOLLOWED = ("which", "index", "cell", "kernels")  # a follower mirrors these (tui/presence.py)

    BINDINGS = [
        Binding("k", "kernel(1)", "kernel"),
        Binding("K", "kernel(-1)", "previous kernel", show=False),
        Binding("greater_than_sign", "digit(1)", "digit", key_display=">"),
        Binding("less_than_sign", "digit(-1)", "previous digit", key_display="<", show=False),
        Binding("left", "cell(0,-1)", "edit cell", key_display="←↑↓→", show=False),
        Binding("right", "cell(0,1)", "cell right", show=False),
        Binding("up", "cell(-1,0)", "cell up", show=False),
        Binding("down", "cell(1,0)", "cell down", show=False),
        Binding("plus,equals_sign", "edit(1)", "+1", key_display="+", show=False),
        Binding("minus", "edit(-1)", "-1", key_display="-", show=False),
        Binding("0", "zero", "cell to 0", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="digit-view")
        self.kernels = named_kernels()
        self.which, self.index, self.cell = 0, 0, (1, 1)
        self.conv = None
        self.digits = None

    @property
    def out(self) -> np.ndarray | None:
        """The five output maps (5, 28, 28) from the engine, None until computed."""
        return self.result

    def on_mount(self) -> None:
        self.compute()

    def kernel_key(self) -> str:
        return "conv3x3"

    def calculate(self) -> np.ndarray:
        """The digit through Conv2d(1->5, k=3, p=1) holding the five kernels."""
        from engine.conv import Conv2d
        from engine.data import load_mnist

        if self.conv is None:
            conv = Conv2d(1, len(KERNEL_NAMES), 3, padding=1, rng=np.random.default_rng(0))
            conv.bias.value[...] = 0
            self.conv = conv
        if self.digits is None:
            self.digits = load_mnist()
        self.conv.weight.value[:, 0] = self.kernels  # (5, 1, 3, 3) <- (5, 3, 3)
        x = self.digits.images[self.index : self.index + 1]  # (1, 1, 28, 28)
        return self.conv.forward(x)[0]  # (5, 28, 28)

    def action_kernel(self, delta: int) -> None:
        """Show the next (or previous) kernel's output."""
        self.which = (self.which + delta) % len(KERNEL_NAMES)
        self.changed()

    def action_digit(self, delta: int) -> None:
        """The next (or previous) MNIST digit."""
        if self.digits is not None:
            self.index = (self.index + delta) % len(self.digits)
            self.compute()

    def action_cell(self, di: int, dj: int) -> None:
        """Move the edit cursor in your kernel (switches to it)."""
        self.which = len(KERNEL_NAMES) - 1
        self.cell = ((self.cell[0] + di) % 3, (self.cell[1] + dj) % 3)
        self.changed()

    def action_edit(self, delta: float) -> None:
        """Add delta to the cell of your kernel under the cursor."""
        self.which = len(KERNEL_NAMES) - 1
        self.kernels[-1][self.cell] = np.clip(self.kernels[-1][self.cell] + delta, -9, 9)
        self.compute()

    def action_zero(self) -> None:
        """Set the cell of your kernel under the cursor to 0."""
        self.which = len(KERNEL_NAMES) - 1
        self.kernels[-1][self.cell] = 0
        self.compute()

    def state(self) -> dict:
        label = None if self.digits is None else int(self.digits.labels[self.index])
        return {"kernel": KERNEL_NAMES[self.which], "index": self.index, "label": label}

    def placeholders(self) -> dict[str, str]:
        s = self.state()
        out = self.out[self.which] if self.out is not None else None
        label = "?" if s["label"] is None else str(s["label"])
        return {"kernel": s["kernel"], "digit_label": label,
                "out_min": "…" if out is None else fmt(out.min()),
                "out_max": "…" if out is None else fmt(out.max())}  # fmt: skip

    # ---- workshop: s exports, Z enlarges --------------------------------------------------
    def exportables(self) -> list:
        """The five kernels and their five output maps (the shown one is the channel)."""
        from tui.export import TensorExport

        items = [TensorExport("lesson 1 kernels", self.kernels, channel=self.which)]
        if self.out is not None:
            name = f"lesson 1 digit {self.index} through the kernels"
            items.append(TensorExport(name, self.out, channel=self.which))
        return items

    def zoom_view(self):
        """The kernel shown, in large type (the cursor is yours to edit)."""
        from tui.screens.zoom import ZoomView

        yours = self.which == len(KERNEL_NAMES) - 1
        hint = "+ and - edit your kernel's cell" if yours else "k: the next kernel"
        return ZoomView(f"kernel: {KERNEL_NAMES[self.which]}", self.kernels[self.which],
                        self.cell if yours else None, message=hint)  # fmt: skip

    def zoom_move(self, di: int, dj: int) -> None:
        """The zoom's arrows move the edit cursor of your kernel."""
        self.action_cell(di, dj)

    def render(self) -> Text:
        if self.problem:
            return Text(f"cannot convolve the digit: {self.problem}")
        if self.out is None or self.digits is None:
            return Text("compiling the convolution kernel (first use only) …")
        width = max(20, self.size.width - 2)
        name = KERNEL_NAMES[self.which]
        cursor = self.cell if self.which == len(KERNEL_NAMES) - 1 else None
        kernel = framed_grid(self.kernels[self.which], color=self.color, cursor=cursor)
        kernel_w = 16
        wide = width >= 2 * 28 + kernel_w + 4  # digit, kernel and output in one row
        side = min(28, (width - (kernel_w + 4 if wide else 2)) // 2)
        label = int(self.digits.labels[self.index])
        x = self.digits.images[self.index, 0]  # (28, 28)
        maps = [captioned(f"digit #{self.index} ({label})",
                          heatmap(x, max_width=side, max_height=side, color=self.color)),
                captioned(f"output ({name})",
                          heatmap(self.out[self.which], max_width=side, max_height=side,
                                  color=self.color))]  # fmt: skip
        kernel_block = captioned(f"kernel: {name}", kernel)
        if wide:
            top = side_by_side([maps[0], kernel_block, maps[1]], gap=2)
        else:
            top = stack([side_by_side(maps, gap=2), kernel_block], gap=0)
        small = min(28, (width - 4 * 2) // 5)
        if small >= 10:
            tiles = [captioned(n[:small], heatmap(self.out[k], max_width=small,
                                                  max_height=small, color=self.color))
                     for k, n in enumerate(KERNEL_NAMES)]  # fmt: skip
            return stack([top, captioned("all five kernels", side_by_side(tiles, gap=2))], gap=0)
        return top


LESSON = Lesson(
    number=1,
    markdown_file="01-convolution.md",
    pages=(
        Page(ArticleView, question=SUM_QUESTION),
        Page(ArticleView),
        Page(ArticleView),
        Page(DigitView),
        Page(DigitView),
    ),
    explorer="article",
    keys=(
        ("←↑↓→", "slide the window (page 1-3); move the edit cursor in your kernel (page 5)"),
        ("k / K", "next / previous kernel on the digit"),
        ("< >", "previous / next digit"),
        ("+ - 0", "change the cell of your kernel under the cursor"),
    ),  # fmt: skip
)
