"""`cnn-tui predict`: classify an image file with a checkpoint, headless."""

from __future__ import annotations

from pathlib import Path

from tui.cli_args import CliError


def add_parser(sub) -> None:
    """The `predict` subcommand and its flags."""
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


def predict(args) -> int:
    """Run `cnn-tui predict`; returns the exit code."""
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
