"""Messages that thread workers post to the explorer screen (dataclasses, thread-safe to post)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from textual.message import Message


@dataclass
class CompileProgress(Message):
    """Warm-up progress: `done` of `total` kernel groups compiled (or loaded from cache)."""

    done: int
    total: int
    name: str


@dataclass
class SessionReady(Message):
    """The warm-up worker built the first session; `note` explains any fallback."""

    session: Any  # tui.session.Session (typed loosely so this module never imports the engine)
    note: str = ""


@dataclass
class SessionFailed(Message):
    """The warm-up worker could not build any session; `error` says why."""

    error: str


@dataclass
class RunProgress(Message):
    """New training points since the last message: (iteration, loss, accuracy or None)."""

    points: list[tuple[int, float, float | None]] = field(default_factory=list)


@dataclass
class RunFinished(Message):
    """A training run ended: stopped by the user, or `error` names what went wrong."""

    iterations: int
    error: str = ""
    run: int = 0  # which run (a newer one may have started meanwhile)


@dataclass
class GradcheckDone(Message):
    """engine.gradcheck finished on `layer`: max relative error per tensor, or `error`."""

    layer: str
    errors: dict[str, float] = field(default_factory=dict)
    error: str = ""


# ---- lab screens (training, prediction, transfer) -----------------------------------------
@dataclass
class TrainStep(Message):
    """Points of run `run` since the last message: (step, loss, running accuracy), newest last."""

    run: int
    points: list[tuple[int, float, float]] = field(default_factory=list)
    progress: Any = None  # the newest engine.train.Progress


@dataclass
class TrainDone(Message):
    """Run `run` ended (finished, stopped or diverged); the held-out evaluation of its weights."""

    run: int
    model: Any = None  # engine Module with the run's (last good) weights
    input_shape: tuple = ()
    evaluation: Any = None  # engine.train.EvalResult on the 2000 held-out digits
    predicted: Any = None  # (2000,) int predicted class of each held-out digit
    steps: int = 0
    stopped: bool = False
    error: str = ""


@dataclass
class Saved(Message):
    """The training lab's save worker: `written` is the file, else `error` says why not."""

    typed: str  # the path as the user typed it (what a refusal names)
    written: Any = None  # pathlib.Path of the checkpoint written
    error: str = ""


@dataclass
class TransferStep(Message):
    """Transfer lesson progress: `name` ("fine-tuned" / "scratch") at `step` of `total`."""

    name: str
    step: int
    total: int
    losses: list[float] = field(default_factory=list)  # new losses of this curve since last


@dataclass
class TransferDone(Message):
    """engine.transfer.transfer() finished with `result`, or `error` says why not."""

    result: Any = None
    error: str = ""


class LabModel(NamedTuple):
    """The training lab's latest model, which the predict screen can use (CnnTuiApp.lab_latest)."""

    model: Any  # engine Module
    input_shape: tuple
    label: str  # the run's label, e.g. "#2 adam lr=0.002 s0 98.1%"


@dataclass
class Predicted(Message):
    """The predict screen's worker: request `request` done, or `error` says why not."""

    request: int
    model: Any = None  # engine Module that made the prediction
    input_shape: tuple = ()
    name: str = ""  # what the screen calls the model ("pretrained lenet", a path, a run)
    source: str = ""  # "pretrained" | "latest" | "checkpoint"
    x: Any = None  # (1, C, H, W) the input
    where: str = ""  # what the input is, for its caption
    label: int | None = None  # the true label of a held-out digit
    digit: int = -1  # index of the held-out digit, -1 for an image file
    path: str = ""  # the image file, "" for a digit
    maps: list = field(default_factory=list)  # [(layer name, (C, H, W))]
    logits: Any = None  # (K,) float64
    error: str = ""


@dataclass
class Exported(Message):
    """The export worker finished: the files it wrote, and why it stopped early ("" if not)."""

    paths: list = field(default_factory=list)  # pathlib.Path of each file written, in order
    directory: str = ""
    error: str = ""
