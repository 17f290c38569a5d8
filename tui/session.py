"""Session: the model, optimizer and Stepper the explorer shows, and its selection (no textual)."""

from __future__ import annotations

import copy
import gc

import numpy as np

from engine import DivergenceError
from engine.model import named_parameters
from engine.optim import DEFAULT_KIND, OPTIMIZERS, default_lr, make_optimizer
from engine.presets import PRESETS, article_input, article_target, build_preset
from engine.stepper import Stepper
from tui.editing import ModelEdits, SessionError
from tui.fair_lock import FairRLock
from tui.run_steps import RunSteps
from tui.selection import Selection

KINDS = tuple(OPTIMIZERS)  # o cycles through them in this order
LR_LADDER = [m * 10.0**e for e in range(-5, 1) for m in (1, 2, 5)]  # 1e-5 .. 5
WEIGHT_DECAYS = (0.0, 1e-4, 1e-3, 1e-2, 1e-1)  # the w key steps through these
FORWARD, BACKWARD = ("forward", "loss"), ("loss_backward", "backward")
STEP_BATCH, TRAIN_BATCH = 8, 64  # digits shown while stepping; mini-batch of a run
# Each undo snapshot holds the parameters, gradients, optimizer state and the optimizer's last
# recorded update (LeNet: about 0.5 MB an op); the engine's 128 MiB default would push the app
# past its 250 MB budget. 24 MiB still undoes over two whole LeNet iterations op by op.
UNDO_BYTES = 24 * 2**20
_frozen = False  # gc.freeze() runs once, after the first warm-up

__all__ = ["DivergenceError", "Session", "SessionError", "preset_list"]


def preset_list() -> list[tuple[str, str, str]]:
    """(name, title, description) of every preset (built with a throwaway generator)."""
    return [(name, (p := make(np.random.default_rng(0))).title, p.description)
            for name, make in PRESETS.items()]  # fmt: skip


def freeze_long_lived() -> bool:
    """Move everything alive now (numba, textual, the engine) out of the garbage collector's view.

    A full collection walks every object: with numba and textual loaded that took about 100 ms
    and landed on every dozenth step as a visible stall. Frozen objects are still freed by
    reference counting; only their cycles wait. Runs once per process; True if it ran now.
    """
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.collect()
    gc.freeze()
    return True


