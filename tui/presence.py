"""Follow the presenter: the presenter's session publishes where it is, participants mirror it.

The channel is one JSON file under the server's runtime directory. Only the presenter's session
is given the path to write (CNN_TUI_PRESENT_FILE); participants get the path to read
(CNN_TUI_FOLLOW_FILE) and nothing in their session ever writes it, so a participant can never
drive the presenter. What is published is the presenter's stack of places (home, a lesson, the
explorer, a lab, the zoom; dialogs and help are left out), each with its own state. A follower
pops and pushes its own screens until its places match, then mirrors the top one. A screen joins
in by being named in PLACES and defining `presence_state() -> dict` (what to publish) and
`follow_presenter(state: dict) -> None` (how to mirror it); the explorer is handled here. A lesson
view mirrors the attributes it names in `FOLLOWED` (its cursor, digit, channel: its "step").
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


def _lab(name: str):
    def make(app, state):
        from importlib import import_module

        module = import_module(f"tui.screens.{name}")
        screen_name = f"lab-{name}"  # the same installed screen the home and explorer keys use
        if not app.is_screen_installed(screen_name):
            app.install_screen(getattr(module, f"{name.title()}Screen")(), screen_name)
        return screen_name

    return make


def _home(app, state):
    from tui.screens.home import HomeScreen

    return HomeScreen(warm_up=app.warm_up)


def _lesson(app, state):
    from tui.screens.lesson import LessonScreen

    return LessonScreen(int(state["lesson"]), page=int(state.get("page", 0)), warm_up=app.warm_up)


def _explorer(app, state):
    from tui.screens.explorer import ExplorerScreen

    preset = str(state.get("preset") or "lenet")
    return ExplorerScreen(preset=preset, warm_up=app.warm_up, prepare=_net(state.get("net")))


def _net(place):
    """The presenter explorer's network source (a lesson's trained LeNet), made again here."""
    if place is None:
        return None
    from tui.lessons.lesson03_channels import TrainedLenet

    return TrainedLenet(**place)  # a wrong name or value: TypeError or ValueError


def _net_of(screen) -> dict | None:
    place = getattr(getattr(screen, "prepare", None), "place", None)
    return place() if place is not None else None


def _zoom(app, state):
    from tui.screens.zoom import ZoomScreen

    return ZoomScreen(app.screen)  # the place just below, as when the presenter pressed Z


# The screens a follower mirrors, and how it makes one from the published state. Anything else
# (help, dialogs, the palette) is the presenter's own business and is not published.
PLACES = {
    "HomeScreen": _home,
    "LessonScreen": _lesson,
    "ExplorerScreen": _explorer,
    "TrainingScreen": _lab("training"),
    "PredictScreen": _lab("predict"),
    "TransferScreen": _lab("transfer"),
    "ZoomScreen": _zoom,
}


def is_place(screen) -> bool:
    """True for a screen followers mirror."""
    return type(screen).__name__ in PLACES


def published(app) -> dict:
    """What the presenter's session publishes: its places, bottom first, each with its state."""
    return {"stack": [state_of(s) for s in app.screen_stack if is_place(s)]}


def _same_place(screen, state: dict) -> bool:
    if type(screen).__name__ != state.get("screen"):
        return False
    if _net_of(screen) != state.get("net"):  # an explorer on another network is another place
        return False
    return getattr(screen, "number", None) == state.get("lesson", getattr(screen, "number", None))


def follow_app(app, state: dict) -> bool:
    """Bring the follower's screens to the presenter's places; False until it is all mirrored.

    A participant's own dialog (help, export) on top is left alone: following resumes when it
    closes. Screens are popped here and pushed one a call; a screen's state is applied on a later
    call, once it is mounted.
    """
    places = state.get("stack", ())
    target = [s for s in places if isinstance(s, dict) and s.get("screen") in PLACES]
    stack = app.screen_stack
    if not target or not is_place(stack[-1]):
        return False
    same = 0
    while same < min(len(stack), len(target)) and _same_place(stack[same], target[same]):
        same += 1
    if same == len(stack) == len(target):  # every level, so a place under the zoom moves too
        return all([follow(screen, place) for screen, place in zip(stack, target, strict=True)])
    try:
        for _ in range(len(stack) - max(same, 1)):
            app.pop_screen()
        if same == 0:  # a different bottom screen: replace it
            app.switch_screen(PLACES[target[0]["screen"]](app, target[0]))
        elif same < len(target):  # one screen a poll: the zoom asks the screen below to be there
            app.push_screen(PLACES[target[same]["screen"]](app, target[same]))
    except (KeyError, TypeError, ValueError):  # a state this version cannot make: stay put
        return True
    return False


