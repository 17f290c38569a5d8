"""TrainingScreen: hyperparameters, live overlaid curves, pause/stop, confusion, mistakes, save."""

from __future__ import annotations

import time

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, ProgressBar, Static
from textual.worker import get_current_worker

from tui.colormode import use_color
from tui.messages import LabModel, Saved, TrainDone, TrainStep
from tui.safety import why
from tui.sandbox import current
from tui.widgets.confusion import HELD_OUT, confusion_text, digit_card, misclassified
from tui.widgets.footer import Footer
from tui.widgets.hyperparams import HyperParams, parse_config
from tui.widgets.labkit import LabKeys, RunControl, held_out_split
from tui.widgets.run_curves import RunCurves, RunSeries

REFRESH_S = 0.1  # at most ten interface updates a second from the run thread
DEFAULT_SAVE = "./cnn-tui-model.npz"


def run_label(run_id: int, config) -> str:
    """'#2 adam lr=0.002 s0' — what the legend and the runs list call a run."""
    return f"#{run_id} {config.optimizer} lr={config.lr:g} s{config.seed}"


class TrainingScreen(LabKeys, Screen):
    """Train a preset on the 8000 training digits; evaluate on the 2000 held-out ones."""

    ERROR_ID = "train-error"

    BINDINGS = [
        Binding("r", "start", "run"),
        Binding("space", "pause", "pause/resume"),
        Binding("x", "stop", "stop"),
        Binding(
            "left_square_bracket", "mistake(-1)", "previous mistake", key_display="[", show=False
        ),  # fmt: skip
        Binding(
            "right_square_bracket", "mistake(1)", "next mistake", key_display="]", show=False
        ),  # fmt: skip
        Binding("w", "save", "save"),
        Binding("c", "clear_runs", "clear runs", show=False),
        Binding("f", "focus_form", "edit settings", show=False),
        Binding("escape", "back", "explorer"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state = "idle"  # idle | running | paused
        self._run = RunControl(0)
        self.live: RunSeries | None = None
        self.runs: list[RunSeries] = []
        self.last: TrainDone | None = None  # the latest finished run
        self.last_label = ""  # its label (the runs list may have been cleared since)
        self.wrong = np.zeros(0, dtype=np.int64)
        self.wrong_at = 0
        self._progress = None  # the live run's newest engine.train.Progress
        self.saving = ""  # the path being written by the save worker, "" when none

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="train-body", can_focus=True):
            yield HyperParams(id="hparams")
            yield Static("r runs · space pauses/resumes · x stops · enter in a field runs",
                         id="train-status")  # fmt: skip
            yield ProgressBar(total=1, show_eta=False, id="train-progress")
            yield Static("", id="train-error")
            yield RunCurves(id="run-curves")
            yield Static("no runs yet", id="train-runs")
            with Horizontal(classes="section", id="eval-row"):
                yield Static("confusion matrix appears after a run", id="confusion")
                yield Static("misclassified digits appear after a run", id="mistakes")
            with Horizontal(id="save-row"):
                yield Label("save to")
                yield Input(DEFAULT_SAVE, compact=True, id="save-path")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#confusion").border_title = f"Confusion {HELD_OUT}"
        self.query_one("#mistakes").border_title = "Misclassified ([ ])"
        self.query_one("#train-body").focus()
        self._fit(self.app.size)

    def on_resize(self, event) -> None:
        self._fit(event.size)

    def _fit(self, size) -> None:
        # Below 100 columns the confusion matrix and the mistakes stack instead of side by side;
        # below 30 rows the curves are shorter so the confusion matrix comes up sooner.
        self.set_class(size.width < 100, "-narrow")
        self.set_class(size.height < 30, "-short")

    def exportables(self) -> list:
        """Every run's curves as one table (tui.export): run, step, loss, running accuracy."""
        from tui.export import CurvesExport

        rows = tuple((run.label, *point) for run in self.runs for point in run.points)
        columns = ("run", "step", "loss", "accuracy")
        return [CurvesExport("training runs", columns, rows)] if rows else []

    # ---- actions ----------------------------------------------------------------------------
    def action_focus_form(self) -> None:
        """Move the cursor into the settings (tab moves between fields)."""
        self.query_one("#hp-lr", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "save-path":
            self.action_save()
        else:
            self.action_start()

    def action_start(self) -> None:
        """Start a run with the settings in the form (refused with a message if one is bad)."""
        if self.state != "idle":
            return self.problem("a run is going on: space pauses it, x stops it")
        config, errors = parse_config(self.query_one(HyperParams).values())
        if errors:
            return self.problem("; ".join(errors))
        self.clear_problem()
        self._run = RunControl(self._run.id + 1)
        self.live = RunSeries(run_label(self._run.id, config))
        self.runs.append(self.live)
        self.state = "running"
        self.query_one("#train-status", Static).update(f"{self.live.label}: starting …")
        self.query_one("#train-body").focus()
        self.train(config, self._run)

    def action_pause(self) -> None:
        """Pause the run, or resume it."""
        if self.state == "running":
            self._run.go.clear()
            self.state = "paused"
        elif self.state == "paused":
            self._run.go.set()
            self.state = "running"
        else:
            return self.problem("no run to pause: r starts one")
        self.query_one("#train-status", Static).update(self._status_text())

    def action_stop(self) -> None:
        """Stop the run after its current step (its weights are kept and evaluated)."""
        if self.state == "idle":
            return self.problem("no run to stop: r starts one")
        self.state = "stopping"
        self._run.stop.set()
        self._run.go.set()
        self.query_one("#train-status", Static).update("stopping after this step …")

    def action_clear_runs(self) -> None:
        """Forget the finished runs on the plot."""
        self.runs = [self.live] if self.state != "idle" and self.live else []
        self._redraw()

    def action_mistake(self, delta: int) -> None:
        """Browse the misclassified held-out digits."""
        if not len(self.wrong):
            return self.problem("no misclassified digits to show (run first)")
        self.wrong_at = (self.wrong_at + delta) % len(self.wrong)
        self._show_mistake()

    def action_save(self) -> None:
        """Save the latest run's model as a checkpoint (atomic) to the path typed below."""
        if self.last is None or self.last.model is None:
            return self.problem("nothing to save yet: r trains a model first")
        path = self.query_one("#save-path", Input).value.strip() or DEFAULT_SAVE
        if self.saving:
            return self.problem(f"still saving to {self.saving}: wait for it to finish")
        ev = self.last.evaluation
        meta = {"trained_in": "cnn-tui training screen", "label": self.last_label,
                "accuracy": ev.accuracy, "summary": ev.summary()}  # fmt: skip
        self.saving = path
        self.clear_problem()
        self.notify(f"saving to {path} …", timeout=3, markup=False)  # a path is not markup
        self.save_checkpoint(path, self.last.model, self.last.input_shape, meta)

    @work(thread=True, group="save", exit_on_error=False)
    def save_checkpoint(self, path: str, model, input_shape, meta: dict) -> None:
        """Write the checkpoint off the interface thread (a slow disk must not freeze it)."""
        from engine.checkpoint import save

        try:
            written = save(current().resolve(path, write=True), model, input_shape, meta)
        except Exception as exc:  # OSError, SandboxError, a model the writer refuses: say it
            return self.post_message(Saved(path, error=why(exc)))
        self.post_message(Saved(path, written))

    def on_saved(self, message: Saved) -> None:
        self.saving = ""
        if message.error:
            return self.problem(f"could not save to {message.typed}: {message.error}")
        self.notify(f"saved {current().shown(message.written)}", timeout=4, markup=False)
        if current().served:  # the participant's copy goes to their browser
            self.app.deliver_binary(message.written, mime_type="application/octet-stream")

    # ---- the run ------------------------------------------------------------------------
    @work(thread=True, group="train", exit_on_error=False)
    def train(self, config, run: RunControl) -> None:
        """Drive engine.train.train(); post points ten times a second; evaluate at the end."""
        from engine.train import TrainingDiverged, evaluate, predict_proba
        from engine.train import run as start_run

        worker = get_current_worker()
        error, stopped, steps, model, shape = "", False, 0, None, (1, 28, 28)
        try:
            train_set, held_out = held_out_split()
            from engine.train import build_model  # input shape of the preset

            model, optimizer, progress = start_run(config, train_set, None)
            shape = build_model(config.preset)[2]
            pending, last_post, newest = [], time.monotonic(), None
            while True:
                if not run.go.is_set():  # paused: show every step made so far, then wait
                    self.post_message(TrainStep(run.id, pending, newest))
                    pending, last_post = [], time.monotonic()
                    run.parked_at = steps
                    run.parked.set()
                    while not run.go.wait(0.1):
                        if worker.is_cancelled:
                            break
                    run.parked.clear()
                if run.stop.is_set() or worker.is_cancelled:
                    stopped = True
                    break
                try:
                    p = next(progress)
                except StopIteration:
                    break
                steps, newest = p.step, p
                pending.append((p.step, p.loss, p.epoch_accuracy))
                if time.monotonic() - last_post >= REFRESH_S:
                    self.post_message(TrainStep(run.id, pending, newest))
                    pending, last_post = [], time.monotonic()
                time.sleep(0)  # let the interface thread take the GIL between steps
            self.post_message(TrainStep(run.id, pending, newest))
        except TrainingDiverged as exc:  # the engine put the last good weights back
            error = str(exc)
        except Exception as exc:
            error = f"training failed: {type(exc).__name__}: {exc}"
            if model is None:
                self.post_message(TrainDone(run.id, error=error))
                return
        if worker.is_cancelled:
            return
        _, held_out = held_out_split()
        evaluation = evaluate(model, held_out)
        predicted = predict_proba(model, held_out.images).argmax(axis=1)
        self.post_message(TrainDone(run.id, model, shape, evaluation, predicted, steps,
                                    stopped, error))  # fmt: skip

    def on_train_step(self, message: TrainStep) -> None:
        if message.run != self._run.id or self.live is None:
            return
        self.live.points.extend(message.points)
        p = message.progress
        if p is not None:
            bar = self.query_one(ProgressBar)
            bar.update(total=p.total_steps, progress=p.step)
            self._progress = p
        self.query_one("#train-status", Static).update(self._status_text())
        self._redraw()

    def _status_text(self) -> str:
        p = self._progress
        label = self.live.label if self.live else ""
        if p is None:
            return f"{label}: {self.state}"
        eta = "paused" if self.state == "paused" else f"ETA {p.eta_s:.0f}s"
        return (f"{label}: step {p.step}/{p.total_steps} · epoch {p.epoch}/{p.epochs} · "
                f"loss {p.loss:.4f} · {p.images_per_s:.0f} img/s · {eta}"
                " (space pauses, x stops)")  # fmt: skip

    def on_train_done(self, message: TrainDone) -> None:
        if message.run != self._run.id:
            return
        self.state = "idle"
        self._progress = None
        if message.model is None:
            self.runs = [r for r in self.runs if r is not self.live]
            self._redraw()
            return self.problem(message.error)
        self.last = message
        self.app.lab_latest = LabModel(message.model, message.input_shape, self.live.label)
        ev = message.evaluation
        how = "diverged" if message.error else "stopped" if message.stopped else "finished"
        self.live.label += f" {100 * ev.accuracy:.1f}%"
        self.last_label = self.live.label
        summary = f"{self.live.label.split()[0]} {how} after {message.steps} steps: {ev.summary()}"
        self.query_one("#train-status", Static).update(summary)
        if message.error:
            self.problem(message.error + " The last good weights are kept.")
        self.query_one("#confusion", Static).update(
            confusion_text(ev.confusion, color=use_color(self.app))
        )
        _, held_out = held_out_split()
        self.wrong = misclassified(held_out.labels, message.predicted)
        self.wrong_at = 0
        self._show_mistake()
        self._redraw()
        # On a small terminal the matrix is below the fold: bring it up once it is laid out.
        self.set_timer(0.05, self._show_confusion)

    def _show_confusion(self) -> None:
        self.query_one("#train-body").scroll_to_widget(self.query_one("#confusion"), animate=False)

    def _show_mistake(self) -> None:
        box = self.query_one("#mistakes", Static)
        if not len(self.wrong):
            return box.update(f"no mistakes {HELD_OUT}")
        _, held_out = held_out_split()
        i = int(self.wrong[self.wrong_at])
        where = f"{self.wrong_at + 1}/{len(self.wrong)} wrong {HELD_OUT} (#{i})"
        pred = int(self.last.predicted[i])
        card = digit_card(held_out.images[i, 0], int(held_out.labels[i]), pred, where,
                          color=use_color(self.app))  # fmt: skip
        box.update(card)

    def _redraw(self) -> None:
        curves = self.query_one(RunCurves)
        curves.series = self.runs
        curves.redraw(use_color(self.app))
        lines = [r.label for r in self.runs]
        self.query_one("#train-runs", Static).update(
            "runs: " + " | ".join(lines) if lines else "no runs yet"
        )

    def on_unmount(self) -> None:
        self._run.stop.set()  # a run thread must not outlive the screen
        self._run.go.set()
