"""EngineWork: run a view's engine calculation now when its kernels are compiled, else in a thread.

The first call of a Numba kernel compiles it (seconds on an empty cache); the lesson must keep
answering keys meanwhile. A view names the kernels a calculation needs (`kernel_key`); once a
key has run in this process, later calculations run inline (microseconds) so a key press
repaints at once.
"""

from __future__ import annotations

from textual import work

WARM: set[str] = set()  # kernel keys that ran (compiled) in this process


class EngineWork:
    """Mixin for a LessonView: `compute()` fills `self.result` from `calculate()`."""

    result = None
    problem = ""

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
            self._calculate_in_thread(key)

    @work(thread=True, exclusive=True, group="lesson-compute", exit_on_error=False)
    def _calculate_in_thread(self, key: str) -> None:
        try:
            self.calculate()
        except Exception as exc:
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        WARM.add(key)
        self.app.call_from_thread(self.compute)  # the state may have moved on: now inline

    def _failed(self, problem: str) -> None:
        self.problem = problem
        self.changed()

    @property
    def ready(self) -> bool:
        """True once the calculation is back (questions wait for it)."""
        return self.result is not None

    @property
    def compiling(self) -> bool:
        """True until the first calculation is back."""
        return self.result is None and not self.problem
