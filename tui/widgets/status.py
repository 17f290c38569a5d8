"""The one-line status under the panes: compile progress, where the pass stands, the last error."""

from __future__ import annotations

import time

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.safety import Guarded

SPINNER = "|/-\\"
NOTICE_S = 6.0  # how long a problem's notification stays


def fit_parts(summary: str, width: int) -> str:
    """The " · "-separated summary with its last parts dropped until it fits in width.

    The parts come most important first (the next op, the iteration, the optimizer, the
    preset's title): at 80 columns the title goes rather than the line being cut mid-word.
    """
    parts = summary.split(" · ")
    while len(parts) > 1 and len(" · ".join(parts)) > width > 0:
        parts.pop()
    return " · ".join(parts)


class StatusLine(Guarded, Static):
    """Shows compile progress while warming up, then the session summary or the last problem."""


    summary: reactive[str] = reactive("")
    problem: reactive[str] = reactive("")
    progress: reactive[tuple[int, int, str] | None] = reactive(None)
    tick: reactive[int] = reactive(0)
    _spinner = None  # the spinner's timer while compiling
    _last_notice: tuple[str, float] = ("", -NOTICE_S)  # (text, when): a repeated key's notice

    def show_progress(self, done: int, total: int, name: str) -> None:
        """Compile progress, e.g. "compiling kernels 3/12 · conv 3x3 …"."""
        self.progress = (done, total, name)
        if self._spinner is None:
            # One kernel can take seconds: the spinner shows the interface is alive meanwhile.
            self._spinner = self.set_interval(0.25, self._spin)

    def _spin(self) -> None:
        self.tick += 1

    def done_compiling(self) -> None:
        """Drop the progress part once the kernels are ready."""
        self.progress = None
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def report(self, problem: str) -> None:
        """Keep the last problem visible until the next successful action clears it."""
        self.problem = problem

    def tell(self, problem: str, severity: str = "error") -> None:
        """Report the problem here and in a notification, unless that one is still on screen.

        Shown literally: user and file text (a path, a layer spec) is never markup.
        """
        self.report(problem)
        now = time.monotonic()
        if self._last_notice[0] == problem and now - self._last_notice[1] < NOTICE_S:
            return
        self._last_notice = (problem, now)
        self.notify(problem, severity=severity, timeout=NOTICE_S, markup=False)

    def watch_problem(self, problem: str) -> None:
        self.set_class(bool(problem), "-error")

    def render(self) -> Text:
        """Progress first (nothing else matters while it runs), then problem, then summary."""
        if self.progress is not None:
            done, total, name = self.progress
            spin = SPINNER[self.tick % len(SPINNER)]
            text = Text(f"{spin} compiling kernels {done}/{total} · {name} …", style="bold")
            return text.append(f"  ! {self.problem}") if self.problem else text
        if self.problem:
            return Text("! " + self.problem, style="bold")
        return Text(fit_parts(self.summary, self.content_size.width))
