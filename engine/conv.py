"""2-D convolution: the Conv2d layer (its Numba kernels live in engine/conv_kernels.py).

Forward: out[n, co, oh, ow] = b[co] + sum_{ci, i, j} w[co, ci, i, j] * xp[n, ci, oh*s + i, ow*s + j]
where xp is the input zero-padded by p on each side (a cross-correlation, as in PyTorch).
Backward: grad_bias sums grad_out; grad_weight correlates xp with grad_out; grad_input spreads
each grad_out element back over the input patch that made it (the transposed convolution),
computed by the forward kernels as a correlation of grad_out (spread out by the stride and
padded by k - 1) with the flipped kernel. Explain: the patch, the kernel, the products, the bias
and the sum (zero-padding taps kept as x = 0 terms); gradients as chain-rule sums over the batch.
forward_ctx saves the padded input and the weights used; backward and explain read only those.
"""

from __future__ import annotations

import math
import weakref
from itertools import product

import numpy as np

from engine import conv_kernels
from engine.activations import check_grad, grad_for, positive_int
from engine.conv_kernels import (
    BLOCK,
    SLACK,
    conv2d_forward_3x3_kernel,
    conv2d_forward_kernel,
    conv2d_grad_weight_3x3_kernel,
    conv2d_grad_weight_kernel,
    pad_buffer,
    pad_into_kernel,
)
from engine.explain import Explanation, Term, TermList, affine, at, sum_of
from engine.module import DEFAULT_DTYPE, Context, Parameter, check_size, generator
from engine.window import Window2d, compact


