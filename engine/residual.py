"""Residual blocks: y = body(x) + skip(x), the skip an identity or a 1x1 convolution."""

from __future__ import annotations

import numpy as np

from engine.activations import check_grad, check_input, check_shape
from engine.model import _check_layers, layer_error
from engine.module import Module


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

    def __init__(self, *layers: Module):
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

            self.projection = Conv2d(c_in, c_out, 1, stride=compact(stride))
        self._out_shape, self._dtype = None, None

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

    def forward(self, x):
        """body(x) + skip(x); the shapes are checked before any work is done."""
        x = check_input(self, x)
        self.output_shape(x.shape[1:])
        h = x
        for layer in self.layers:
            h = layer.forward(h)  # (N, C_out, H_out, W_out)
        skip = x if self.projection is None else self.projection.forward(x)
        self._out_shape, self._dtype = h.shape, h.dtype
        return h + skip.astype(h.dtype, copy=False)

    def backward(self, grad_out):
        """The sum's gradient flows to both paths: grad_input = body' + skip'."""
        grad_out = check_grad(self, grad_out, self._out_shape, self._dtype)
        g = grad_out
        for layer in reversed(self.layers):
            g = layer.backward(g)
        g_skip = grad_out if self.projection is None else self.projection.backward(grad_out)
        return g + np.asarray(g_skip, dtype=g.dtype)

    def spec(self):
        return {"type": "Residual", "layers": [layer.spec() for layer in self.layers]}

    def __repr__(self) -> str:
        return f"Residual({', '.join(repr(layer) for layer in self.layers)})"