def state_of(screen) -> dict:
    """What the presenter publishes for the screen shown: its name plus the screen's own state."""
    state = {"screen": type(screen).__name__}
    if hasattr(screen, "presence_state"):
        state.update(screen.presence_state())
    elif getattr(screen, "session", None) is not None:  # the explorer: preset and stepper
        session = screen.session
        state.update(preset=session.name, ops=_ops_done(session.stepper), adopted=session.adopted)
    if _net_of(screen) is not None:  # opened from a lesson: on the lesson's trained net
        state["net"] = _net_of(screen)
    return state


def follow(screen, state: dict) -> bool:
    """Mirror `state` on the participant's screen; False when this screen cannot (yet)."""
    if hasattr(screen, "follow_presenter"):
        return screen.follow_presenter(state) is not False
    session = getattr(screen, "session", None)
    if "preset" not in state:
        return set(state) <= {"screen"}  # nothing to mirror but the screen itself
    if session is None:
        return False  # the explorer is still building its session: try again
    adopt = getattr(screen, "prepare", None) if state.get("adopted") else None
    with session.lock:
        _replay(session, str(state["preset"]), int(state.get("ops", 0)), adopt)
    if hasattr(screen, "refresh_panes"):
        screen.refresh_panes()
    return True


def view_state(view) -> dict:
    """A lesson view's step: the attributes it names in FOLLOWED, as JSON values."""
    return {name: _jsonable(getattr(view, name)) for name in getattr(view, "FOLLOWED", ())}


def follow_view(view, state: dict) -> None:
    """Set a lesson view's FOLLOWED attributes to the presenter's, then let it recompute.

    A view whose step is a run or a stepper names it in FOLLOWED as a property or a flag (the
    stepper's position, "trained") and defines `followed(moved)`: it steps, undoes or starts the
    same seeded run itself, so the follower reaches the presenter's numbers.
    """
    moved = set()
    for name in getattr(view, "FOLLOWED", ()):
        if name not in state:
            continue
        old = getattr(view, name)
        new = _restore(old, state[name])
        if not _equal(old, new):
            setattr(view, name, new)
            moved.add(name)
    if moved and hasattr(view, "followed"):
        view.followed(moved)
    elif moved:  # the view's own way of redrawing after its keys: recompute, or just repaint
        (getattr(view, "compute", None) or view.changed)()


def _jsonable(value):
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _restore(old, new):
    """new (from JSON) in the type of the attribute it replaces (tuples, arrays, dicts)."""
    if hasattr(old, "dtype") and hasattr(old, "shape"):
        import numpy as np

        value = np.asarray(new, dtype=old.dtype)
        return value if value.shape == old.shape else old
    if isinstance(old, tuple) and isinstance(new, list):
        if len(old) != len(new):
            return old
        return tuple(_restore(o, n) for o, n in zip(old, new, strict=True))
    if isinstance(old, dict) and isinstance(new, dict):
        return {k: _restore(old.get(k), v) for k, v in new.items()}
    return new


def _equal(a, b) -> bool:
    if hasattr(a, "shape") or hasattr(b, "shape"):
        import numpy as np

        return np.array_equal(a, b)
    return a == b


MAX_REPLAY_OPS = 2000  # a participant far behind catches up in bounded time


def _ops_done(stepper) -> int:
    """Ops stepped since the start, across iterations (grows by one per step, falls on undo)."""
    return stepper.iteration * len(stepper.ops) + stepper.position


def _replay(session, preset: str, ops: int, adopt=None) -> None:
    """Bring the session to the presenter's preset and stepper position; `adopt` (the lesson's
    net, made as the presenter's was) when the presenter's session holds it, not a fresh preset."""
    if session.name != preset or session.adopted != (adopt is not None):
        session.load_preset(preset)
        if adopt is not None:
            adopt(session)
    if _ops_done(session.stepper) > ops:
        session.reset()
    for _ in range(MAX_REPLAY_OPS):
        if _ops_done(session.stepper) >= ops:
            break
        session._step()
