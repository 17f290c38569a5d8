"""2-D convolution: the Conv2d layer (its Numba kernels live in engine/conv_kernels.py).

Forward: out[n, co, oh, ow] = b[co] + sum_{ci, i, j} w[co, ci, i, j] * xp[n, ci, oh*s + i, ow*s + j]
where xp is the input zero-padded by p on each side (a cross-correlation, as in PyTorch).
Backward: grad_bias sums grad_out; grad_weight correlates xp with grad_out; grad_input spreads
each grad_out element back over the input patch that made it (the transposed convolution),
computed by the forward kernels as a correlation of grad_out (spread out by the stride and
padded by k - 1) with the flipped kernel.
"""

from __future__ import annotations

import math

import numpy as np

from engine import conv_kernels
from engine.activations import is_int, positive_int
from engine.conv_kernels import (
    BLOCK,
    conv2d_forward_3x3_kernel,
    conv2d_forward_kernel,
    conv2d_grad_weight_3x3_kernel,
    conv2d_grad_weight_kernel,
    pad_buffer,
    pad_into_kernel,
)
from engine.module import DEFAULT_DTYPE, Module, Parameter, rng


def compact(pair: tuple[int, int]):
    """An (h, w) pair as one int when h == w, as specs and names show it."""
    return pair[0] if pair[0] == pair[1] else pair


