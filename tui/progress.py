"""The learner's progress (questions answered right, per lesson), saved atomically as JSON.

Where: $XDG_STATE_HOME/cnn-tui/progress.json, else ~/.local/state/cnn-tui/progress.json.
When that cannot be written the app keeps the progress in memory and says so once.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

FILE_NAME = "progress.json"


def state_dir() -> Path:
    """$XDG_STATE_HOME/cnn-tui when set (and absolute, as the spec asks), else ~/.local/state."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "cnn-tui"


class Progress:
    """Which questions of which lessons were answered right; saves after every change."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / FILE_NAME
        self.answered: dict[int, set[int]] = {}
        self.problem: str | None = None  # why saving failed (shown once), else None
        self.problem_shown = False
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            lessons = raw.get("answered", {}) if isinstance(raw, dict) else {}
            for lesson, questions in lessons.items():
                if str(lesson).isdigit() and isinstance(questions, list):
                    self.answered[int(lesson)] = {int(q) for q in questions if isinstance(q, int)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:  # unreadable or corrupt: start afresh, keep the file
            self.problem = f"could not read progress from {self.path}: {exc}"

    def done(self, lesson: int, total: int) -> bool:
        """True when all `total` questions of the lesson were answered right."""
        return total > 0 and len(self.answered.get(lesson, set())) >= total

    def count(self, lesson: int) -> int:
        """How many of the lesson's questions were answered right."""
        return len(self.answered.get(lesson, set()))

    def mark(self, lesson: int, question: int) -> None:
        """Record a right answer and save (failures are remembered in `problem`)."""
        self.answered.setdefault(lesson, set()).add(question)
        self.save()

    def save(self) -> bool:
        """Write atomically (temp file + rename in the same directory); False on failure."""
        answered = {str(k): sorted(v) for k, v in sorted(self.answered.items())}
        data = {"version": 1, "answered": answered}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".progress-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.problem = f"progress is not saved ({self.path.parent}: {exc.strerror or exc})"
            return False
        return True

    def take_problem(self) -> str | None:
        """The problem to show, once per run; None after that or when there is none."""
        if self.problem is None or self.problem_shown:
            return None
        self.problem_shown = True
        return self.problem
