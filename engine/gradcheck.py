"""Gradient checks: compare backward() with float64 central differences."""

from __future__ import annotations

import copy

import numpy as np

from engine.model import named_parameters
from engine.module import Module


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences (f(x + eps) - f(x - eps)) / 2 eps, one element at a time."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError(f"numeric_grad: x must be a float64 array, got {getattr(x, 'dtype', x)}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)  # views: x is perturbed in place
    if not np.shares_memory(flat, x):
        raise ValueError("numeric_grad: x must be contiguous so it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = float(f(x))
        flat[i] = old - eps
        f_minus = float(f(x))
        flat[i] = old  # restore exactly: later evaluations see the original point
        gflat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a - n| relative to the larger gradient's max magnitude (0 when both are ~0)."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"relative_error: shapes {analytic.shape} and {numeric.shape} differ")
    if analytic.size == 0:
        return 0.0
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-12)
    return float(np.abs(analytic - numeric).max() / scale)


def check_module(module: Module, x: np.ndarray, seed: int = 0, eps: float = 1e-6) -> dict:
    """{"input": err, "0.weight": err, ...}: max relative errors of backward vs central differences.

    Runs on a float64 deep copy, so the caller's model (dtype, grads, caches) is untouched.
    Objective: sum(forward(x) * G) for a random upstream gradient G drawn from seed. Every
    forward draws from a new generator made from seed, so dropout uses the same mask each time.
    """
    m = copy.deepcopy(module).to(np.float64)
    x = np.array(x, dtype=np.float64)  # a private contiguous copy to perturb
    params = named_parameters(m)
    y, ctx = m.forward_ctx(x, np.random.default_rng(seed))
    g = np.random.default_rng(seed).standard_normal(y.shape)  # upstream gradient

    def objective(_):
        return float(np.sum(m.forward_ctx(x, np.random.default_rng(seed))[0] * g))

    m.zero_grad()
    grad_input = np.array(m.backward_ctx(ctx, g), dtype=np.float64)
    analytic = {name: p.grad.copy() for name, p in params}
    errors = {"input": relative_error(grad_input, numeric_grad(objective, x, eps))}
    for name, p in params:
        errors[name] = relative_error(analytic[name], numeric_grad(objective, p.value, eps))
    return errors


def check_loss(loss, pred: np.ndarray, target, eps: float = 1e-6) -> dict:
    """{"input": err} for a loss's backward() against central differences of forward()."""
    pred = np.array(pred, dtype=np.float64)
    loss.forward(pred, target)
    analytic = np.array(loss.backward(), dtype=np.float64)
    numeric = numeric_grad(lambda p: loss.forward(p, target), pred, eps)
    return {"input": relative_error(analytic, numeric)}


def numeric_weight_grad(
    model: Module, loss, x, targets, name: str, index, eps: float = 1e-6, rng=None
):
    """dL/d(one weight) by float64 central differences of the whole loss, on a deep copy.

    name: the parameter's name as named_parameters gives it ("3.weight"); index: into its value.
    Every forward draws dropout masks from a copy of rng (give the generator in the state the
    analytic pass started from, and both see the same masks); None: a generator seeded 0.
    """
    m = copy.deepcopy(model).to(np.float64)
    params = dict(named_parameters(m))
    if name not in params:
        raise ValueError(f"numeric_weight_grad: no parameter {name!r} (have {', '.join(params)})")
    value = params[name].value
    index = tuple(int(i) for i in np.atleast_1d(index))
    if len(index) != value.ndim or any(
        not 0 <= i < d for i, d in zip(index, value.shape, strict=True)
    ):
        raise ValueError(f"numeric_weight_grad: index {index} outside {name} {value.shape}")
    x = np.asarray(x, dtype=np.float64)
    start = np.random.default_rng(0) if rng is None else rng

    def at(v: float) -> float:
        value[index] = v
        return float(loss.forward(m.forward_ctx(x, copy.deepcopy(start))[0], targets))

    old = float(value[index])
    plus, minus = at(old + eps), at(old - eps)
    value[index] = old
    return (plus - minus) / (2 * eps)
