"""Engine speed and memory: workloads W1-W5 of PERFORMANCE.md against PyTorch and NumPy im2col.

Run:  python benchmarks/bench_engine.py [--repeat 30] [--runs 1] [--quick] [--no-compile] [--no-rss]
Times are medians over interleaved runs in one process (contenders alternate each repeat),
so machine noise hits all of them alike; ratios are engine time / reference time. With
--runs K everything is measured K times: the table shows medians and the range of the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
# engine/__init__.py sets this too, but it only counts before NumPy is first imported (here,
# by the next line): without it OpenBLAS threads spin for a long time after every matmul
# (the im2col reference, the engine's Linear) and fight the kernels' threads for the
# 2 cores (PERFORMANCE.md, pitfall 2), which slowed whatever ran next by up to ~15 ms.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np
import numpy_im2col as ref

import engine._jit
from engine import (
    SGD,
    Conv2d,
    CrossEntropyLoss,
    ReLU,
    Residual,
    Sequential,
)
from engine.presets import PRESETS
from engine.warmup import warmup

try:
    import torch
    from torch_twins import TorchResidualBlock, torch_lenet

    torch.set_num_threads(2)
except ImportError:  # the benchmark still runs, against NumPy only
    torch = None

PEAK_GFLOPS = 200.0  # float32 GEMM on both cores (PERFORMANCE.md)
ROOT = Path(__file__).resolve().parent.parent


def conv_flops(n, cin, cout, ho, wo, k):
    """FLOPs of one convolution forward: 2 * N * Cout * Ho * Wo * Cin * kh * kw."""
    return 2 * n * cout * ho * wo * cin * k * k


def race(contenders: dict, repeat: int, block: int = 1) -> dict:
    """Median ms per call of each callable, run interleaved after two warm-up calls each.

    Each repeat times `block` consecutive calls of one contender, then of the next. For
    microsecond workloads block > 1 measures them warm: a call right after the other
    framework's pays for cold caches (about 30 us here, for the engine and torch alike).
    """
    for fn in contenders.values():
        fn()
        fn()
    times = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            for _ in range(block):
                fn()
            times[name].append((time.perf_counter() - t0) * 1e3 / block)
    return {name: statistics.median(ts) for name, ts in times.items()}


def conv_contenders(n, cin, cout, size, k, pad, backward):
    """Engine, NumPy im2col and (if present) torch callables for one conv workload."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, cin, size, size)).astype(np.float32)
    layer = Conv2d(cin, cout, k, padding=pad)
    w, b = layer.weight.value, layer.bias.value
    y = layer.forward(x)
    g = rng.standard_normal(y.shape).astype(np.float32)
    if backward:
        out = {"engine": lambda: layer.backward(g)}
        _, cols = ref.conv2d_forward(x, w, b, pad)
        out["numpy"] = lambda: ref.conv2d_backward(g, x.shape, w, cols, pad)
    else:
        out = {
            "engine": lambda: layer.forward(x),
            "numpy": lambda: ref.conv2d_forward(x, w, b, pad),
        }
    if torch is not None:
        tconv = torch.nn.Conv2d(cin, cout, k, padding=pad)
        tx = torch.from_numpy(x).requires_grad_(backward)
        tg = torch.from_numpy(g)
        if backward:
            ty = tconv(tx)

            def torch_backward():
                tx.grad = None
                tconv.zero_grad()
                ty.backward(tg, retain_graph=True)

            out["torch"] = torch_backward
        else:

            def torch_forward():
                with torch.no_grad():
                    tconv(tx)

            out["torch"] = torch_forward
    return out, conv_flops(n, cin, cout, y.shape[2], y.shape[3], k) * (2 if backward else 1)


def engine_fwd_bwd(model, x, loss=None, targets=None, opt=None):
    """One engine forward + backward (+ loss and optimizer step when given)."""

    def run():
        y = model.forward(x)
        if loss is not None:
            loss.forward(y, targets)
            model.backward(loss.backward())
            opt.step()
            opt.zero_grad()
        else:
            model.backward(np.ones_like(y))

    return run


