"""ExplorerScreen: layers, tensor, math, optimizer and curves panes around one Session."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from tui.messages import (
    CompileProgress,
    GradcheckDone,
    RunFinished,
    RunProgress,
    SessionFailed,
    SessionReady,
)
from tui.safety import Guarded
from tui.screens.explorer_keys import BINDINGS, PANE_KEYS
from tui.screens.help import show_help
from tui.screens.layer_editor import LayerEditor
from tui.screens.presets import PresetsScreen
from tui.widgets.background import GradCheck, SessionLoader, TrainingRun
from tui.widgets.curves import CurvesPane
from tui.widgets.footer import Footer
from tui.widgets.labkit import command_rows
from tui.widgets.layers import LayersPane
from tui.widgets.mathpane import MathPane
from tui.widgets.optimizer import OptimizerPane
from tui.widgets.status import StatusLine
from tui.widgets.tensor import TensorPane

MIN_SIZE = (80, 24)
WIDE_SIZE = (120, 32)  # below this, the panes come in two pages that tab flips
PANE_ORDER = ("layers", "tensor", "optimizer", "curves")
DEFAULT_PRESET = "lenet"


class Tensor(TensorPane):
    """The render helper's TensorPane with its keys left out of the (crowded) footer."""

    BINDINGS = [Binding(b.key, b.action, b.description, show=False) for b in TensorPane.BINDINGS]


