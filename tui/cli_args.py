"""What each `cnn-tui` flag accepts: ranges stated once, refusals as one line naming the flag."""

from __future__ import annotations

import argparse
import math

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


class Parser(argparse.ArgumentParser):
    """argparse, with errors on one line."""

    def error(self, message: str):
        """One line naming the problem (argparse's default prints the whole usage first)."""
        self.exit(USAGE_EXIT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def int_range(lo: int, hi: int):
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


def positive_int(text: str) -> int:
    """A whole number from 1 to a billion (a flag that needs a tighter bound checks it too)."""
    return int_range(1, 10**9)(text)


def number(lo: float, hi: float | None = None, lo_open: bool = False, hi_closed=False):
    """A parser of finite numbers from lo (excluded if lo_open) to hi (included if hi_closed)."""

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


def port(text: str) -> int:
    """A TCP port, 1 to 65535."""
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value