class Conv2d(Window2d):
    """A 2-D convolution (cross-correlation) over (N, C, H, W) input, with bias."""

    mixes_channels = True  # each output reads every input channel

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *, rng=None):
        self._raw_name = (
            f"Conv2d({in_channels}->{out_channels}, k={kernel_size}, s={stride}, p={padding})"
        )
        self.in_channels = positive_int(self._raw_name, "in_channels", in_channels)
        self.out_channels = positive_int(self._raw_name, "out_channels", out_channels)
        self._setup(kernel_size, stride, padding)
        kh, kw = self.kernel_size
        shape = (self.out_channels, self.in_channels, kh, kw)
        check_size(self._raw_name, "the weight", (2, *shape), np.float64)  # the draw, its cast
        bound = 1.0 / math.sqrt(self.in_channels * kh * kw)  # PyTorch's default: 1/sqrt(fan_in)
        rng = generator(rng)
        w, b = rng.uniform(-bound, bound, shape), rng.uniform(-bound, bound, self.out_channels)
        self.weight = Parameter(w.astype(DEFAULT_DTYPE), "weight")
        self.bias = Parameter(b.astype(DEFAULT_DTYPE), "bias")
        self._workspaces: dict = {}

    @property
    def name(self) -> str:
        """The layer as shown in messages, e.g. 'Conv2d(1->8, k=3, s=1, p=0)'."""
        k, s, p = compact(self.kernel_size), compact(self.stride), compact(self.padding)
        return f"Conv2d({self.in_channels}->{self.out_channels}, k={k}, s={s}, p={p})"

    def own_parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def spec(self) -> dict:
        return {
            "type": "Conv2d",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": compact(self.kernel_size),
            "stride": compact(self.stride),
            "padding": compact(self.padding),
        }

    def output_shape(self, in_shape) -> tuple[int, int, int]:
        """Per-sample output shape (C_out, H_out, W_out); ValueError if impossible."""
        return (self.out_channels, *self._out_hw(in_shape, self.in_channels))

    def _workspace(self, key: str, shape: tuple, dtype) -> np.ndarray:
        """A zeroed padding buffer reused by backward (fresh large arrays cost page faults)."""
        full = (key, shape, np.dtype(dtype).str)
        buf = self._workspaces.get(full)
        if buf is None:
            if len(self._workspaces) >= 6:  # shapes keep changing (e.g. new batch sizes)
                self._workspaces.clear()
            buf = self._workspaces[full] = pad_buffer(shape, dtype)
        return buf

    def _padded(self, shape: tuple, dtype) -> tuple[np.ndarray, list]:
        """A zeroed buffer for a forward's padded input and its slot: one whose context has
        died is reused (the training loop alternates two), else a new one for the context."""
        key = ("xp", shape, np.dtype(dtype).str)
        if key not in self._workspaces and len(self._workspaces) >= 6:
            self._workspaces.clear()
        pool = self._workspaces.setdefault(key, [])
        for slot in pool:
            if slot[1]() is None:  # no context can read this buffer any more
                return slot[0], slot
        slot = [pad_buffer(shape, dtype), lambda: None]
        if len(pool) < 2:  # more live contexts (a Stepper's trace): they own their buffers
            pool.append(slot)
        return slot[0], slot

    def __getstate__(self) -> dict:
        # Copies (deepcopy, pickle) leave the reusable buffers behind; backward re-creates them.
        return {**self.__dict__, "_workspaces": {}}

    def _fast(self) -> bool:
        return self.kernel_size == (3, 3) and self.stride == (1, 1)

    def _serial(self, in_channels: int, out_shape) -> bool:
        """Few enough FLOPs that the kernels run faster on this thread than on the pool."""
        flops = 2 * math.prod(out_shape) * in_channels * math.prod(self.kernel_size)
        return flops < conv_kernels.SERIAL_BELOW_FLOPS

    def forward_ctx(self, x, rng=None):
        """y = conv(x, weight) + bias; x (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
        w, b = self.weight.value.copy(), self.bias.value.copy()  # the values this pass uses
        x, out_shape = self._check_batch(x, self.in_channels, w.dtype)
        N, C, H, W = x.shape
        ph, pw = self.padding
        out = np.empty(out_shape, dtype=w.dtype)
        serial = self._serial(C, out.shape)
        # The context's own copy (even with no padding): the caller may change x in place
        # before backward. The 3x3 kernels also need pad_buffer's slack.
        xp, slot = self._padded((N, C, H + 2 * ph, W + 2 * pw), w.dtype)  # the border stays 0
        pad_into_kernel(x, xp, ph, pw, 1, 1, serial)
        if self._fast():
            wpk, bpk = _pack3x3(w, b)
            conv2d_forward_3x3_kernel(xp, wpk, bpk, out, 0, 0, serial)
        else:
            conv2d_forward_kernel(xp, w, b, out, *self.stride, 0, 0, serial)
        x = xp[:, :, ph : ph + H, pw : pw + W]  # a view of the private copy
        ctx = Context(x, out.shape, weight=w, bias=b, xp=xp)
        slot[1] = weakref.ref(ctx)  # the buffer is this context's while it lives
        return out, ctx

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """grad_input for grad_out (N, C_out, H_out, W_out); accumulates weight and bias grads."""
        xp, w = ctx.xp, ctx.weight
        if xp.base is None or xp.base.size < xp.size + SLACK:  # a copied context: no slack
            xp = pad_buffer(xp.shape, xp.dtype)
            xp[...] = ctx.xp
        (N, C, Hp, Wp), (ph, pw), dtype = xp.shape, self.padding, w.dtype
        H, W = Hp - 2 * ph, Wp - 2 * pw
        grad_out = self._grad_out(ctx, grad_out, dtype)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        serial = self._serial(C, ctx.out_shape)
        if accumulate and self.bias.requires_grad:  # frozen: no gradient, as in PyTorch
            # (N, C_out, H_out, W_out) summed to (C_out,); einsum is 2-3x faster than .sum(axes)
            self.bias.grad += np.einsum("nchw->c", grad_out)
        if accumulate and self.weight.requires_grad:
            if self._fast():
                conv2d_grad_weight_3x3_kernel(xp, grad_out, self.weight.grad, serial)
            else:
                conv2d_grad_weight_kernel(xp, grad_out, sh, sw, self.weight.grad, serial)
        # grad_input: grad_out spread out by the stride (s - 1 zeros between elements) and
        # zero-padded by k - 1, correlated at stride 1 with the flipped kernel, in/out channels
        # swapped. The gradient of the padding is never computed: the first min(p, k - 1) rows
        # and columns of that padding are left out of the buffer and reading starts p beyond
        # them (3x3, p = 1: rows of 34, not 36, floats; the kernel computes 6% fewer outputs).
        (top, oy0, Hg), (left, ox0, Wg) = (
            _spread_layout(n, k, s, p, go)
            for n, k, s, p, go in ((H, kh, sh, ph, grad_out.shape[2]),
                                   (W, kw, sw, pw, grad_out.shape[3]))
        )  # fmt: skip
        gp = self._workspace("gp", (N, grad_out.shape[1], Hg, Wg), dtype)
        pad_into_kernel(grad_out, gp, top, left, sh, sw, serial)
        w_t = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_in, C_out, kh, kw)
        grad_input = np.empty((N, C, H, W), dtype=dtype)
        if (kh, kw) == (3, 3):  # any stride: the spread-out grad_out is correlated at stride 1
            wpk, bpk = _pack3x3(w_t, None)
            conv2d_forward_3x3_kernel(gp, wpk, bpk, grad_input, oy0, ox0, serial)
        else:
            w_t, zeros = np.ascontiguousarray(w_t), np.zeros(C, dtype=dtype)
            conv2d_forward_kernel(gp, w_t, zeros, grad_input, 1, 1, oy0, ox0, serial)
        return grad_input

    def explain_forward(self, ctx, index) -> Explanation:
        """y[c,i,j] = Σ x[c', i·s+u-p, j·s+v-p]·w[c,c',u,v] + b[c]: patch, kernel, products, sum."""
        n, c, i, j = index = at(self, ctx.out_shape, index, "output")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        w, x = ctx.weight.astype(np.float64), ctx.x  # (C_out, C_in, kh, kw), (N, C, H, W)
        _, C, H, W = x.shape
        terms, field, pads = [], [], 0
        for cp, u, v in product(range(C), range(kh), range(kw)):
            r, s, wv = i * sh + u - ph, j * sw + v - pw, float(w[c, cp, u, v])
            if 0 <= r < H and 0 <= s < W:
                xv, label, source = float(x[n, cp, r, s]), f"x[{cp},{r},{s}]", (n, cp, r, s)
                field.append(source)
            else:  # a zero-padding tap: shown with x = 0
                xv, label, source, pads = 0.0, f"pad[{cp},{r},{s}]", None, pads + 1
            terms.append(Term(f"{label}·w[{c},{cp},{u},{v}]", (xv, wv), xv * wv, source))
        bias = float(ctx.bias[c])
        row, col = affine("i", sh, "u", ph), affine("j", sw, "v", pw)
        return Explanation(
            title=f"{self!r}: output ({c},{i},{j}) of sample {n}",
            symbolic=f"y[c,i,j] = Σ_{{c',u,v}} x[c',{row},{col}]·w[c,c',u,v] + b[c]",
            lhs=f"(I*K)({i},{j})" if w.shape[:2] == (1, 1) else f"y[{c},{i},{j}]",
            terms=terms, bias=bias, total=math.fsum([t.value for t in terms] + [bias]),
            receptive_field=field, index=index,
            notes=[f"{pads} of {len(terms)} taps fall on zero padding (x = 0)"] if pads else [],
        )  # fmt: skip

    def explain_backward(self, ctx, grad_out, index, wrt: str = "input") -> Explanation:
        """One element of dL/dx (a sum over the outputs that read it), dL/dw or dL/db."""
        if wrt not in ("weight", "bias"):
            return self._explain_grad_input(ctx, *grad_for(self, ctx, grad_out, index, wrt))
        g = check_grad(self, grad_out, ctx.out_shape, np.float64)
        (sh, sw), (ph, pw) = self.stride, self.padding
        N, C, H, W = ctx.x.shape
        _, _, Ho, Wo = g.shape
        if wrt == "bias":
            (c,) = index = at(self, ctx.bias.shape, index, "bias")
            gs = g[:, c]  # (N, Ho, Wo)

            def bias_term(k: int) -> Term:
                n, i, j = np.unravel_index(k, gs.shape)
                return Term(f"g[{n},{c},{i},{j}]", (float(gs[n, i, j]),), float(gs[n, i, j]))

            return sum_of(f"{self!r}: dL/db[{c}]", "dL/db[c] = Σ_{n,i,j} g[n,c,i,j]",
                          f"dL/db[{c}]", TermList(gs.size, bias_term), index, (),
                          list(product(range(N), (c,), range(Ho), range(Wo))),
                          total=math.fsum(gs.ravel().tolist()))  # fmt: skip
        c, cp, u, v = index = at(self, ctx.weight.shape, index, "weight")
        rows, cols = np.arange(Ho) * sh + u, np.arange(Wo) * sw + v  # in padded coordinates
        xs = ctx.xp[:, cp].astype(np.float64)[:, rows[:, None], cols[None, :]]  # (N, Ho, Wo)
        gs = g[:, c]  # (N, Ho, Wo): xs is the x each g meets
        rows, cols = rows - ph, cols - pw  # input coordinates (outside: padding)
        inside = [(int(r), int(s)) for r in rows for s in cols if 0 <= r < H and 0 <= s < W]

        def term(k: int) -> Term:
            n, i, j = np.unravel_index(k, gs.shape)
            r, s, gv, xv = int(rows[i]), int(cols[j]), float(gs[n, i, j]), float(xs[n, i, j])
            inner = 0 <= r < H and 0 <= s < W
            label = f"g[{n},{c},{i},{j}]·{'x' if inner else 'pad'}[{n},{cp},{r},{s}]"
            return Term(label, (gv, xv), gv * xv, (int(n), cp, r, s) if inner else None)

        return sum_of(
            f"{self!r}: dL/dw[{c},{cp},{u},{v}]",
            f"dL/dw[c,c',u,v] = Σ_{{n,i,j}} g[n,c,i,j]·x[n,c',{affine('i', sh, 'u', ph)},"
            f"{affine('j', sw, 'v', pw)}]",
            f"dL/dw[{c},{cp},{u},{v}]", TermList(gs.size, term), index,
            [(n, cp, r, s) for n in range(N) for r, s in inside],
            list(product(range(N), (c,), range(Ho), range(Wo))),
            total=math.fsum((gs * xs).ravel().tolist()),
        )  # fmt: skip

    def _explain_grad_input(self, ctx, g, index) -> Explanation:
        """dL/dx[c',r,s] = Σ g[c,i,j]·w[c,c',u,v] over the outputs whose window holds (r, s)."""
        n, cp, r, s = index
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        _, C_out, Ho, Wo = g.shape
        terms, gf = [], []
        for c, u, v in product(range(C_out), range(kh), range(kw)):
            (i, ri), (j, rj) = divmod(r + ph - u, sh), divmod(s + pw - v, sw)
            if ri or rj or not (0 <= i < Ho and 0 <= j < Wo):
                continue
            gv, wv = float(g[n, c, i, j]), float(ctx.weight[c, cp, u, v])
            terms.append(Term(f"g[{c},{i},{j}]·w[{c},{cp},{u},{v}]", (gv, wv), gv * wv))
            gf.append((n, c, i, j))
        return sum_of(
            f"{self!r}: dL/dx ({cp},{r},{s}) of sample {n}",
            f"dL/dx[c',r,s] = Σ_{{c,u,v: r = {affine('i', sh, 'u', ph)}, "
            f"s = {affine('j', sw, 'v', pw)}}} g[c,i,j]·w[c,c',u,v]",
            f"dL/dx[{cp},{r},{s}]", terms, index, [index], gf,
        )  # fmt: skip


def _spread_layout(size: int, k: int, s: int, p: int, out: int) -> tuple[int, int, int]:
    """Along one axis of grad_input's correlation: where grad_out starts in the buffer, where
    reading starts, and the buffer's length, for an input of `size` and `out` outputs."""
    cut = min(p, k - 1)  # leading zeros of the full (k - 1) padding that nothing reads
    start, read = k - 1 - cut, p - cut
    return start, read, max(read + size + k - 1, start + (out - 1) * s + 1)


def _pack3x3(w: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Weights (Co, Ci, 3, 3) as (Co rounded up to BLOCK, Ci, 9) and a bias, zero-filled."""
    co, ci = w.shape[:2]
    cpad = -(-co // BLOCK) * BLOCK
    wpk = np.zeros((cpad, ci, 9), dtype=w.dtype)
    wpk[:co] = w.reshape(co, ci, 9)
    bpk = np.zeros(cpad, dtype=w.dtype)
    if b is not None:
        bpk[:co] = b
    return wpk, bpk
