"""The explorer's background work: a pausable training run and the gradient check."""

from __future__ import annotations

import time

from textual import work
from textual.worker import get_current_worker

from tui.messages import GradcheckDone, RunFinished, RunProgress
from tui.widgets.labkit import RunControl
from tui.widgets.status import StatusLine

RUN_REFRESH_S = 0.1  # panes redraw at most ten times a second during a run
GRADCHECK_OK = 1e-5  # max relative error that counts as "verified" in float64


class RunAndVerify:
    """Mixin for ExplorerScreen: thread workers that report back with messages."""

    # ---- training run ---------------------------------------------------------------------
    def _init_run_control(self) -> None:
        self._run = RunControl(0)

    def _run_note(self) -> str:
        return "" if self.run_state == "idle" else f"({self.run_state})"

    def action_run(self) -> None:
        """Start, pause or resume training in the background."""
        if not self.ready():
            return
        if self.run_state == "running":
            self._run.go.clear()
            self.run_state = "paused"
        elif self.run_state == "paused":
            self._run.go.set()
            self.run_state = "running"
        else:
            self._run = RunControl(self._run.id + 1)
            self.run_state = "running"
            self.train(self.session, self._run)
        self.refresh_panes()

    def action_stop(self) -> None:
        """Stop the training run (the weights keep what it learned)."""
        if self.run_state == "idle":
            return self.problem("no training run to stop: t starts one", "warning")
        self.stop_run()

    def stop_run(self) -> None:
        """Tell the current run to end after its iteration; the interface is idle at once."""
        self._run.stop.set()
        self._run.go.set()
        self.run_state = "idle"

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

    def on_run_progress(self, message: RunProgress) -> None:
        self.refresh_panes()

    def on_run_finished(self, message: RunFinished) -> None:
        if message.run != self._run.id:
            return  # an older run winding down after a newer one started
        self.run_state = "idle"
        if message.error:
            self.problem(message.error + " (- and + change the learning rate, r resets)")
        else:
            self.notify(f"run stopped after {message.iterations} iterations", timeout=3)
        self.refresh_panes()

    # ---- gradient check -------------------------------------------------------------------
    def action_gradcheck(self) -> None:
        """engine.gradcheck on the selected layer: backward vs central differences."""
        from tui import showing

        if not self.ready():
            return
        with self.session.lock:
            label, layer, x = showing.gradcheck_job(self.session)
        self.query_one(StatusLine).report("")
        self.notify(f"verifying gradients of {label} …", timeout=2, markup=False)
        self.gradcheck(label, layer, x)

    @work(thread=True, exclusive=True, group="gradcheck", exit_on_error=False)
    def gradcheck(self, label: str, layer, x) -> None:
        """Run the check off the interface thread (float64, element by element)."""
        from engine.gradcheck import check_module

        try:
            errors = check_module(layer, x)
        except Exception as exc:
            self.post_message(GradcheckDone(label, error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(GradcheckDone(label, errors))

    def show_gradcheck(self, message: GradcheckDone) -> None:
        """Max relative error per tensor; flagged when above GRADCHECK_OK."""
        if message.error:
            return self.problem(f"gradcheck of {message.layer} failed: {message.error}")
        worst = max(message.errors.values(), default=0.0)
        parts = ", ".join(f"{k} {v:.1e}" for k, v in message.errors.items())
        verdict = "verified" if worst <= GRADCHECK_OK else "MISMATCH"
        text = f"gradcheck {message.layer}: max relative error {worst:.2e} {verdict} ({parts})"
        self.last_gradcheck = (message.layer, dict(message.errors))
        if worst <= GRADCHECK_OK:
            self.query_one(StatusLine).report("")
            self.notify(text, timeout=8, markup=False)
        else:
            self.problem(text)
