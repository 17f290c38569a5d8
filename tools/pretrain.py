"""Train the shipped weights in assets/pretrained/ and write its README with the results."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from engine import paths  # noqa: E402
from engine.checkpoint import save  # noqa: E402
from engine.data import Dataset, mnist_split  # noqa: E402
from engine.train import TrainConfig, evaluate, run  # noqa: E402
from engine.transfer import transfer  # noqa: E402

COMMAND = "python tools/pretrain.py"
OLD_DIGITS = (0, 1, 2, 3, 4)


def fit(name: str, config: TrainConfig, data: Dataset, held_out: Dataset, out: Path) -> dict:
    """Train one model with config, save it to out, return what the README reports."""
    start = time.perf_counter()
    model, _, steps = run(config, data)
    for p in steps:
        if p.epoch_end:
            print(f"  {name} epoch {p.epoch}/{p.epochs} loss {p.epoch_loss:.4f}", flush=True)
    seconds = time.perf_counter() - start
    result = evaluate(model, held_out)
    meta = {
        "preset": config.preset,
        "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "trained_on": f"{len(data)} digits ({data.name})",
        "accuracy": result.accuracy,
        "summary": result.summary(),
        "command": COMMAND,
    }
    save(out, model, (1, 28, 28), meta)
    print(f"  {name}: {result.summary()} ({seconds:.1f} s) -> {out}", flush=True)
    return {
        "file": out.name,
        "data": meta["trained_on"],
        "summary": result.summary(),
        "seconds": seconds,
        "config": config,
    }


README = """# Pretrained weights

Produced by `{command}` from the repository root. Training is seeded: the same machine
gives the same weights bit for bit (`cnn-tui train --out x.npz` reproduces the weights of
`lenet.npz`).
Both files use the lenet preset and the defaults of `engine.train.TrainConfig`:
{config}.

The bundled MNIST digits (assets/mnist/, the 10k MNIST test set, CC BY-SA 3.0) are split
deterministically: the first 8,000 train, the last 2,000 are held out and never trained on.

| file | trained on | result | training time |
|---|---|---|---|
{rows}

`{lenet}` is the default model of `cnn-tui predict` and of the app.
`{old}` is the starting point for transfer learning (`engine.transfer.transfer`):
its conv layers are frozen and a fresh head is fine-tuned on digits 5-9.

Transfer check at the default budget ({budget}):
fine-tuned (frozen features, {tuned_params} trainable parameters) reached
{tuned:.2f}%, the same network from scratch ({scratch_params} trainable) {scratch:.2f}%,
on the {n_eval} held-out digits 5-9.

Measured on {machine} with {python}.
"""


def main(argv: list[str] | None = None) -> None:
    """Train lenet on all 8,000 training digits and on digits 0-4 only; write the README."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=paths.PRETRAINED_DIR, help="output dir")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    config = TrainConfig()
    train_set, held_out = mnist_split()
    full = fit("lenet", config, train_set, held_out, args.out / paths.PRETRAINED_LENET.name)
    old_out = args.out / paths.PRETRAINED_LENET_0_4.name
    old = fit(
        "lenet 0-4", config, train_set.digits(OLD_DIGITS), held_out.digits(OLD_DIGITS), old_out
    )
    print("  transfer check (fine-tune vs scratch on digits 5-9)", flush=True)
    result = transfer(old_out)
    rows = "\n".join(
        f"| {r['file']} | {r['data']} | {r['summary']} | {r['seconds']:.1f} s |"
        for r in (full, old)
    )
    settings = ", ".join(f"{k}={getattr(config, k)}" for k in config.__dataclass_fields__)
    settings = textwrap.fill(settings, width=96)
    text = README.format(
        command=COMMAND,
        config=settings,
        rows=rows,
        lenet=full["file"],
        old=old["file"],
        budget=f"{result.train_examples} examples, {result.steps} steps of batch 32, Adam",
        tuned=100 * result.fine_tuned.final.accuracy,
        scratch=100 * result.scratch.final.accuracy,
        tuned_params=result.fine_tuned.trainable,
        scratch_params=result.scratch.trainable,
        n_eval=result.fine_tuned.final.count,
        machine=f"{platform.machine()} ({os.cpu_count()} cores)",
        python=f"Python {platform.python_version()}",
    )
    (args.out / "README.md").write_text(text)
    print(f"wrote {args.out / 'README.md'}")


if __name__ == "__main__":
    main()
