"""Progress: where it is saved, atomically, and what happens when it cannot be."""

from __future__ import annotations

import json

from tui.progress import Progress, state_dir


# ---- progress -------------------------------------------------------------------------------
def test_progress_lives_in_xdg_state_home_and_is_written_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert state_dir() == tmp_path / "cnn-tui"
    progress = Progress()
    progress.mark(1, 0)
    saved = json.loads((tmp_path / "cnn-tui" / "progress.json").read_text())
    assert saved["answered"] == {"1": [0]}
    assert [p.name for p in (tmp_path / "cnn-tui").iterdir()] == ["progress.json"]  # no temp left
    assert Progress().done(1, 1) and not Progress().done(2, 1)


def test_progress_falls_back_to_home_without_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert state_dir() == tmp_path / ".local" / "state" / "cnn-tui"


def test_unwritable_progress_keeps_working_and_says_so_once(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    progress = Progress(blocker / "progress.json")
    progress.mark(1, 0)
    assert progress.count(1) == 1  # kept in memory
    message = progress.take_problem()
    assert message and "progress is not saved" in message
    progress.mark(2, 0)
    assert progress.take_problem() is None  # once


def test_corrupt_progress_file_starts_afresh(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("{not json")
    progress = Progress(path)
    assert progress.count(1) == 0 and "could not read progress" in progress.take_problem()
