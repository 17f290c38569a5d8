"""CurvesPane: loss (and accuracy) per iteration, plotted with plotext as a run goes on."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

Point = tuple[int, float, "float | None"]

# plotext draws every point; beyond a few hundred the terminal cannot show them anyway.
MAX_PLOTTED = 400


def thin(points: list[Point], limit: int = MAX_PLOTTED) -> list[Point]:
    """At most `limit` points, evenly spaced, always keeping the last one."""
    if len(points) <= limit:
        return list(points)
    step = len(points) / limit
    picked = [points[int(k * step)] for k in range(limit - 1)]
    return picked + [points[-1]]


class CurvesPane(Vertical, can_focus=True):
    """Loss on the left axis, accuracy (when the loss has classes) on the right."""


    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Curves"
        self.points: list[Point] = []
        self._shown: tuple[list[Point], str] | None = None  # what the plot shows now

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="curves-plot")
        yield Static("no iterations yet: i runs one, t starts a run", id="curves-summary")

    def show(self, points: list[Point], note: str = "") -> None:
        """Replot from the session's history (iteration, loss, accuracy or None)."""
        if self._shown is not None and self._shown == (points, note):
            return  # every step refreshes every pane; a plotext replot costs a few ms
        self._shown = (list(points), note)
        self.points = list(points)
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        shown = thin(self.points)
        if shown:
            xs = [p[0] for p in shown]
            plt.plot(xs, [p[1] for p in shown], label="loss", marker="braille")
            accs = [(p[0], p[2]) for p in shown if p[2] is not None]
            if accs:
                plt.plot(
                    [a[0] for a in accs],
                    [a[1] * 100 for a in accs],
                    label="acc %",
                    yside="right",
                    marker="braille",
                )
        plt.xlabel("iteration")
        plot.refresh()
        self.query_one("#curves-summary", Static).update(self.summary(note))

    def exportable(self):
        """The points as a tui.export.CurvesExport (None before the first iteration)."""
        from tui.export import CurvesExport

        if not self.points:
            return None
        return CurvesExport("curves", ("iteration", "loss", "accuracy"), tuple(self.points))

    def summary(self, note: str = "") -> str:
        """The last point in words, so the numbers read even when the plot is tiny."""
        if not self.points:
            return note or "no iterations yet: i runs one, t starts a run"
        it, loss, acc = self.points[-1]
        text = f"iter {it}  loss {loss:.4g}"
        if acc is not None:
            text += f"  acc {acc:.0%}"
        return f"{text}  {note}".rstrip()
