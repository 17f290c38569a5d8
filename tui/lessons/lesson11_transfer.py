"""Lesson 11, transfer learning: features learned on digits 0-4 reused for 5-9 with little data."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.lessons.base import Lesson, Page, Question
from tui.lessons.live import Curves, LiveView, short_name

STEPS, EXAMPLES, SEED = 60, 200, 0


def layer_table() -> list[tuple[str, int, bool]]:
    """(layer, number of parameters, trained when fine-tuning?) of the pretrained 0-4 net."""
    from engine.checkpoint import load
    from engine.paths import PRETRAINED_LENET_0_4
    from engine.transfer import head

    model, _, _ = load(PRETRAINED_LENET_0_4)
    last = head(model)
    return [(repr(layer), layer.num_parameters(), layer is last) for layer in model.layers]


def run_transfer(on_step=None, steps: int | None = None, examples: int | None = None):
    """engine.transfer.transfer with the lesson's budget (its seed: the same numbers each time)."""
    from engine.transfer import transfer

    steps, examples = steps or STEPS, examples or EXAMPLES
    from tui.widgets.labkit import held_out_split

    return transfer(steps=steps, train_examples=examples, seed=SEED, eval_every=steps,
                    data=held_out_split(), on_step=on_step)  # fmt: skip


class TransferView(LiveView):
    """The frozen and trained layers, then both runs' curves and accuracies."""

    BINDINGS = [Binding("r", "run", "run both")]
    FOLLOWED = ("ran",)  # a follower runs both when the presenter did (tui/presence.py)

    def __init__(self) -> None:
        super().__init__(id="transfer-view")
        self.table: list | None = None
        self.result = None
        self.losses = {"fine-tuned": [], "scratch": []}
        self.ran = False

    def compose(self) -> ComposeResult:
        yield Static(id="tr-body")
        yield Curves(id="tr-curves")

    def on_mount(self) -> None:
        self.start("table", layer_table)  # reads the pretrained file: no kernels needed
        self.redraw()

    def action_run(self) -> None:
        """Fine-tune the head on digits 5-9, then train the same net from scratch."""
        if not self.busy:
            self.ran, self.result = True, None
            self.train("run", run_transfer, ("fine-tuned", "scratch"))

    def followed(self, moved: set) -> None:
        """The presenter ran both: so does the follower (seeded: the same curves)."""
        if self.ran and self.result is None and not self.busy:
            self.action_run()
        self.changed()
        self.redraw()

    def done(self, kind: str, result) -> None:
        if kind == "table":
            self.table = result
            return
        self.result, self.status = result, ""
        self.losses = {"fine-tuned": list(result.fine_tuned.losses),
                       "scratch": list(result.scratch.losses)}  # fmt: skip

    def show_page(self, mode: str) -> None:
        super().show_page(mode)
        if self.is_mounted and mode == "run" and not self.ran:
            self.action_run()

    @property
    def ready(self) -> bool:
        """The engine's numbers have arrived from the worker."""
        return self.table is not None

    # ---- numbers --------------------------------------------------------------------------
    def state(self) -> dict:
        if self.table is None:
            return {"ready": False}
        head = sum(n for _, n, trained in self.table if trained)
        return {"ready": True, "head": head, "total": sum(n for _, n, _ in self.table)}

    def placeholders(self) -> dict[str, str]:
        s = self.state()
        out = {"head": "…", "total": "…", "steps": str(STEPS), "examples": str(EXAMPLES),
               "tuned_acc": "…", "scratch_acc": "…", "classes": "5-9"}  # fmt: skip
        if s["ready"]:
            out["total"] = f"{s['total']:,}"
            out["head"] = "?" if self.concealed and self.mode == "idea" else f"{s['head']:,}"
        if self.result is not None:
            out["tuned_acc"] = f"{100 * self.result.fine_tuned.final.accuracy:.1f}%"
            out["scratch_acc"] = f"{100 * self.result.scratch.final.accuracy:.1f}%"
        return out

    # ---- drawing --------------------------------------------------------------------------
    def redraw(self) -> None:
        body, curves = self.query_one("#tr-body", Static), self.query_one(Curves)
        curves.display = self.mode == "run"
        if self.problem:
            body.update(Text(self.problem, style="bold red"))
            return
        if self.mode == "run":
            t = Text(self.status or "r runs both again", no_wrap=False)
            if self.result is not None:
                from tui.screens.transfer import result_lines

                t.append("\n" + "\n".join(result_lines(self.result)))
            body.update(t)
            series = {n: (list(range(1, len(v) + 1)), v) for n, v in self.losses.items()}
            curves.show(series, "training loss on digits 5-9", "step", self.color)
            return
        if self.table is None:
            body.update(Text("loading the pretrained net …"))
            return
        t = Text(no_wrap=True, overflow="crop")
        t.append("pretrained on digits 0-4\n", "bold")
        for name, n, trained in self.table:
            mark = "train" if trained else ("frozen" if n else "")
            hide = self.concealed and trained
            count = "?" if hide else f"{n:,}"
            style = "bold" if trained else "dim"
            t.append(f"{short_name(name):<16} {count:>7} {mark}\n", style)
        t.append("\nfine-tuning trains ")
        t.append("?" if self.concealed else f"{self.state()['head']:,}", "bold")
        t.append(f" of {self.state()['total']:,} numbers")
        body.update(t)


HEAD_QUESTION = Question(
    prompt="Only the new head (the last Linear, 784 inputs to 10 classes) is trained. "
    "How many numbers is that, weights and biases?",
    answer=lambda s: s["head"] if s["ready"] else float("nan"),
    worked=lambda s: (
        f"784 × 10 weights + 10 biases = {s['head']:,}, out of {s['total']:,}" if s["ready"] else ""
    ),
    tolerance=0.5,
)

LESSON = Lesson(
    number=11,
    markdown_file="11-transfer.md",
    pages=(
        Page(TransferView, question=HEAD_QUESTION, mode="idea"),
        Page(TransferView, mode="run"),
    ),
    explorer="lenet",
    keys=(("r", "run fine-tuning and training from scratch again (page 2)"),),
)
