"""TransferScreen: fine-tune a head on frozen features vs. train from scratch, same budget."""

from __future__ import annotations

import time

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, ProgressBar, Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from tui.colormode import use_color
from tui.messages import TransferDone, TransferStep
from tui.widgets.footer import Footer
from tui.widgets.hyperparams import parse_int
from tui.widgets.labkit import LabKeys, held_out_split

EXPLAIN = """\
Transfer learning: a network trained on one task has already learned useful features (edges,
strokes, loops in its convolution filters). For a new task we keep those layers, freeze them
(their weights get no updates), and train only a fresh classifier head on the new data. With
few examples and few steps this usually beats training the same network from scratch, which
has to learn its features and its head at once. Here the pretrained LeNet saw only digits 0-4;
both runs below learn digits 5-9 from the same examples, seed and step budget."""
REFRESH_S = 0.1
COLORS = {"fine-tuned": "green", "scratch": "orange"}


def result_lines(r) -> list[str]:
    """What a TransferResult says: both runs' held-out accuracy, what was frozen."""
    frozen = sorted({name.split(".")[0] for name in r.frozen}, key=int)
    return [
        f"fine-tuned (frozen features, {r.fine_tuned.trainable} trainable numbers): "
        f"{r.fine_tuned.final.summary()}",
        f"from scratch ({r.scratch.trainable} trainable numbers): {r.scratch.final.summary()}",
        f"frozen layers: {', '.join(frozen)} ({', '.join(r.frozen)}); only the last "
        "Linear head was trained",
    ]


