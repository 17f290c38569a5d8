"""Transfer learning: reuse features learned on digits 0-4 to learn 5-9 with a small budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import paths
from engine.data import Dataset, mnist_split
from engine.linear import Linear
from engine.losses import CrossEntropyLoss
from engine.module import Module, Parameter
from engine.train import EvalResult, Progress, evaluate, make_optimizer, train

NEW_DIGITS = (5, 6, 7, 8, 9)


@dataclass(frozen=True)
class Curve:
    """One run of a transfer comparison: loss per step and held-out accuracy along the way."""

    name: str  # "fine-tuned" or "scratch"
    losses: list[float]  # (steps,) training loss of each step
    eval_steps: list[int]  # steps at which held-out accuracy was measured (0 = before training)
    accuracies: list[float]  # held-out accuracy at those steps, 0..1
    final: EvalResult
    trainable: int  # number of scalar parameters that were updated


@dataclass(frozen=True)
class TransferResult:
    """Fine-tuning a pretrained model versus training the same network from scratch."""

    fine_tuned: Curve
    scratch: Curve
    classes: tuple[int, ...]
    train_examples: int
    steps: int
    frozen: list[str] = field(default_factory=list)  # names of the frozen parameters, "0.weight"


def head(model: Module) -> Linear:
    """The model's last Linear layer: the classifier head."""
    linears = [m for m in _walk(model) if isinstance(m, Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no Linear head")
    return linears[-1]


def _walk(module: Module):
    yield module
    for child in module.children():
        yield from _walk(child)


def freeze_features(model: Module) -> list[Parameter]:
    """Freeze every parameter but the head's (requires_grad = False); returns the frozen ones."""
    keep = {id(p) for p in head(model).parameters()}
    frozen = [p for p in model.parameters() if id(p) not in keep]
    for p in model.parameters():
        p.requires_grad = id(p) in keep
    return frozen


def reset_head(model: Module, rng: np.random.Generator | None = None) -> None:
    """Give the head fresh weights, drawn like a new Linear's from rng."""
    old = head(model)
    fresh = Linear(old.weight.shape[1], old.weight.shape[0], rng=rng)
    old.weight.value[...] = fresh.weight.value
    old.bias.value[...] = fresh.bias.value


def _run(
    name: str,
    model: Module,
    data: Dataset,
    eval_data: Dataset,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    eval_every: int,
    on_step: Callable[[str, Progress], None] | None,
) -> Curve:
    optimizer = make_optimizer("adam", model.parameters(), lr)
    trainable = sum(p.value.size for p in model.parameters() if p.requires_grad)
    epochs = -(-steps * batch_size // len(data))  # enough epochs to reach the step budget
    losses, eval_steps, accuracies = [], [0], [evaluate(model, eval_data).accuracy]
    for p in train(
        model,
        CrossEntropyLoss(),
        optimizer,
        data,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        max_steps=steps,
    ):
        losses.append(p.loss)
        if p.step % eval_every == 0 or p.step == p.total_steps:
            eval_steps.append(p.step)
            accuracies.append(evaluate(model, eval_data).accuracy)
        if on_step is not None:
            on_step(name, p)
    final = evaluate(model, eval_data)
    return Curve(name, losses, eval_steps, accuracies, final, int(trainable))


def transfer(
    pretrained: str | Path | Module = paths.PRETRAINED_LENET_0_4,
    *,
    classes: tuple[int, ...] = NEW_DIGITS,
    train_examples: int = 200,
    steps: int = 100,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    eval_every: int = 10,
    data: tuple[Dataset, Dataset] | None = None,
    on_step: Callable[[str, Progress], None] | None = None,
) -> TransferResult:
    """Fine-tune a pretrained model's new head (features frozen) vs. the same net from scratch."""
    from engine.checkpoint import load
    from engine.model import from_spec, named_parameters

    if isinstance(pretrained, Module):
        model = pretrained  # changed in place: new head, frozen features
    else:
        model, _, _ = load(pretrained)
    train_set, held_out = data or mnist_split()
    new_train = train_set.digits(classes)
    new_train = new_train.subset(slice(0, train_examples), f"{new_train.name}[:{train_examples}]")
    new_held_out = held_out.digits(classes)
    if len(new_train) == 0:
        raise ValueError(f"no training examples of digits {classes}")

    reset_head(model, np.random.default_rng(seed))
    freeze_features(model)
    frozen = [name for name, p in named_parameters(model) if not p.requires_grad]
    budget = dict(steps=steps, batch_size=batch_size, lr=lr, seed=seed, eval_every=eval_every)
    tuned = _run("fine-tuned", model, new_train, new_held_out, on_step=on_step, **budget)

    # The same network, fresh weights from the same seed, all trainable.
    scratch_model = from_spec(model.spec(), rng=np.random.default_rng(seed))
    scratch = _run("scratch", scratch_model, new_train, new_held_out, on_step=on_step, **budget)
    return TransferResult(tuned, scratch, tuple(classes), len(new_train), steps, frozen)
