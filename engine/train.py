"""Training as a generator of Progress records: seeded batches, evaluation, divergence guard."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.data import HELD_OUT_NOTE, HELD_OUT_SIZE, Dataset, batches
from engine.losses import CrossEntropyLoss, DivergenceError
from engine.module import Module
from engine.optim import DEFAULT_LR, make_optimizer  # the one list of kinds and their lrs
from engine.runner import PlainSteps, blame

EXPLODE_FACTOR = 100.0  # a loss this many times the first step's (or 1.0) counts as diverged
SCHEDULES = ("constant", "cosine")  # cosine: lr falls from its value to 0 over the run


class TrainingDiverged(DivergenceError):
    """The loss exploded or became NaN/inf, or the weights did; the last good weights are back."""


@dataclass(frozen=True)
class EvalResult:
    """Loss, accuracy and confusion matrix of a model on a dataset (in eval mode)."""

    loss: float  # mean cross-entropy
    accuracy: float  # fraction correct, 0..1
    confusion: np.ndarray  # (K, K) int64: rows = true class, columns = predicted
    count: int  # how many examples
    name: str = ""

    def summary(self) -> str:
        """'accuracy 98.10% on 2000 held-out digits' (or '... on 1011 held-out digits 0-4')."""
        prefix = "mnist-held-out"
        if self.name == prefix and self.count == HELD_OUT_SIZE:
            where = HELD_OUT_NOTE
        elif self.name.startswith(prefix + "["):  # a digits() subset such as [01234]
            where = f"{self.count} held-out digits {','.join(self.name[len(prefix) + 1 : -1])}"
        else:
            where = f"{self.count} examples of {self.name or 'unnamed data'}"
        return f"accuracy {100 * self.accuracy:.2f}% on {where}"


@dataclass(frozen=True)
class Progress:
    """One optimizer step of a run, for curves, progress bars and ETAs."""

    step: int  # optimizer steps done, 1-based
    total_steps: int
    epoch: int  # 1-based
    epochs: int
    loss: float  # this batch's loss
    accuracy: float  # this batch's accuracy, 0..1 (NaN when the loss is not a classification)
    epoch_loss: float  # mean batch loss so far this epoch
    epoch_accuracy: float
    lr: float  # the learning rate this step used
    images_per_s: float  # training throughput so far (evaluation time excluded)
    elapsed_s: float  # wall time since the run started
    fraction: float  # step / total_steps, 0..1
    eta_s: float  # estimated seconds left
    epoch_end: bool = False  # the last step of an epoch (or of the run)
    evaluation: EvalResult | None = None  # set when epoch_end and eval data is given


def _accuracy(logits: np.ndarray, targets: np.ndarray) -> float:
    if logits.ndim != 2 or targets.ndim != 1 or targets.dtype.kind not in "iu":
        return math.nan
    return float((logits.argmax(axis=1) == targets).mean())


def predict_proba(model: Module, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Softmax probabilities (N, K) for inputs (N, C, H, W), in eval mode."""
    was_training = model.training
    model.eval()
    try:
        out = []
        for start in range(0, len(x), batch_size):
            logits = np.asarray(model.forward(x[start : start + batch_size]), dtype=np.float64)
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))  # (B, K)
            out.append(shifted / shifted.sum(axis=1, keepdims=True))
        return np.concatenate(out)
    finally:
        model.train(was_training)


def evaluate(model: Module, data: Dataset, batch_size: int = 500) -> EvalResult:
    """Cross-entropy, accuracy and confusion matrix on data; the model's mode is restored."""
    was_training = model.training
    model.eval()
    loss_fn, total, confusion = CrossEntropyLoss(), 0.0, None
    try:
        for x, y in batches(data, batch_size, shuffle=False):
            logits = model.forward(x)  # (B, K)
            total += loss_fn.forward(logits, y) * len(y)
            k = logits.shape[1]
            if confusion is None:
                confusion = np.zeros((k, k), dtype=np.int64)
            np.add.at(confusion, (y, logits.argmax(axis=1)), 1)
    finally:
        model.train(was_training)
    n = len(data)
    confusion = np.zeros((0, 0), dtype=np.int64) if confusion is None else confusion
    accuracy = float(np.trace(confusion) / n) if n else math.nan
    return EvalResult(total / max(n, 1), accuracy, confusion, n, data.name)


def _all_finite(params) -> bool:
    return all(np.isfinite(p.value).all() for p in params)


def train(
    model: Module,
    loss_fn,
    optimizer,
    data: Dataset,
    *,
    epochs: int | None = 1,
    batch_size: int = 64,
    seed: int | None = None,
    max_steps: int | None = None,
    eval_data: Dataset | None = None,
    schedule: str = "constant",
    runner=None,
    generator: np.random.Generator | None = None,
) -> Iterator[Progress]:
    """Yield a Progress per step; raise TrainingDiverged (last good state back) on NaN/inf.

    epochs=None runs until the caller stops iterating (the explorer's run); runner replaces
    PlainSteps(model, loss_fn, optimizer) to step another way (see PlainSteps); generator
    replaces numpy.random.default_rng(seed) as the run's source of randomness.
    """
    # Checked here, not in the generator, so bad arguments fail at the call.
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if schedule != "constant" and epochs is None and max_steps is None:
        raise ValueError(f"a {schedule} schedule needs a length: give epochs or max_steps")
    if (
        (epochs is not None and epochs < 1)
        or batch_size < 1
        or (max_steps is not None and max_steps < 1)
    ):
        raise ValueError(
            f"epochs, batch_size and max_steps must be >= 1, got {epochs}, {batch_size}, "
            f"{max_steps}"
        )
    if len(data) == 0:
        raise ValueError(f"no training examples in {data.name!r}")
    runner = runner or PlainSteps(model, loss_fn, optimizer)
    return _steps(runner, data, epochs, batch_size, seed, max_steps, eval_data, schedule, generator)


