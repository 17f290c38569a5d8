"""Peak RSS of W2 training steps in a fresh interpreter: python rss_w2.py engine|torch STEPS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before NumPy loads (see bench_engine)

import numpy as np


def main():
    """Run the steps, print peak RSS in MB as the last word."""
    which, steps = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    t = rng.integers(0, 10, 64)
    if which == "engine":
        from engine import SGD, CrossEntropyLoss
        from engine.presets import PRESETS

        model, loss = PRESETS["lenet"]().model, CrossEntropyLoss()
        opt = SGD(model.parameters(), 0.01)
        for _ in range(steps):
            loss.forward(model.forward(x), t)
            model.backward(loss.backward())
            opt.step()
            opt.zero_grad()
    else:
        import torch
        from torch_twins import torch_lenet

        torch.set_num_threads(2)
        model = torch_lenet()
        opt = torch.optim.SGD(model.parameters(), 0.01)
        tx, tt = torch.from_numpy(x), torch.from_numpy(t)
        for _ in range(steps):
            torch.nn.functional.cross_entropy(model(tx), tt).backward()
            opt.step()
            opt.zero_grad()
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec.
    status = Path("/proc/self/status").read_text()
    hwm_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    print(f"peak_rss_mb {hwm_kb / 1024:.1f}")


if __name__ == "__main__":
    main()
