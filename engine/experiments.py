"""Small seeded runs the lessons put side by side: optimizers, regularization, plain vs residual.

Every run of one comparison starts from the same weights (one model, deep-copied) and sees the
same batches (engine.train.train with the same seed), so the curves differ only by the one thing
compared. Each function takes on_step(name, Progress) to report progress (raise in it to stop).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.data import Dataset
from engine.losses import CrossEntropyLoss
from engine.module import Module
from engine.train import EvalResult, evaluate, make_optimizer, train

OnStep = Callable[[str, object], None] | None


@dataclass
class Run:
    """One curve of a comparison: loss per step, and per-epoch train and held-out results."""

    name: str
    losses: list[float] = field(default_factory=list)  # training loss of every step
    epochs: list[int] = field(default_factory=list)  # epoch numbers of the evaluations below
    train_eval: list[EvalResult] = field(default_factory=list)  # on the training examples
    held_out: list[EvalResult] = field(default_factory=list)  # on the held-out examples
    model: Module | None = None

    @property
    def gap(self) -> float:
        """Held-out loss minus training loss at the last evaluation: how much it overfits."""
        return self.held_out[-1].loss - self.train_eval[-1].loss

    @property
    def accuracy_gap(self) -> float:
        """Training accuracy minus held-out accuracy at the last evaluation (0..1)."""
        return self.train_eval[-1].accuracy - self.held_out[-1].accuracy


def _fit(name, model, optimizer, data, held_out=None, on_step: OnStep = None, **kw) -> Run:
    """engine.train.train(model, ..., **kw), recording losses and per-epoch evaluations."""
    run = Run(name, model=model)
    for p in train(model, CrossEntropyLoss(), optimizer, data, **kw):
        run.losses.append(p.loss)
        if held_out is not None and p.epoch_end:
            run.epochs.append(p.epoch)
            run.train_eval.append(evaluate(model, data))
            run.held_out.append(evaluate(model, held_out))
        if on_step is not None:
            on_step(name, p)
    return run


def compare_optimizers(
    model: Module, data: Dataset, *, steps: int = 60, seed: int = 0, batch_size: int = 32,
    lrs: dict | None = None, on_step: OnStep = None,
) -> dict[str, Run]:  # fmt: skip
    """SGD, momentum and Adam, each on a copy of model (same start), same batches, same steps."""
    lrs = {"sgd": 0.1, "momentum": 0.05, "adam": 2e-3} | (lrs or {})
    kw = dict(max_steps=steps, epochs=10**6, batch_size=batch_size, seed=seed, on_step=on_step)
    runs = {}
    for name in ("sgd", "momentum", "adam"):
        m = copy.deepcopy(model)
        runs[name] = _fit(name, m, make_optimizer(name, m.parameters(), lrs[name]), data, **kw)
    return runs


def compare_regularization(
    model: Module, data: Dataset, held_out: Dataset, *, epochs: int = 12,
    weight_decay: float = 0.03, seed: int = 0, lr: float = 0.05, batch_size: int = 32,
    on_step: OnStep = None,
) -> dict[str, Run]:  # fmt: skip
    """Runs "plain", "dropout" (the model's Dropout on) and "l2" (weight decay, dropout off).

    model should contain Dropout layers; "plain" and "l2" run with their p set to 0.
    """
    from engine.dropout import Dropout

    kw = dict(epochs=epochs, batch_size=batch_size, seed=seed, on_step=on_step)
    runs = {}
    for name in ("plain", "dropout", "l2"):
        m = copy.deepcopy(model)
        if name != "dropout":
            for layer in _walk(m):
                if isinstance(layer, Dropout):
                    layer.p = 0.0
        decay = weight_decay if name == "l2" else 0.0
        opt = make_optimizer("momentum", m.parameters(), lr, weight_decay=decay)
        runs[name] = _fit(name, m, opt, data, held_out=held_out, **kw)
    return runs


def compare_depth(
    plain: Module, residual: Module, data: Dataset, *, steps: int = 40, seed: int = 0,
    lr: float = 2e-3, batch_size: int = 32, on_step: OnStep = None,
) -> dict[str, Run]:  # fmt: skip
    """The plain and the residual stack trained with Adam on the same batches."""
    kw = dict(max_steps=steps, epochs=10**6, batch_size=batch_size, seed=seed, on_step=on_step)
    return {
        name: _fit(name, m, make_optimizer("adam", m.parameters(), lr), data, **kw)
        for name, m in (("plain", plain), ("residual", residual))
    }


def _walk(module: Module):
    yield module
    for child in module.children():
        yield from _walk(child)


def dropout_mask(model: Module, x: np.ndarray) -> np.ndarray | None:
    """The scaled keep-mask the model's first Dropout draws for x in a training forward.

    Drawn on a copy (its generators copied too), so the model and its random streams stay as
    they were; None when the model has no Dropout or its p is 0.
    """
    from engine.dropout import Dropout

    twin = copy.deepcopy(model).train()
    layers = [layer for layer in _walk(twin) if isinstance(layer, Dropout)]
    if not layers:
        return None
    twin.forward(x)
    return layers[0].ctx.mask


def small_cnn(dropout: float = 0.5, channels: int = 4, rng=None) -> Module:
    """Conv(1->c, 3x3, p1)+ReLU+maxpool2, Flatten, Dropout(p), Linear(c*14*14 -> 10): quick to fit.

    Its c*196 features and one Linear head learn a few hundred digits by heart within seconds.
    Weights are drawn from rng (a numpy Generator; None: fresh entropy).
    """
    from engine.activations import ReLU
    from engine.conv import Conv2d
    from engine.dropout import Dropout
    from engine.linear import Flatten, Linear
    from engine.model import Sequential
    from engine.pool import MaxPool2d

    return Sequential(
        Conv2d(1, channels, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Dropout(dropout, rng=rng),
        Linear(channels * 14 * 14, 10, rng=rng),
    )


def l2_update(model: Module, x: np.ndarray, y: np.ndarray, weight_decay: float, lr: float = 0.05):
    """One recorded SGD step with weight decay on a copy of model: (param name, index, record).

    The weight shown is the head's largest in magnitude, where λw is biggest; the record is
    SGD.explain: grad, l2_term, value_before, value_after (arrays of the whole parameter).
    """
    from engine.model import named_parameters
    from engine.optim import SGD

    m = copy.deepcopy(model).train()
    name, p = [(n, p) for n, p in named_parameters(m) if n.endswith("weight")][-1]
    opt = SGD(m.parameters(), lr=lr, weight_decay=weight_decay)
    opt.record = True
    loss = CrossEntropyLoss()
    m.zero_grad()  # a dropout mask drawn here comes from the copy's own generator
    loss.forward(m.forward(x), y)
    m.backward(loss.backward())
    index = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(p.value)), p.shape))
    opt.step()
    k = next(i for i, q in enumerate(m.parameters()) if q is p)
    return name, index, opt.explain(k)
