"""Messages that thread workers post to the explorer screen (dataclasses, thread-safe to post)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
