"""The explorer's actions: step, edit, select, train, verify; refusals always say why."""

from __future__ import annotations

from tui.screens.explorer_workers import RunAndVerify
from tui.screens.help import HelpScreen
from tui.screens.layer_editor import LayerEditor
from tui.screens.presets import PresetsScreen
from tui.widgets.curves import CurvesPane
from tui.widgets.labkit import Notices, command_rows
from tui.widgets.layers import LayersPane
from tui.widgets.mathpane import MathPane
from tui.widgets.optimizer import OptimizerPane
from tui.widgets.status import StatusLine
from tui.widgets.tensor import TensorPane


class ExplorerActions(Notices, RunAndVerify):
    """Mixin for ExplorerScreen: every key's action, the run worker and pane refreshes."""

    # ---- showing the session --------------------------------------------------------------
    def refresh_panes(self, curves: bool = True) -> None:
        """Push the session's state into every pane (cheap: panes cache their renders)."""
        from tui import showing

        s = self.session
        if s is None:
            return
        with s.lock:
            rows, marker, total = showing.layer_rows(s)
            shown = showing.tensor(s)
            explained = showing.explanation(s)
            history = list(s.history)
            summary = showing.summary(s, self.run_state == "running")
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
            self.query_one(CurvesPane).show(history, self._run_note())
        keys = {"running": "t pauses, x stops", "paused": "t resumes, x stops"}
        state = f"[{self.run_state}: {keys[self.run_state]}] " if self.run_state != "idle" else ""
        self.query_one(StatusLine).summary = state + summary

    def problem(self, text: str, severity: str = "error") -> None:
        """Name the problem on the status line and in a notification; nothing else changes."""
        self.query_one(StatusLine).report(text)
        self.notify_once(text, severity)

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
        s = self.session
        if self.run_state == "running" and mode == "step":
            self.problem("a training run is going on: t pauses it, x stops it", "warning")
            return False
        if mode == "edit" and self.run_state != "idle":
            self.stop_run()
        try:
            with s.lock:
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

    # ---- selection ------------------------------------------------------------------------
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

    # Named handlers, not @on: Textual collects @on only from classes it builds, not mixins.
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

        items = preset_list()
        current = self.session.name if self.session else ""
        self.app.push_screen(PresetsScreen(items, current), self._preset_chosen)

    def _preset_chosen(self, name: str | None) -> None:
        if name:
            self.action_preset(name)

    def _editor(self, index: int, spec: dict | None, insert: bool, title: str) -> None:
        s = self.session
        shapes = s.sel.shapes()

        def check(candidate: dict) -> list[str]:
            return s.preview(index, candidate, insert)

        def done(new: dict | None) -> None:
            if new:
                self.act(s.insert_layer if insert else s.replace_layer, index, new, mode="edit")

        self.app.push_screen(LayerEditor(title, spec, shapes[index], check), done)

    def action_edit_layer(self) -> None:
        """Edit the selected layer's settings."""
        if not self.ready():
            return
        i = self.session.sel.layer
        spec = self.session.layers[i].spec()
        self._editor(i, spec, False, f"Edit layer {i}")

    def action_add_layer(self) -> None:
        """Insert a layer after the selected one."""
        if not self.ready():
            return
        i = self.session.sel.layer + 1
        self._editor(i, None, True, f"Add layer {i}")

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
        from tui.screens.explorer import PANE_KEYS
        from tui.workshop import WORKSHOP_KEYS

        rows = [(key, name if doc == name else f"{name}: {doc}")
                for key, name, _, doc in self.command_rows()]  # fmt: skip
        self.app.push_screen(HelpScreen(rows + PANE_KEYS + WORKSHOP_KEYS))

    def action_back(self) -> None:
        """Back to the lesson or home screen it was opened from (stops any run)."""
        if len(self.app.screen_stack) > 1:
            self.stop_run()
            self.app.pop_screen()

    def action_quit(self) -> None:
        """Stop any run and quit."""
        self.stop_run()
        self.app.exit()
