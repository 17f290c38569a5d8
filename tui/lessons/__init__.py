"""The lessons, in order: numbers, titles and modules (no Textual here: `learn --list` is instant).

Each entry names a module `tui.lessons.<module>` that defines `LESSON` (a base.Lesson); see
tui/lessons/base.py for how to write one. An entry whose module is not written yet is listed
and shown as "coming" on the home screen.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One lesson of the path: its number, title and module under tui.lessons."""

    number: int
    title: str
    module: str


ENTRIES: tuple[Entry, ...] = (
    Entry(1, "Convolution", "lesson01_convolution"),
    Entry(2, "Padding and stride", "lesson02_padding_stride"),
    Entry(3, "Channels and filters", "lesson03_channels"),
    Entry(4, "Pooling", "lesson04_pooling"),
    Entry(5, "Activations", "lesson05_activations"),
    Entry(6, "Loss", "lesson06_loss"),
    Entry(7, "Backpropagation", "lesson07_backprop"),
    Entry(8, "Optimizers", "lesson08_optimizers"),
    Entry(9, "Regularization", "lesson09_regularization"),
    Entry(10, "Residual networks", "lesson10_residual"),
    Entry(11, "Transfer learning", "lesson11_transfer"),
    Entry(12, "Your own digit", "lesson12_your_digit"),
)


def entry(number: int) -> Entry:
    """The entry of lesson `number` (1-based); ValueError naming the valid range."""
    if not 1 <= number <= len(ENTRIES):
        raise ValueError(f"there is no lesson {number}: the lessons are 1 to {len(ENTRIES)}")
    return ENTRIES[number - 1]


def available(number: int) -> bool:
    """True when lesson `number`'s module exists (imports nothing)."""
    return importlib.util.find_spec(f"tui.lessons.{entry(number).module}") is not None


def load(number: int):
    """The Lesson object of lesson `number` (imports its module, and with it Textual)."""
    module = importlib.import_module(f"tui.lessons.{entry(number).module}")
    return module.LESSON
