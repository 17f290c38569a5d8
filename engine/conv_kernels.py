"""Numba kernels for 2-D convolution: forward, grad_input and grad_weight (and input padding).

Every kernel reads a zero-padded input, so its loops run from 0 and LLVM can vectorise them
(PERFORMANCE.md, pitfall 1). The 3x3 stride-1 kernels treat each padded plane as one flat row:
output q (in input-row-stride coordinates) is sum_t w[t] * x[q + off_t] with the nine offsets
{0, 1, 2, Wi, Wi+1, Wi+2, 2Wi, 2Wi+1, 2Wi+2}; the (kw - 1) columns that wrap around a row end are
computed and dropped. Each prange iteration owns its slice of the output (race-free, and the
same partition every run and for any thread count, so results are bit-identical).

grad_input needs no kernel of its own: it is a stride-1 forward correlation of grad_out, spread
out by the stride and padded by k - 1 (pad_into_kernel), with the flipped kernel.

Each kernel is a loop over tasks that calls a plain `_..._task` function, run on the thread
pool (prange) or, when the caller passes serial=True, on the calling thread: lesson-sized
inputs take less time than waking the pool. Both loops share one compiled task, so the serial
path costs almost no compile time (separately compiled serial twins of every kernel did: half of
the old 30 s cold start). Compile time (PERFORMANCE.md, pitfall 7) also depends on what the
bodies use: arrays are copied with explicit loops, because a slice assignment (`a[i:j] = b[k:l]`)
pulls in Numba's shape-mismatch error path, which took 1-3 s to compile per kernel.
"""

from __future__ import annotations

import contextlib

import numpy as np

from engine._jit import njit, pjit, prange

BLOCK = 4  # output channels per task in the 3x3 forward kernel (weights padded to a multiple)
GW_BLOCK = 8  # output channels per task in the 3x3 grad_weight kernel (unrolled: 8 row names)
GW_CI = 32  # input channels per grad_weight task (more tasks for wide layers)
TILE = 2048  # flat outputs per task: 4 accumulator rows of TILE floats stay in L1/L2
LANES = 16  # flat loops run to a multiple of this (float32 AVX-512): no scalar remainder loop
SLACK = 64  # elements the 3x3 kernels may read past the end of their input (see pad_buffer)

# Below these sizes a layer runs its kernels serially: waking the thread pool and joining it
# costs microseconds per kernel, as much as a lesson-sized kernel's whole work.
SERIAL_BELOW_FLOPS = 2_000_000  # convolution: about 40 us on one core
SERIAL_BELOW_ELEMENTS = 1 << 18  # pooling: input elements


@contextlib.contextmanager
def kernel_path(path: str):
    """Run every conv/pool kernel "serial" (on the calling thread) or "parallel" (on the
    thread pool) inside the block, whatever the problem size (tests)."""
    global SERIAL_BELOW_FLOPS, SERIAL_BELOW_ELEMENTS
    if path not in ("serial", "parallel"):
        raise ValueError(f"kernel_path: expects 'serial' or 'parallel', got {path!r}")
    saved = SERIAL_BELOW_FLOPS, SERIAL_BELOW_ELEMENTS
    SERIAL_BELOW_FLOPS = SERIAL_BELOW_ELEMENTS = 0 if path == "parallel" else float("inf")
    try:
        yield
    finally:
        SERIAL_BELOW_FLOPS, SERIAL_BELOW_ELEMENTS = saved


@njit(inline="always")
def _taps9(k):
    # k: (9,) taps of one (out, in) channel pair, row-major
    return k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]


@njit(inline="always")
def _dot9(k, x0, x1, x2, x3, x4, x5, x6, x7, x8):
    return (
        k[0] * x0 + k[1] * x1 + k[2] * x2 + k[3] * x3 + k[4] * x4
        + k[5] * x5 + k[6] * x6 + k[7] * x7 + k[8] * x8
    )  # fmt: skip


@njit(inline="always")
def _axpy3(s, u, x0, x1, x2):
    return s[0] + u * x0, s[1] + u * x1, s[2] + u * x2


