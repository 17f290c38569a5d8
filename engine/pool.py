"""2-D pooling: MaxPool2d and AvgPool2d (no padding; stride defaults to the kernel size).

Max: out = the largest value in each window; backward routes grad_out to that one input
(ties: the first maximum in row-major window order wins, so the choice never depends on
threads). Average: out = the window's mean; backward spreads grad_out / (kh * kw) over it;
both run on the convolution kernels (a constant kernel applied to each channel on its own).
"""

from __future__ import annotations

import numpy as np

from engine import conv_kernels
from engine._jit import njit, pjit, prange
from engine.conv import Window2d, compact
from engine.conv_kernels import conv2d_forward_kernel, pad_into_kernel


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
                    if v > best:  # strict: an equal later value does not take over
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
        self._in_shape = None  # (N, C, H, W) of the last forward
        self._dtype = np.dtype(np.float32)

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

    def _prepare(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Validated contiguous float x, an empty output, and whether to run serially."""
        x = np.asarray(x)
        h_out, w_out = self._check_batch(x, None)
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float32)
        x = np.ascontiguousarray(x, dtype=dtype)
        self._in_shape, self._dtype = x.shape, dtype
        out = np.empty((x.shape[0], x.shape[1], h_out, w_out), dtype=dtype)
        return x, out, x.size < conv_kernels.SERIAL_BELOW_ELEMENTS

    def _grad(self, grad_out: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Validated contiguous grad_out, an empty grad_input, and whether to run serially."""
        if self._in_shape is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        N, C, H, W = self._in_shape
        expected = (N, *self.output_shape((C, H, W)))
        grad_out = np.ascontiguousarray(grad_out, dtype=self._dtype)
        if grad_out.shape != expected:
            raise ValueError(f"{self.name}: grad_out has shape {grad_out.shape}, not {expected}")
        grad_input = np.empty(self._in_shape, dtype=self._dtype)
        return grad_out, grad_input, grad_input.size < conv_kernels.SERIAL_BELOW_ELEMENTS


class MaxPool2d(_Pool2d):
    """Max pooling over k x k windows; remembers each window's winner for backward."""

    argmax: np.ndarray | None = None  # set by forward

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = window maxima; x (N, C, H, W) -> (N, C, H_out, W_out); sets self.argmax."""
        x, out, serial = self._prepare(x)
        # (N, C, H_out, W_out): index of each window's winner in its flattened H*W input plane
        self.argmax = np.empty(out.shape, dtype=np.int64)
        maxpool2d_forward_kernel(x, *self.kernel_size, *self.stride, out, self.argmax, serial)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """grad_input: each grad_out element goes to its window's winner."""
        grad_out, grad_input, serial = self._grad(grad_out)
        maxpool2d_backward_kernel(grad_out, self.argmax, grad_input, serial)
        return grad_input


class AvgPool2d(_Pool2d):
    """Average pooling over k x k windows."""

    # The mean of a window is a convolution of each channel on its own with a constant
    # 1 / (kh * kw) kernel: both directions run on the convolution kernels, with the channels
    # folded into the batch: (N, C, H, W) -> (N * C, 1, H, W).

    def _kernel(self) -> tuple[np.ndarray, np.ndarray]:
        """The (1, 1, kh, kw) constant kernel and a zero bias, in the input's dtype."""
        kh, kw = self.kernel_size
        return np.full((1, 1, kh, kw), 1.0 / (kh * kw), self._dtype), np.zeros(1, self._dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = window means; x (N, C, H, W) -> (N, C, H_out, W_out)."""
        x, out, serial = self._prepare(x)
        (N, C, H, W), (sh, sw) = x.shape, self.stride
        planes = out.reshape(N * C, 1, *out.shape[2:])
        w, b = self._kernel()
        conv2d_forward_kernel(x.reshape(N * C, 1, H, W), w, b, planes, sh, sw, 0, 0, serial)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """grad_input: each grad_out element spread evenly over its window."""
        grad_out, grad_input, serial = self._grad(grad_out)
        (N, C, H, W), (kh, kw), (sh, sw) = grad_input.shape, self.kernel_size, self.stride
        # As in Conv2d.backward: grad_out spread out by the stride and padded by k - 1,
        # correlated with the (flipped, but constant) kernel at stride 1.
        gp = np.zeros((N * C, 1, H + kh - 1, W + kw - 1), dtype=self._dtype)
        g = grad_out.reshape(N * C, 1, *grad_out.shape[2:])
        pad_into_kernel(g, gp, kh - 1, kw - 1, sh, sw, serial)
        w, b = self._kernel()
        conv2d_forward_kernel(gp, w, b, grad_input.reshape(N * C, 1, H, W), 1, 1, 0, 0, serial)
        return grad_input
