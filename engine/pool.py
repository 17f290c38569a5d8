"""2-D pooling: MaxPool2d and AvgPool2d (no padding; stride defaults to the kernel size).

Max: out = the largest value in each window; backward routes grad_out to that one input
(ties: the first maximum in row-major window order wins, so the choice never depends on
threads; NaN wins over numbers, as in PyTorch). Average: out = the window's mean; backward
spreads grad_out / (kh * kw) over it; both run on the convolution kernels (a constant kernel
applied to each channel on its own). Explain: the window and its winner, or its mean.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np

from engine import conv_kernels
from engine._jit import njit, pjit, prange
from engine.activations import grad_for
from engine.conv_kernels import conv2d_forward_kernel, pad_into_kernel
from engine.explain import Explanation, Term, affine, at, sum_of
from engine.module import Context
from engine.window import Window2d, compact


@njit
def _maxpool_forward_task(x, kh, kw, sh, sw, out, argmax, n, c):
    plane, W = x[n, c], x.shape[3]
    for oh in range(out.shape[2]):
        for ow in range(out.shape[3]):
            h0, w0 = oh * sh, ow * sw
            best = plane[h0, w0]
            where = h0 * W + w0
            for i in range(kh):
                for j in range(kw):
                    v = plane[h0 + i, w0 + j]
                    # strict: an equal later value does not take over; NaN always does (the
                    # last NaN wins, as in PyTorch's max_pool2d): divergence stays visible
                    if v > best or v != v:
                        best = v
                        where = (h0 + i) * W + w0 + j
            out[n, c, oh, ow] = best
            argmax[n, c, oh, ow] = where


@pjit
def maxpool2d_forward_kernel(x, kh, kw, sh, sw, out, argmax, serial):
    """out = window maxima of x (N, C, H, W); argmax = each winner's index in its H*W plane."""
    C = x.shape[1]
    if serial:  # a task owns one (n, c) plane
        for task in range(x.shape[0] * C):
            _maxpool_forward_task(x, kh, kw, sh, sw, out, argmax, task // C, task % C)
    else:
        for task in prange(x.shape[0] * C):
            _maxpool_forward_task(x, kh, kw, sh, sw, out, argmax, task // C, task % C)


@njit
def _maxpool_backward_task(grad_out, argmax, flat, n, c):
    dst = flat[n, c]  # (H * W,)
    dst[:] = 0
    for oh in range(grad_out.shape[2]):
        for ow in range(grad_out.shape[3]):
            dst[argmax[n, c, oh, ow]] += grad_out[n, c, oh, ow]


@pjit
def maxpool2d_backward_kernel(grad_out, argmax, grad_input, serial):
    """grad_input = grad_out routed to each window's winner (summed where windows overlap)."""
    N, C, H, W = grad_input.shape
    flat = grad_input.reshape(N, C, H * W)
    if serial:  # a task owns one (n, c) plane
        for task in range(N * C):
            _maxpool_backward_task(grad_out, argmax, flat, task // C, task % C)
    else:
        for task in prange(N * C):
            _maxpool_backward_task(grad_out, argmax, flat, task // C, task % C)


class _Pool2d(Window2d):
    """Validation, shapes and spec shared by the two pools."""

    padded = False

    def __init__(self, kernel_size, stride=None):
        kind = type(self).__name__
        self._raw_name = f"{kind}(k={kernel_size}, s={stride})"
        self._setup(kernel_size, kernel_size if stride is None else stride, 0)

    @property
    def name(self) -> str:
        """The layer as shown in messages, e.g. 'MaxPool2d(k=2, s=2)'."""
        return f"{type(self).__name__}(k={compact(self.kernel_size)}, s={compact(self.stride)})"

    def spec(self) -> dict:
        return {
            "type": type(self).__name__,
            "kernel_size": compact(self.kernel_size),
            "stride": compact(self.stride),
        }

    def output_shape(self, in_shape) -> tuple[int, int, int]:
        """Per-sample output shape (C, H_out, W_out); ValueError if impossible."""
        h_out, w_out = self._out_hw(in_shape, None)
        return int(in_shape[0]), h_out, w_out

    def _grad(self, ctx, grad_out) -> tuple[np.ndarray, np.ndarray, bool]:
        """Validated contiguous grad_out, an empty grad_input, and whether to run serially."""
        grad_out = self._grad_out(ctx, grad_out, ctx.x.dtype)
        grad_input = np.empty(ctx.x.shape, dtype=ctx.x.dtype)
        return grad_out, grad_input, grad_input.size < conv_kernels.SERIAL_BELOW_ELEMENTS

    def explain_forward(self, ctx, index) -> Explanation:
        """The window, and its winner (max) or its mean."""
        n, c, i, j = index = at(self, ctx.out_shape, index, "output")
        (kh, kw), (sh, sw), x = self.kernel_size, self.stride, ctx.x
        terms = []
        for r, s in product(range(i * sh, i * sh + kh), range(j * sw, j * sw + kw)):
            terms.append(Term(f"x[{c},{r},{s}]", (float(x[n, c, r, s]),), float(x[n, c, r, s]),
                              (n, c, r, s)))  # fmt: skip
        row, col = affine("i", sh, "u", 0), affine("j", sw, "v", 0)
        what = f"output ({c},{i},{j}) of sample {n}"
        common = dict(lhs=f"y[{c},{i},{j}]", terms=terms, bias=None, index=index,
                      receptive_field=[t.source for t in terms])  # fmt: skip
        if isinstance(self, AvgPool2d):
            return Explanation(
                title=f"{self!r}: {what}", kind="mean",
                symbolic=f"y[c,i,j] = (1/{kh * kw}) Σ_{{u<{kh},v<{kw}}} x[c,{row},{col}]",
                total=math.fsum(t.value for t in terms) / len(terms), **common,
            )  # fmt: skip
        flat = ctx.argmax[index]  # the kernel's winner, in its H*W plane
        winner = (flat // x.shape[3] - i * sh) * kw + flat % x.shape[3] - j * sw
        return Explanation(
            title=f"{self!r}: {what}; winner {terms[winner].label}", kind="max", winner=winner,
            symbolic=f"y[c,i,j] = max_{{u<{kh},v<{kw}}} x[c,{row},{col}]",
            total=terms[winner].value, **common,
        )  # fmt: skip

    def explain_backward(self, ctx, grad_out, index, wrt: str = "input") -> Explanation:
        """Max: g routed to each window's winner; average: g / (kh·kw) from each window."""
        g, (n, c, r, s) = grad_for(self, ctx, grad_out, index, wrt)
        (kh, kw), (sh, sw), W = self.kernel_size, self.stride, ctx.x.shape[3]
        is_max, terms, gf, winner = isinstance(self, MaxPool2d), [], [], None
        for i, j in product(range(g.shape[2]), range(g.shape[3])):
            if not (i * sh <= r < i * sh + kh and j * sw <= s < j * sw + kw):
                continue
            gv = float(g[n, c, i, j])
            gf.append((n, c, i, j))
            if is_max:
                best = divmod(int(ctx.argmax[n, c, i, j]), W)
                wins = best == (r, s)
                how = "wins" if wins else f"loses to x[{c},{best[0]},{best[1]}]"
                terms.append(Term(f"g[{c},{i},{j}]·1[x[{c},{r},{s}] {how}]",
                                  (gv, float(wins)), gv * float(wins)))  # fmt: skip
                winner = len(terms) - 1 if wins and winner is None else winner
            else:
                k = 1.0 / (kh * kw)
                terms.append(Term(f"g[{c},{i},{j}]/{kh * kw}", (gv, k), gv * k))
        notes = [] if terms else ["no pooling window covers this pixel (floor in the size formula)"]
        what = "1[x[c,r,s] is the max]" if is_max else f" / {kh * kw}"
        e = sum_of(f"{self!r}: dL/dx ({c},{r},{s}) of sample {n}",
                   f"dL/dx[c,r,s] = Σ_{{windows (i,j) holding (r,s)}} g[c,i,j]{'·' * is_max}{what}",
                   f"dL/dx[{c},{r},{s}]", terms, (n, c, r, s), [(n, c, r, s)], gf,
                   notes)  # fmt: skip
        e.winner = winner
        return e


class MaxPool2d(_Pool2d):
    """Max pooling over k x k windows; the context keeps each window's winner for backward."""

    def forward_ctx(self, x, rng=None):
        """y = window maxima; x (N, C, H, W) -> (N, C, H_out, W_out); the context keeps argmax."""
        x, out_shape = self._check_batch(x, None)
        out = np.empty(out_shape, dtype=x.dtype)
        # (N, C, H_out, W_out): index of each window's winner in its flattened H*W input plane
        argmax = np.empty(out.shape, dtype=np.int64)
        serial = x.size < conv_kernels.SERIAL_BELOW_ELEMENTS
        maxpool2d_forward_kernel(x, *self.kernel_size, *self.stride, out, argmax, serial)
        return out, Context(x, out.shape, argmax=argmax)

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """grad_input: each grad_out element goes to its window's winner."""
        grad_out, grad_input, serial = self._grad(ctx, grad_out)
        maxpool2d_backward_kernel(grad_out, ctx.argmax, grad_input, serial)
        return grad_input


class AvgPool2d(_Pool2d):
    """Average pooling over k x k windows."""

    # The mean of a window is a convolution of each channel on its own with a constant
    # 1 / (kh * kw) kernel: both directions run on the convolution kernels, with the channels
    # folded into the batch: (N, C, H, W) -> (N * C, 1, H, W).

    def _kernel(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """The (1, 1, kh, kw) constant kernel and a zero bias, in dtype."""
        kh, kw = self.kernel_size
        return np.full((1, 1, kh, kw), 1.0 / (kh * kw), dtype), np.zeros(1, dtype)

    def forward_ctx(self, x, rng=None):
        """y = window means; x (N, C, H, W) -> (N, C, H_out, W_out)."""
        x, out_shape = self._check_batch(x, None)
        out = np.empty(out_shape, dtype=x.dtype)
        (N, C, H, W), (sh, sw) = x.shape, self.stride
        planes = out.reshape(N * C, 1, *out.shape[2:])
        w, b = self._kernel(x.dtype)
        serial = x.size < conv_kernels.SERIAL_BELOW_ELEMENTS
        conv2d_forward_kernel(x.reshape(N * C, 1, H, W), w, b, planes, sh, sw, 0, 0, serial)
        return out, Context(x, out.shape)

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """grad_input: each grad_out element spread evenly over its window."""
        grad_out, grad_input, serial = self._grad(ctx, grad_out)
        (N, C, H, W), (kh, kw), (sh, sw) = grad_input.shape, self.kernel_size, self.stride
        # As in Conv2d.backward: grad_out spread out by the stride and padded by k - 1,
        # correlated with the (flipped, but constant) kernel at stride 1.
        gp = np.zeros((N * C, 1, H + kh - 1, W + kw - 1), dtype=grad_input.dtype)
        g = grad_out.reshape(N * C, 1, *grad_out.shape[2:])
        pad_into_kernel(g, gp, kh - 1, kw - 1, sh, sw, serial)
        w, b = self._kernel(grad_input.dtype)
        conv2d_forward_kernel(gp, w, b, grad_input.reshape(N * C, 1, H, W), 1, 1, 0, 0, serial)
        return grad_input
