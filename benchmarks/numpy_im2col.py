"""A plain NumPy im2col convolution: the always-available reference for bench_engine.py."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv2d_forward(x, weight, bias, padding):
    """Conv forward via im2col + one matmul; returns (y, cols) with cols kept for backward."""
    n, c, _, _ = x.shape
    cout, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))  # (N, C, Ho, Wo, kh, kw)
    ho, wo = windows.shape[2], windows.shape[3]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
    y = cols @ weight.reshape(cout, -1).T + bias  # (N*Ho*Wo, Cout)
    return y.reshape(n, ho, wo, cout).transpose(0, 3, 1, 2), cols


def conv2d_backward(grad_out, x_shape, weight, cols, padding):
    """Conv backward via im2col: (grad_input, grad_weight, grad_bias)."""
    n, c, h, w = x_shape
    cout, _, kh, kw = weight.shape
    ho, wo = grad_out.shape[2], grad_out.shape[3]
    g = grad_out.transpose(0, 2, 3, 1).reshape(n * ho * wo, cout)
    grad_weight = (g.T @ cols).reshape(weight.shape)
    grad_bias = g.sum(axis=0)
    grad_cols = (g @ weight.reshape(cout, -1)).reshape(n, ho, wo, c, kh, kw)
    grad_xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=grad_out.dtype)
    for u in range(kh):  # col2im: scatter each kernel offset back
        for v in range(kw):
            grad_xp[:, :, u : u + ho, v : v + wo] += grad_cols[..., u, v].transpose(0, 3, 1, 2)
    grad_input = grad_xp[:, :, padding : padding + h, padding : padding + w]
    return grad_input, grad_weight, grad_bias
