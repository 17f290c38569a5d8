"""Activations: ReLU, Sigmoid, Tanh (elementwise, NumPy) with their explanations, plus the input
checks every layer shares (one dtype policy, one size limit)."""

from __future__ import annotations

import math

import numpy as np

from engine.explain import Explanation, Term, at, sigmoid, sum_of
from engine.module import DEFAULT_DTYPE, Context, Module

_FLOATS = (np.float32, np.float64)


def is_int(value) -> bool:
    """An int or NumPy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def positive_int(owner: str, name: str, value) -> int:
    """value as an int >= 1, else ValueError "owner: name must be a positive integer"."""
    if not is_int(value) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def check_input(layer, x, ndims: tuple[int, ...] = (2, 4)) -> np.ndarray:
    """x as a float32/float64 array with an allowed ndim, else ValueError naming the layer.

    The one dtype policy of every layer: float32 and float64 are used as they are; integers
    (uint8 pixels) and float16 are computed in float32; bool, complex, strings, objects and
    anything else are refused, naming the layer and the dtype.
    """
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as e:  # ragged lists and the like
            raise ValueError(f"{layer!r}: input is not an array of numbers ({e})") from None
    if x.dtype.kind not in "fiu":
        raise ValueError(
            f"{layer!r}: input must be a real number array (float or integer), got dtype {x.dtype}"
        )
    if x.dtype.type not in _FLOATS:
        x = x.astype(DEFAULT_DTYPE)
    if x.ndim not in ndims:
        wanted = " or ".join({2: "(N, F)", 4: "(N, C, H, W)"}.get(n, f"{n}-D") for n in ndims)
        raise ValueError(f"{layer!r}: expected input {wanted}, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{layer!r}: input batch is empty, shape {x.shape}")
    return x


def check_grad(layer, grad_out, out_shape, dtype=None) -> np.ndarray:
    """grad_out as an array of the forward output's shape (cast to dtype), else a clear error."""
    grad_out = np.asarray(grad_out, dtype=dtype)
    if grad_out.shape != tuple(out_shape):
        raise ValueError(
            f"{layer!r}: grad_out shape {grad_out.shape} does not match the output shape "
            f"{tuple(out_shape)} of its forward"
        )
    return grad_out


def check_shape(layer, in_shape, lengths: tuple[int, ...] = (1, 3)) -> tuple[int, ...]:
    """A per-sample shape (C, H, W) or (F,) of positive ints, else ValueError naming the layer."""
    name = layer if isinstance(layer, str) else repr(layer)
    try:
        shape = tuple(int(d) for d in in_shape)
        ok = all(int(d) == d and not isinstance(d, bool) for d in in_shape)
    except (TypeError, ValueError):
        shape, ok = (), False
    if not ok or len(shape) not in lengths or any(d <= 0 for d in shape):
        wanted = " or ".join({1: "(F,)", 3: "(C, H, W)"}.get(n, f"{n}-D") for n in lengths)
        raise ValueError(f"{name}: expected a per-sample shape {wanted}, got {in_shape!r}")
    return shape


