"""Gradient flow: the norm of dL/dx and dL/dW at every layer after one backward pass.

    flow = gradient_flow(model, loss, x, targets)   # one forward + backward on the model
    flow = flow_from_stepper(stepper)               # the trace of a stepper past its backward
    flow[i].grad_input_norm    # ||dL/d(input of layer i)||
    flow[i].grad_weight_norm   # ||dL/dW|| over the layer's weights (None: no weights)
    flow[i].status             # "ok", "vanishing" or "exploding", relative to dL/d(logits)

A gradient that shrinks by a constant factor at every layer is tiny after many layers: the early
layers then barely learn (vanishing); one that grows is the opposite (exploding). deep_stack()
builds the lesson's example: a plain stack of conv + ReLU blocks, or the same blocks with skips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.model import Sequential, named_parameters
from engine.module import Module

VANISHING = 1e-3  # a layer's ||dL/dx|| below this fraction of ||dL/d(logits)||
EXPLODING = 1e3  # ... or above this multiple of it


@dataclass(frozen=True)
class LayerFlow:
    """The gradient norms of one top-level layer after a backward pass."""

    index: int
    name: str  # repr of the layer
    grad_input_norm: float  # ||dL/dx||, x the layer's input (Frobenius over the batch)
    grad_weight_norm: float | None  # ||dL/dW|| over every weight in the layer (biases excluded)
    ratio: float  # grad_input_norm / ||dL/d(logits)||
    status: str  # "ok", "vanishing" or "exploding"


def _norm(a) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64).ravel()))


def status_of(ratio: float) -> str:
    """'vanishing', 'exploding' or 'ok' for a gradient norm relative to the loss gradient's."""
    if not math.isfinite(ratio) or ratio > EXPLODING:
        return "exploding"
    return "vanishing" if ratio < VANISHING else "ok"


def weight_norm(layer: Module) -> float | None:
    """||dL/dW|| over every parameter named *weight in the layer (nested ones too), or None."""
    weights = [p.grad for name, p in named_parameters(layer) if name.endswith("weight")]
    if not weights:
        return None
    return math.sqrt(sum(_norm(g) ** 2 for g in weights))


def flows(layers, grads) -> list[LayerFlow]:
    """LayerFlows from the layers and grads[i] = dL/d(input of layer i), grads[-1] = dL/dlogits."""
    if len(grads) != len(layers) + 1 or any(g is None for g in grads):
        raise ValueError("gradient flow: the backward pass has not reached every layer yet")
    top = _norm(grads[-1]) or 1e-300  # a zero loss gradient: every ratio is 0 (nothing flows)
    out = []
    for i, layer in enumerate(layers):
        norm = _norm(grads[i])
        ratio = norm / top
        out.append(LayerFlow(i, repr(layer), norm, weight_norm(layer), ratio, status_of(ratio)))
    return out


def trace_backward(model: Sequential, loss, x: np.ndarray, targets):
    """One forward and backward pass: (activations, grads), both of length len(layers) + 1.

    activations[i] is layer i's input (the last the logits), grads[i] = dL/d activations[i].
    The model's parameter grads are zeroed first and hold this pass's gradients after.
    """
    if not hasattr(model, "layers"):
        raise ValueError(f"gradient_flow: model must be a Sequential, got {type(model).__name__}")
    model.zero_grad()
    acts = [x]
    for layer in model.layers:
        acts.append(layer.forward(acts[-1]))
    loss.forward(acts[-1], targets)
    grads = [None] * len(model.layers) + [np.asarray(loss.backward())]
    for i in reversed(range(len(model.layers))):
        grads[i] = np.asarray(model.layers[i].backward(grads[i + 1]))
    return acts, grads


def gradient_flow(model: Sequential, loss, x: np.ndarray, targets) -> list[LayerFlow]:
    """The flow of one forward and backward pass of model (its parameter grads are replaced)."""
    _, grads = trace_backward(model, loss, x, targets)
    return flows(model.layers, grads)


def flow_from_stepper(stepper) -> list[LayerFlow]:
    """The flow of a Stepper's current iteration, once its backward pass reached layer 0."""
    return flows(stepper.layers, stepper.grads)


def first_layer_ratio(plain: list[LayerFlow], residual: list[LayerFlow]) -> float:
    """||dL/dW|| of the first layer, plain stack over residual stack."""
    return plain[0].grad_weight_norm / residual[0].grad_weight_norm


def deep_stack(depth: int = 10, residual: bool = False, width: int = 8, rng=None) -> Sequential:
    """Conv(1->w)+ReLU+pool, `depth` blocks of Conv(w->w, 3x3, p1)+ReLU, a Linear head.

    residual=True wraps each block as Residual (y = F(x) + x); same layers, same parameters count.
    For 28x28 digits; weights are drawn from rng (a numpy Generator: the same seed, the same
    stack; None: fresh entropy).
    """
    from engine.activations import ReLU
    from engine.conv import Conv2d
    from engine.linear import Flatten, Linear
    from engine.pool import MaxPool2d
    from engine.residual import Residual

    if not 1 <= depth <= 64 or not 1 <= width <= 64:
        raise ValueError(f"deep_stack: depth and width must be in 1..64, got {depth}, {width}")
    layers: list[Module] = [Conv2d(1, width, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2)]
    for _ in range(depth):  # (w, 14, 14) after the pool
        body = (Conv2d(width, width, 3, padding=1, rng=rng), ReLU())
        layers.append(Residual(*body) if residual else Sequential(*body))
    layers += [Flatten(), Linear(width * 14 * 14, 10, rng=rng)]
    return Sequential(*layers)