def _steps(runner, data, epochs, batch_size, seed, max_steps, eval_data, schedule, generator):
    # The run's own generator: batch order, then dropout masks (a runner with its own, like
    # the explorer's Stepper, keeps drawing masks from that).
    rng = generator if generator is not None else np.random.default_rng(seed)
    runner.use_rng(rng)
    per_epoch = math.ceil(len(data) / batch_size)
    total = epochs * per_epoch if epochs is not None else None
    total = min(total or max_steps, max_steps) if max_steps else total
    optimizer, params = runner.optimizer, runner.params
    base_lr = optimizer.lr
    good = runner.mark()  # weights (and optimizer state) that gave the last finite loss
    step, seen, train_s, start = 0, 0, 0.0, time.perf_counter()
    first_loss = None
    quiet = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}  # the guard reports

    def diverged(why: str, before_step: int) -> TrainingDiverged:
        runner.restore(good)
        return TrainingDiverged(
            f"training diverged at step {step + 1} (epoch {epoch}): {why}; weights and "
            f"optimizer state restored to those before step {before_step}. {blame(optimizer)}",
            math.nan,
        )

    try:
        for epoch in range(1, epochs + 1) if epochs is not None else itertools.count(1):
            losses, correct, count, nb = 0.0, 0.0, 0, 0
            for x, y in batches(data, batch_size, generator=rng):
                t0 = time.perf_counter()
                try:
                    with np.errstate(**quiet):
                        loss, logits = runner.forward(x, y)
                except DivergenceError as exc:
                    raise diverged(f"loss is {exc.value}", max(step, 1)) from None
                first_loss = loss if first_loss is None else first_loss
                if loss > EXPLODE_FACTOR * max(first_loss, 1.0):
                    why = f"loss {loss:.4g} exploded (first step: {first_loss:.4g})"
                    raise diverged(why, max(step, 1))
                good = runner.mark(good)  # these weights gave a finite loss
                if schedule == "cosine":
                    optimizer.lr = base_lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
                with np.errstate(**quiet):
                    runner.backward_update()
                if not _all_finite(params):
                    raise diverged("an update made the weights NaN or inf", step + 1)
                train_s += time.perf_counter() - t0
                step, seen, nb = step + 1, seen + len(y), nb + 1
                acc = _accuracy(logits, y)
                losses, correct, count = losses + loss, correct + acc * len(y), count + len(y)
                last = step == total
                done = last or count == len(data)
                done_eval = eval_data is not None and done
                evaluation = evaluate(runner.model, eval_data) if done_eval else None
                elapsed = time.perf_counter() - start
                yield Progress(
                    step=step,
                    total_steps=total or 0,
                    epoch=epoch,
                    epochs=epochs or 0,
                    loss=loss,
                    accuracy=acc,
                    epoch_loss=losses / nb,
                    epoch_accuracy=correct / count,
                    lr=optimizer.lr,
                    images_per_s=seen / train_s if train_s > 0 else 0.0,
                    elapsed_s=elapsed,
                    fraction=step / total if total else math.nan,
                    eta_s=elapsed / step * (total - step) if total else math.nan,
                    epoch_end=done,
                    evaluation=evaluation,
                )
                if last:
                    return
    finally:
        if schedule != "constant":  # the schedule is this run's; the optimizer keeps its lr
            optimizer.lr = base_lr


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run; the defaults reach >= 97.5% on the held-out digits."""

    preset: str = "lenet"
    epochs: int = 8
    optimizer: str = "momentum"
    lr: float = DEFAULT_LR["lenet"]["momentum"]  # the default optimizer's, on LeNet
    momentum: float = 0.9  # only for optimizer="momentum"
    batch_size: int = 32
    seed: int = 0
    weight_decay: float = 0.0
    dropout: float = 0.0  # > 0 inserts Dropout(p) before the classifier head
    schedule: str = "cosine"
    max_steps: int | None = None  # stop early, for quick tries and tests


def build_model(preset: str = "lenet", dropout: float = 0.0, seed: int | None = None):
    """A preset's (model, loss, input_shape), with Dropout(p) before its last Linear if p > 0."""
    from engine.dropout import Dropout
    from engine.linear import Linear
    from engine.model import Sequential
    from engine.presets import PRESETS

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(sorted(PRESETS))}")
    made = PRESETS[preset](np.random.default_rng(seed))  # weight init from the run's seed
    model = made.model
    if dropout:
        heads = [i for i, layer in enumerate(model.layers) if isinstance(layer, Linear)]
        if not heads:
            raise ValueError(f"preset {preset!r} has no Linear head to put dropout before")
        i = heads[-1]
        model = Sequential(*model.layers[:i], Dropout(dropout), *model.layers[i:])
    return model, made.loss, tuple(made.input_shape)


def run(config: TrainConfig, data: Dataset, eval_data: Dataset | None = None):
    """Build the model and optimizer from config; returns (model, optimizer, Progress iterator)."""
    model, loss_fn, _ = build_model(config.preset, config.dropout, config.seed)
    optimizer = make_optimizer(
        config.optimizer, model.parameters(), config.lr, config.momentum, config.weight_decay
    )
    steps = train(
        model,
        loss_fn,
        optimizer,
        data,
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=config.seed,
        max_steps=config.max_steps,
        eval_data=eval_data,
        schedule=config.schedule,
    )
    return model, optimizer, steps