def torch_fwd_bwd(model, x, targets=None, opt=None, input_grad=False):
    """The same step in torch; input_grad: also compute the input's gradient, as the engine does."""
    tx = torch.from_numpy(x).requires_grad_(input_grad)
    tt = None if targets is None else torch.from_numpy(targets.astype(np.int64))

    def run():
        y = model(tx)
        if opt is not None:
            torch.nn.functional.cross_entropy(y, tt).backward()
            opt.step()
            opt.zero_grad()
        else:
            y.backward(torch.ones_like(y))

    return run


def workloads(repeat, quick):
    """Yield (name, medians ms, flops or None) for W1-W5."""
    rng = np.random.default_rng(0)
    # W1: the lesson-sized convolution.
    c, flops = conv_contenders(1, 1, 8, 28, 3, 1, backward=False)
    yield "W1 conv 1->8 28x28 forward", race(c, repeat * 2, block=10), flops
    x1 = rng.standard_normal((1, 1, 28, 28)).astype(np.float32)
    layer = Conv2d(1, 8, 3, padding=1)
    c = {"engine": engine_fwd_bwd(layer, x1)}
    if torch is not None:
        c["torch"] = torch_fwd_bwd(torch.nn.Conv2d(1, 8, 3, padding=1), x1.copy())
    yield "W1 forward + backward", race(c, repeat * 2, block=10), None
    yield "W1 fwd+bwd, alternating calls", race(c, repeat * 4), None
    # W2: a LeNet-style train step, batch 64.
    x2 = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    t2 = rng.integers(0, 10, 64)
    model = PRESETS["lenet"]().model
    c = {"engine": engine_fwd_bwd(model, x2, CrossEntropyLoss(), t2, SGD(model.parameters(), 0.01))}
    if torch is not None:
        tm = torch_lenet()
        c["torch"] = torch_fwd_bwd(tm, x2, t2, torch.optim.SGD(tm.parameters(), 0.01))
    yield "W2 train step batch 64", race(c, repeat), None
    # W3: a mid-sized convolution, forward and backward.
    c, flops = conv_contenders(32, 32, 64, 32, 3, 1, backward=False)
    yield "W3 conv 32->64 32x32 b32 forward", race(c, repeat), flops
    c, flops = conv_contenders(32, 32, 64, 32, 3, 1, backward=True)
    yield "W3 backward (input + weight)", race(c, repeat), flops
    # W4: a residual block forward + backward.
    x4 = rng.standard_normal((32, 16, 32, 32)).astype(np.float32)
    block = Residual(Conv2d(16, 16, 3, padding=1), ReLU(), Conv2d(16, 16, 3, padding=1))
    c = {"engine": engine_fwd_bwd(Sequential(block), x4)}
    if torch is not None:
        # A block sits inside a network, so its input gradient is needed (and the engine
        # computes it); "torch_no_input_grad" skips it, as torch does for a leaf input.
        tblock = TorchResidualBlock()
        c["torch"] = torch_fwd_bwd(tblock, x4, input_grad=True)
        c["torch_no_input_grad"] = torch_fwd_bwd(tblock, x4)
    yield "W4 residual block fwd+bwd", race(c, repeat), None
    # W5: scaling with image size.
    for size in (28, 56, 112) if quick else (28, 56, 112, 224):
        c, flops = conv_contenders(8, 16, 16, size, 3, 1, backward=False)
        yield f"W5 conv 16->16 b8 {size}px forward", race(c, max(5, repeat // 2)), flops


def compile_times():
    """Cold and cached compile time of all kernels, each in a fresh interpreter."""
    import tempfile

    code = (
        "import time; t=time.perf_counter(); import engine.warmup as w; t1=time.perf_counter();"
        "w.warmup(); print(t1-t, time.perf_counter()-t1)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            runs.append(tuple(float(v) for v in out.stdout.split()))
    return runs  # [(import s, cold warm-up s), (import s, cached warm-up s)]


def peak_rss(which: str, steps: int = 200) -> float:
    """Peak RSS in MB of a fresh interpreter running W2 train steps with `which`."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "rss_w2.py"), which, str(steps)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(out.stdout.split()[-1])


def _median_range(values) -> str:
    """'0.57' for one value, '0.57 (0.51-0.65)' for several: the median and the range."""
    med = statistics.median(values)
    return f"{med:.2f}" if len(values) == 1 else f"{med:.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv=None):
    """Print the benchmark table (with --runs K: medians over K runs, ratio ranges)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--runs", type=int, default=1, help="repeat everything, report medians")
    p.add_argument("--quick", action="store_true", help="fewer repeats, skip 224 px")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--no-rss", action="store_true")
    args = p.parse_args(argv)
    repeat = 8 if args.quick else args.repeat
    warmup()
    ref_name = "torch" if torch is not None else "numpy"
    print(
        f"numba threads {engine._jit.numba.get_num_threads()}, torch "
        f"{torch.__version__ if torch else 'not installed'}, repeat {repeat}, runs {args.runs}"
    )
    runs: dict[str, list[dict]] = {}  # workload -> one {contender: ms} per run
    flops_of, compiles = {}, []
    for run in range(args.runs):
        for name, ms, flops in workloads(repeat, args.quick):
            runs.setdefault(name, []).append(ms)
            flops_of[name] = flops
        last = [ms[-1] for ms in runs.values() if ref_name in ms[-1]]
        ratios = " ".join(f"{ms['engine'] / ms[ref_name]:.2f}" for ms in last)
        if args.runs > 1:
            print(f"run {run + 1}: engine/{ref_name} in table order: {ratios}", flush=True)
        if not args.no_compile:
            compiles.append(compile_times())
    print()
    print(f"| workload | engine ms | torch ms | numpy ms | engine/{ref_name} | GFLOP/s | % peak |")
    print("|---|---|---|---|---|---|---|")
    w5, notes = [], []
    for name, per_run in runs.items():
        med = {k: statistics.median(ms[k] for ms in per_run) for k in per_run[0]}
        e, t, n, flops = med["engine"], med.get("torch"), med.get("numpy"), flops_of[name]
        gf = flops / e / 1e6 if flops else None
        ratio = [ms["engine"] / ms[ref_name] for ms in per_run] if ref_name in med else None
        cells = [
            f"{e:.3f}",
            f"{t:.3f}" if t else "-",
            f"{n:.3f}" if n else "-",
            _median_range(ratio) if ratio else "-",
            f"{gf:.0f}" if gf else "-",
            f"{100 * gf / PEAK_GFLOPS:.0f}%" if gf else "-",
        ]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
        if name.startswith("W5"):
            w5.append(e)
        if "torch_no_input_grad" in med:
            t0 = med["torch_no_input_grad"]
            other = _median_range([ms["engine"] / ms["torch_no_input_grad"] for ms in per_run])
            notes.append(
                f"{name.split()[0]}: torch without the input gradient (a leaf input) {t0:.3f} ms,"
                f" engine/that {other}"
            )
    growth = ", ".join(f"{b / a:.1f}x" for a, b in zip(w5, w5[1:], strict=False))
    print("\n" + "\n".join(notes) if notes else "")
    print(f"W5 time growth per size step (FLOPs grow 4.0x): {growth}")
    if compiles:
        cold = [c[0][1] for c in compiles]
        cached = [c[1][1] for c in compiles]
        imp = statistics.median(c[0][0] for c in compiles)
        print(
            f"compile all kernels: cold {_median_range(cold)} s, from cache "
            f"{_median_range(cached)} s (import engine {imp:.2f} s)"
        )
    if not args.no_rss:
        rss = {w: peak_rss(w) for w in (["engine", "torch"] if torch else ["engine"])}
        print("peak RSS over 200 W2 steps: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))


if __name__ == "__main__":
    main()
