"""A lesson view's engine work off the interface thread: one mechanism for every lesson.

`EngineJobs.start(kind, fn)` runs fn() in a thread worker (one per kind at a time; a new one
replaces a running one); its result comes back as a `JobDone` message to `done(kind, result)`
on the interface thread, an exception to `failed(kind, problem)`. Lessons 7-12 run their
builds and trainings this way (tui/lessons/live.py adds progress); `EngineWork` uses it for a
view's per-key calculation while its Numba kernels compile.

`EngineWork`: the first call of a Numba kernel compiles it (seconds on an empty cache) and the
lesson must keep answering keys meanwhile. A view names the kernels a calculation needs
(`kernel_key`); once a key has run in this process, later calculations run inline
(microseconds) so a key press repaints at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.message import Message

WARM: set[str] = set()  # kernel keys that ran (compiled) in this process


@dataclass
class JobDone(Message):
    """A view's thread job finished: its result, or the problem that stopped it."""

    kind: str
    result: Any = None
    problem: str = ""


class Cancelled(Exception):
    """The view's job was cancelled (the lesson closed): stop quietly."""


class EngineJobs:
    """Mixin for a LessonView: engine jobs in thread workers, results back as messages."""

    problem = ""

    def start(self, kind: str, fn) -> None:
        """Run fn() in a thread worker named kind; a running job of that kind is replaced."""
        self.run_worker(partial(self._job, kind, fn), thread=True, group=f"{self.id}-{kind}",
                        exclusive=True, exit_on_error=False)  # fmt: skip

    def _job(self, kind: str, fn) -> None:
        try:
            result = fn()
        except Cancelled:
            return
        except Exception as exc:  # a missing file, a diverged run: say so, keep the lesson
            self.post_message(JobDone(kind, problem=f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(JobDone(kind, result=result))

    def on_job_done(self, message: JobDone) -> None:
        # (A subclass hooks done/failed/finished, not this handler: Textual calls the handler of
        # every class in the MRO that defines one.)
        message.stop()
        if message.problem:
            self.failed(message.kind, message.problem)
        else:
            self.done(message.kind, message.result)
        self.finished(message.kind)

    def finished(self, kind: str) -> None:
        """After done() or failed(): repaint what the job changed."""

    def done(self, kind: str, result) -> None:
        """A job's result, on the interface thread."""

    def failed(self, kind: str, problem: str) -> None:
        """A job stopped with `problem` (shown by the view; the lesson goes on)."""
        self.problem = problem
        self.changed()


class EngineWork(EngineJobs):
    """Mixin for a LessonView: `compute()` fills `self.result` from `calculate()`."""

    result = None

    def kernel_key(self) -> str:
        """Which compiled kernels calculate() needs ("" when it needs none)."""
        return ""

    def calculate(self):
        """The engine calculation for the current state (may run in a thread: read, don't write)."""
        raise NotImplementedError

    def compute(self) -> None:
        """Recalculate: inline when warm, else in a worker (the view says it is compiling)."""
        key = self.kernel_key()
        if not key or key in WARM:
            try:
                self.result, self.problem = self.calculate(), ""
            except Exception as exc:  # an engine refusal: shown, the lesson goes on
                self.problem = f"{type(exc).__name__}: {exc}"
            self.changed()
        else:
            self.start(f"compile-{key}", self.calculate)

    def done(self, kind: str, result) -> None:
        if kind.startswith("compile-"):
            WARM.add(kind.removeprefix("compile-"))
            self.compute()  # the state may have moved on while compiling: now inline

    @property
    def ready(self) -> bool:
        """True once the calculation is back (questions wait for it)."""
        return self.result is not None

    @property
    def compiling(self) -> bool:
        """True until the first calculation is back."""
        return self.result is None and not self.problem
