"""Session: the model, optimizer and Stepper the explorer shows, and its selection (no textual)."""

from __future__ import annotations

import copy
import gc
import threading
from itertools import count

import numpy as np

from engine import DivergenceError
from engine.model import named_parameters
from engine.presets import PRESETS, article_input, article_target, build_preset
from engine.stepper import Stepper
from engine.train import make_optimizer
from tui.editing import ModelEdits, SessionError
from tui.selection import Selection

OPTIMIZERS = ("sgd", "momentum", "adam")
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD+momentum", "adam": "Adam"}
# Learning rates that train each preset visibly within a few dozen iterations without diverging.
DEFAULT_OPTIMIZER = {"article": ("sgd", 0.005), "lenet": ("adam", 0.002), "resnet": ("adam", 0.002)}
DEFAULT_LR = {"sgd": 0.05, "momentum": 0.02, "adam": 0.002}
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
        self.lock = threading.RLock()  # the run worker and the interface take turns
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
        self.opt_kind, lr = DEFAULT_OPTIMIZER.get(name, ("adam", 0.002))
        self._batches = None
        self._rebuild(x, y, lr)
        self.history.clear()
        self.completed = 0
        self.sel.reset()

    def _rebuild(self, x, y, lr: float) -> None:
        """A new optimizer and Stepper over the current model (after any change to it)."""
        self.optimizer = make_optimizer(
            self.opt_kind, self.model.parameters(), lr, weight_decay=self.weight_decay
        )
        self.stepper = Stepper(
            self.model, self.loss, self.optimizer, x, y, rng=self.rng, max_history_bytes=UNDO_BYTES
        )

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

    def _step(self) -> str:
        record = self.stepper.step()
        self._after(record.op, record.loss)
        return record.op.label

    def iteration(self) -> str:
        """Finish the current iteration (or run a whole new one)."""
        start = self.stepper.iteration if not self.stepper.done else self.stepper.iteration + 1
        while True:
            label = self._step()
            if self.stepper.done:
                return f"iteration {start + 1} done: loss {self.stepper.loss_value:.4g} ({label})"

    def _after(self, op, loss: float | None) -> None:
        """Follow the pass with the selection; log a finished iteration for the curves."""
        if op.kind == "update":
            self.history.append((self.completed + 1, float(loss), self.batch_accuracy()))
            self.completed += 1
        self.sel.follow(op)

    def batch_accuracy(self) -> float | None:
        """Fraction of the batch classified right (None when the loss has no classes)."""
        logits, targets = self.stepper.activations[-1], self.stepper.targets
        if logits is None or logits.ndim != 2 or targets.ndim != 1:
            return None
        return float((logits.argmax(axis=1) == targets).mean())

    def undo(self) -> str:
        """Back one op, the optimizer update included; says what was undone."""
        op = self.stepper.undo()
        if op is None:
            raise SessionError("nothing to undo (at the start, or the undo history is used up)")
        if op.kind == "update" and self.history:
            self.history.pop()
            self.completed -= 1
        self.sel.follow(self.stepper.current.op if self.stepper.current else None)
        return f"undid {op.label}"

    def reset(self) -> str:
        """Back to the weights, optimizer state and data this model started from."""
        self.stepper.reset()
        self.history.clear()
        self.completed = 0
        self.sel.follow(None)
        return "reset: initial weights, empty trace and curves"

    # ---- training runs (called by the run worker, under self.lock) ------------------------
    def train_iteration(self) -> tuple[int, float, float | None]:
        """One whole iteration on the next mini-batch (the article trains on its own target)."""
        if self.train_data is not None:
            if self._batches is None:
                from engine.data import batches

                self._batches = (b for _ in count() for b in batches(self.train_data, TRAIN_BATCH))
            self.stepper.set_data(*next(self._batches))
        self.stepper.run_iteration()  # begins the next iteration itself when one is done
        self._after(self.stepper.current.op, self.stepper.loss_value)
        return self.history[-1]

    # ---- optimizer --------------------------------------------------------------------
    def set_optimizer(self, kind: str) -> str:
        """Switch to SGD, SGD+momentum or Adam (fresh state; the weights stay)."""
        if kind not in OPTIMIZERS:
            raise SessionError(f"unknown optimizer {kind!r}; choose one of {OPTIMIZERS}")
        self.opt_kind = kind
        self._rebuild(self.stepper.x, self.stepper.targets, DEFAULT_LR[kind])
        self.sel.follow(None)
        return f"optimizer: {self.describe_optimizer()} (a new iteration starts)"

    def cycle_optimizer(self) -> str:
        """SGD -> SGD+momentum -> Adam -> SGD."""
        return self.set_optimizer(OPTIMIZERS[(OPTIMIZERS.index(self.opt_kind) + 1) % 3])

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
        return f"{OPTIMIZER_NAMES[self.opt_kind]} lr {self.optimizer.lr:g}"

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
