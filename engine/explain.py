"""Explanations of single numbers: the Term/Explanation records, number formatting, helpers.

An Explanation says how ONE number of a layer's output (or of a gradient, or of a loss) was made,
with the real numbers filled in, so the TUI can render the equation and highlight the inputs.
Each operation explains itself beside its forward and backward (Conv2d.explain_forward in
engine/conv.py, ...), from the Context its forward returned; this module holds the records and
three conveniences that find that context for a plain input:

    from engine import explain_forward, explain_backward, explain_loss
    e = explain_forward(conv, x, (0, 0, 0, 0))   # x: the layer's input (N, C, H, W)
    e = conv.explain_forward(ctx, (0, 0, 0, 0))  # the same, from y, ctx = conv.forward_ctx(x)
    e.text()   # "(I*K)(0,0) = 4*1 + 3*0 + 2*(-1) + 4*1 + ... + 2*(-1) + 0 = 6"
    e.total    # 6.0, equals conv.forward(x)[0, 0, 0, 0]
    e.receptive_field   # [(0, 0, 0, 0), (0, 0, 0, 1), ...]: indices into x (n first)

Explanation fields (what the math pane renders):
    title: str            "Conv2d(1->1, k=3, s=1, p=0): output (0,0,0) of sample 0"
    symbolic: str         the general equation, e.g. "y[c,i,j] = Σ_{c',u,v} x[c',i+u,j+v]·w[...]"
    lhs: str              the left-hand side with this element's index, e.g. "(I*K)(0,0)"
    terms                 the Terms, in summation order: a list, or for big batch sums (weight
                          and bias gradients of a conv) a TermList that makes each Term on
                          access (len, index, slice and iteration work like a list)
    bias: float | None    the added bias (conv, linear), else None
    total: float          the value of the element (float64, computed from the same inputs; it
                          equals the engine's number up to the layer dtype's rounding)
    receptive_field: list of index tuples into the layer input x (n first) that feed this element
    index: tuple          the element explained (n first for layer outputs and input gradients)
    kind: str             how the terms combine: "sum" (+ bias), "max", "mean", or "formula"
    formula, formula_values   kind "formula": a template like "max(0, {0})" and its numbers
    winner: int | None    kind "max" and max-pool gradients: index into terms of the winner
    grad_field: list      backward only: indices into grad_out that feed this gradient element
    notes: list[str]      extra remarks (padding taps, dropped pixels, ...)
Term fields: label (e.g. "x[0,0,1]·w[0,0,0,1]"), factors (the numbers multiplied), value,
source (the x index the term reads, None for zero padding), template (display override).

Labels omit the sample n for per-sample quantities (layer outputs, input gradients); weight and
bias gradients sum over the batch, so their labels include n. Zero padding taps of a convolution
are kept as terms with x = 0 (label "pad[...]", source None) so a kh x kw kernel always shows
kh*kw products per channel; they are not in receptive_field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


def fmt(value: float, digits: int = 4) -> str:
    """A compact number: 6, 0.25, -1.5, 1.235e-05 (no trailing zeros, -0 shown as 0)."""
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if v == round(v) and abs(v) < 10**digits:
        return str(int(round(v)))
    s = f"{v:.{digits}g}"
    if "e" in s:  # 1.235e-05 -> 1.235e-5
        mantissa, exp = s.split("e")
        s = f"{mantissa}e{int(exp)}"
    return s


def fmt_factor(value: float, digits: int = 4) -> str:
    """fmt, with negatives in parentheses so they read well inside products and sums."""
    s = fmt(value, digits)
    return f"({s})" if s.startswith("-") else s


def sigmoid(v: float) -> float:
    """1 / (1 + exp(-v)) without overflow for any finite v (Sigmoid's explanations)."""
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)  # no overflow for very negative v
    return e / (1.0 + e)


@dataclass(frozen=True)
class Term:
    """One ingredient of an explained number: its label, the numbers multiplied, the result."""

    label: str
    factors: tuple[float, ...]
    value: float
    source: tuple[int, ...] | None = None  # the x index read; None for zero padding
    template: str = ""  # e.g. "({0} - {1})^2"; default: factors joined by "*"

    def show(self, digits: int = 4) -> str:
        """The term with its numbers, e.g. "2*(-1)"."""
        parts = [fmt_factor(f, digits) for f in self.factors]
        return self.template.format(*parts) if self.template else "*".join(parts)


class TermList(Sequence):
    """Terms made on demand: a weight gradient over a batch can have tens of thousands."""

    def __init__(self, count: int, make: Callable[[int], Term]):
        self._count, self._make = int(count), make

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self._make(i) for i in range(*k.indices(self._count))]
        k = int(k) + (self._count if k < 0 else 0)
        if not 0 <= k < self._count:
            raise IndexError(f"term {k} out of range (0..{self._count - 1})")
        return self._make(k)

    def __repr__(self) -> str:
        return f"TermList({self._count} terms)"


