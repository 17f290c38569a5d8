"""Inverted dropout: zero each activation with probability p in training, scale the rest."""

from __future__ import annotations

import math

import numpy as np

from engine.activations import check_grad, check_input, check_shape
from engine.module import Module, rng


class Dropout(Module):
    """Inverted dropout: y = x * mask / (1 - p) in training, y = x in eval (like PyTorch)."""

    def __init__(self, p: float = 0.5):
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise ValueError(f"Dropout(p={p!r}): p must be a number in [0, 1)")
        if not (math.isfinite(p) and 0.0 <= p < 1.0):
            # p = 1 would divide by zero in the 1 / (1 - p) scale and drop everything.
            raise ValueError(f"Dropout(p={p!r}): p must be in [0, 1), got {p}")
        self.p = float(p)
        self.mask = None  # (N, ...) scaled keep-mask of the last training forward, for display
        self._out_shape, self._dtype = None, None

    def output_shape(self, in_shape):
        """Same shape as the input."""
        return check_shape(self, in_shape)

    def forward(self, x):
        """Drop with probability p and scale survivors by 1 / (1 - p); identity in eval."""
        x = check_input(self, x)
        self._out_shape, self._dtype = x.shape, x.dtype
        if not self.training or self.p == 0.0:
            self.mask = None  # identity: backward passes grad_out through
            return x
        # Each element is kept when its uniform draw is >= p, so P(keep) = 1 - p.
        keep = rng().random(x.shape) >= self.p
        self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, grad_out):
        """grad_input = grad_out * mask (the same scaled mask as forward)."""
        grad_out = check_grad(self, grad_out, self._out_shape, self._dtype)
        if self.mask is None:
            return grad_out
        return grad_out * self.mask

    def spec(self):
        return {"type": "Dropout", "p": self.p}

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
