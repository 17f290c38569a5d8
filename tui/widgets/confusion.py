"""The confusion matrix of a held-out evaluation and a browsable card of one misclassified digit."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text

from tui.render import heatmap

HELD_OUT = "on 2000 held-out digits"


def confusion_text(confusion: np.ndarray, *, color: bool = True) -> Text:
    """10x10 counts, rows = true digit, columns = predicted; the diagonal is bold (and green)."""
    k = confusion.shape[0]
    cw = max(3, len(str(int(confusion.max(initial=0)))) + 1)
    text = Text("t\\p".ljust(5) + "".join(f"{j:>{cw}}" for j in range(k)), "bold")
    text.no_wrap, text.overflow = True, "crop"
    diag = Style(bold=True, color="green") if color else Style(bold=True, underline=True)
    wrong = Style(color="red") if color else Style()
    for i in range(k):
        text.append(f"\n{i:>3}  ", style="bold")
        for j in range(k):
            n = int(confusion[i, j])
            cell = f"{n:>{cw}}" if n or i == j else " " * (cw - 1) + "."
            text.append(cell, style=diag if i == j else wrong if n else None)
    total = int(confusion.sum())
    correct = int(np.trace(confusion))
    text.append(f"\n{correct}/{total} correct {HELD_OUT}", style="bold")
    return text


def misclassified(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Indices of the held-out digits the model got wrong, in dataset order."""
    return np.flatnonzero(np.asarray(labels) != np.asarray(predicted))


def digit_card(image: np.ndarray, true: int, pred: int, where: str, *, color: bool = True) -> Text:
    """A 28x28 digit as a heatmap with its true and predicted labels."""
    text = Text(f"true {true} → predicted {pred}\n", style="bold")
    text.append(heatmap(image, max_width=28, max_height=14, signed=False, color=color))
    text.append(f"\n{where}")
    return text