@dataclass
class Explanation:
    """How one output or gradient element is made (see the module docstring for the fields)."""

    title: str
    symbolic: str
    lhs: str
    terms: Sequence[Term]  # a list, or a TermList (same interface) for big batch sums
    bias: float | None
    total: float
    receptive_field: list[tuple[int, ...]]
    index: tuple[int, ...] = ()
    kind: str = "sum"  # "sum" | "max" | "mean" | "formula"
    formula: str = ""
    formula_values: tuple[float, ...] = ()
    winner: int | None = None
    grad_field: list[tuple[int, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self, max_terms: int = 9, digits: int = 4) -> str:
        """The equation with numbers, e.g. "(I*K)(0,0) = 4*1 + 3*0 + ... (9 terms) + 0 = 6"."""
        total = fmt(self.total, digits)
        if self.kind == "formula":
            values = [fmt_factor(v, digits) for v in self.formula_values]
            return f"{self.lhs} = {self.formula.format(*values)} = {total}"
        max_terms = max(1, int(max_terms))
        parts = [t.show(digits) for t in self.terms[:max_terms]]
        if len(self.terms) > max_terms:
            parts.append(f"... ({len(self.terms)} terms)")
        if self.kind == "max":
            body = f"max({', '.join(parts)})"
        elif self.kind == "mean":
            body = f"({' + '.join(parts)}) / {len(self.terms)}"
        else:
            body = " + ".join(parts) if parts else "0"
            if self.bias is not None:
                body += f" + {fmt_factor(self.bias, digits)}"
        return f"{self.lhs} = {body} = {total}"


def affine(out: str, stride: int, tap: str, pad: int) -> str:
    """An input coordinate like "2·i+u-1" with this layer's stride and padding filled in."""
    text = f"{out}+{tap}" if stride == 1 else f"{stride}·{out}+{tap}"
    return f"{text}-{pad}" if pad else text


def check_index(index, shape: tuple[int, ...], what: str) -> tuple[int, ...]:
    """index as a tuple of ints inside shape, else a ValueError naming what and the shape."""
    if isinstance(index, (int, np.integer)):
        index = (index,)
    try:
        index = tuple(int(i) for i in index)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: index must be a tuple of ints, got {index!r}") from None
    if len(index) != len(shape) or any(not 0 <= i < d for i, d in zip(index, shape, strict=True)):
        raise ValueError(f"{what}: index {index} is outside shape {tuple(shape)}")
    return index


def at(layer, shape, index, what: str) -> tuple[int, ...]:
    """check_index for `layer`'s output, input, weight or bias."""
    return check_index(index, tuple(shape), f"{layer!r} {what}")


def sum_of(title, symbolic, lhs, terms, index, field=(), grad_field=(), notes=(), total=None):
    """An Explanation of kind "sum" without bias (gradients); total = fsum of terms by default."""
    return Explanation(
        title=title, symbolic=symbolic, lhs=lhs, terms=terms, bias=None,
        total=math.fsum(t.value for t in terms) if total is None else total,
        receptive_field=list(field), index=index, grad_field=list(grad_field), notes=list(notes),
    )  # fmt: skip


def receptive_field(layer, x_shape, index) -> list[tuple[int, ...]]:
    """Indices into the input (shape x_shape, n first) that output element `index` depends on."""
    x_shape = tuple(int(d) for d in x_shape)
    out_shape = (x_shape[0], *layer.output_shape(x_shape[1:]))
    return sorted(layer.field(x_shape, {at(layer, out_shape, index, "output")}))


class _NoDraws:
    """A generator stand-in for explanations: a random layer asked to draw says what to do."""

    def random(self, *args, **kwargs):
        raise ValueError(
            "explain: x is not the input of this layer's last forward, and a new forward would "
            "draw new dropout masks: run forward(x) first, or explain from its context"
        )


def context_for(layer, x):
    """The layer's last context when its forward saw x (same shape and values), else a new one."""
    x = np.asarray(x)
    ctx = getattr(layer, "ctx", None)
    if ctx is not None and ctx.x.shape == x.shape and np.array_equal(ctx.x, x):
        return ctx
    return layer.forward_ctx(x, rng=_NoDraws())[1]


def explain_forward(layer, x, index) -> Explanation:
    """Explain output element `index` ((n, c, i, j) or (n, f)) of layer.forward(x)."""
    return layer.explain_forward(context_for(layer, x), index)


def explain_backward(layer, x, grad_out, index, wrt: str = "input") -> Explanation:
    """Explain element `index` of dL/d(input) (wrt "input") or of a parameter's gradient
    (wrt "weight", "bias", or a path inside a block such as "0.weight", "projection.bias")."""
    return layer.explain_backward(context_for(layer, x), grad_out, index, wrt)


def explain_loss(loss, pred, targets, index=None, *, grad=False) -> Explanation:
    """Explain a loss value, one sample's loss, a softmax probability, or a gradient element."""
    from engine.module import Context  # the loss explains from what its forward would save

    pred = np.asarray(pred)
    return loss.explain(Context(pred, pred.shape, targets=np.asarray(targets)), index, grad=grad)