class ExplorerScreen(Guarded, Screen):
    """The main screen: composes the panes, routes keys to their owners, shows the session.

    The panes own their cursors and keys; the background widgets own the warm-up, the run
    and the gradient check and report with messages; the session (under its lock) owns the
    numbers and the selection, which changes only through `select` and the run's worker.
    """

    BINDINGS = BINDINGS

    def __init__(self, preset: str | None = None, seed: int = 0, warm_up: bool = True,
                 prepare=None) -> None:  # fmt: skip
        super().__init__()
        self.preset, self.seed, self.do_warm_up = preset or DEFAULT_PRESET, seed, warm_up
        self.prepare = prepare  # run on the new session (a lesson's net and digits), or None
        self.session = None
        self.loading_text = "starting …"
        self._opt_layer = None  # the layer whose parameters the optimizer pane last showed

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            with Vertical(id="col-left"):
                yield LayersPane(id="layers", classes="pane")
            with Vertical(id="col-mid"):
                yield Tensor(id="tensor", classes="pane")
                yield MathPane(id="math", classes="pane")
            with Vertical(id="col-right"):
                yield OptimizerPane(id="optimizer", classes="pane")
                yield CurvesPane(id="curves", classes="pane")
        yield Static(id="too-small")
        yield StatusLine(id="status")
        # The palette hint would push keys off an 80-column footer; ? and the help list ctrl+p.
        yield Footer(show_command_palette=False)
        yield SessionLoader()
        yield TrainingRun()
        yield GradCheck()

    def on_mount(self) -> None:
        self.query_one("#tensor").border_title = "Tensor"
        self.query_one("#math").border_title = "Math"
        self.query_one(TensorPane).clear("loading the model and compiling kernels …")
        self.query_one(MathPane).clear("the equation of the current operation appears here")
        self.query_one(StatusLine).summary = "starting …"
        self.apply_size(self.app.size.width, self.app.size.height)
        self.query_one(TensorPane).focus()
        # After the first frame: the screen is up before any kernel compiles.
        self.call_after_refresh(self.start_session)

    def start_session(self) -> None:
        """Build the first session (and compile kernels) in a thread."""
        self.query_one(SessionLoader).load(self.preset, self.seed, self.do_warm_up, self.prepare)

    # ---- layout ---------------------------------------------------------------------------
    def on_resize(self, event) -> None:
        self.apply_size(event.size.width, event.size.height)

    def apply_size(self, width: int, height: int) -> None:
        """Too small: a message; small: one page of panes at a time; wide: all panes."""
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        self.set_class(width < WIDE_SIZE[0] or height < WIDE_SIZE[1], "-compact")
        if small:
            self.query_one("#too-small", Static).update(
                f"enlarge the terminal to at least {MIN_SIZE[0]}x{MIN_SIZE[1]} "
                f"(now {width}x{height})"
            )

    def action_next_pane(self, delta: int = 1) -> None:
        """Focus the next pane; on small terminals flip to the page that holds it."""
        panes = [self.query_one(f"#{name}") for name in PANE_ORDER]
        focused = self.focused
        here = next((k for k, p in enumerate(panes) if focused is p), 0)
        target = panes[(here + delta) % len(panes)]
        self.set_class(target.id in ("optimizer", "curves"), "-page2")
        target.focus()

    # ---- workshop: what s exports and Z enlarges (tui.export, tui.screens.zoom) ----------
    def exportables(self) -> list:
        """The tensor pane's tensor and the curves, when there are any."""
        items = [self.query_one(TensorPane).exportable(), self.query_one(CurvesPane).exportable()]
        return [item for item in items if item is not None]

    def zoom_view(self):
        """The tensor around its cursor and the math pane's equation."""
        from tui.screens.zoom import view_of

        math = self.query_one(MathPane)
        return view_of(self.query_one(TensorPane), math.explanation, math.message)

    def zoom_move(self, di: int, dj: int) -> None:
        """The zoom's arrows move the tensor pane's cursor (the math follows, as here)."""
        self.query_one(TensorPane).action_move(di, dj)

    # ---- the session: built by SessionLoader, shown by the panes --------------------------
    def on_compile_progress(self, message: CompileProgress) -> None:
        self.loading_text = f"compiling kernels {message.done}/{message.total}"
        self.query_one(StatusLine).show_progress(message.done, message.total, message.name)

    def on_session_ready(self, message: SessionReady) -> None:
        self.session = message.session
        self.query_one(StatusLine).done_compiling()
        self.query_one(StatusLine).report("")  # "not ready yet" no longer holds
        if message.note:
            self.problem(message.note, "warning")
        self.refresh_panes()

    def on_session_failed(self, message: SessionFailed) -> None:
        self.query_one(StatusLine).done_compiling()
        self.loading_text = f"could not start: {message.error}"
        self.problem(self.loading_text)

    def refresh_panes(self, curves: bool = True) -> None:
        """Push the session's state into every pane (cheap: panes cache their renders)."""
        from tui import showing

        s = self.session
        if s is None:
            return
        run_state = self.run_state
        with s.lock:
            rows, marker, total = showing.layer_rows(s)
            shown = showing.tensor(s)
            explained = showing.explanation(s)
            history = list(s.history)
            summary = showing.summary(s, run_state == "running")
            names = s.param_names()
            # Jump to the layer's first parameter only when the layer changes, not on every step.
            moved = self._opt_layer != s.sel.layer
            first = s.first_param_of(s.sel.layer) if moved else None
        self.query_one(LayersPane).show(rows, marker, s.sel.layer, total)
        tensor = self.query_one(TensorPane)
        if shown.array is None:
            tensor.clear(shown.message)
        else:
            tensor.show(shown.array, title=shown.title, cursor=shown.cursor,
                        highlight=shown.highlight)  # fmt: skip
        math = self.query_one(MathPane)
        if isinstance(explained, str):
            math.clear(explained)
        else:
            math.show(explained)
        self._opt_layer = s.sel.layer
        version = (id(s.stepper), s.stepper.iteration, s.stepper.position, s.stepper.done)
        self.query_one(OptimizerPane).show(s.optimizer, names, first, version, s.dropout_note())
        if curves:
            self.query_one(CurvesPane).show(history, self.query_one(TrainingRun).note())
        keys = {"running": "t pauses, x stops", "paused": "t resumes, x stops"}
        state = f"[{run_state}: {keys[run_state]}] " if run_state != "idle" else ""
        self.query_one(StatusLine).summary = state + summary

    def problem(self, text: str, severity: str = "error") -> None:
        """Name the problem on the status line and in a notification; nothing else changes."""
        self.query_one(StatusLine).tell(text, severity)

    def ready(self) -> bool:
        """True once the session is built; until then say what it is waiting for."""
        if self.session is None:
            self.problem(f"not ready yet: {self.loading_text}", "warning")
        return self.session is not None

    def act(self, fn, *args, mode: str = "step") -> bool:
        """Run a session method; a refusal or engine error is shown, the app keeps going.

        mode "step" waits for a run to pause, "edit" stops it first, "live" runs beside it.
        """
        from tui.session import DivergenceError, SessionError

        if not self.ready():
            return False
        if self.run_state == "running" and mode == "step":
            self.problem("a training run is going on: t pauses it, x stops it", "warning")
            return False
        if mode == "edit" and self.run_state != "idle":
            self.stop_run()
        try:
            with self.session.lock:
                text = fn(*args)
        except (SessionError, DivergenceError, ValueError) as exc:
            kind = "diverged: " if isinstance(exc, DivergenceError) else ""
            self.problem(kind + str(exc))
            self.refresh_panes()
            return False
        self.query_one(StatusLine).report("")
        if text and "warning: " in text:  # e.g. an edit that leaves a head without its classes
            self.notify(text, severity="warning", timeout=10, markup=False)
        elif text and (mode != "step" or text.startswith("undid the edit")):
            self.notify(text, timeout=3, markup=False)  # a step shows in the panes, an edit not
        self.refresh_panes()
        return True

    # ---- stepping -------------------------------------------------------------------------
    def action_forward(self) -> None:
        """Step forward one operation."""
        self.act(lambda: self.session.forward())

    def action_backward(self) -> None:
        """Step backward one operation (after the forward pass and the loss)."""
        self.act(lambda: self.session.backward())

    def action_update(self) -> None:
        """Apply the optimizer update."""
        self.act(lambda: self.session.update())

    def action_iteration(self) -> None:
        """Run the rest of the iteration (or a whole new one)."""
        self.act(lambda: self.session.iteration())

    def action_undo(self) -> None:
        """Undo the last operation."""
        self.act(lambda: self.session.undo())

    def action_reset(self) -> None:
        """Back to the initial weights."""
        self.act(lambda: self.session.reset(), mode="edit")

    # ---- selection: the panes post what the user picked; the session's lock guards it -----
    def select(self, change) -> None:
        """Change the selection under the session's lock, then show it.

        The one way the interface changes what is selected: a run worker moves the selection
        too (following the pass), under the same lock.
        """
        if not self.ready():
            return
        with self.session.lock:
            change(self.session.sel)
        self.refresh_panes(curves=False)

    def on_layers_pane_selected(self, message: LayersPane.Selected) -> None:
        if self.session is not None:
            self.select(lambda sel: sel.set_layer(message.index))

    def on_tensor_pane_cursor_moved(self, message: TensorPane.CursorMoved) -> None:
        if self.session is not None:
            self.select(lambda sel: sel.move_cursor(message.index, message.channel))

    def on_tensor_pane_channel_changed(self, message: TensorPane.ChannelChanged) -> None:
        if self.session is not None:
            self.select(lambda sel: sel.set_channel(message.channel))

    def action_cycle_view(self) -> None:
        """Cycle the tensor: input, output, ∂L/∂y, ∂L/∂x, weight, weight gradient."""
        self.select(lambda sel: sel.cycle_view())

    def action_sample(self, delta: int) -> None:
        """Previous/next sample of the batch (filter in the weight views)."""
        self.select(lambda sel: sel.step_sample(delta))

    def action_channel(self, delta: int) -> None:
        """Previous/next channel of the tensor."""
        tensor = self.query_one(TensorPane)
        tensor.set_channel(tensor.channel + delta)

    def action_display_mode(self) -> None:
        """Numbers, heatmap or automatic."""
        self.query_one(TensorPane).action_cycle_mode()

    # ---- model editing --------------------------------------------------------------------
    def action_preset(self, name: str) -> None:
        """Load a preset (1 article, 2 LeNet, 3 ResNet)."""
        if not self.ready():
            return
        edits = len(self.session.edits)  # the p picker says what loading replaces; so do these
        if self.act(lambda: self.session.load_preset(name) or f"loaded {name}", mode="edit"):
            if edits:
                self.notify(f"loaded the {name} preset: it replaced your edited network "
                            f"({edits} layer edit(s)) and its training", severity="warning",
                            timeout=8)  # fmt: skip

    def action_presets(self) -> None:
        """Pick a preset from a list."""
        from tui.session import preset_list

        current = self.session.name if self.session else ""
        self.app.push_screen(PresetsScreen(preset_list(), current),
                             lambda name: name and self.action_preset(name))  # fmt: skip

    def _editor(self, index: int, insert: bool) -> None:
        """The layer editor for layer `index` (a new one inserted there when `insert`)."""
        if not self.ready():
            return
        s = self.session
        spec = None if insert else s.layers[index].spec()
        title = f"{'Add' if insert else 'Edit'} layer {index}"

        def done(new: dict | None) -> None:
            if new:
                self.act(s.insert_layer if insert else s.replace_layer, index, new, mode="edit")

        check = lambda candidate: s.preview(index, candidate, insert)  # noqa: E731
        self.app.push_screen(LayerEditor(title, spec, s.sel.shapes()[index], check), done)

    def action_edit_layer(self) -> None:
        """Edit the selected layer's settings."""
        if self.ready():
            self._editor(self.session.sel.layer, insert=False)

    def action_add_layer(self) -> None:
        """Insert a layer after the selected one."""
        if self.ready():
            self._editor(self.session.sel.layer + 1, insert=True)

    def action_delete_layer(self) -> None:
        """Remove the selected layer (refused if the rest would not fit together)."""
        self.act(lambda: self.session.delete_layer(self.session.sel.layer), mode="edit")

    def action_move_layer(self, delta: int) -> None:
        """Move the selected layer up or down."""
        self.act(lambda: self.session.move_layer(self.session.sel.layer, delta), mode="edit")

    def action_cycle_optimizer(self) -> None:
        """SGD -> SGD with momentum -> Adam."""
        self.act(lambda: self.session.cycle_optimizer(), mode="live")

    def action_weight_decay(self) -> None:
        """L2 weight decay: 0 -> 1e-4 -> 1e-3 -> 1e-2 -> 0.1 -> 0; shown in the update's terms."""
        self.act(lambda: self.session.cycle_weight_decay(), mode="live")

    def action_dropout(self) -> None:
        """Dropout before the classifier head: off -> p 0.25 -> p 0.5 -> off."""
        self.act(lambda: self.session.cycle_dropout(), mode="edit")

    def action_lr(self, steps: int) -> None:
        """Learning rate up or down the 1-2-5 ladder."""
        self.act(lambda: self.session.scale_lr(steps), mode="live")

    # ---- training run (TrainingRun owns it) -----------------------------------------------
    @property
    def run_state(self) -> str:
        """ "idle", "running" or "paused"."""
        return self.query_one(TrainingRun).state

    def action_run(self) -> None:
        """Start, pause or resume training in the background."""
        if self.ready():
            self.query_one(TrainingRun).toggle(self.session)
            self.query_one(StatusLine).report("")  # it worked: an old refusal no longer holds
            self.refresh_panes()

    def action_stop(self) -> None:
        """Stop the training run (the weights keep what it learned)."""
        if self.run_state == "idle":
            return self.problem("no training run to stop: t starts one", "warning")
        self.stop_run()

    def stop_run(self) -> None:
        """Tell the current run to end after its iteration; the interface is idle at once."""
        self.query_one(TrainingRun).stop()

    def on_run_progress(self, message: RunProgress) -> None:
        self.refresh_panes()

    def on_run_finished(self, message: RunFinished) -> None:
        if message.error:
            self.problem(message.error + " (- and + change the learning rate, r resets)")
        else:
            self.notify(f"run stopped after {message.iterations} iterations", timeout=3)
        self.refresh_panes()

    # ---- verifying (GradCheck owns the worker) and looking closer -------------------------
    def action_gradcheck(self) -> None:
        """engine.gradcheck on the selected layer: backward vs central differences."""
        from tui import showing

        if not self.ready():
            return
        with self.session.lock:
            label, layer, x = showing.gradcheck_job(self.session)
        self.query_one(StatusLine).report("")
        self.notify(f"verifying gradients of {label} …", timeout=2, markup=False)
        self.query_one(GradCheck).check(label, layer, x)

    def on_gradcheck_done(self, message: GradcheckDone) -> None:
        text, ok = self.query_one(GradCheck).verdict(message)
        if ok:
            self.query_one(StatusLine).report("")
            self.notify(text, timeout=8, markup=False)
        else:
            self.problem(text)

    @property
    def last_gradcheck(self) -> tuple[str, dict] | None:
        """(layer label, max relative error per tensor) of the last finished check."""
        return self.query_one(GradCheck).last

    def action_gradient_flow(self) -> None:
        """Per layer, the norms of dL/dx and dL/dW after the backward pass; flags the extremes."""
        from tui.screens.gradflow import GradFlowScreen, flow_snapshot

        if not self.ready():
            return
        try:
            with self.session.lock:
                flow, note = flow_snapshot(self.session.stepper)
        except Exception as exc:  # e.g. a diverged batch: say so, keep the explorer
            return self.problem(f"gradient flow: {type(exc).__name__}: {exc}")
        self.app.push_screen(GradFlowScreen(flow, note))

    # ---- lab screens (kept installed, so a run goes on while the explorer is shown) --------
    def _lab(self, name: str, make) -> None:
        if not self.app.is_screen_installed(name):
            self.app.install_screen(make(), name)
        self.app.push_screen(name)

    def action_training(self) -> None:
        """Train a network with live curves, a confusion matrix and the mistakes."""
        from tui.screens.training import TrainingScreen

        self._lab("lab-training", TrainingScreen)

    def action_predict(self) -> None:
        """Predict an image or a held-out digit, with feature maps and probabilities."""
        from tui.screens.predict import PredictScreen

        self._lab("lab-predict", PredictScreen)

    def action_transfer_lesson(self) -> None:
        """Transfer learning: a fine-tuned head vs training from scratch."""
        from tui.screens.transfer import TransferScreen

        self._lab("lab-transfer", TransferScreen)

    # ---- help and quit --------------------------------------------------------------------
    def command_rows(self) -> list[tuple[str, str, str, str]]:
        """(key, name, action, what it does) per binding, for the help screen and the palette."""
        return command_rows(self)

    def action_help(self) -> None:
        """Show every key and what it does."""
        from tui.workshop import WORKSHOP_KEYS

        rows = [(key, name if doc == name else f"{name}: {doc}")
                for key, name, _, doc in self.command_rows()]  # fmt: skip
        show_help(self.app, rows + PANE_KEYS + WORKSHOP_KEYS)

    def action_back(self) -> None:
        """Back to the lesson or home screen it was opened from (stops any run)."""
        if len(self.app.screen_stack) > 1:
            self.stop_run()
            self.app.pop_screen()

    def action_quit(self) -> None:
        """Stop any run and quit."""
        self.stop_run()
        self.app.exit()
