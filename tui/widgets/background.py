"""The explorer's background work as non-visual widgets: each owns one thread worker and posts
dataclass messages (tui.messages) that bubble up to the screen, which updates the panes.

- SessionLoader compiles the kernels and builds the first Session (CompileProgress, SessionReady
  or SessionFailed);
- TrainingRun runs `t`: whole iterations until paused or stopped (RunProgress, RunFinished);
- GradCheck runs `g`: engine.gradcheck on one layer (GradcheckDone).
"""

from __future__ import annotations

import time

from textual import work
from textual.reactive import reactive
from textual.widget import Widget
from textual.worker import get_current_worker

from tui.messages import (
    CompileProgress,
    GradcheckDone,
    RunFinished,
    RunProgress,
    SessionFailed,
    SessionReady,
)
from tui.widgets.labkit import RunControl

RUN_REFRESH_S = 0.1  # panes redraw at most ten times a second during a run
GRADCHECK_OK = 1e-5  # max relative error that counts as "verified" in float64


class Background(Widget):
    """A widget that shows nothing: it is there to own a worker and post its messages."""

    def __init__(self) -> None:
        super().__init__()
        self.display = False


class SessionLoader(Background):
    """Compiles the kernels (progress on the status line), then builds the session."""

    @work(thread=True, exclusive=True, group="warmup", exit_on_error=False)
    def load(self, preset: str, seed: int, compile_all: bool, prepare=None) -> None:
        """Build a Session for `preset` in a thread (the article when MNIST is missing).

        `prepare(session)`, when given, runs on it first: a lesson hands over its net and digits.
        """
        worker = get_current_worker()
        try:
            from engine.warmup import warmup

            extra = 2  # building the session, then one pass through its model
            total = extra

            def progress(done: int, total_: int, name: str) -> None:
                nonlocal total
                if worker.is_cancelled:  # quitting mid-compile: stop after this kernel
                    raise RuntimeError("warm-up cancelled")
                total = total_ + extra
                self.post_message(CompileProgress(done, total, name))

            if compile_all:
                warmup(progress)
            self.post_message(CompileProgress(total - 2, total, f"loading {preset}"))
            from tui.session import Session

            note = ""
            try:
                session = Session(preset, seed)
            except ValueError as exc:  # no MNIST files: the article example needs none
                session, note = Session("article", seed), f"opened the article example: {exc}"
            else:
                if prepare is not None:
                    prepare(session)
            self.post_message(CompileProgress(total - 1, total, "first pass through the model"))
            session.warm()
            self.post_message(SessionReady(session, note))
        except Exception as exc:
            self.post_message(SessionFailed(f"{type(exc).__name__}: {exc}"))


class TrainingRun(Background):
    """The explorer's run: start, pause, resume and stop; the worker steps the session."""

    state: reactive[str] = reactive("idle")  # idle | running | paused

    def __init__(self) -> None:
        super().__init__()
        self._run = RunControl(0)

    def note(self) -> str:
        """What the curves pane says about the run: "(running)", "(paused)" or nothing."""
        return "" if self.state == "idle" else f"({self.state})"

    def toggle(self, session) -> None:
        """Start a run, or pause a running one, or resume a paused one."""
        if self.state == "running":
            self._run.go.clear()
            self.state = "paused"
        elif self.state == "paused":
            self._run.go.set()
            self.state = "running"
        else:
            self._run = RunControl(self._run.id + 1)
            self.state = "running"
            self.train(session, self._run)

    def stop(self) -> None:
        """Tell the current run to end after its iteration; the interface is idle at once."""
        self._run.stop.set()
        self._run.go.set()
        self.state = "idle"

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def train(self, session, run: RunControl) -> None:
        """Whole iterations on mini-batches until stopped; points go out ten times a second."""
        from tui.session import DivergenceError

        pending, last, done, error = [], time.monotonic(), 0, ""
        worker = get_current_worker()
        while not run.stop.is_set() and not worker.is_cancelled:
            if not run.go.wait(0.1):
                continue
            with session.lock:
                if run.stop.is_set():  # checked under the lock: an edit may have just stopped us
                    break
                try:
                    pending.append(session.train_iteration())
                except DivergenceError as exc:  # engine.train's guard: the last good state is back
                    error = str(exc)
                    if not error.startswith("training diverged"):
                        error = f"training diverged: {error}"
                    break
                except Exception as exc:  # reported; the app keeps running
                    error = f"training stopped: {type(exc).__name__}: {exc}"
                    break
            done += 1
            if time.monotonic() - last >= RUN_REFRESH_S:
                self.post_message(RunProgress(pending))
                pending, last = [], time.monotonic()
            time.sleep(0)  # let the interface thread take the GIL between iterations
        self.post_message(RunProgress(pending))
        self.post_message(RunFinished(done, error, run.id))

    def on_run_finished(self, message: RunFinished) -> None:
        if message.run != self._run.id:
            message.stop()  # an older run winding down after a newer one started
        else:
            self.state = "idle"

    def on_unmount(self) -> None:
        self.stop()  # a run thread must not outlive the app (the process waits for it)


class GradCheck(Background):
    """engine.gradcheck on one layer in a thread: backward against central differences."""

    last: tuple[str, dict] | None = None  # (layer label, max relative error per tensor)

    @work(thread=True, exclusive=True, group="gradcheck", exit_on_error=False)
    def check(self, label: str, layer, x) -> None:
        """Run the check off the interface thread (float64, element by element)."""
        from engine.gradcheck import check_module

        try:
            errors = check_module(layer, x)
        except Exception as exc:
            self.post_message(GradcheckDone(label, error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(GradcheckDone(label, errors))

    def verdict(self, message: GradcheckDone) -> tuple[str, bool]:
        """(text, passed): the max relative error per tensor, against GRADCHECK_OK."""
        if message.error:
            return f"gradcheck of {message.layer} failed: {message.error}", False
        worst = max(message.errors.values(), default=0.0)
        parts = ", ".join(f"{k} {v:.1e}" for k, v in message.errors.items())
        verdict = "verified" if worst <= GRADCHECK_OK else "MISMATCH"
        self.last = (message.layer, dict(message.errors))
        text = f"gradcheck {message.layer}: max relative error {worst:.2e} {verdict} ({parts})"
        return text, worst <= GRADCHECK_OK
