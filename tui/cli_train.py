"""`cnn-tui train`: train a preset headless, print progress, save the model (never lose it)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tui.cli_args import (
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_LR,
    MAX_SEED,
    MAX_STEPS,
    TRAIN_PRESETS,
    CliError,
    int_range,
    number,
)


def add_parser(sub) -> None:
    """The `train` subcommand and its flags."""
    train = sub.add_parser(
        "train",
        help="train a preset on the 8,000 training digits, report held-out accuracy",
        description="Train on the first 8,000 bundled MNIST digits; accuracy is measured on "
        "the last 2,000, which training never sees.",
    )
    add = train.add_argument
    names = ", ".join(TRAIN_PRESETS)
    add("--preset", default="lenet", choices=TRAIN_PRESETS, metavar="PRESET",
        help=f"model preset: one of {names} (default: lenet)")  # fmt: skip
    add(
        "--epochs",
        type=int_range(1, MAX_EPOCHS),
        help=f"passes over the digits, 1 to {MAX_EPOCHS:,} (default: 8)",
    )
    add("--optimizer", choices=("adam", "sgd", "momentum"), help="(default: momentum)")
    add(
        "--lr",
        type=number(0.0, MAX_LR, lo_open=True, hi_closed=True),
        help=f"learning rate, > 0 and <= {MAX_LR:g} (default: 0.05 momentum, 0.1 sgd, "
        "0.002 adam), cosine-decayed",
    )
    add(
        "--momentum",
        type=number(0.0, 1.0),
        help="for --optimizer momentum, >= 0 and < 1 (default: 0.9)",
    )
    add(
        "--batch-size",
        type=int_range(1, MAX_BATCH),
        help=f"mini-batch size, 1 to {MAX_BATCH:,} (default: 32)",
    )
    add(
        "--seed",
        type=int_range(0, MAX_SEED),
        help=f"0 to {MAX_SEED:,}; same seed, same bytes (default: 0)",
    )
    add("--weight-decay", type=number(0.0), help="L2 coefficient, >= 0 (default: 0)")
    add(
        "--dropout",
        type=number(0.0, 1.0),
        help="dropout before the head, >= 0 and < 1 (default: 0)",
    )
    add("--schedule", choices=("cosine", "constant"), help="learning rate (default: cosine)")
    add(
        "--max-steps",
        type=int_range(1, MAX_STEPS),
        help=f"stop after this many steps (1 to {MAX_STEPS:,})",
    )
    add("--out", "-o", type=Path, help="write the trained model here (.npz)")


def _bar(p, width: int = 24) -> str:
    done = round(width * p.fraction)
    return (
        f"epoch {p.epoch}/{p.epochs} [{'#' * done}{'.' * (width - done)}] {100 * p.fraction:3.0f}%"
        f" loss {p.epoch_loss:.4f} acc {100 * p.epoch_accuracy:5.1f}%"
        f" {p.images_per_s:,.0f} img/s ETA {p.eta_s:.0f}s"
    )


def _epoch_line(p) -> str:
    held = f" held-out {100 * p.evaluation.accuracy:.2f}%" if p.evaluation else ""
    return (
        f"epoch {p.epoch}/{p.epochs} step {p.step}/{p.total_steps} loss {p.epoch_loss:.4f}"
        f" acc {100 * p.epoch_accuracy:.2f}%{held} {p.images_per_s:,.0f} img/s {p.elapsed_s:.1f}s"
    )


def _check_out(out: Path | None) -> None:
    """Refuse an --out that cannot be written before minutes of training, not after."""
    from engine.files import NotARegularFile, check_output

    if out is not None:
        try:
            check_output(out)
        except NotARegularFile as exc:
            raise CliError(f"--out {exc}") from None


def _save_somewhere(out: Path, model, input_shape, meta) -> int:
    """Save to out, or (saying why) to a rescue file so the trained model is never lost."""
    from engine.checkpoint import CheckpointError, save_or_rescue

    try:
        written, failure = save_or_rescue(out, model, input_shape, meta)
    except CheckpointError as exc:
        print(f"cnn-tui train: error: {exc}", file=sys.stderr)
        return 1
    if failure is None:
        print(f"wrote {written}")
        return 0
    print(f"cnn-tui train: error: {failure}; saved the model to {written} instead", file=sys.stderr)
    return 1


def train(args) -> int:
    """Run `cnn-tui train`; returns the exit code."""
    from engine.data import DataError, mnist_split
    from engine.optim import default_lr
    from engine.train import TrainConfig, TrainingDiverged, build_model, run

    _check_out(args.out)
    optimizer_name = args.optimizer or TrainConfig.optimizer
    given = {
        "preset": args.preset,
        "epochs": args.epochs,
        "optimizer": optimizer_name,
        "lr": args.lr or default_lr(optimizer_name, args.preset),
        "momentum": args.momentum,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "weight_decay": args.weight_decay,
        "dropout": args.dropout,
        "schedule": args.schedule,
        "max_steps": args.max_steps,
    }
    config = TrainConfig(**{k: v for k, v in given.items() if v is not None})
    try:
        _, _, input_shape = build_model(config.preset, config.dropout)
        train_set, held_out = mnist_split()
    except (ValueError, DataError) as exc:
        raise CliError(str(exc)) from None
    if input_shape != (1, 28, 28):
        raise CliError(f"preset {config.preset!r} takes {input_shape} inputs, not MNIST digits")
    model, _, steps = run(config, train_set, held_out)
    print(
        f"training {config.preset} ({model.num_parameters():,} parameters) on "
        f"{len(train_set)} digits: {config.optimizer} lr={config.lr:g} batch {config.batch_size}"
        f" epochs {config.epochs} seed {config.seed} weight_decay {config.weight_decay:g}"
        f" dropout {config.dropout:g} schedule {config.schedule}",
        flush=True,
    )
    tty, last, drawn, width = sys.stdout.isatty(), None, 0.0, 0
    try:
        for last in steps:
            if last.epoch_end:
                line = _epoch_line(last)
                print(("\r" + line.ljust(width) if tty else line), flush=True)
            elif tty and time.monotonic() - drawn > 0.1:  # ~10 redraws a second is plenty
                bar, drawn = _bar(last), time.monotonic()
                width = max(width, len(bar))
                print("\r" + bar.ljust(width), end="", flush=True)
    except TrainingDiverged as exc:
        print(f"{chr(10) if tty else ''}cnn-tui train: {exc} Nothing written.", file=sys.stderr)
        return 1
    from engine.train import evaluate

    result = last.evaluation or evaluate(model, held_out)
    meta = {
        "preset": config.preset,
        "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "steps": last.step,
        "accuracy": result.accuracy,
        "summary": result.summary(),
        "evaluated_on": "the last 2,000 digits of the bundled MNIST test set (held out)",
        # no training time: the same seed must give the same bytes
    }
    code = 0 if args.out is None else _save_somewhere(args.out, model, input_shape, meta)
    print(result.summary())
    return code
