"""Training as a generator of Progress records: seeded batches, evaluation, divergence guard."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.data import HELD_OUT_NOTE, HELD_OUT_SIZE, Dataset, batches
from engine.losses import CrossEntropyLoss, DivergenceError
from engine.module import Module
from engine.optim import SGD, Adam

OPTIMIZERS = ("adam", "sgd", "momentum")  # "momentum" = SGD with momentum 0.9
EXPLODE_FACTOR = 100.0  # a loss this many times the first step's (or 1.0) counts as diverged
SCHEDULES = ("constant", "cosine")  # cosine: lr falls from its value to 0 over the run
DEFAULT_LR = {"adam": 2e-3, "sgd": 0.1, "momentum": 0.05}


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


def make_optimizer(
    name: str, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0
) -> SGD | Adam:
    """'adam', 'sgd' (plain) or 'momentum' (SGD with momentum) over params."""
    if name == "adam":
        return Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


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
    epochs: int = 1,
    batch_size: int = 64,
    seed: int | None = None,
    max_steps: int | None = None,
    eval_data: Dataset | None = None,
    schedule: str = "constant",
) -> Iterator[Progress]:
    """Yield a Progress per step; raise TrainingDiverged (last good weights back) on NaN/inf."""
    # Checked here, not in the generator, so bad arguments fail at the call.
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if epochs < 1 or batch_size < 1 or (max_steps is not None and max_steps < 1):
        raise ValueError(
            f"epochs, batch_size and max_steps must be >= 1, got {epochs}, {batch_size}, "
            f"{max_steps}"
        )
    if len(data) == 0:
        raise ValueError(f"no training examples in {data.name!r}")
    return _steps(
        model, loss_fn, optimizer, data, epochs, batch_size, seed, max_steps, eval_data, schedule
    )


def _steps(
    model, loss_fn, optimizer, data, epochs, batch_size, seed, max_steps, eval_data, schedule
) -> Iterator[Progress]:
    rng = np.random.default_rng(seed)  # the run's own: batch order, then dropout masks
    model.set_rng(rng)
    total = epochs * math.ceil(len(data) / batch_size)
    total = min(total, max_steps) if max_steps else total
    params = model.parameters()
    base_lr = optimizer.lr
    last_good = [p.value.copy() for p in params]  # weights that gave the last finite loss
    model.train()
    step, seen, train_s, start = 0, 0, 0.0, time.perf_counter()
    first_loss = None

    def diverged(why: str, before_step: int) -> TrainingDiverged:
        for p, good in zip(params, last_good, strict=True):
            np.copyto(p.value, good)
        return TrainingDiverged(
            f"training diverged at step {step + 1} (epoch {epoch}): {why}; weights restored to "
            f"those before step {before_step}. Try a smaller learning rate (lr={base_lr:g}).",
            math.nan,
        )

    try:
        for epoch in range(1, epochs + 1):
            losses, correct, count, nb = 0.0, 0.0, 0, 0
            for x, y in batches(data, batch_size, generator=rng):
                t0 = time.perf_counter()
                optimizer.zero_grad()
                logits = model.forward(x)  # (B, K)
                try:
                    loss = loss_fn.forward(logits, y)
                except DivergenceError as exc:
                    raise diverged(f"loss is {exc.value}", max(step, 1)) from None
                first_loss = loss if first_loss is None else first_loss
                if loss > EXPLODE_FACTOR * max(first_loss, 1.0):
                    why = f"loss {loss:.4g} exploded (first step: {first_loss:.4g})"
                    raise diverged(why, max(step, 1))
                model.backward(loss_fn.backward())
                for p, good in zip(params, last_good, strict=True):
                    np.copyto(good, p.value)  # these weights gave a finite loss
                if schedule == "cosine":
                    optimizer.lr = base_lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
                optimizer.step()
                if not _all_finite(params):
                    raise diverged("an update made the weights NaN or inf", step + 1)
                train_s += time.perf_counter() - t0
                step, seen, nb = step + 1, seen + len(y), nb + 1
                acc = _accuracy(logits, y)
                losses, correct, count = losses + loss, correct + acc * len(y), count + len(y)
                last = step == total
                done = last or count == len(data)
                evaluation = evaluate(model, eval_data) if eval_data is not None and done else None
                elapsed = time.perf_counter() - start
                yield Progress(
                    step=step,
                    total_steps=total,
                    epoch=epoch,
                    epochs=epochs,
                    loss=loss,
                    accuracy=acc,
                    epoch_loss=losses / nb,
                    epoch_accuracy=correct / count,
                    lr=optimizer.lr,
                    images_per_s=seen / train_s if train_s > 0 else 0.0,
                    elapsed_s=elapsed,
                    fraction=step / total,
                    eta_s=elapsed / step * (total - step),
                    epoch_end=done,
                    evaluation=evaluation,
                )
                if last:
                    return
    finally:
        optimizer.lr = base_lr  # the schedule is this run's; the optimizer keeps its own lr


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run; the defaults reach >= 97.5% on the held-out digits."""

    preset: str = "lenet"
    epochs: int = 8
    optimizer: str = "momentum"
    lr: float = 0.05
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