class Window2d(Module):
    """Shared by Conv2d and the pools: a k x k window sliding with stride s over padded input."""

    padded = True  # pools have no padding and show no 2p term

    def _setup(self, kernel_size, stride, padding) -> None:
        """Validate and store kernel_size, stride, padding (ints or (h, w) pairs)."""
        for what, value, minimum in (("kernel_size", kernel_size, 1), ("stride", stride, 1),
                                     ("padding", padding, 0)):  # fmt: skip
            items = value if isinstance(value, (tuple, list)) else (value, value)
            if len(items) != 2 or not all(is_int(v) and v >= minimum for v in items):
                raise ValueError(
                    f"{self._raw_name}: {what} must be an int >= {minimum} or a pair of them,"
                    f" got {value!r} ({self._formula()})"
                )
            setattr(self, what, (int(items[0]), int(items[1])))

    def _formula(self, hw: tuple[int, int] | None = None) -> str:
        """The output-size formula for both axes, with the numbers when (H, W) is known."""
        sym = "+ 2p - k" if self.padded else "- k"
        if hw is None:
            return "; ".join(f"{a}_out = floor(({a} {sym}) / s) + 1" for a in "HW")
        parts = []
        for axis, n, k, s, p in zip(
            "HW", hw, self.kernel_size, self.stride, self.padding, strict=True
        ):
            size = (n + 2 * p - k) // s + 1
            num = f"{n} + {2 * p} - {k}" if self.padded else f"{n} - {k}"
            parts.append(f"{axis}_out = floor(({axis} {sym}) / s) + 1"
                         f" = floor(({num}) / {s}) + 1 = {size}")  # fmt: skip
        return "; ".join(parts)

    def size_formula(self, in_shape) -> str:
        """'H_out = floor((H + 2p - k) / s) + 1 = floor((28 + 2 - 3) / 1) + 1 = 28; W_out = ...'."""
        shape = tuple(int(d) for d in in_shape)
        return self._formula(shape[-2:] if len(shape) >= 2 else None)

    def _out_hw(self, in_shape, channels: int | None) -> tuple[int, int]:
        """Validate a per-sample (C, H, W) shape; the output (H_out, W_out)."""
        shape = tuple(int(d) for d in in_shape)
        hw = shape[-2:] if len(shape) >= 2 else None
        if len(shape) != 3 or min(shape) < 1:
            problem = f"expects (C, H, W) per sample, got shape {shape}"
        elif channels is not None and shape[0] != channels:
            problem = f"expects {channels} input channels, got shape {shape} with {shape[0]}"
        else:
            (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
            h, w = (shape[1] + 2 * ph - kh) // sh + 1, (shape[2] + 2 * pw - kw) // sw + 1
            if h >= 1 and w >= 1:
                return h, w
            problem = f"input {shape} is smaller than the {kh}x{kw} window" + (
                f" after padding {ph, pw}" if self.padded else ""
            )
        raise ValueError(f"{self.name}: {problem}: {self._formula(hw)}")

    def _check_batch(self, x: np.ndarray, channels: int | None) -> tuple[int, int]:
        """Validate a batch (N, C, H, W); the output (H_out, W_out)."""
        if x.ndim != 4:
            hw = x.shape[-2:] if x.ndim >= 2 else None
            raise ValueError(
                f"{self.name}: expects (N, C, H, W) input, got shape {x.shape}: {self._formula(hw)}"
            )
        return self._out_hw(x.shape[1:], channels)

    def __repr__(self) -> str:
        return self.name


class Conv2d(Window2d):
    """A 2-D convolution (cross-correlation) over (N, C, H, W) input, with bias."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        self._raw_name = (
            f"Conv2d({in_channels}->{out_channels}, k={kernel_size}, s={stride}, p={padding})"
        )
        self.in_channels = positive_int(self._raw_name, "in_channels", in_channels)
        self.out_channels = positive_int(self._raw_name, "out_channels", out_channels)
        self._setup(kernel_size, stride, padding)
        kh, kw = self.kernel_size
        bound = 1.0 / math.sqrt(self.in_channels * kh * kw)  # PyTorch's default: 1/sqrt(fan_in)
        w = rng().uniform(-bound, bound, (self.out_channels, self.in_channels, kh, kw))
        b = rng().uniform(-bound, bound, self.out_channels)
        self.weight = Parameter(w.astype(DEFAULT_DTYPE), "weight")
        self.bias = Parameter(b.astype(DEFAULT_DTYPE), "bias")
        self._workspaces: dict = {}
        self._xp = None  # padded input of the last forward, kept for backward

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
        """A zeroed padding buffer reused across calls (fresh large arrays cost page faults)."""
        full = (key, shape, np.dtype(dtype).str)
        buf = self._workspaces.get(full)
        if buf is None:
            if len(self._workspaces) >= 6:  # shapes keep changing (e.g. new batch sizes)
                self._workspaces.clear()
            buf = self._workspaces[full] = pad_buffer(shape, dtype)
        return buf

    def __getstate__(self) -> dict:
        # Copies (deepcopy, pickle) leave the reusable buffers behind; backward re-creates them.
        return {**self.__dict__, "_workspaces": {}}

    def _fast(self) -> bool:
        return self.kernel_size == (3, 3) and self.stride == (1, 1)

    def _serial(self, in_channels: int, out_shape) -> bool:
        """Few enough FLOPs that the kernels run faster on this thread than on the pool."""
        flops = 2 * math.prod(out_shape) * in_channels * math.prod(self.kernel_size)
        return flops < conv_kernels.SERIAL_BELOW_FLOPS

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = conv(x, weight) + bias; x (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
        x = np.asarray(x)
        h_out, w_out = self._check_batch(x, self.in_channels)
        dtype = self.weight.value.dtype
        x = np.ascontiguousarray(x, dtype=dtype)
        N, C, H, W = x.shape
        (ph, pw), w, b = self.padding, self.weight.value, self.bias.value
        out = np.empty((N, self.out_channels, h_out, w_out), dtype=dtype)
        serial = self._serial(C, out.shape)
        # Always a private copy (even with no padding): backward reads it, and the caller may
        # change x in place before then. The 3x3 kernels also need pad_buffer's slack.
        xp = self._workspace("xp", (N, C, H + 2 * ph, W + 2 * pw), dtype)  # border stays 0
        pad_into_kernel(x, xp, ph, pw, 1, 1, serial)
        self._xp = xp
        if self._fast():
            wpk, bpk = _pack3x3(w, b)
            conv2d_forward_3x3_kernel(xp, wpk, bpk, out, 0, 0, serial)
        else:
            conv2d_forward_kernel(xp, w, b, out, *self.stride, 0, 0, serial)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """grad_input for grad_out (N, C_out, H_out, W_out); accumulates weight and bias grads."""
        if self._xp is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        xp, dtype = self._xp, self.weight.value.dtype
        if self._fast() or xp.dtype != dtype:
            # After a copy (explain's twin, a pickle) or .to(dtype), xp is no longer one of our
            # slack-padded buffers: bring it back into one.
            buf = self._workspace("xp", xp.shape, dtype)
            if buf is not xp:
                buf[...] = xp
                xp = self._xp = buf
        (N, C, Hp, Wp), (ph, pw) = xp.shape, self.padding
        H, W = Hp - 2 * ph, Wp - 2 * pw
        expected = (N, *self.output_shape((C, H, W)))
        grad_out = np.ascontiguousarray(grad_out, dtype=dtype)
        if grad_out.shape != expected:
            raise ValueError(f"{self.name}: grad_out has shape {grad_out.shape}, not {expected}")
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        serial = self._serial(C, expected)
        if self.bias.requires_grad:  # frozen parameters get no gradient, as in PyTorch
            # (N, C_out, H_out, W_out) summed to (C_out,); einsum is 2-3x faster than .sum(axes)
            self.bias.grad += np.einsum("nchw->c", grad_out)
        if self.weight.requires_grad:
            if self._fast():
                conv2d_grad_weight_3x3_kernel(xp, grad_out, self.weight.grad, serial)
            else:
                conv2d_grad_weight_kernel(xp, grad_out, sh, sw, self.weight.grad, serial)
        # grad_input: grad_out spread out by the stride (s - 1 zeros between elements) and
        # zero-padded by k - 1, correlated at stride 1 with the flipped kernel, in/out channels
        # swapped; read from (p, p), so the gradient of the padding is never computed.
        gp = self._workspace("gp", (N, expected[1], Hp + kh - 1, Wp + kw - 1), dtype)
        pad_into_kernel(grad_out, gp, kh - 1, kw - 1, sh, sw, serial)
        w_t = self.weight.value[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_in, C_out, kh, kw)
        grad_input = np.empty((N, C, H, W), dtype=dtype)
        if (kh, kw) == (3, 3):  # any stride: the spread-out grad_out is correlated at stride 1
            wpk, bpk = _pack3x3(w_t, None)
            conv2d_forward_3x3_kernel(gp, wpk, bpk, grad_input, ph, pw, serial)
        else:
            w_t, zeros = np.ascontiguousarray(w_t), np.zeros(C, dtype=dtype)
            conv2d_forward_kernel(gp, w_t, zeros, grad_input, 1, 1, ph, pw, serial)
        return grad_input


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
