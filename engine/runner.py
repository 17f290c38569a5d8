"""How train() runs one step and takes it back: PlainSteps, and what a divergence blames."""

from __future__ import annotations

import numpy as np

from engine.module import Module


class PlainSteps:
    """How train() steps a bare model: forward and loss, then backward and update; undoable.

    Another runner (the explorer's, which steps through a Stepper so every op is traced) gives
    train() the same members: model, params, optimizer, use_rng(rng), forward(x, y) ->
    (loss, logits), backward_update(), mark() -> a restore point, restore(point).
    """

    def __init__(self, model: Module, loss_fn, optimizer) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.params = model.parameters()

    def use_rng(self, rng: np.random.Generator) -> None:
        """Draw dropout masks from the run's generator."""
        self.model.set_rng(rng)

    def forward(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Zero the gradients, run the model and the loss; (loss, logits (B, K))."""
        self.optimizer.zero_grad()
        logits = self.model.forward(x)
        return self.loss_fn.forward(logits, y), logits

    def backward_update(self) -> None:
        """Backward from the loss, then the optimizer's update."""
        self.model.backward(self.loss_fn.backward())
        self.optimizer.step()

    def mark(self, reuse=None):
        """The weights and optimizer state now (buffers of the previous mark are reused)."""
        if reuse is None:
            values = [p.value.copy() for p in self.params]
        else:
            values = reuse[0]
            for p, keep in zip(self.params, values, strict=True):
                np.copyto(keep, p.value)
        return values, self.optimizer.state_dict()

    def restore(self, point) -> None:
        """Back to a mark: weights, momentum and Adam's moments (the lr the user set stays)."""
        values, state = point
        for p, keep in zip(self.params, values, strict=True):
            np.copyto(p.value, keep)
        self.optimizer.load_state_dict(state, hyper=False)


def blame(optimizer) -> str:
    """Which setting most likely made a run diverge, and what to change."""
    lr = optimizer.lr
    wd = getattr(optimizer, "weight_decay", 0.0)
    momentum = getattr(optimizer, "momentum", 0.0)
    if wd and lr * wd >= 1.0:  # SGD: each step scales the weights by (1 - lr*wd), Adam's g too
        return (f"The weight decay is too large (weight_decay={wd:g} with lr={lr:g}: "
                f"lr*weight_decay = {lr * wd:.3g} >= 1); lower the weight decay.")  # fmt: skip
    if momentum >= 1.0:  # the momentum buffer then grows without bound
        return f"The momentum is too large (momentum={momentum:g} >= 1); use one below 1."
    return f"Try a smaller learning rate (lr={lr:g})."
