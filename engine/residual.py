"""Residual blocks: y = body(x) + skip(x), the skip an identity or a 1x1 convolution.

The block's context holds its children's contexts; explanations split an element into its body
and skip parts, and reach any parameter inside (wrt="0.weight", "projection.weight", ...).
"""

from __future__ import annotations

import numpy as np

from engine.activations import check_grad, check_input, check_shape, grad_for, label
from engine.explain import Explanation, Term, at, receptive_field, sum_of
from engine.model import Sequential, _check_layers, child_grad, explain_inside, layer_error
from engine.module import Context, Module


def _main_path(layers):
    """(first Conv2d in_channels, last Conv2d out_channels, (stride_h, stride_w)) of a body."""
    first = last = None
    sh = sw = 1
    for layer in layers:
        kind = type(layer).__name__
        if kind in ("Sequential", "Residual"):  # nested blocks: their main path counts too
            f, la, (h, w) = _main_path(layer.layers)
        elif kind == "Conv2d":
            f, la, (h, w) = layer.in_channels, layer.out_channels, layer.stride
        elif kind in ("MaxPool2d", "AvgPool2d"):  # stride: a (h, w) pair, the kernel's if unset
            f, la, (h, w) = None, None, layer.stride
        else:
            continue
        first = first if first is not None else f
        last = la if la is not None else last
        sh, sw = sh * h, sw * w
    return first, last, (sh, sw)


class Residual(Module):
    """y = layers(x) + x, or + projection(x) (a 1x1 Conv2d) when channels or stride change."""

    def __init__(self, *layers: Module, rng=None):
        if not layers:
            raise ValueError("Residual(): the body needs at least one layer")
        self.layers = _check_layers("Residual", layers)
        c_in, c_out, stride = _main_path(self.layers)
        self.projection = None
        if c_in is None and stride != (1, 1):
            raise ValueError(
                f"{self!r}: the body changes resolution (stride {stride}) but has no Conv2d "
                "to give the channel count of a projection"
            )
        if c_in is not None and (c_in != c_out or stride != (1, 1)):
            # on use: only a projection needs the Numba kernels
            from engine.conv import Conv2d, compact

            self.projection = Conv2d(c_in, c_out, 1, stride=compact(stride), rng=rng)

    def children(self):
        return self.layers + ([self.projection] if self.projection is not None else [])

    def named_children(self) -> list[tuple[str, Module]]:
        """Body layers by index, then "projection"."""
        named = [(str(i), layer) for i, layer in enumerate(self.layers)]
        return named + ([("projection", self.projection)] if self.projection is not None else [])

    def output_shape(self, in_shape):
        """The body's output shape, after checking that the skip path produces the same."""
        shape = check_shape(self, in_shape)
        body = shape
        for i, layer in enumerate(self.layers):
            try:
                body = tuple(layer.output_shape(body))
            except ValueError as e:
                raise ValueError(f"{self!r}: {layer_error(i, layer, e, 'body layer')}") from e
        skip = shape if self.projection is None else tuple(self.projection.output_shape(shape))
        if body != skip:
            if self.projection is None:
                why = "an identity skip needs a body that keeps the shape (e.g. 3x3 with padding 1)"
            else:
                formula = getattr(self.projection, "size_formula", None)
                detail = formula(shape) if formula else ""
                why = f"the projection {self.projection!r} gives {skip} ({detail})"
            raise ValueError(
                f"{self!r}: body output {body} does not match skip path {skip} for input "
                f"{shape}; {why}"
            )
        return body

    def field(self, x_shape, outs: set) -> set:
        """Input indices feeding outs through the body or the skip path."""
        body = Sequential.field(self, x_shape, outs)
        return body | (outs if self.projection is None else self.projection.field(x_shape, outs))

    def forward_ctx(self, x, rng=None):
        """body(x) + skip(x); the shapes are checked before any work is done."""
        x = check_input(self, x)
        self.output_shape(x.shape[1:])
        h, parts = x, []
        for layer in self.layers:
            h, ctx = layer.forward_ctx(h, rng)  # (N, C_out, H_out, W_out)
            parts.append(ctx)
        skip = x
        if self.projection is not None:
            skip, ctx = self.projection.forward_ctx(x, rng)
            parts.append(ctx)
        return h + skip.astype(h.dtype, copy=False), Context(x, h.shape, y=h, parts=tuple(parts))

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """The sum's gradient flows to both paths: grad_input = body' + skip'."""
        grad_out = check_grad(self, grad_out, ctx.out_shape, ctx.y.dtype)
        g = child_grad(self.layers, ctx.parts, grad_out, -1, accumulate)
        g_skip = grad_out
        if self.projection is not None:
            g_skip = self.projection.backward_ctx(ctx.parts[-1], grad_out, accumulate)
        return g + np.asarray(g_skip, dtype=g.dtype)

    def _skip(self, ctx, index) -> tuple[float, Term]:
        """The skip path's value at index and its term."""
        if self.projection is None:
            v = float(ctx.x[index])
            return v, Term(label(index), (v,), v, index)
        v = self.projection.explain_forward(ctx.parts[-1], index).total
        return v, Term(f"proj(x){label(index, '')}", (v,), v)

    def explain_forward(self, ctx, index) -> Explanation:
        """y = body(x) + skip(x) at one element."""
        index = at(self, ctx.out_shape, index, "output")
        body, (skip, skip_term) = float(ctx.y[index]), self._skip(ctx, index)
        proj = "x" if self.projection is None else "proj(x), proj = " + repr(self.projection)
        return Explanation(
            title=f"{self!r}: output {label(index, 'y')} of sample {index[0]}",
            symbolic=f"y = body(x) + {proj}", lhs=label(index, "y"),
            terms=[Term(f"body(x){label(index, '')}", (body,), body), skip_term], bias=None,
            total=body + skip, receptive_field=receptive_field(self, ctx.x.shape, index),
            index=index,
        )  # fmt: skip

    def explain_backward(self, ctx, grad_out, index, wrt: str = "input") -> Explanation:
        """dL/dx through the body plus through the skip, or a parameter inside ("0.weight")."""
        if "." in wrt:
            return explain_inside(self, ctx, grad_out, index, wrt)
        g, index = grad_for(self, ctx, grad_out, index, wrt)
        body = float(child_grad(self.layers, ctx.parts, g, -1, False)[index])
        i = ",".join(map(str, index[1:]))
        if self.projection is None:
            skip, skip_label = float(g[index]), f"g[{i}] (identity skip)"
        else:
            skip = float(self.projection.backward_ctx(ctx.parts[-1], g, False)[index])
            skip_label = "through proj (1x1 conv)"
        terms = [Term("through body", (body,), body), Term(skip_label, (skip,), skip)]
        return sum_of(f"{self!r}: dL/dx ({i}) of sample {index[0]}",
                      "dL/dx = (dbody/dx)ᵀ g + (dskip/dx)ᵀ g", f"dL/dx[{i}]", terms, index,
                      [index])  # fmt: skip

    def spec(self):
        return {"type": "Residual", "layers": [layer.spec() for layer in self.layers]}

    def __repr__(self) -> str:
        return f"Residual({', '.join(repr(layer) for layer in self.layers)})"