class Elementwise(Module):
    """Parameter-free elementwise layers: shapes, repr, and the one-number explanations."""

    symbolic = formula = derivative = ""  # e.g. "y = max(0, x)", "max(0, {0})", "1[x>0]"

    def output_shape(self, in_shape):
        """Same shape as the input."""
        return check_shape(self, in_shape)

    def field(self, x_shape, outs: set) -> set:
        """Input indices feeding the output indices outs: the same ones."""
        return set(outs)

    def value(self, v: float) -> float:
        """The function at one number, in float64 (what explanations show)."""
        raise NotImplementedError

    def slope(self, v: float) -> float:
        """The derivative at one number, in float64."""
        raise NotImplementedError

    def explain_forward(self, ctx: Context, index) -> Explanation:
        """y = f(x) at one element."""
        index = at(self, ctx.out_shape, index, "output")
        xv = float(ctx.x[index])
        return Explanation(
            title=f"{self!r}: output {label(index, 'y')} of sample {index[0]}",
            symbolic=self.symbolic, lhs=label(index, "y"),
            terms=[Term(label(index), (xv,), xv, index)], bias=None, total=self.value(xv),
            receptive_field=[index], index=index, kind="formula", formula=self.formula,
            formula_values=(xv,),
        )  # fmt: skip

    def explain_backward(self, ctx: Context, grad_out, index, wrt: str = "input") -> Explanation:
        """dL/dx = g·f'(x) at one element."""
        g, index = grad_for(self, ctx, grad_out, index, wrt)
        d, what, i = self.slope(float(ctx.x[index])), self.derivative, ",".join(map(str, index[1:]))
        term = Term(f"g[{i}]·{what}", (float(g[index]), d), float(g[index]) * d, index)
        return sum_of(f"{self!r}: dL/dx ({i}) of sample {index[0]}", f"dL/dx = g·{what}",
                      f"dL/dx[{i}]", [term], index, [index], [index])  # fmt: skip

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(Elementwise):
    """max(0, x); its gradient is 1 where x > 0 and 0 elsewhere (0 at x == 0, like PyTorch)."""

    symbolic, formula, derivative = "y = max(0, x)", "max(0, {0})", "1[x>0]"

    def forward_ctx(self, x, rng=None):
        """y = max(0, x), same shape and dtype as x; the context keeps the mask x > 0."""
        x = check_input(self, x)
        # np.maximum, not np.where(mask, x, 0): the latter is ~10x slower on large maps.
        return np.maximum(x, x.dtype.type(0)), Context(x, x.shape, mask=x > 0)

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """grad_input = grad_out where x > 0, else 0."""
        grad_out = check_grad(self, grad_out, ctx.out_shape, ctx.x.dtype)
        return np.multiply(grad_out, ctx.mask, dtype=grad_out.dtype)

    def value(self, v):
        return v if v > 0 else 0.0

    def slope(self, v):
        return 1.0 if v > 0 else 0.0


class Sigmoid(Elementwise):
    """1 / (1 + exp(-x)), computed without overflow for any finite x."""

    symbolic, formula, derivative = "y = 1 / (1 + exp(-x))", "1 / (1 + exp(-{0}))", "σ(x)(1-σ(x))"

    def forward_ctx(self, x, rng=None):
        """y = sigmoid(x); the context keeps y (the derivative is y (1 - y))."""
        x = check_input(self, x)
        half = x.dtype.type(0.5)
        # 0.5 * (1 + tanh(x/2)) equals the logistic function and never overflows exp().
        y = half * (np.tanh(half * x) + 1)
        return y, Context(x, x.shape, y=y)

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """grad_input = grad_out * y * (1 - y)."""
        grad_out = check_grad(self, grad_out, ctx.out_shape, ctx.x.dtype)
        return grad_out * (ctx.y * (1 - ctx.y))

    def value(self, v):
        return sigmoid(v)

    def slope(self, v):
        return sigmoid(v) * (1.0 - sigmoid(v))


class Tanh(Elementwise):
    """tanh(x)."""

    symbolic, formula, derivative = "y = tanh(x)", "tanh({0})", "(1-tanh²(x))"

    def forward_ctx(self, x, rng=None):
        """y = tanh(x); the context keeps y (the derivative is 1 - y^2)."""
        x = check_input(self, x)
        y = np.tanh(x)
        return y, Context(x, x.shape, y=y)

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """grad_input = grad_out * (1 - y^2)."""
        grad_out = check_grad(self, grad_out, ctx.out_shape, ctx.x.dtype)
        return grad_out * (1 - ctx.y * ctx.y)

    def value(self, v):
        return math.tanh(v)

    def slope(self, v):
        return 1.0 - math.tanh(v) ** 2


def label(index: tuple[int, ...], name: str = "x") -> str:
    """x[c,i,j] for (n, c, i, j): per-sample labels leave out the sample n."""
    return f"{name}[{','.join(map(str, index[1:]))}]"


def grad_for(layer, ctx: Context, grad_out, index, wrt: str):
    """(grad_out as float64, index into the input) for an input-gradient explanation."""
    if wrt != "input":
        what = "has no " + wrt if wrt in ("weight", "bias") else f"wrt must be 'input', got {wrt!r}"
        raise ValueError(f"explain_backward: {layer!r} {what}")
    g = np.asarray(grad_out, dtype=np.float64)
    if g.shape != tuple(ctx.out_shape):
        raise ValueError(f"{layer!r}: grad_out shape {g.shape}, expected {tuple(ctx.out_shape)}")
    return g, at(layer, ctx.x.shape, index, "input")