def pad_buffer(shape: tuple, dtype) -> np.ndarray:
    """A zeroed (N, C, H, W) array followed by SLACK spare elements, for the 3x3 kernels.

    Their flat loops are rounded up to LANES and so read up to LANES - 1 elements past a
    plane's end: the next plane's (harmless: those outputs are dropped) or, after the last
    plane, the slack.
    """
    size = int(np.prod(shape))
    return np.zeros(size + SLACK, dtype=dtype)[:size].reshape(shape)


@njit
def _pad_task(x, dst, top, left, sh, sw, n, c):
    for h in range(x.shape[2]):
        src, row = x[n, c, h], dst[n, c, top + h * sh, left:]
        if sw == 1:  # a contiguous copy, which LLVM vectorises
            for w in range(x.shape[3]):
                row[w] = src[w]
        else:
            for w in range(x.shape[3]):
                row[w * sw] = src[w]


@pjit
def pad_into_kernel(x, dst, top, left, sh, sw, serial):
    """dst[n, c, top + h*sh, left + w*sw] = x[n, c, h, w]; the rest of dst is left as it is.

    With stride 1 this pads x by dst's zero border. With stride s it also spreads x out with
    s - 1 zeros between elements: how a strided convolution's grad_out is laid out before
    grad_input is computed as a stride-1 correlation.
    """
    C = x.shape[1]
    if serial:
        for task in range(x.shape[0] * C):
            _pad_task(x, dst, top, left, sh, sw, task // C, task % C)
    else:
        for task in prange(x.shape[0] * C):
            _pad_task(x, dst, top, left, sh, sw, task // C, task % C)


@njit
def _forward_3x3_task(planes, wpk, bias, out, n, rest, T, span, base, Wi):
    # out[n, c0:c0+4] at flat positions q0..q0+T of the (Hout x Wi) output grid. Consecutive
    # tasks share a tile of input (c0 varies fastest): it is still in cache for the next
    # channel block (on 224 px images the other order took 1.5x as long).
    nblk = wpk.shape[0] // BLOCK
    c0, q0 = (rest % nblk) * BLOCK, (rest // nblk) * T
    m = min(T, span - q0)
    m_up = (m + LANES - 1) // LANES * LANES  # T is a multiple of LANES
    acc = np.empty((BLOCK, T), dtype=out.dtype)  # (4, T) sums for this task
    for c in range(BLOCK):
        acc[c, :] = bias[c0 + c]
    a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
    for ci in range(planes.shape[1]):
        r0 = planes[n, ci, base + q0 :]
        r1 = r0[Wi:]
        r2 = r0[2 * Wi :]
        k0, k1 = _taps9(wpk[c0, ci]), _taps9(wpk[c0 + 1, ci])
        k2, k3 = _taps9(wpk[c0 + 2, ci]), _taps9(wpk[c0 + 3, ci])
        for q in range(m_up):
            x0, x1, x2 = r0[q], r0[q + 1], r0[q + 2]
            x3, x4, x5 = r1[q], r1[q + 1], r1[q + 2]
            x6, x7, x8 = r2[q], r2[q + 1], r2[q + 2]
            a0[q] += _dot9(k0, x0, x1, x2, x3, x4, x5, x6, x7, x8)
            a1[q] += _dot9(k1, x0, x1, x2, x3, x4, x5, x6, x7, x8)
            a2[q] += _dot9(k2, x0, x1, x2, x3, x4, x5, x6, x7, x8)
            a3[q] += _dot9(k3, x0, x1, x2, x3, x4, x5, x6, x7, x8)
    # Scatter back to (oh, ow), dropping the wrap-around columns.
    Wout = out.shape[3]
    for oh in range(q0 // Wi, (q0 + m - 1) // Wi + 1):
        lo, hi = max(oh * Wi, q0), min(oh * Wi + Wout, q0 + m)
        for c in range(min(BLOCK, out.shape[1] - c0) if hi > lo else 0):
            # loops index from 0: a computed (possibly negative) index would need
            # Numba's wrap-around check on every element, which stops vectorisation
            src, row = acc[c, lo - q0 : hi - q0], out[n, c0 + c, oh, lo - oh * Wi :]
            for q in range(hi - lo):
                row[q] = src[q]


@pjit
def conv2d_forward_3x3_kernel(xp, wpk, bias, out, oy0, ox0, serial):
    """out = bias + 3x3 stride-1 correlation of xp, read from (oy0, ox0); wpk (Cpad, Cin, 9)."""
    N, Cin, Hi, Wi = xp.shape
    nblk = wpk.shape[0] // BLOCK
    span = (out.shape[2] - 1) * Wi + out.shape[3]  # flat outputs, wrap-around included
    ntile = (span + TILE - 1) // TILE
    T = ((span + ntile - 1) // ntile + LANES - 1) // LANES * LANES
    planes, base, per_n = xp.reshape(N, Cin, Hi * Wi), oy0 * Wi + ox0, nblk * ntile
    if serial:
        for task in range(N * per_n):
            _forward_3x3_task(
                planes, wpk, bias, out, task // per_n, task % per_n, T, span, base, Wi
            )
    else:
        for task in prange(N * per_n):
            _forward_3x3_task(
                planes, wpk, bias, out, task // per_n, task % per_n, T, span, base, Wi
            )


@njit
def _forward_task(xp, w, bias, out, sh, sw, oy0, ox0, n, co):
    o = out[n, co]  # (Hout, Wout)
    o[:, :] = bias[co]
    kh, kw = w.shape[2], w.shape[3]
    for ci in range(xp.shape[1]):
        for i in range(kh):
            for j in range(kw):
                wv = w[co, ci, i, j]
                for oh in range(o.shape[0]):
                    orow = o[oh]
                    xr = xp[n, ci, oy0 + oh * sh + i, ox0 + j :]
                    if sw == 1:
                        for ow in range(o.shape[1]):
                            orow[ow] += wv * xr[ow]
                    else:
                        for ow in range(o.shape[1]):
                            orow[ow] += wv * xr[ow * sw]


@pjit
def conv2d_forward_kernel(xp, w, bias, out, sh, sw, oy0, ox0, serial):
    """out = bias + correlation of xp, read from (oy0, ox0), with w (any kernel size, stride)."""
    N, Cout = out.shape[0], out.shape[1]
    if serial:
        for task in range(N * Cout):
            _forward_task(xp, w, bias, out, sh, sw, oy0, ox0, task // Cout, task % Cout)
    else:
        for task in prange(N * Cout):
            _forward_task(xp, w, bias, out, sh, sw, oy0, ox0, task // Cout, task % Cout)


@njit
def _grad_weight_3x3_task(planes, grad_out, grad_weight, c0, ci0, Wp):
    # grad_weight[c0:c0+8, ci0:ci0+GW_CI]. Each pass over a plane sums one kernel row (3 taps)
    # for 8 output channels: 24 running sums, and each load of x feeds 8 FMAs. (9 taps x 2
    # channels, as before, gave 18 sums but spent a shuffle per 3 FMAs building shifted copies
    # of x, on the port the FMAs also need: about 60% of the FMA rate, against ~90% here.)
    N, Cout, Hout, Wout = grad_out.shape
    ci1 = min(ci0 + GW_CI, planes.shape[1])
    span = ((Hout - 1) * Wp + Wout + LANES - 1) // LANES * LANES  # the tail of g stays 0
    nc = min(GW_BLOCK, Cout - c0)  # a short last block sums rows of zeros
    # grad_out rows laid out with the input's row stride; the wrap-around columns stay 0
    g = np.zeros((GW_BLOCK, span), dtype=grad_weight.dtype)
    g0, g1, g2, g3, g4, g5, g6, g7 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
    acc = np.zeros((GW_BLOCK, ci1 - ci0, 9), dtype=grad_weight.dtype)
    zero = grad_weight.dtype.type(0)
    z = (zero, zero, zero)
    for n in range(N):
        for c in range(nc):
            for oh in range(Hout):
                src, row = grad_out[n, c0 + c, oh], g[c, oh * Wp :]
                for ow in range(Wout):
                    row[ow] = src[ow]
        for ci in range(ci0, ci1):
            for kh in range(3):
                r = planes[n, ci, kh * Wp :]
                s0, s1, s2, s3, s4, s5, s6, s7 = z, z, z, z, z, z, z, z
                for q in range(span):
                    x0, x1, x2 = r[q], r[q + 1], r[q + 2]
                    s0, s1 = _axpy3(s0, g0[q], x0, x1, x2), _axpy3(s1, g1[q], x0, x1, x2)
                    s2, s3 = _axpy3(s2, g2[q], x0, x1, x2), _axpy3(s3, g3[q], x0, x1, x2)
                    s4, s5 = _axpy3(s4, g4[q], x0, x1, x2), _axpy3(s5, g5[q], x0, x1, x2)
                    s6, s7 = _axpy3(s6, g6[q], x0, x1, x2), _axpy3(s7, g7[q], x0, x1, x2)
                a = acc[:, ci - ci0, 3 * kh :]
                for j in range(3):
                    a[0, j], a[1, j] = a[0, j] + s0[j], a[1, j] + s1[j]
                    a[2, j], a[3, j] = a[2, j] + s2[j], a[3, j] + s3[j]
                    a[4, j], a[5, j] = a[4, j] + s4[j], a[5, j] + s5[j]
                    a[6, j], a[7, j] = a[6, j] + s6[j], a[7, j] + s7[j]
    for c in range(nc):
        for ci in range(ci0, ci1):
            for k in range(9):
                grad_weight[c0 + c, ci, k // 3, k % 3] += acc[c, ci - ci0, k]


@pjit
def conv2d_grad_weight_3x3_kernel(xp, grad_out, grad_weight, serial):
    """grad_weight += 3x3 stride-1 correlation of xp with grad_out, summed over the batch."""
    N, Cin, Hp, Wp = xp.shape
    planes = xp.reshape(N, Cin, Hp * Wp)
    nci = (Cin + GW_CI - 1) // GW_CI
    ntask = (grad_out.shape[1] + GW_BLOCK - 1) // GW_BLOCK * nci
    if serial:  # a task owns grad_weight[8 output channels, GW_CI input channels]
        for task in range(ntask):
            _grad_weight_3x3_task(
                planes, grad_out, grad_weight, task // nci * GW_BLOCK, task % nci * GW_CI, Wp
            )
    else:
        for task in prange(ntask):
            _grad_weight_3x3_task(
                planes, grad_out, grad_weight, task // nci * GW_BLOCK, task % nci * GW_CI, Wp
            )


@njit
def _grad_weight_task(xp, grad_out, sh, sw, grad_weight, co, ci):
    Hout, Wout = grad_out.shape[2], grad_out.shape[3]
    for i in range(grad_weight.shape[2]):
        for j in range(grad_weight.shape[3]):
            s = grad_weight.dtype.type(0)
            for n in range(xp.shape[0]):
                for oh in range(Hout):
                    gr = grad_out[n, co, oh]
                    xr = xp[n, ci, oh * sh + i, j:]
                    if sw == 1:
                        for ow in range(Wout):
                            s += gr[ow] * xr[ow]
                    else:
                        for ow in range(Wout):
                            s += gr[ow] * xr[ow * sw]
            grad_weight[co, ci, i, j] += s


@pjit
def conv2d_grad_weight_kernel(xp, grad_out, sh, sw, grad_weight, serial):
    """grad_weight += correlation of xp with grad_out over the batch (any size and stride)."""
    Cout, Cin = grad_weight.shape[0], grad_weight.shape[1]
    if serial:  # a task owns grad_weight[co, ci]
        for task in range(Cout * Cin):
            _grad_weight_task(xp, grad_out, sh, sw, grad_weight, task // Cin, task % Cin)
    else:
        for task in prange(Cout * Cin):
            _grad_weight_task(xp, grad_out, sh, sw, grad_weight, task // Cin, task % Cin)