class TransferScreen(LabKeys, Screen):
    """Run engine.transfer.transfer() in a worker and compare the two curves."""

    ERROR_ID = "tl-error"

    BINDINGS = [
        Binding("r", "start", "run lesson"),
        Binding("f", "focus_form", "edit budget", show=False),
        Binding("escape", "back", "explorer"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.losses: dict[str, list[float]] = {"fine-tuned": [], "scratch": []}
        self.result = None
        self.running = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="tl-body", can_focus=True):
            yield Static(EXPLAIN, id="tl-explain")
            with Grid(id="tl-form"):
                yield Label("steps")
                yield Input("60", compact=True, id="tl-steps")
                yield Label("examples")
                yield Input("200", compact=True, id="tl-examples")
                yield Label("seed")
                yield Input("0", compact=True, id="tl-seed")
            yield Static("r runs both (enter in a field too)", id="tl-status")
            yield ProgressBar(total=1, show_eta=False, id="tl-progress")
            yield Static("", id="tl-error")
            yield PlotextPlot(id="tl-plot")
            yield Static("", id="tl-result")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#tl-body").focus()
        self.redraw()

    def action_focus_form(self) -> None:
        """Edit the step budget, example count and seed."""
        self.query_one("#tl-steps", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def _budget(self) -> tuple[int, int, int] | None:
        errors: list[str] = []
        budget = tuple(
            parse_int(self.query_one(f"#tl-{name}", Input).value, name, lo, hi, errors)
            for name, lo, hi in (("steps", 1, 5000), ("examples", 1, 4000), ("seed", 0, 2**31 - 1))
        )
        return self.problem("; ".join(errors)) if errors else budget

    def action_start(self) -> None:
        """Fine-tune the pretrained 0-4 model on 5-9, then train from scratch, same budget."""
        if self.running:
            return self.problem("the lesson is already running")
        budget = self._budget()
        if budget is None:
            return
        self.clear_problem()
        self.losses = {"fine-tuned": [], "scratch": []}
        self.result, self.running = None, True
        self.query_one(ProgressBar).update(total=2 * budget[0], progress=0)
        self.query_one("#tl-status", Static).update("loading the pretrained model …")
        self.query_one("#tl-body").focus()
        self.run_transfer(*budget)

    @work(thread=True, exclusive=True, group="transfer", exit_on_error=False)
    def run_transfer(self, steps: int, examples: int, seed: int) -> None:
        """engine.transfer.transfer with on_step posting losses ten times a second."""
        from engine.transfer import transfer

        worker = get_current_worker()
        pending: list[float] = []
        last = [time.monotonic(), ""]

        def on_step(name: str, p) -> None:
            if worker.is_cancelled:
                raise RuntimeError("cancelled")
            if last[1] and name != last[1]:  # the first curve is done: flush its tail
                self.post_message(TransferStep(last[1], steps, steps, list(pending)))
                pending.clear()
            last[1] = name
            pending.append(p.loss)
            if time.monotonic() - last[0] >= REFRESH_S or p.step == p.total_steps:
                self.post_message(TransferStep(name, p.step, p.total_steps, list(pending)))
                pending.clear()
                last[0] = time.monotonic()

        try:
            result = transfer(steps=steps, train_examples=examples, seed=seed,
                              eval_every=max(1, steps // 10), data=held_out_split(),
                              on_step=on_step)  # fmt: skip
        except Exception as exc:
            self.post_message(TransferDone(error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(TransferDone(result))

    def on_transfer_step(self, message: TransferStep) -> None:
        self.losses[message.name].extend(message.losses)
        done = len(self.losses["fine-tuned"]) + len(self.losses["scratch"])
        self.query_one(ProgressBar).update(progress=done)
        self.query_one("#tl-status", Static).update(
            f"training {message.name}: step {message.step}/{message.total}"
        )
        self.redraw()

    def on_transfer_done(self, message: TransferDone) -> None:
        self.running = False
        if message.error:
            self.query_one("#tl-status", Static).update("the lesson stopped")
            return self.problem(message.error)
        r = self.result = message.result
        self.losses = {"fine-tuned": list(r.fine_tuned.losses), "scratch": list(r.scratch.losses)}
        self.query_one(ProgressBar).update(total=2 * r.steps, progress=2 * r.steps)
        self.query_one("#tl-status", Static).update(
            f"done: {r.steps} steps each on {r.train_examples} examples of digits "
            f"{','.join(map(str, r.classes))}"
        )
        self.query_one("#tl-result", Static).update("\n".join(result_lines(r)))
        self.redraw()

    def redraw(self) -> None:
        """Loss of both runs per step (left axis); held-out accuracy once done (right axis)."""
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("fine-tuned head vs from scratch (same budget)")
        plt.xlabel("step")
        color = use_color(self.app)
        for k, (name, losses) in enumerate(self.losses.items()):
            if not losses:
                continue
            style = {"color": COLORS[name], "marker": "braille"} if color else {
                "marker": "braille" if k == 0 else "x"}  # fmt: skip
            plt.plot(list(range(1, len(losses) + 1)), losses, label=f"{name} loss", **style)
        if self.result is not None:
            for k, curve in enumerate((self.result.fine_tuned, self.result.scratch)):
                style = {"color": COLORS[curve.name], "marker": "dot"} if color else {
                    "marker": "o" if k == 0 else "+"}  # fmt: skip
                accs = [100 * a for a in curve.accuracies]
                plt.plot(curve.eval_steps, accs, label=f"{curve.name} acc %", yside="right",
                         **style)  # fmt: skip
        if not color:
            plt.theme("clear")
        plot.refresh()

    # ---- workshop: what s exports and Z enlarges (tui.export, tui.screens.zoom) ----------
    def exportables(self) -> list:
        """Both runs' losses per step; once done, their held-out accuracy and confusion."""
        from tui.export import CurvesExport, TensorExport

        ft, sc = self.losses["fine-tuned"], self.losses["scratch"]
        if not ft and not sc:
            return []
        rows = tuple((k + 1, ft[k] if k < len(ft) else None, sc[k] if k < len(sc) else None)
                     for k in range(max(len(ft), len(sc))))  # fmt: skip
        items = [CurvesExport("transfer losses", ("step", "fine-tuned loss", "scratch loss"),
                              rows)]  # fmt: skip
        r = self.result
        if r is not None:
            accs = tuple(zip(r.fine_tuned.eval_steps, r.fine_tuned.accuracies,
                             r.scratch.accuracies, strict=False))  # fmt: skip
            columns = ("step", "fine-tuned accuracy", "scratch accuracy")
            items.append(CurvesExport("transfer held-out accuracy", columns, accs))
            for curve in (r.fine_tuned, r.scratch):
                items.append(TensorExport(f"transfer {curve.name} confusion",
                                          curve.final.confusion, signed=False))  # fmt: skip
        return items

    def zoom_view(self):
        """The two runs' final held-out loss and accuracy in large type."""
        from tui.screens.zoom import ZoomView

        r = self.result
        title = "rows fine-tuned, scratch · columns held-out loss, accuracy %"
        if r is None:
            return ZoomView(title, None, message="r runs both; the numbers come when done")
        plane = np.array([[c.final.loss, 100 * c.final.accuracy]
                          for c in (r.fine_tuned, r.scratch)])  # fmt: skip
        return ZoomView(title, plane, message="\n".join(result_lines(r)[:2]))
