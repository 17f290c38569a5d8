"""Follow the presenter: the presenter's session publishes where it is, participants mirror it.

The channel is one JSON file under the server's runtime directory. Only the presenter's session
is given the path to write (CNN_TUI_PRESENT_FILE); participants get the path to read
(CNN_TUI_FOLLOW_FILE) and nothing in their session ever writes it, so a participant can never
drive the presenter. A screen joins in by defining `presence_state() -> dict` (what to publish)
and `follow_presenter(state: dict) -> None` (how to mirror it); the explorer is handled here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PRESENT_ENV = "CNN_TUI_PRESENT_FILE"  # the presenter's session: where to publish
FOLLOW_ENV = "CNN_TUI_FOLLOW_FILE"  # a participant's session: what to mirror
MAX_STATE_BYTES = 64 * 1024  # a state is a few numbers and names; anything bigger is not ours


class Channel:
    """The state file: atomic writes by the presenter, cheap change checks by the followers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._seen: tuple[int, int] | None = None
        self.last: dict | None = None  # the latest state read, to rejoin at once

    def publish(self, state: dict) -> None:
        """Replace the file's content in one step (a reader sees the old or the new state)."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, sort_keys=True))
        os.replace(tmp, self.path)

    def poll(self) -> dict | None:
        """The state if the file changed since the last poll, else None."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._seen or st.st_size > MAX_STATE_BYTES:
            return None
        try:
            state = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None  # mid-write on an odd filesystem: the next poll reads it
        self._seen = stamp
        if isinstance(state, dict):
            self.last = state
            return state
        return None


def role() -> tuple[str, Channel | None]:
    """('presenter', channel), ('participant', channel) or ('alone', None) from the environment."""
    if os.environ.get(PRESENT_ENV):
        return "presenter", Channel(os.environ[PRESENT_ENV])
    if os.environ.get(FOLLOW_ENV):
        return "participant", Channel(os.environ[FOLLOW_ENV])
    return "alone", None


def state_of(screen) -> dict:
    """What the presenter publishes for the screen shown: its name plus the screen's own state."""
    state = {"screen": type(screen).__name__}
    if hasattr(screen, "presence_state"):
        state.update(screen.presence_state())
    elif getattr(screen, "session", None) is not None:  # the explorer: preset and stepper
        state.update(preset=screen.session.name, ops=_ops_done(screen.session.stepper))
    return state


def follow(screen, state: dict) -> bool:
    """Mirror `state` on the participant's screen; False when this screen cannot (yet)."""
    if hasattr(screen, "follow_presenter"):
        screen.follow_presenter(state)
        return True
    session = getattr(screen, "session", None)
    if session is None or "preset" not in state:
        return False
    with session.lock:
        _replay(session, str(state["preset"]), int(state.get("ops", 0)))
    if hasattr(screen, "refresh_panes"):
        screen.refresh_panes()
    return True


MAX_REPLAY_OPS = 2000  # a participant far behind catches up in bounded time


def _ops_done(stepper) -> int:
    """Ops stepped since the start, across iterations (grows by one per step, falls on undo)."""
    return stepper.iteration * len(stepper.ops) + stepper.position


def _replay(session, preset: str, ops: int) -> None:
    """Bring the session to the presenter's preset and stepper position."""
    if session.name != preset:
        session.load_preset(preset)
    if _ops_done(session.stepper) > ops:
        session.reset()
    for _ in range(MAX_REPLAY_OPS):
        if _ops_done(session.stepper) >= ops:
            break
        session._step()
