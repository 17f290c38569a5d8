"""W3 (batch 32, conv 32->64, 3x3 pad 1, 32x32) taken apart: where the engine's time goes, and
engine/torch ratios from back-to-back pairs.

Run:  python benchmarks/bench_w3.py [--serial] [--repeat 20] [--batch 32]
--serial runs the engine's kernels on the calling thread and torch on one thread, timed by the
thread's CPU time: on a shared machine that is steadier than wall time on two threads (a
parallel kernel waits whenever its second thread has no core). Each ratio is the median of
per-pair ratios, the pair's order alternating (engine first, then torch first), with quartiles.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before NumPy (see bench_engine.py)

import numpy as np

from engine import Conv2d
from engine.conv import _pack3x3
from engine.conv_kernels import (
    conv2d_forward_3x3_kernel,
    conv2d_grad_weight_3x3_kernel,
    kernel_path,
    pad_buffer,
    pad_into_kernel,
)


def main(argv=None) -> None:
    """Print the engine's parts (min / median ms) and the engine/torch pair ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--serial", action="store_true", help="one thread, thread CPU time")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args(argv)
    serial, n = args.serial, args.batch
    clock = time.thread_time if serial else time.perf_counter
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 32, 32, 32)).astype(np.float32)  # (N, C, H, W)
    layer = Conv2d(32, 64, 3, padding=1)
    with kernel_path("serial" if serial else "parallel"):
        y, ctx = layer.forward_ctx(x)
    g = rng.standard_normal(y.shape).astype(np.float32)  # (N, 64, 32, 32)
    gw = np.zeros_like(layer.weight.value)
    gp = pad_buffer((n, 64, 34, 34), np.float32)
    wpk, bpk = _pack3x3(ctx.weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), None)
    gi = np.empty_like(x)
    engine = {
        "forward": lambda: layer.forward_ctx(x),
        "backward": lambda: layer.backward_ctx(ctx, g),
        "  bias: einsum": lambda: np.einsum("nchw->c", g),
        "  grad_weight kernel": lambda: conv2d_grad_weight_3x3_kernel(ctx.xp, g, gw, serial),
        "  grad_out padded": lambda: pad_into_kernel(g, gp, 1, 1, 1, 1, serial),
        "  grad_input kernel": lambda: conv2d_forward_3x3_kernel(gp, wpk, bpk, gi, 0, 0, serial),
    }
    load = os.getloadavg()[0]
    print(f"W3 batch {n}, {'one thread (CPU time)' if serial else 'two threads (wall)'}, "
          f"load average {load:.1f}")  # fmt: skip
    with kernel_path("serial" if serial else "parallel"):
        for name, ts in race(engine, args.repeat, clock).items():
            print(f"{name:22s} min {min(ts):8.3f}  median {statistics.median(ts):8.3f} ms")
        try:
            import torch
        except ImportError:
            return
        torch.set_num_threads(1 if serial else 2)
        pairs(torch, layer, ctx, x, g, gw, engine, args.repeat, clock, serial)
    print(f"load average after {os.getloadavg()[0]:.1f}")


def race(fns: dict, repeat: int, clock) -> dict:
    """ms per call of each callable, interleaved, after two warm-up calls each."""
    for f in fns.values():
        f()
        f()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, f in fns.items():
            t0 = clock()
            f()
            times[name].append((clock() - t0) * 1e3)
    return times


def pairs(torch, layer, ctx, x, g, gw, engine, repeat, clock, serial) -> None:
    """engine/torch for forward, backward, grad_input, grad_weight: median of pair ratios."""
    tconv = torch.nn.Conv2d(32, 64, 3, padding=1)
    tx, tg, tw = torch.from_numpy(x), torch.from_numpy(g), tconv.weight.detach()

    def backward(mask):
        bias = [64] if mask[2] else None
        return lambda: torch.ops.aten.convolution_backward(
            tg, tx, tw, bias, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask
        )

    def forward():
        with torch.no_grad():
            tconv(tx)

    work = {
        "forward": (engine["forward"], forward),
        "backward": (engine["backward"], backward([True, True, True])),
        "grad_input": (lambda: layer.backward_ctx(ctx, g, accumulate=False),
                       backward([True, False, False])),
        "grad_weight": (engine["  grad_weight kernel"], backward([False, True, False])),
    }  # fmt: skip
    for name, (e, t) in work.items():
        for f in (e, t, e, t):
            f()
        ratios = []
        for i in range(repeat * 2):
            took = {}
            for f in (e, t) if i % 2 == 0 else (t, e):
                t0 = clock()
                f()
                took[f] = clock() - t0
            ratios.append(took[e] / took[t])
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        print(f"engine/torch {name:12s} {statistics.median(ratios):.3f} "
              f"(quartiles {q1:.3f}-{q3:.3f}, {len(ratios)} pairs)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
