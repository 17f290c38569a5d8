"""Shared pieces of lessons 7-12: worker messages, overlaid plotext curves, a text body."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual_plotext import PlotextPlot

from tui.lessons.base import LessonView
from tui.lessons.compute import Cancelled, EngineJobs
from tui.widgets.gradflow import compact as short_name  # noqa: F401  (the lessons' import)

COLORS = ("cyan", "orange", "green", "magenta")
MARKERS = ("braille", "x", "+", "o")  # without colour, curves differ by marker


@dataclass
class RunStep(Message):
    """A lesson's training worker made progress: run `name`, step of total."""

    name: str
    step: int
    total: int


class Curves(PlotextPlot):
    """Several named curves overlaid on one plot, distinguishable with and without colour."""

    def show(self, series: dict, title: str, xlabel: str, color: bool) -> None:
        """series: {label: (xs, ys)}; styles cycle by position."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.xlabel(xlabel)
        for k, (label, (xs, ys)) in enumerate(series.items()):
            if len(xs) == 0:
                continue
            style = {"color": COLORS[k % 4], "marker": "braille"} if color else {
                "marker": MARKERS[k % 4]}  # fmt: skip
            plt.plot(list(xs), list(ys), label=label, **style)
        if not color:
            plt.theme("clear")
        self.refresh()


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """'[██████······] 12/40' for a worker's progress."""
    total = max(total, 1)
    n = round(width * min(done, total) / total)
    return f"[{'█' * n}{'·' * (width - n)}] {done}/{total}"


def reporter(view, post_step=True):
    """An on_step(name, Progress) for engine runs in a worker: posts RunStep, stops if cancelled.

    Call it from inside the worker thread (it looks up the current worker there).
    """
    from textual.worker import get_current_worker

    worker = get_current_worker()

    def on_step(name: str, p) -> None:
        if worker.is_cancelled:
            raise Cancelled(name)
        if post_step:
            view.post_message(RunStep(name, p.step, p.total_steps))

    return on_step


class LiveView(EngineJobs, LessonView):
    """A lesson view built from child widgets, repainted by redraw(), with engine jobs.

    start(kind, fn) (compute.EngineJobs) runs fn() in a thread worker; its result comes back to
    done(kind, result) on the UI thread, an exception to self.problem. Training jobs report
    through reporter(self), which shows progress in self.status.
    """

    LABELS: dict[str, str] = {}  # run names as the status line says them

    status = ""
    losses: dict[str, list[float]] = {}  # per run: the loss of every step so far

    def redraw(self) -> None:
        """Repaint the children from the current state."""

    def train(self, kind: str, run, names) -> None:
        """Start run(on_step) as a job; on_step reports progress and collects self.losses."""
        if self.busy:
            return
        self.losses = {n: [] for n in names}
        self.status = "training: starting …"

        def job():
            report = reporter(self)

            def on_step(name: str, p) -> None:
                report(name, p)
                self.losses[name].append(p.loss)

            return run(on_step)

        self.start(kind, job)
        self.redraw()

    def failed(self, kind: str, problem: str) -> None:
        self.problem, self.status = problem, ""

    def finished(self, kind: str) -> None:
        self.changed()
        self.redraw()

    def on_run_step(self, message: RunStep) -> None:
        name = self.LABELS.get(message.name, message.name)
        self.status = f"training {name}: {progress_bar(message.step, message.total)}"
        self.redraw()

    @property
    def busy(self) -> bool:
        """A training job is running (its progress is in status)."""
        return self.status.startswith("training")

    def show_page(self, mode: str) -> None:
        super().show_page(mode)
        if self.is_mounted:
            self.redraw()

    def watch_concealed(self, old: bool, new: bool) -> None:
        super().watch_concealed(old, new)
        if self.is_mounted:
            self.redraw()
