"""Slow, obviously-correct NumPy references for the engine's kernels (tests only).

Each one loops over output positions and computes the textbook formula on one window, in
float64, so it shares no code or tricks with the Numba kernels it checks.
"""

from __future__ import annotations

import numpy as np


def _pad(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    ph, pw = padding
    return np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _out_size(n: int, k: int, s: int) -> int:
    return (n - k) // s + 1


def conv2d_forward_ref(x, w, b, stride=(1, 1), padding=(0, 0)) -> np.ndarray:
    """out[n, co, oh, ow] = b[co] + sum(xp[n, :, window] * w[co]), in float64."""
    xp = _pad(x, padding)
    (sh, sw), (kh, kw) = stride, w.shape[2:]
    N, Hp, Wp, Co = xp.shape[0], xp.shape[2], xp.shape[3], w.shape[0]
    out = np.zeros((N, Co, _out_size(Hp, kh, sh), _out_size(Wp, kw, sw)))
    for n, co, oh, ow in np.ndindex(out.shape):
        patch = xp[n, :, oh * sh : oh * sh + kh, ow * sw : ow * sw + kw]
        out[n, co, oh, ow] = np.sum(patch * w[co]) + b[co]
    return out


def conv2d_backward_ref(x, w, grad_out, stride=(1, 1), padding=(0, 0)):
    """(grad_input, grad_weight, grad_bias) of sum(out * grad_out), in float64."""
    xp = _pad(x, padding)
    (sh, sw), (ph, pw), (kh, kw) = stride, padding, w.shape[2:]
    w = w.astype(np.float64)
    grad_xp = np.zeros_like(xp)
    grad_w = np.zeros_like(w)
    for n, co, oh, ow in np.ndindex(grad_out.shape):
        g = float(grad_out[n, co, oh, ow])
        window = (n, slice(None), slice(oh * sh, oh * sh + kh), slice(ow * sw, ow * sw + kw))
        grad_xp[window] += g * w[co]
        grad_w[co] += g * xp[window]
    H, W = x.shape[2], x.shape[3]
    grad_b = grad_out.astype(np.float64).sum(axis=(0, 2, 3))
    return grad_xp[:, :, ph : ph + H, pw : pw + W], grad_w, grad_b


def maxpool2d_ref(x, kernel, stride, grad_out=None):
    """(out, argmax, grad_input): np.argmax picks the first maximum in row-major order."""
    (kh, kw), (sh, sw) = kernel, stride
    N, C, H, W = x.shape
    out = np.zeros((N, C, _out_size(H, kh, sh), _out_size(W, kw, sw)))
    argmax = np.zeros(out.shape, dtype=np.int64)
    grad_input = np.zeros((N, C, H, W))
    for n, c, oh, ow in np.ndindex(out.shape):
        patch = x[n, c, oh * sh : oh * sh + kh, ow * sw : ow * sw + kw]
        i, j = divmod(int(np.argmax(patch)), kw)
        out[n, c, oh, ow] = patch[i, j]
        argmax[n, c, oh, ow] = (oh * sh + i) * W + ow * sw + j
        if grad_out is not None:
            grad_input[n, c, oh * sh + i, ow * sw + j] += grad_out[n, c, oh, ow]
    return out, argmax, grad_input


def avgpool2d_ref(x, kernel, stride, grad_out=None):
    """(out, grad_input): window means, and grad_out / (kh * kw) spread over each window."""
    (kh, kw), (sh, sw) = kernel, stride
    N, C, H, W = x.shape
    out = np.zeros((N, C, _out_size(H, kh, sh), _out_size(W, kw, sw)))
    grad_input = np.zeros((N, C, H, W))
    for n, c, oh, ow in np.ndindex(out.shape):
        window = (n, c, slice(oh * sh, oh * sh + kh), slice(ow * sw, ow * sw + kw))
        out[n, c, oh, ow] = np.mean(x[window].astype(np.float64))
        if grad_out is not None:
            grad_input[window] += grad_out[n, c, oh, ow] / (kh * kw)
    return out, grad_input


def numeric_grad(f, a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to every element of a (in place)."""
    grad = np.zeros(a.shape, dtype=np.float64)
    flat, gflat = a.reshape(-1), grad.reshape(-1)  # views: a must be contiguous
    assert np.shares_memory(flat, a)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        up = f()
        flat[i] = orig - eps
        down = f()
        flat[i] = orig
        gflat[i] = (up - down) / (2 * eps)
    return grad


# Every kernel path and thread count a bit-identity test runs through: the thread pool, one
# thread, the serial loop, and the pool again (a second run must repeat the first exactly).
KERNEL_RUNS = (("parallel", None), ("parallel", 1), ("serial", None), ("parallel", None))
