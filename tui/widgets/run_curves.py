"""RunCurves: loss and accuracy of several training runs overlaid, one colour per run."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual_plotext import PlotextPlot

from tui.widgets.curves import thin

# plotext colour names; runs cycle through them (the legend names each run).
COLORS = ("cyan", "orange", "green", "magenta", "yellow", "blue", "red", "white")
MARKERS = ("braille", "x", "+", "o", "*", "#", "@", "%")  # NO_COLOR: runs differ by marker


@dataclass
class RunSeries:
    """One run's points: (step, loss, running accuracy 0..1)."""

    label: str
    points: list[tuple[int, float, float]] = field(default_factory=list)


class RunCurves(Horizontal):
    """Two plotext plots side by side: loss per step and running training accuracy (%)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: list[RunSeries] = []

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="loss-plot")
        yield PlotextPlot(id="acc-plot")

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self, color: bool = True) -> None:
        """Replot every series (finished runs and the live one)."""
        plots = (("#loss-plot", 1, "loss", 1.0), ("#acc-plot", 2, "acc %", 100.0))
        for pid, col, title, scale in plots:
            plot = self.query_one(pid, PlotextPlot)
            plt = plot.plt
            plt.clear_data()
            plt.clear_figure()
            plt.title(f"training {title}")
            plt.xlabel("step")
            for k, run in enumerate(self.series):
                pts = thin(run.points)
                if not pts:
                    continue
                style = (
                    {"color": COLORS[k % len(COLORS)], "marker": "braille"}
                    if color
                    else {"marker": MARKERS[k % len(MARKERS)]}
                )
                xs = [p[0] for p in pts]
                plt.plot(xs, [p[col] * scale for p in pts], label=run.label, **style)
            if not color:
                plt.theme("clear")
            plot.refresh()
