"""Sliding windows: the k x k window with stride s over padded input that Conv2d and the pools
share: argument checks, the output-size formula (with the numbers filled in), shape checks of a
batch before anything is allocated, and which input elements feed an output (its receptive
field).
"""

from __future__ import annotations

from itertools import product

import numpy as np

from engine.activations import check_input, is_int
from engine.module import Module, check_size


def compact(pair: tuple[int, int]):
    """An (h, w) pair as one int when h == w, as specs and names show it."""
    return pair[0] if pair[0] == pair[1] else pair


class Window2d(Module):
    """Shared by Conv2d and the pools: a k x k window sliding with stride s over padded input."""

    padded = True  # pools have no padding and show no 2p term
    mixes_channels = False  # a convolution's output reads every input channel, a pool's one

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

    def _check_batch(self, x, channels: int | None, dtype=None) -> tuple[np.ndarray, tuple]:
        """A validated contiguous batch (N, C, H, W) (in dtype if given) and the output shape."""
        x = np.asarray(x) if isinstance(x, (list, tuple)) else x
        if getattr(x, "ndim", 4) != 4:
            hw = x.shape[-2:] if x.ndim >= 2 else None
            raise ValueError(
                f"{self.name}: expects (N, C, H, W) input, got shape {x.shape}: {self._formula(hw)}"
            )
        x = check_input(self, x, ndims=(4,))
        (N, C, H, W), (ph, pw) = x.shape, self.padding
        h_out, w_out = self._out_hw(x.shape[1:], channels)
        out_shape = (N, C if channels is None else self.out_channels, h_out, w_out)
        dtype = dtype or x.dtype  # sizes checked before anything is allocated, copies included
        check_size(self.name, "the output", out_shape, dtype)
        check_size(self.name, "the padded input", (N, C, H + 2 * ph, W + 2 * pw), dtype)
        return np.ascontiguousarray(x, dtype=dtype), out_shape

    def _grad_out(self, ctx, grad_out, dtype) -> np.ndarray:
        """grad_out as a contiguous array of the forward's output shape, else ValueError."""
        grad_out = np.ascontiguousarray(grad_out, dtype=dtype)
        if grad_out.shape != ctx.out_shape:
            raise ValueError(
                f"{self.name}: grad_out has shape {grad_out.shape}, not {ctx.out_shape}"
            )
        return grad_out

    def field(self, x_shape, outs: set) -> set:
        """Input indices (n, c, r, s) inside the windows of the output indices outs."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        _, C, H, W = x_shape
        found = set()
        for n, c, i, j in outs:
            for cp in range(C) if self.mixes_channels else (c,):
                for u, v in product(range(kh), range(kw)):
                    r, s = i * sh + u - ph, j * sw + v - pw
                    if 0 <= r < H and 0 <= s < W:
                        found.add((n, cp, r, s))
        return found

    def __repr__(self) -> str:
        return self.name
