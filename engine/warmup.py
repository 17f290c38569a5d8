"""Compile (or load from cache) every Numba kernel up front, reporting progress as it goes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Each entry runs one layer forward and backward on a tiny input, which compiles the kernels
# that layer uses for the shapes the presets need (3x3 same-padding, strided, 1x1, pools).
ProgressFn = Callable[[int, int, str], None]


def _cases():
    from functools import partial

    from engine.conv import Conv2d as Conv
    from engine.pool import AvgPool2d, MaxPool2d

    Conv2d = partial(Conv, rng=np.random.default_rng(0))  # any weights will do

    return [
        ("conv 3x3 padding 1", Conv2d(1, 2, 3, padding=1), (1, 1, 6, 6)),
        ("conv 3x3", Conv2d(2, 2, 3), (1, 2, 6, 6)),
        ("conv 3x3 stride 2", Conv2d(2, 2, 3, stride=2, padding=1), (1, 2, 6, 6)),
        ("conv 1x1 stride 2", Conv2d(2, 3, 1, stride=2), (1, 2, 6, 6)),
        ("conv 5x5", Conv2d(1, 2, 5, padding=2), (1, 1, 6, 6)),
        ("max-pool 2x2", MaxPool2d(2), (1, 2, 6, 6)),
        ("avg-pool 2x2", AvgPool2d(2), (1, 2, 6, 6)),
    ]


def warmup(progress: ProgressFn | None = None, dtypes=(np.float32,)) -> int:
    """Run every kernel once per dtype so later calls are fast; returns the number of cases.

    A kernel's serial and thread-pool loops are one compiled function, so one pass compiles
    both. float64 (gradient checks) is left out by default: it compiles on first use.
    """
    cases = _cases()
    total = len(cases) * len(dtypes)
    done = 0
    for dtype in dtypes:
        for name, layer, shape in cases:
            if progress is not None:
                progress(done, total, f"{name} ({np.dtype(dtype).name})")
            layer.to(dtype)
            x = np.ones(shape, dtype=dtype)
            y = layer.forward(x)
            layer.backward(np.ones_like(y))
            done += 1
    if progress is not None:
        progress(done, total, "done")
    return total
