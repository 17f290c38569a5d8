"""Random keys against the real app (Pilot, headless): no exception, no exit, no frozen screen.

    python tools/monkey.py --keys 5000 --seed 7 --episode 400 --log monkey.jsonl

Each episode starts the app at one of the sizes (80x24, 120x40, 160x50 in turn) and presses
`--episode` random keys: half from the bindings active at that moment (so every screen's keys,
including screens added later, are drawn), half from a fixed pool (letters, digits, arrows, tab,
escape, enter, ctrl+p, ...); now and then the terminal is resized. After every key the app and
the current screen must answer a ping within --freeze seconds. A failure (an exception Textual
saw, one the app reported and carried on from, an exit, a frozen screen) is printed with the
seed, the episode, the key index and the last keys; the run goes on with the next episode.
Quitting (q, the palette's Quit) is allowed: it is noted among the keys and the episode goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events

from tui.app import CnnTuiApp

SIZES = ((80, 24), (120, 40), (160, 50))
POOL = (
    list(string.ascii_lowercase)
    + list("TPL?")
    + list(string.digits)
    + ["up", "down", "left", "right", "home", "end", "pageup", "pagedown"]
    + ["tab", "shift+tab", "escape", "enter", "space", "backspace", "delete"]
    + ["ctrl+p", "ctrl+s", "shift+up", "shift+down", "less_than_sign", "greater_than_sign"]
    + ["left_square_bracket", "right_square_bracket", "plus", "minus", "question_mark"]
)
NEVER = {"ctrl+z", "ctrl+c"}  # suspend the process / copy: not app behaviour
RESIZE_EVERY = 60  # on average, one resize per this many keys
TAIL = 40  # keys kept for a failure's report


class MonkeyApp(CnnTuiApp):
    """The real app; quitting is noted instead of ending the app (quit is allowed)."""

    CSS_PATH = [str(Path(__file__).resolve().parents[1] / "tui" / "app.tcss")]  # not tools/
    quit_asked = False

    def exit(self, *args, **kwargs) -> None:
        """Note the quit; the monkey goes on and closes the app itself."""
        self.quit_asked = True


async def answers(pump, timeout: float) -> bool:
    """True when `pump` runs a callback within `timeout` seconds."""
    done = asyncio.Event()
    if not pump.call_later(done.set):
        return False
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        return False
    return True


async def ping(app, timeout: float) -> str:
    """'' when the app and its current screen both run a callback in time, else what froze."""
    if not await answers(app, timeout):
        return f"app {app!r} did not answer within {timeout:.0f}s"
    # A screen being dismissed refuses messages while it is still on top for a moment; that
    # is a transition, not a freeze: ask whichever screen is on top until the time is up.
    deadline = time.monotonic() + timeout
    while True:
        screen = app.screen
        if await answers(screen, max(0.05, min(1.0, deadline - time.monotonic()))):
            return ""
        if time.monotonic() >= deadline:
            return f"screen {screen!r} did not answer within {timeout:.0f}s"
        await asyncio.sleep(0.05)


def send(app, key: str) -> None:
    """Deliver one key the way the terminal driver does (no wait for an idle CPU)."""
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app._driver.send_message(event)


def pick(rnd: random.Random, app) -> str:
    """A key: half the time one the current screen binds, else one from the pool."""
    if rnd.random() < 0.5:
        try:
            keys = [k for k in app.active_bindings if k not in NEVER]
        except Exception:  # no screen at this instant
            keys = []
        if keys:
            return rnd.choice(keys)
    return rnd.choice(POOL)


def start_of(n: int) -> dict:
    """Where episode n starts: home, the explorer, or one of the lessons, in turn."""
    starts = [{"start": "home"}, {"start": "explore", "preset": "lenet"}]
    starts += [{"start": "learn", "lesson": k} for k in range(1, 13)]
    return starts[n % len(starts)]


async def episode(
    seed: int, size: tuple[int, int], presses: int, freeze: float, start: dict | None = None
) -> dict:
    """One app, `presses` random keys; returns counts and the failure if any."""
    rnd = random.Random(seed)
    app = MonkeyApp(seed=0, **(start or {"start": "home"}))
    tail: list[str] = []
    screens: set[str] = set()
    result = {"seed": seed, "size": f"{size[0]}x{size[1]}", "keys": 0, "failure": None}
    result["start"] = start or {"start": "home"}

    def fail(kind: str, detail: str) -> dict:
        result["failure"] = {
            "kind": kind,
            "detail": detail[-4000:],
            "key_index": result["keys"],
            "last_keys": tail[-TAIL:],
            "screen": type(app.screen).__name__,
        }
        return result

    async with app.run_test(size=size) as pilot:
        for _ in range(int(120 / 0.05)):  # the first screen (home, or the explorer's session)
            top = app.screen_stack[-1] if app.screen_stack else None
            if top is not None and top.is_mounted and getattr(top, "session", True) is not None:
                break
            await asyncio.sleep(0.05)
        for _ in range(presses):
            if rnd.randrange(RESIZE_EVERY) == 0:
                w, h = rnd.choice(SIZES + ((rnd.randint(40, 200), rnd.randint(10, 60)),))
                tail.append(f"resize {w}x{h}")
                await pilot.resize_terminal(w, h)
            key = pick(rnd, app)
            tail.append(key)
            send(app, key)
            result["keys"] += 1
            await asyncio.sleep(0.01)
            if app._exception is not None:
                import traceback

                return fail("exception", "".join(traceback.format_exception(app._exception)))
            if app.failures:
                doing, trace = app.failures[0]
                return fail("reported", f"{doing}\n{trace}")
            if not app.is_running:
                return fail("exit", "the app stopped running")
            frozen = await ping(app, freeze)
            if frozen:
                return fail("frozen", frozen)
            screens.add(type(app.screen).__name__)
            if app.quit_asked:  # allowed: the app would end here; the monkey goes on
                tail.append("(quit)")
                app.quit_asked = False
        result["screens"] = sorted(screens)
        result["workers"] = sum(1 for w in app.workers if w.is_running)
    return result


async def main(args) -> int:
    rnd = random.Random(args.seed)
    total, failures, started = 0, 0, time.monotonic()
    log = open(args.log, "a") if args.log else None
    n = 0
    while total < args.keys:
        size = SIZES[n % len(SIZES)]
        seed = rnd.randrange(2**31)
        presses = min(args.episode, args.keys - total)
        t0 = time.monotonic()
        try:
            result = await episode(seed, size, presses, args.freeze, start_of(n))
        except Exception as exc:  # the app could not even start or close: a failure too
            result = {"seed": seed, "size": f"{size[0]}x{size[1]}", "keys": 0,
                      "failure": {"kind": "harness", "detail": repr(exc)}}  # fmt: skip
        result["seconds"] = round(time.monotonic() - t0, 1)
        total += max(result["keys"], 1)
        n += 1
        line = json.dumps(result)
        if log:
            log.write(line + "\n")
            log.flush()
        if result["failure"]:
            failures += 1
            print("FAIL", line, flush=True)
        else:
            print(f"ok episode {n} seed {seed} {result['size']} {result['start']} "
                  f"{result['keys']} keys "
                  f"{result['seconds']}s screens {','.join(result.get('screens', []))}",
                  flush=True)  # fmt: skip
    elapsed = time.monotonic() - started
    print(f"done: {total} keys in {n} episodes, {failures} failures, {elapsed:.0f}s "
          f"(master seed {args.seed})")  # fmt: skip
    return 1 if failures else 0


def parse(argv=None):
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keys", type=int, default=2000, help="key presses in total")
    p.add_argument("--episode", type=int, default=400, help="key presses per app start")
    p.add_argument("--seed", type=int, default=0, help="master seed (episode seeds follow)")
    p.add_argument("--freeze", type=float, default=30.0, help="seconds before 'frozen'")
    p.add_argument("--log", default="", help="append one JSON line per episode here")
    return p.parse_args(argv)


if __name__ == "__main__":
    # Progress, exports and saves land in a scratch directory, not the user's.
    scratch = tempfile.mkdtemp(prefix="cnn-tui-monkey-")
    os.environ["XDG_STATE_HOME"] = scratch
    os.chdir(scratch)
    sys.exit(asyncio.run(main(parse())))
