"""Fully connected layers: Linear (y = x W^T + b) and Flatten ((N, C, H, W) -> (N, C*H*W))."""

from __future__ import annotations

import math

from engine.activations import check_grad, check_input, check_shape, positive_int
from engine.module import DEFAULT_DTYPE, Module, Parameter, rng


class Linear(Module):
    """y = x W^T + b with weight (out_features, in_features) and bias (out_features,)."""

    def __init__(self, in_features: int, out_features: int):
        label = f"Linear({in_features!r}->{out_features!r})"
        self.in_features = positive_int(label, "in_features", in_features)
        self.out_features = positive_int(label, "out_features", out_features)
        # PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weight first, then bias.
        bound = 1.0 / math.sqrt(self.in_features)
        shape = (self.out_features, self.in_features)
        weight = rng().uniform(-bound, bound, size=shape).astype(DEFAULT_DTYPE)
        bias = rng().uniform(-bound, bound, size=self.out_features).astype(DEFAULT_DTYPE)
        self.weight = Parameter(weight, "weight")  # (out, in)
        self.bias = Parameter(bias, "bias")  # (out,)
        self._x = None

    def own_parameters(self):
        return [self.weight, self.bias]

    def _check_features(self, shape: tuple[int, ...], what: str) -> None:
        if len(shape) != 1 or shape[0] != self.in_features:
            hint = "; add a Flatten before Linear" if len(shape) > 1 else ""
            raise ValueError(
                f"{self!r}: expected {what} ({self.in_features},) per sample, got "
                f"{tuple(shape)}{hint}"
            )

    def output_shape(self, in_shape):
        """(out_features,) for an input (in_features,)."""
        shape = check_shape(self, in_shape)
        self._check_features(shape, "input")
        return (self.out_features,)

    def forward(self, x):
        """(N, in) -> (N, out), computed in the weight's dtype."""
        x = check_input(self, x, ndims=(2, 4))
        self._check_features(x.shape[1:], "input")
        w = self.weight.value
        x = x.astype(w.dtype, copy=False)
        self._x = x  # (N, in), for grad_weight
        return x @ w.T + self.bias.value  # (N, out)

    def backward(self, grad_out):
        """grad_input = grad_out W; accumulates grad_weight = grad_out^T x, grad_bias = sum."""
        shape = None if self._x is None else (self._x.shape[0], self.out_features)
        grad_out = check_grad(self, grad_out, shape, self.weight.value.dtype)  # (N, out)
        if self.weight.requires_grad:  # frozen: skip the work, the optimizer skips it anyway
            self.weight.grad += grad_out.T @ self._x  # (out, in)
        if self.bias.requires_grad:
            self.bias.grad += grad_out.sum(axis=0)  # (out,)
        return grad_out @ self.weight.value  # (N, in)

    def spec(self):
        return {
            "type": "Linear",
            "in_features": self.in_features,
            "out_features": self.out_features,
        }

    def __repr__(self) -> str:
        return f"Linear({self.in_features}->{self.out_features})"


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W) in C order; (N, F) passes through unchanged."""

    def __init__(self):
        self._in_shape = None

    def output_shape(self, in_shape):
        """(C*H*W,) for (C, H, W); (F,) stays (F,)."""
        shape = check_shape(self, in_shape)
        return (math.prod(shape),)

    def forward(self, x):
        """Reshape to (N, features) without copying when x is contiguous."""
        x = check_input(self, x, ndims=(2, 4))
        self._in_shape, self._dtype = x.shape, x.dtype
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        """Reshape grad_out back to the input's shape."""
        if self._in_shape is None:
            raise RuntimeError(f"{self!r}: backward() called before forward()")
        n = self._in_shape[0]
        grad_out = check_grad(self, grad_out, (n, math.prod(self._in_shape[1:])), self._dtype)
        return grad_out.reshape(self._in_shape)

    def __repr__(self) -> str:
        return "Flatten()"
