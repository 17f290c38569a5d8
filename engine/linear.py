"""Fully connected layers: Linear (y = x W^T + b) and Flatten ((N, C, H, W) -> (N, C*H*W)),
each with its forward, backward (from the context its forward returned) and explanations."""

from __future__ import annotations

import math

import numpy as np

from engine.activations import check_grad, check_input, check_shape, grad_for, label, positive_int
from engine.explain import Explanation, Term, at, sum_of
from engine.module import DEFAULT_DTYPE, Context, Module, Parameter, check_size, generator


class Linear(Module):
    """y = x W^T + b with weight (out_features, in_features) and bias (out_features,)."""

    def __init__(self, in_features: int, out_features: int, *, rng=None):
        label_ = f"Linear({in_features!r}->{out_features!r})"
        self.in_features = positive_int(label_, "in_features", in_features)
        self.out_features = positive_int(label_, "out_features", out_features)
        shape = (self.out_features, self.in_features)
        check_size(label_, "the weight", (2, *shape), np.float64)  # the draw, then its cast
        # PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weight first, then bias.
        bound, rng = 1.0 / math.sqrt(self.in_features), generator(rng)
        weight = rng.uniform(-bound, bound, size=shape).astype(DEFAULT_DTYPE)
        bias = rng.uniform(-bound, bound, size=self.out_features).astype(DEFAULT_DTYPE)
        self.weight = Parameter(weight, "weight")  # (out, in)
        self.bias = Parameter(bias, "bias")  # (out,)

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

    def field(self, x_shape, outs: set) -> set:
        """Every input feature of the samples in outs."""
        return {(n, k) for n, _ in outs for k in range(x_shape[1])}

    def forward_ctx(self, x, rng=None):
        """(N, in) -> (N, out), computed in the weight's dtype; the context keeps x, W, b."""
        x = check_input(self, x, ndims=(2, 4))
        self._check_features(x.shape[1:], "input")
        w, b = self.weight.value.copy(), self.bias.value.copy()  # the values this pass uses
        check_size(repr(self), "the output", (x.shape[0], self.out_features), w.dtype)
        x = x.astype(w.dtype, copy=False)  # (N, in)
        return x @ w.T + b, Context(x, (x.shape[0], self.out_features), weight=w, bias=b)

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """grad_input = grad_out W; accumulates grad_weight = grad_out^T x, grad_bias = sum."""
        grad_out = check_grad(self, grad_out, ctx.out_shape, ctx.weight.dtype)  # (N, out)
        if accumulate and self.weight.requires_grad:  # frozen: the optimizer skips it anyway
            self.weight.grad += grad_out.T @ ctx.x  # (out, in)
        if accumulate and self.bias.requires_grad:
            self.bias.grad += grad_out.sum(axis=0)  # (out,)
        return grad_out @ ctx.weight  # (N, in)

    def explain_forward(self, ctx, index) -> Explanation:
        """y[f] = Σ_k x[k]·W[f,k] + b[f]."""
        n, f = index = at(self, ctx.out_shape, index, "output")
        w = ctx.weight.astype(np.float64)  # (out, in)
        terms = [
            Term(
                f"x[{k}]·W[{f},{k}]",
                (float(ctx.x[n, k]), float(w[f, k])),
                float(ctx.x[n, k]) * float(w[f, k]),
                (n, k),
            )
            for k in range(w.shape[1])
        ]
        bias = float(ctx.bias[f])
        return Explanation(
            title=f"{self!r}: output {f} of sample {n}", symbolic="y[f] = Σ_k x[k]·W[f,k] + b[f]",
            lhs=f"y[{f}]", terms=terms, bias=bias,
            total=math.fsum([t.value for t in terms] + [bias]),
            receptive_field=[t.source for t in terms], index=index,
        )  # fmt: skip

    def explain_backward(self, ctx, grad_out, index, wrt: str = "input") -> Explanation:
        """dL/dx[k] = Σ_f g[f]·W[f,k]; dL/dW[f,k] = Σ_n g[n,f]·x[n,k]; dL/db[f] = Σ_n g[n,f]."""
        if wrt not in ("weight", "bias"):
            g, (n, k) = grad_for(self, ctx, grad_out, index, wrt)
            terms = [
                Term(
                    f"g[{f}]·W[{f},{k}]",
                    (float(g[n, f]), float(ctx.weight[f, k])),
                    float(g[n, f]) * float(ctx.weight[f, k]),
                )
                for f in range(g.shape[1])
            ]
            return sum_of(f"{self!r}: dL/dx[{k}] of sample {n}", "dL/dx[k] = Σ_f g[f]·W[f,k]",
                          f"dL/dx[{k}]", terms, (n, k), [(n, k)],
                          [(n, f) for f in range(g.shape[1])])  # fmt: skip
        g = check_grad(self, grad_out, ctx.out_shape, np.float64)
        N = g.shape[0]
        if wrt == "bias":
            (f,) = index = at(self, ctx.bias.shape, index, "bias")
            terms = [Term(f"g[{n},{f}]", (float(g[n, f]),), float(g[n, f])) for n in range(N)]
            return sum_of(f"{self!r}: dL/db[{f}]", "dL/db[f] = Σ_n g[n,f]", f"dL/db[{f}]",
                          terms, index, (), [(n, f) for n in range(N)])  # fmt: skip
        f, k = index = at(self, ctx.weight.shape, index, "weight")
        terms = [
            Term(
                f"g[{n},{f}]·x[{n},{k}]",
                (float(g[n, f]), float(ctx.x[n, k])),
                float(g[n, f]) * float(ctx.x[n, k]),
                (n, k),
            )
            for n in range(N)
        ]
        return sum_of(f"{self!r}: dL/dW[{f},{k}]", "dL/dW[f,k] = Σ_n g[n,f]·x[n,k]",
                      f"dL/dW[{f},{k}]", terms, index, [(n, k) for n in range(N)],
                      [(n, f) for n in range(N)])  # fmt: skip

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

    def output_shape(self, in_shape):
        """(C*H*W,) for (C, H, W); (F,) stays (F,)."""
        shape = check_shape(self, in_shape)
        return (math.prod(shape),)

    def field(self, x_shape, outs: set) -> set:
        """The one input element each flat output index comes from."""
        return {(n, *map(int, np.unravel_index(f, x_shape[1:]))) for n, f in outs}

    def forward_ctx(self, x, rng=None):
        """Reshape to (N, features) without copying when x is contiguous."""
        x = check_input(self, x, ndims=(2, 4))
        y = x.reshape(x.shape[0], -1)
        return y, Context(x, y.shape)

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """Reshape grad_out back to the input's shape."""
        return check_grad(self, grad_out, ctx.out_shape, ctx.x.dtype).reshape(ctx.x.shape)

    def explain_forward(self, ctx, index) -> Explanation:
        """y[f] = x[c,i,j] with f = c·H·W + i·W + j."""
        n, f = index = at(self, ctx.out_shape, index, "output")
        source = (n, *map(int, np.unravel_index(f, ctx.x.shape[1:])))
        xv = float(ctx.x[source])
        return Explanation(
            title=f"{self!r}: output {f} of sample {n}",
            symbolic="y[f] = x[c,i,j] with f = c·H·W + i·W + j (C order)", lhs=f"y[{f}]",
            terms=[Term(label(source), (xv,), xv, source)], bias=None, total=xv,
            receptive_field=[source], index=index, kind="formula", formula=label(source),
        )  # fmt: skip

    def explain_backward(self, ctx, grad_out, index, wrt: str = "input") -> Explanation:
        """dL/dx[c,i,j] = g[f] for the f it was flattened to."""
        g, index = grad_for(self, ctx, grad_out, index, wrt)
        n, i = index[0], ",".join(map(str, index[1:]))
        f = int(np.ravel_multi_index(index[1:], ctx.x.shape[1:]))
        gv = float(g[n, f])
        return sum_of(f"{self!r}: dL/dx ({i}) of sample {n}",
                      "dL/dx[c,i,j] = g[f], f = c·H·W + i·W + j", f"dL/dx[{i}]",
                      [Term(f"g[{f}]", (gv,), gv)], index, [index], [(n, f)])  # fmt: skip

    def __repr__(self) -> str:
        return "Flatten()"
