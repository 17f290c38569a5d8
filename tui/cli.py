"""The `cnn-tui` command: the app (home, `explore`, `learn N`), or headless `train`, `predict`
and `learn --list` (tui/cli_train.py, cli_predict.py, cli_serve.py; flags in cli_args.py)."""

from __future__ import annotations

import argparse
import sys

from tui import cli_predict, cli_serve, cli_train
from tui.cli_args import TRAIN_PRESETS, USAGE_EXIT, CliError, Parser, positive_int

__all__ = ["TRAIN_PRESETS", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (no engine import)."""
    parser = Parser(
        prog="cnn-tui",
        description="The math of convolutional neural networks, live in a terminal. "
        "With no command, starts the app.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.add_parser("explore", help="open the explorer (step a network one operation at a time)",
                   description="Open the explorer on the LeNet-style MNIST net.")  # fmt: skip
    learn = sub.add_parser(
        "learn",
        help="open lesson N, or list the lessons with --list",
        description="The lessons, from one convolution to your own digit.",
    )
    learn.add_argument("number", nargs="?", type=positive_int, help="the lesson to open")
    learn.add_argument("--list", action="store_true", help="print the numbered lesson titles")
    cli_train.add_parser(sub)
    cli_predict.add_parser(sub)
    cli_serve.add_parser(sub)
    return parser


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
    command = {"train": cli_train.train, "predict": cli_predict.predict,
               "serve": cli_serve.serve, "learn": _learn}  # fmt: skip
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