class Session(ModelEdits):
    """One preset's model, loss, optimizer and Stepper, plus what the panes have selected."""

    def __init__(self, preset: str = "lenet", seed: int = 0) -> None:
        self.seed = seed
        self.weight_decay = 0.0  # L2, kept across presets and optimizer changes
        self.lock = FairRLock()  # the run worker and the interface take turns, in order
        self.history: list[tuple[int, float, float | None]] = []  # (iteration, loss, acc)
        self.sel = Selection(self)
        self.load_preset(preset)

    # ---- presets and data ---------------------------------------------------------------
    def load_preset(self, name: str) -> None:
        """Replace everything with a fresh preset (same seed, same numbers)."""
        if name not in PRESETS:
            raise SessionError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
        # Data first: if it is missing, nothing (not even the random stream) has changed.
        if name == "article":
            x, y, train = article_input(), article_target(), None
        else:
            from engine.data import mnist_split

            train, _ = mnist_split()  # DataError (a ValueError) names the missing file
            x, y = train.images[:STEP_BATCH], train.labels[:STEP_BATCH]
        self.rng = np.random.default_rng(self.seed)  # this session's: init, then dropout masks
        preset = build_preset(name, self.rng)
        self.preset, self.name, self.train_data = preset, name, train
        self.model, self.loss, self.input_shape = preset.model, preset.loss, preset.input_shape
        self.opt_kind = DEFAULT_KIND.get(name, "adam")
        self.edits = []  # layer edits z can take back, oldest first
        self.adopted = False  # True while the weights are a lesson's net (adopt), not the preset's
        self.history.clear()
        self.completed = 0
        self._rebuild(x, y, default_lr(self.opt_kind, name))
        self.sel.reset()

    def adopt(self, model, x: np.ndarray, y: np.ndarray, title: str) -> None:
        """Take `model`'s weights (copied: the lesson keeps its own) and step on x, y (N, C, H, W).

        The explorer opened from a lesson shows the lesson's trained net on the lesson's digits
        instead of the preset's fresh weights; `model` must have the preset's architecture.
        """
        import dataclasses

        mine, theirs = self.model.parameters(), model.parameters()
        shapes = [p.value.shape for p in mine], [p.value.shape for p in theirs]
        if shapes[0] != shapes[1]:
            raise SessionError(f"the lesson's network does not fit the {self.name} preset")
        with self.lock:
            for p, q in zip(mine, theirs, strict=True):
                p.value[...] = q.value
            self.preset = dataclasses.replace(self.preset, title=title)
            self.adopted = True
            self.history.clear()
            self.completed = 0
            self._rebuild(x, y, self.optimizer.lr)
            self.sel.reset()

    def _rebuild(self, x, y, lr: float) -> None:
        """A new optimizer and Stepper over the current model (after any change to it)."""
        self.optimizer = make_optimizer(
            self.opt_kind, self.model.parameters(), lr, weight_decay=self.weight_decay
        )
        self._new_stepper(x, y)
        self._origin = self.stepper  # r goes back to where this stepper started

    def _new_stepper(self, x, y) -> None:
        """A Stepper from the model and optimizer as they are now; its iterations count on."""
        self.stepper = Stepper(
            self.model, self.loss, self.optimizer, x, y, rng=self.rng, max_history_bytes=UNDO_BYTES
        )
        self.iteration_base = self.completed
        self._run = None  # engine.train's loop for t, made on the first run iteration

    def warm(self) -> None:
        """Forward and backward through a copy of the model, so the first step is quick."""
        model = copy.deepcopy(self.model)  # dropout draws from its own throwaway generator
        y, ctx = model.forward_ctx(self.stepper.x, np.random.default_rng(0))
        model.backward_ctx(ctx, np.ones_like(y))
        freeze_long_lived()

    @property
    def layers(self) -> list:
        """The model's top-level layers."""
        return self.model.layers

    # ---- stepping -----------------------------------------------------------------------
    @property
    def next_kind(self) -> str:
        """Kind of the op the next step runs ("forward" again once an iteration is done)."""
        return self.stepper.next_op.kind

    def _remaining(self, kinds) -> int:
        ops = self.stepper.ops
        return sum(1 for op in ops[self.stepper.position :] if op.kind in kinds)

    def forward(self) -> str:
        """One forward op (a layer or the loss)."""
        kind = self.next_kind
        if kind in BACKWARD:
            raise SessionError("the forward pass is complete: b steps backward, u after that")
        if kind == "update":
            raise SessionError("forward and backward are done: u applies the optimizer update")
        return self._step()

    def backward(self) -> str:
        """One backward op; refused (with the reason) until the forward pass is complete."""
        kind, done = self.next_kind, self.stepper.done
        if done or kind in FORWARD:
            left = len(self.layers) + 1 if done else self._remaining(FORWARD)
            raise SessionError(
                f"backward needs the forward pass and the loss first: {left} forward "
                "op(s) to go (f steps forward, i runs the whole iteration)"
            )
        if kind == "update":
            raise SessionError("the backward pass is complete: u applies the optimizer update")
        return self._step()

    def update(self) -> str:
        """The optimizer update, once every gradient is computed."""
        if self.next_kind != "update" or self.stepper.done:
            left = self._remaining(FORWARD + BACKWARD) if not self.stepper.done else None
            if left is None:
                raise SessionError("this iteration is already updated: f starts the next one")
            raise SessionError(f"the update needs every gradient: {left} op(s) to go first")
        return self._step()

    def _where(self) -> tuple[int, int, bool]:
        st = self.stepper
        return st.iteration, st.position, st.done

    @property
    def iteration_number(self) -> int:
        """The current iteration, 0-based, counted across optimizer switches and model edits."""
        return self.iteration_base + self.stepper.iteration

    def _step(self, by_run: bool = False) -> str:
        if not by_run:  # a step by hand: the next run starts its own loop (and guard)
            self._run = None
        record = self.stepper.step()
        self._after(record.op, record.loss)
        return record.op.label

    def iteration(self) -> str:
        """Finish the current iteration (or run a whole new one)."""
        start = self.iteration_number + (1 if self.stepper.done else 0)
        while True:
            label = self._step()
            if self.stepper.done:
                return f"iteration {start + 1} done: loss {self.stepper.loss_value:.4g} ({label})"

    def _after(self, op, loss: float | None) -> None:
        """Follow the pass with the selection; log a finished iteration for the curves."""
        if op.kind == "update":
            n = self.iteration_number + 1
            self._drop_points_from(n)  # a point kept by a divergence's undo is measured again
            self.history.append((n, float(loss), self.batch_accuracy()))
            self.completed = n
        self.sel.follow(op)

    def _drop_points_from(self, n: int) -> None:
        """Forget the curve points of iteration n (1-based) and later."""
        while self.history and self.history[-1][0] >= n:
            self.history.pop()
        self.completed = self.history[-1][0] if self.history else 0

    def batch_accuracy(self) -> float | None:
        """Fraction of the batch classified right (None when the loss has no classes)."""
        logits, targets = self.stepper.activations[-1], self.stepper.targets
        if logits is None or logits.ndim != 2 or targets.ndim != 1:
            return None
        return float((logits.argmax(axis=1) == targets).mean())

    def _settings(self) -> dict:
        """The optimizer's hyperparameters as the user has set them (lr, momentum, ...)."""
        return self.optimizer.state_dict()["hyper"]

    def _keep(self, settings: dict) -> None:
        for key, value in settings.items():
            setattr(self.optimizer, key, value)

    def undo(self) -> str:
        """Back one op, the optimizer update included; the user's lr and settings stay."""
        settings, self._run = self._settings(), None
        op = self.stepper.undo()
        self._keep(settings)
        if op is None and self.edits:  # back at this network's start: before its last edit
            return self.undo_edit()
        if op is None:
            raise SessionError("nothing to undo (at the start, or the undo history is used up)")
        # Only iterations whose update is still applied keep their point on the curves.
        self._drop_points_from(self.iteration_number + (2 if self.stepper.done else 1))
        self.sel.follow(self.stepper.current.op if self.stepper.current else None)
        return f"undid {op.label}"

    def reset(self) -> str:
        """Back to the weights, optimizer state and data this model started from (lr stays)."""
        settings, x, y = self._settings(), self.stepper.x, self.stepper.targets
        self.stepper = self._origin  # a run's divergence may have started a newer one
        self.stepper.reset()
        self.stepper.set_data(x, y)
        self._keep(settings)
        self.history.clear()
        self.completed = self.iteration_base = 0
        self._run = None
        self.sel.follow(None)
        return "reset: initial weights, empty trace and curves"

    # ---- training runs (called by the run worker, under self.lock) ------------------------
    def train_iteration(self) -> tuple[int, float, float | None]:
        """One step of engine.train's loop (its divergence guard included) on the next batch.

        The article trains on its own image and target. TrainingDiverged (a DivergenceError)
        says what to change; the last good weights and optimizer state are back by then.
        """
        from engine.data import Dataset
        from engine.train import train

        if self._run is None:
            # The article (no training set) trains on the image and target it shows.
            data = self.train_data
            if data is None:
                data = Dataset(self.stepper.x, self.stepper.targets, self.name)
            self._run = train(self.model, self.loss, self.optimizer, data, runner=RunSteps(self),
                              epochs=None, batch_size=TRAIN_BATCH, generator=self.rng)  # fmt: skip
        try:
            next(self._run)
        except BaseException:
            self._run = None
            raise
        return self.history[-1]

    # ---- optimizer --------------------------------------------------------------------
    def set_optimizer(self, kind: str) -> str:
        """Switch to SGD, SGD+momentum or Adam at its usual lr for this preset (weights stay)."""
        if kind not in OPTIMIZERS:
            raise SessionError(f"unknown optimizer {kind!r}; choose one of {', '.join(KINDS)}")
        self.opt_kind = kind
        self._rebuild(self.stepper.x, self.stepper.targets, default_lr(kind, self.name))
        self.sel.follow(None)
        return (f"optimizer: {self.describe_optimizer()}, its usual learning rate for "
                f"{self.preset.title} (- and + change it); a new iteration starts")  # fmt: skip

    def cycle_optimizer(self) -> str:
        """SGD -> SGD+momentum -> Adam -> SGD."""
        return self.set_optimizer(KINDS[(KINDS.index(self.opt_kind) + 1) % len(KINDS)])

    def scale_lr(self, steps: int) -> str:
        """Move the learning rate along the 1-2-5 ladder."""
        lr = self.optimizer.lr
        here = min(range(len(LR_LADDER)), key=lambda k: abs(np.log(LR_LADDER[k] / lr)))
        self.optimizer.lr = LR_LADDER[min(max(here + steps, 0), len(LR_LADDER) - 1)]
        return f"learning rate {self.optimizer.lr:g}"

    def cycle_weight_decay(self) -> str:
        """L2 weight decay λ: 0 -> 1e-4 -> 1e-3 -> 1e-2 -> 0.1 -> 0 (adds λ·w to every gradient)."""
        k = min(range(len(WEIGHT_DECAYS)), key=lambda i: abs(WEIGHT_DECAYS[i] - self.weight_decay))
        self.weight_decay = WEIGHT_DECAYS[(k + 1) % len(WEIGHT_DECAYS)]
        self.optimizer.weight_decay = self.weight_decay
        return f"L2 weight decay λ = {self.weight_decay:g} (the update adds λ·w to g)"

    def describe_optimizer(self) -> str:
        """e.g. "Adam lr 0.002"."""
        return f"{OPTIMIZERS[self.opt_kind]} lr {self.optimizer.lr:g}"

    def param_names(self) -> list[str]:
        """Names of optimizer.params, e.g. "0.weight", in the optimizer's order."""
        names = {id(p): n for n, p in named_parameters(self.model)}
        return [names.get(id(p), f"param{k}") for k, p in enumerate(self.optimizer.params)]

    def first_param_of(self, layer: int) -> int | None:
        """Index in optimizer.params of the first parameter owned by top-level `layer`."""
        for k, name in enumerate(self.param_names()):
            if name.split(".")[0] == str(layer):
                return k
        return None
