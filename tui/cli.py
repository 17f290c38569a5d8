"""The `cnn-tui` command: the app (home, `explore`, `learn N`), or headless `train`, `predict`
and `learn --list`."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

# Headless commands import the engine lazily and never Textual: `cnn-tui --help` stays instant.
USAGE_EXIT = 2
# Written out, not read from engine.presets (that would load the engine for --help);
# tests/tui/test_cli_bad_input.py checks this is engine.presets.MNIST_PRESETS.
TRAIN_PRESETS = ("lenet", "resnet")
# Every flag's range, stated once: the parsers below refuse anything outside it.
MAX_SEED = 2**32 - 1
MAX_EPOCHS = 1_000
MAX_BATCH = 8_000  # the training set's size: a larger batch is the same batch
MAX_STEPS = 10**9
MAX_LR = 100.0


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line naming the problem (argparse's default prints the whole usage first)."""
        self.exit(USAGE_EXIT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_range(lo: int, hi: int):
    """A parser of whole numbers lo..hi (argparse names the flag in the error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} must be from {lo} to {hi:,}")
        return value

    return parse


def _positive_int(text: str) -> int:
    """A whole number from 1 to a billion (a flag that needs a tighter bound checks it too)."""
    return _int_range(1, 10**9)(text)


def _number(lo: float, hi: float | None = None, lo_open: bool = False, hi_closed=False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        too_low = value <= lo if lo_open else value < lo
        too_high = hi is not None and (value > hi if hi_closed else value >= hi)
        if not math.isfinite(value) or too_low or too_high:
            bound = f"> {lo:g}" if lo_open else f">= {lo:g}"
            top = "" if hi is None else f" and {'<=' if hi_closed else '<'} {hi:g}"
            raise argparse.ArgumentTypeError(f"{text} must be {bound}{top}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (no engine import)."""
    parser = _Parser(
        prog="cnn-tui",
        description="The math of convolutional neural networks, live in a terminal. "
        "With no command, starts the app.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("explore", help="open the explorer (step a network one operation at a time)",
                   description="Open the explorer on the LeNet-style MNIST net.")  # fmt: skip
    learn = sub.add_parser(
        "learn",
        help="open lesson N, or list the lessons with --list",
        description="The lessons, from one convolution to your own digit.",
    )
    learn.add_argument("number", nargs="?", type=_positive_int, help="the lesson to open")
    learn.add_argument("--list", action="store_true", help="print the numbered lesson titles")
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
        type=_int_range(1, MAX_EPOCHS),
        help=f"passes over the digits, 1 to {MAX_EPOCHS:,} (default: 8)",
    )
    add("--optimizer", choices=("adam", "sgd", "momentum"), help="(default: momentum)")
    add(
        "--lr",
        type=_number(0.0, MAX_LR, lo_open=True, hi_closed=True),
        help=f"learning rate, > 0 and <= {MAX_LR:g} (default: 0.05 momentum, 0.1 sgd, "
        "0.002 adam), cosine-decayed",
    )
    add(
        "--momentum",
        type=_number(0.0, 1.0),
        help="for --optimizer momentum, >= 0 and < 1 (default: 0.9)",
    )
    add(
        "--batch-size",
        type=_int_range(1, MAX_BATCH),
        help=f"mini-batch size, 1 to {MAX_BATCH:,} (default: 32)",
    )
    add(
        "--seed",
        type=_int_range(0, MAX_SEED),
        help=f"0 to {MAX_SEED:,}; same seed, same bytes (default: 0)",
    )
    add("--weight-decay", type=_number(0.0), help="L2 coefficient, >= 0 (default: 0)")
    add(
        "--dropout",
        type=_number(0.0, 1.0),
        help="dropout before the head, >= 0 and < 1 (default: 0)",
    )
    add("--schedule", choices=("cosine", "constant"), help="learning rate (default: cosine)")
    add(
        "--max-steps",
        type=_int_range(1, MAX_STEPS),
        help=f"stop after this many steps (1 to {MAX_STEPS:,})",
    )
    add("--out", "-o", type=Path, help="write the trained model here (.npz)")
    predict = sub.add_parser(
        "predict",
        help="classify an image file with a trained model",
        description="Print the probability of each class for IMAGE (PNG, JPEG, BMP, GIF, WebP).",
    )
    predict.add_argument("image", type=Path, help="the picture of a digit")
    predict.add_argument(
        "--model", type=Path, help="checkpoint from `cnn-tui train` (default: shipped lenet)"
    )
    polarity = predict.add_mutually_exclusive_group()
    polarity.add_argument(
        "--invert",
        dest="invert",
        action="store_true",
        default=None,
        help="force dark-on-light inversion",
    )
    polarity.add_argument(
        "--no-invert",
        dest="invert",
        action="store_false",
        help="never invert (the default decides from the border)",
    )
    serve = sub.add_parser(
        "serve",
        help="serve the app to a room of browsers (one session per participant)",
        description="Every participant who opens the URL gets their own session, working in a "
        "private directory; with --present this terminal runs the presenter's session, which "
        "participants follow.",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: this machine only; 0.0.0.0 for a room)",
    )
    serve.add_argument("--port", type=_port, default=8000, help="(default: 8000)")
    serve.add_argument(
        "--max-sessions", type=_positive_int, default=40, help="participants at once (default: 40)"
    )
    serve.add_argument(
        "--present",
        action="store_true",
        help="also run the presenter's session here; participants follow it",
    )
    return parser


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value


