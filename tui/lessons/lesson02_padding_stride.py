"""Lesson 2, padding and stride: the output-size formula, live as k, s and p change."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.binding import Binding

from tui.lessons.base import Lesson, LessonView, Page, Question
from tui.lessons.compute import EngineWork
from tui.lessons.layout import block_width, captioned, framed_grid, side_by_side, stack, wrapped

LIMITS = {"k": (1, 7), "s": (1, 4), "p": (0, 3)}
NAMES = {"k": "kernel size k", "s": "stride s", "p": "padding p"}


def edge_kernel(k: int) -> np.ndarray:
    """A k x k vertical-edge kernel: +1 in the left column, -1 in the right (k = 1: [[1]])."""
    w = np.zeros((k, k), dtype=np.float32)
    w[:, 0] = 1
    if k > 1:
        w[:, -1] = -1
    return w


class PadStrideView(EngineWork, LessonView):
    """The padded 5x5 input, where the window goes, and the output, for any k, s, p."""

    FOLLOWED = ("settings", "chosen", "window")  # a follower mirrors these (tui/presence.py)

    SECRET = frozenset({"formula", "h_out", "never_cols", "never_count"})

    BINDINGS = [
        Binding("up", "choose(-1)", "choose k/s/p", key_display="↑↓"),
        Binding("down", "choose(1)", "next setting", show=False),
        Binding("right", "change(1)", "change", key_display="←→"),
        Binding("left", "change(-1)", "smaller", show=False),
        Binding("w", "window(1)", "next window"),
        Binding("W", "window(-1)", "previous window", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="pad-stride-view")
        from engine.presets import article_input

        self.x = article_input()  # (1, 1, 5, 5)
        self.settings = {"k": 3, "s": 1, "p": 0}
        self.chosen = "k"
        self.window = 0  # which output position the framed window is at (row-major)

    def on_mount(self) -> None:
        self.compute()

    def show_page(self, mode: str) -> None:
        """Each page starts from the setting it talks about."""
        starts = {"padding": {"k": 3, "s": 1, "p": 1}, "stride": {"k": 2, "s": 2, "p": 0},
                  "impossible": {"k": 7, "s": 1, "p": 0}}  # fmt: skip
        if mode in starts and mode != self.mode:
            self.settings = dict(starts[mode])
            self.chosen = {"padding": "p", "stride": "s", "impossible": "k"}[mode]
            self.window = 0
            self.compute()
        super().show_page(mode)

    # ---- engine ---------------------------------------------------------------------------
    def layer(self):
        """Conv2d(1->1, k, s, p) with the edge kernel and bias 0."""
        from engine.conv import Conv2d

        k, s, p = (self.settings[n] for n in "ksp")
        conv = Conv2d(1, 1, k, stride=s, padding=p, rng=np.random.default_rng(0))
        conv.weight.value[0, 0] = edge_kernel(k)
        conv.bias.value[...] = 0
        return conv

    def kernel_key(self) -> str:
        k, s = self.settings["k"], self.settings["s"]
        if (k + 2 * self.settings["p"]) > self.x.shape[-1]:
            return ""  # refused before any kernel runs
        return "conv3x3" if (k, s) == (3, 1) else "conv"

    def calculate(self) -> dict:
        """Output, formula and coverage from the engine, or its refusal for impossible settings."""
        from engine.explain import receptive_field

        conv = self.layer()
        formula = conv.size_formula(self.x.shape[1:])
        try:
            _, h, w = conv.output_shape(self.x.shape[1:])
        except ValueError as exc:
            return {"formula": formula, "refusal": str(exc), "shape": None}
        out = conv.forward(self.x)[0, 0]  # (h, w)
        reads = np.zeros(self.x.shape[-2:], dtype=int)  # how many windows read each pixel
        for i in range(h):
            for j in range(w):
                for _, _, r, c in receptive_field(conv, self.x.shape, (0, 0, i, j)):
                    reads[r, c] += 1
        kernel = conv.weight.value[0, 0].copy()
        return {"formula": formula, "refusal": "", "shape": (h, w), "out": out, "reads": reads,
                "kernel": kernel, "settings": dict(self.settings)}  # fmt: skip

    # ---- keys -----------------------------------------------------------------------------
    def action_choose(self, delta: int) -> None:
        """Choose which of k, s, p the left and right arrows change."""
        order = list(LIMITS)
        self.chosen = order[(order.index(self.chosen) + delta) % len(order)]
        self.changed()

    def action_change(self, delta: int) -> None:
        """Make the chosen setting larger or smaller (within its limits)."""
        lo, hi = LIMITS[self.chosen]
        value = min(max(self.settings[self.chosen] + delta, lo), hi)
        if value != self.settings[self.chosen]:
            self.settings[self.chosen] = value
            self.window = 0
            self.compute()

    def action_window(self, delta: int) -> None:
        """Move the framed window to the next (or previous) output position."""
        r = self.result
        if r and r["shape"]:
            h, w = r["shape"]
            self.window = (self.window + delta) % (h * w)
            self.changed()

    # ---- what the text and questions read --------------------------------------------------
    def never_read(self) -> tuple[list[int], list[int]]:
        """Input rows and columns no window ever reads."""
        reads = self.result["reads"]
        return ([int(r) for r in np.flatnonzero(reads.sum(axis=1) == 0)],
                [int(c) for c in np.flatnonzero(reads.sum(axis=0) == 0)])  # fmt: skip

    # ---- workshop: s exports, Z enlarges (nothing while a question is open) ---------------
    def exportables(self) -> list:
        """The input, the kernel, the output and how often each pixel is read."""
        from tui.export import TensorExport

        r = self.result
        if r is None or self.concealed or not r["shape"]:
            return []
        k, s, p = (self.settings[n] for n in "ksp")
        tag = f"lesson 2 k{k} s{s} p{p}"
        return [TensorExport(f"{tag} input", self.x[0, 0]),
                TensorExport(f"{tag} kernel", r["kernel"]),
                TensorExport(f"{tag} output", r["out"]),
                TensorExport(f"{tag} reads per pixel", r["reads"], signed=False)]  # fmt: skip

    def zoom_view(self):
        """How many windows read each input pixel, in large type."""
        from tui.screens.zoom import ZoomView

        r = self.result
        k, s, p = (self.settings[n] for n in "ksp")
        title = f"windows reading each input pixel (k={k}, s={s}, p={p})"
        if r is None or not r["shape"]:
            return ZoomView(title, None, message=(r or {}).get("refusal") or "computing …")
        if self.concealed:
            return ZoomView(title, None, message="the question is open (a)")
        return ZoomView(title, r["reads"], message=r["formula"])

    def state(self) -> dict:
        r = self.result or {}
        shape = r.get("shape")
        never = self.never_read() if shape else ([], [])
        return {**self.settings, "H": int(self.x.shape[-2]), "shape": shape,
                "never_cols": never[1], "formula": r.get("formula", "")}  # fmt: skip

    def placeholders(self) -> dict[str, str]:
        s = self.state()
        k, st, p, H = s["k"], s["s"], s["p"], s["H"]
        shape = s["shape"]
        cols = ", ".join(map(str, s["never_cols"])) or "none"
        return {"k": str(k), "s": str(st), "p": str(p), "H": str(H), "padded": str(H + 2 * p),
                "h_out": str(shape[0]) if shape else "none",
                "formula": s["formula"].split(";")[0] if s["formula"] else "",
                "never_cols": cols, "never_count": str(len(s["never_cols"]))}  # fmt: skip

    # ---- drawing --------------------------------------------------------------------------
    def _settings_line(self, width: int) -> Text:
        line = Text(no_wrap=True, overflow="crop")
        for name in LIMITS:
            style = "bold reverse" if name == self.chosen else "bold"
            line.append(f" {name} = {self.settings[name]} ", style)
            line.append("  ")
        hint = f"←→ {NAMES[self.chosen]}"
        if line.cell_len + len(hint) <= width:  # the hint only where it fits whole
            line.append(hint, "dim")
        return line

    def render(self) -> Text:
        width = self.room()[0]
        head = self._settings_line(width)
        r = self.result
        if self.problem:
            return stack([head, wrapped([(self.problem, None)], width)])
        if r is None:
            return stack([head, wrapped([("compiling the convolution kernel (first use only) …",
                                          None)], width)])  # fmt: skip
        k, s, p = (self.settings[n] for n in "ksp")
        H = self.x.shape[-1]
        padded = np.pad(self.x[0, 0].astype(np.float64), p)
        if r["shape"] is None:
            why = Text()
            why.append("No output: ", "bold")
            why.append(
                f"the padded input is {H + 2 * p} wide (H + 2p = {H} + {2 * p}) but the "
                f"window is {k} wide, so it fits nowhere. "
            )
            why.append(f"{r['formula'].split(';')[0]}: ")
            why.append("no output pixels. Make k smaller or p larger.", "bold")
            why = wrapped([why], width)
            grid = framed_grid(padded, color=self.color, pad=p)
            return stack([head, captioned("input, zero-padded", grid), why])
        h, w = r["shape"]
        i, j = divmod(self.window, w)
        top, left = i * s, j * s  # the window's corner in padded coordinates
        hide = self.concealed
        window = (top, left, k, k)
        grid = captioned(f"input + padding {p}",
                         framed_grid(padded, window, color=self.color, pad=p))  # fmt: skip
        out = captioned("output", Text("? x ?") if hide else framed_grid(
            r["out"], color=self.color, cursor=(i, j)))  # fmt: skip
        reads = framed_grid(r["reads"], color=self.color, warn_zero=True)
        formula = wrapped([(r["formula"].split(";")[0] if not hide else
                            "H_out = floor((H + 2p - k) / s) + 1 = ?", None)], width)  # fmt: skip
        rows, cols = self.never_read()
        notes = []
        if cols or rows:
            listed = ", ".join(map(str, cols)) or "none", ", ".join(map(str, rows)) or "none"
            notes.append((f"never read: columns {listed[0]}; rows {listed[1]}",
                          "bold reverse" if not self.color else "bold red"))  # fmt: skip
        if p > k // 2:
            notes.append((f"p = {p} > k // 2 = {k // 2}: some windows see only padding "
                          "(PyTorch refuses this)", "italic"))  # fmt: skip
        gap = 3
        if block_width(grid) + gap + block_width(out) <= width:
            room = width - block_width(reads) - gap  # the note beside the counts
            note = wrapped([("times each pixel is read", "bold"), *notes], room)
            return stack([head, side_by_side([grid, out], gap), formula,
                          side_by_side([reads, note], gap)], gap=0)  # fmt: skip
        # Too narrow for the input and output side by side (large padding at 80 columns):
        # the output goes beside the counts and the notes under them, wrapped.
        counts = captioned("times each pixel is read", reads)
        return stack([head, grid, formula, side_by_side([counts, out], gap),
                      wrapped(notes, width)] if notes else
                     [head, grid, formula, side_by_side([counts, out], gap)], gap=0)  # fmt: skip


def _ask_width(state: dict) -> str:
    return (
        f"With k = {state['k']}, s = {state['s']}, p = {state['p']} on the {state['H']}x"
        f"{state['H']} input: how many columns does the output have?"
    )


WIDTH_QUESTION = Question(
    prompt=_ask_width,
    answer=lambda s: s["shape"][1] if s["shape"] else 0,
    worked=lambda s: s["formula"].split(";")[-1].strip(),
)


def _ask_never(state: dict) -> str:
    return (
        f"With k = {state['k']}, s = {state['s']}, p = {state['p']}: how many input columns "
        "does the window never read?"
    )


NEVER_QUESTION = Question(
    prompt=_ask_never,
    answer=lambda s: len(s["never_cols"]),
    worked=lambda s: "never read: columns " + (", ".join(map(str, s["never_cols"])) or "none"),
)

LESSON = Lesson(
    number=2,
    markdown_file="02-padding-stride.md",
    pages=(
        Page(PadStrideView, question=WIDTH_QUESTION, mode="padding"),
        Page(PadStrideView, question=NEVER_QUESTION, mode="stride"),
        Page(PadStrideView, mode="impossible"),
    ),
    explorer="article",
    keys=(
        ("↑ ↓", "choose k, s or p"),
        ("← →", "change it"),
        ("w / W", "move the window to the next / previous output position"),
    ),  # fmt: skip
)
