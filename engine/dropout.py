"""Inverted dropout: zero each activation with probability p in training, scale the rest.

The mask is drawn from a generator the run owns (forward_ctx's rng, else the layer's `rng`, set
with model.set_rng), kept in the context for backward and explain, and never drawn again.
"""

from __future__ import annotations

import math

import numpy as np

from engine.activations import Elementwise, check_grad, check_input, grad_for, label
from engine.explain import Explanation, Term, at, sum_of
from engine.module import Context, generator


class Dropout(Elementwise):
    """Inverted dropout: y = x * mask / (1 - p) in training, y = x in eval (like PyTorch)."""

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None):
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise ValueError(f"Dropout(p={p!r}): p must be a number in [0, 1)")
        if not (math.isfinite(p) and 0.0 <= p < 1.0):
            # p = 1 would divide by zero in the 1 / (1 - p) scale and drop everything.
            raise ValueError(f"Dropout(p={p!r}): p must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = rng

    def forward_ctx(self, x, rng=None):
        """Drop with probability p and scale survivors by 1 / (1 - p); identity in eval."""
        x = check_input(self, x)
        if not self.training or self.p == 0.0:
            return x, Context(x, x.shape)  # mask None: backward passes grad_out through
        # Each element is kept when its uniform draw is >= p, so P(keep) = 1 - p.
        keep = generator(rng if rng is not None else self.rng).random(x.shape) >= self.p
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * mask, Context(x, x.shape, mask=mask)

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """grad_input = grad_out * mask (the same scaled mask as forward)."""
        grad_out = check_grad(self, grad_out, ctx.out_shape, ctx.x.dtype)
        return grad_out if ctx.mask is None else grad_out * ctx.mask

    def explain_forward(self, ctx, index) -> Explanation:
        """y = x·mask (kept and scaled, or dropped), or y = x when dropout is off."""
        index = at(self, ctx.out_shape, index, "output")
        xv, y, x = float(ctx.x[index]), label(index, "y"), label(index)
        common = dict(lhs=y, bias=None, receptive_field=[index], index=index)
        title = f"{self!r}: output {y} of sample {index[0]}"
        if ctx.mask is None:
            return Explanation(title=title + " (identity: eval mode or p = 0)", symbolic="y = x",
                               terms=[Term(x, (xv,), xv, index)], total=xv, kind="formula",
                               formula=x, **common)  # fmt: skip
        m = float(ctx.mask[index])
        return Explanation(
            title=f"{title}: {'kept, scaled by 1/(1-p)' if m else 'dropped'}",
            symbolic="y = x·mask, mask = 1/(1-p) with probability 1-p, else 0",
            terms=[Term(f"{x}·mask", (xv, m), xv * m, index)], total=xv * m, **common,
        )  # fmt: skip

    def explain_backward(self, ctx, grad_out, index, wrt: str = "input") -> Explanation:
        """dL/dx = g·mask (g when dropout is off)."""
        g, index = grad_for(self, ctx, grad_out, index, wrt)
        on, i, gv = ctx.mask is not None, ",".join(map(str, index[1:])), float(g[index])
        d, what = (float(ctx.mask[index]), "mask") if on else (1.0, "1 (identity)")
        return sum_of(
            f"{self!r}: dL/dx ({i}) of sample {index[0]}",
            "dL/dx = g·mask" if on else "dL/dx = g",
            f"dL/dx[{i}]",
            [Term(f"g[{i}]·{what}", (gv, d), gv * d, index)],
            index,
            [index],
            [index],
        )

    def spec(self):
        return {"type": "Dropout", "p": self.p}

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