def _serve(args) -> int:
    try:
        from tui.serve import ServeError, serve
    except ImportError as exc:
        raise CliError(f"serving needs textual-serve ({exc}); pip install textual-serve") from None
    try:
        return serve(args.host, args.port, args.max_sessions, args.present)
    except (ServeError, OSError) as exc:
        raise CliError(str(exc)) from None


def _launch_app(**start) -> int:
    from tui.app import CnnTuiApp  # the only Textual import, kept off the headless paths

    CnnTuiApp(**start).run()
    return 0


def _learn(args) -> int:
    from tui.lessons import ENTRIES, entry  # no Textual: the registry is plain data

    if args.list:
        if args.number is not None:
            raise CliError("give a lesson number or --list, not both")
        for e in ENTRIES:
            print(f"{e.number:>2}. {e.title}")
        return 0
    number = 1 if args.number is None else args.number
    try:
        entry(number)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return _launch_app(start="learn", lesson=number)


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


def _train(args) -> int:
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


def _predict(args) -> int:
    from engine import paths
    from engine.checkpoint import CheckpointError, load
    from engine.images import ImageError, prepare_image
    from engine.train import predict_proba

    model_path = args.model or paths.PRETRAINED_LENET
    try:
        model, input_shape, meta = load(model_path)
    except (CheckpointError, FileNotFoundError, OSError) as exc:
        raise CliError(f"cannot load model: {exc}") from None
    if len(input_shape) != 3 or len(model.output_shape(input_shape)) != 1:
        out_shape = model.output_shape(input_shape)
        raise CliError(f"{model_path}: a {input_shape} -> {out_shape} model is not a classifier")
    try:
        image = prepare_image(args.image, tuple(input_shape[1:]), args.invert)
    except ImageError as exc:
        raise CliError(str(exc)) from None
    probs = predict_proba(model, image.as_input(input_shape[0]))[0]  # (K,)
    w, h = image.source_size
    polarity = "inverted (dark on light)" if image.inverted else "not inverted"
    print(f"image: {args.image} ({w}x{h} {image.source_mode}, {polarity})")
    summary = meta.get("summary") if isinstance(meta, dict) else None
    if not isinstance(summary, str):
        summary = None
    else:  # text from the file: no terminal escape sequences, no screenfuls
        summary = "".join(c if c.isprintable() else "?" for c in summary[:200])
    print(f"model: {model_path}" + (f" ({summary})" if summary else ""))
    for k, prob in enumerate(probs):
        print(f"{k:>3} {100 * prob:6.2f}% {'#' * round(30 * prob)}")
    if image.blank:
        print(f"note: {image.note}")
    best = int(probs.argmax())
    print(f"prediction: {best} ({100 * probs[best]:.2f}%)" + (" (no ink)" if image.blank else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad option (2, already printed)
        return exc.code if isinstance(exc.code, int) else USAGE_EXIT
    if args.version:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"cnn-tui {version('cnn-tui')}")
        except PackageNotFoundError:
            print("cnn-tui (not installed)")
        return 0
    if args.command is None:
        return _launch_app()
    if args.command == "explore":
        return _launch_app(start="explore")
    command = {"train": _train, "predict": _predict, "serve": _serve, "learn": _learn}
    command = command[args.command]
    try:
        return command(args)
    except CliError as exc:
        print(f"cnn-tui {args.command}: error: {exc}", file=sys.stderr)
        return USAGE_EXIT
    except KeyboardInterrupt:
        print(f"\ncnn-tui {args.command}: interrupted; nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
