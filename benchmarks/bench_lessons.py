"""The lessons section of bench_tui.py (`bench_tui.py --lessons`): open, step and cold-start times.

  open    = push LessonScreen(n) on the running app until the screen, with its view, was
            painted: what the learner sees first (a view still computing shows that it is, with
            progress: lesson 9 trains three nets for seconds); first open in the process, then
            a reopen;
  numbers = the same push until the view has its numbers (view.ready) and was painted again;
  step    = one key of the lesson's view (slide, change k, move x, ...) until handled and the
            screen repainted (bench_tui.timed_key), 40 per lesson;
  cold    = `cnn-tui learn 1` on an empty NUMBA_CACHE_DIR: process launch until the first key
            (an arrow, posted to the app as soon as the lesson is on screen) has moved the
            window, and until the background compile finished.
All headless (Textual's run_test) at 120x40, each measurement in a fresh process.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # this checkout's tui, not an installed one
    sys.path.insert(0, str(ROOT))
TARGETS = {"open_ms": 300.0, "step_p95_ms": 50.0, "cold_key_s": 2.0}
# Keys that change each lesson's view, pressed in turn (first page of the lesson).
STEP_KEYS = {
    1: ["right", "down", "left", "up"],
    2: ["right", "left"],
    3: ["right", "down", "left", "up"],
    4: ["right", "left", "m"],
    5: ["right", "left", "f"],
    6: ["right", "left"],
}


async def _shown(app, pilot, screen) -> None:
    """Wait until the lesson screen and its view are mounted, then paint."""
    while not (screen.is_mounted and screen.view is not None and screen.view.is_mounted):
        await asyncio.sleep(0.002)
    await pilot._wait_for_screen()
    app.screen._on_timer_update()


async def _settle(app, pilot, screen) -> None:
    """Wait until the lesson's view has its numbers, then paint."""
    while not (screen.is_mounted and screen.view is not None and screen.view.ready):
        await asyncio.sleep(0.002)
    await pilot._wait_for_screen()
    app.screen._on_timer_update()


async def child_lessons(numbers: list[int]) -> dict:
    """Open each lesson twice and step it; times in ms."""
    from bench_tui import timed_key

    from tui.app import CnnTuiApp
    from tui.screens.lesson import LessonScreen

    app = CnnTuiApp(start="home")
    out: dict = {"open_first": {}, "open_again": {}, "ready_first": {}, "ready_again": {},
                 "steps": {}}  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for n in numbers:
            for kind in ("open_first", "open_again"):
                t = time.perf_counter()
                screen = LessonScreen(n)
                await app.push_screen(screen)
                await _shown(app, pilot, screen)
                out[kind][n] = (time.perf_counter() - t) * 1000
                await _settle(app, pilot, screen)
                out[kind.replace("open", "ready")][n] = (time.perf_counter() - t) * 1000
                if kind == "open_first":
                    await app.pop_screen()
                    await pilot.pause()
            keys = STEP_KEYS.get(n, ["right", "left"])
            times = []
            for k in range(40):
                times.append(await timed_key(app, pilot, keys[k % len(keys)]))
                await _settle(app, pilot, screen)  # a view that recomputes in a worker
            out["steps"][n] = times
            await app.pop_screen()
            await pilot.pause()
    return out


async def child_cold(t0_unused: float) -> dict:
    """`learn 1` as the user starts it; marks on the shared monotonic clock."""
    from textual import events

    from tui.app import CnnTuiApp
    from tui.screens import lesson as lesson_module

    marks: dict[str, float] = {"imported": time.perf_counter()}
    app = CnnTuiApp(start="learn", lesson=1)
    async with app.run_test(size=(120, 40)):
        while not isinstance(app.screen, lesson_module.LessonScreen) or app.screen.view is None:
            await asyncio.sleep(0.005)
        screen = app.screen
        marks["lesson_shown"] = time.perf_counter()
        before = screen.view.pos
        # The key goes straight into the app's queue, as the driver would put it: Pilot.press
        # first waits for the app to be idle, which it is not while the warm-up thread posts
        # compile progress (that wait was 2 s of the 4.3 s measured before).
        key = events.Key("right", None)
        key.set_sender(app)
        app.post_message(key)
        while screen.view.pos == before:
            await asyncio.sleep(0.001)
        marks["first_key"] = time.perf_counter()
        while not lesson_module._WARMED["done"]:
            await asyncio.sleep(0.05)
        marks["compiled"] = time.perf_counter()
    return marks


def _run(args: list[str], env_extra: dict | None = None) -> tuple[dict, float]:
    env = dict(os.environ, **(env_extra or {}))
    here = Path(__file__).resolve().parent
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(here)])
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], env=env, cwd=here.parent,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), t0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def lessons_report(runs: int) -> str:
    """Measure everything and return the report text."""
    from tui import lessons

    load_start = os.getloadavg()[0]  # the machine is shared: the numbers are its, at this load
    numbers = [e.number for e in lessons.ENTRIES if lessons.available(e.number)]
    numbers = [n for n in numbers if n in STEP_KEYS] + [n for n in numbers if n not in STEP_KEYS]
    warm, _ = _run(["--child-lessons", ",".join(map(str, numbers))])
    colds = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-lessons-numba-") as fresh:
            marks, t0 = _run(["--child-cold"], {"NUMBA_CACHE_DIR": fresh})
            colds.append({k: v - t0 for k, v in marks.items()})
    lines = [
        f"lessons ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; headless 120x40; "
        f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)",
        "",
        f"{'lesson':<8}{'open 1st':>10}{'reopen':>9}{'numbers 1st':>13}{'again':>8}"
        f"{'step med':>10}{'step p95':>10}{'max':>8}",
    ]
    all_steps = []
    for n in numbers:
        steps, k = warm["steps"][str(n)], str(n)
        all_steps += steps
        lines.append(f"{n:<8}{warm['open_first'][k]:>8.0f}ms{warm['open_again'][k]:>7.0f}ms"
                     f"{warm['ready_first'][k]:>11.0f}ms{warm['ready_again'][k]:>6.0f}ms"
                     f"{statistics.median(steps):>8.1f}ms{percentile(steps, 95):>8.1f}ms"
                     f"{max(steps):>6.0f}ms")  # fmt: skip
    worst_open = max(warm["open_again"].values())
    lines += [
        "",
        f"worst reopen {worst_open:.0f} ms (target <= {TARGETS['open_ms']:.0f} ms); worst first "
        f"open {max(warm['open_first'].values()):.0f} ms; numbers on screen (reopen) at worst "
        f"{max(warm['ready_again'].values()):.0f} ms",
        f"step p95 over all lessons {percentile(all_steps, 95):.1f} ms "
        f"(target <= {TARGETS['step_p95_ms']:.0f} ms)",
        "cold cache, `learn 1` (median of "
        f"{runs}): lesson shown {statistics.median(c['lesson_shown'] for c in colds):.2f} s, "
        f"first arrow key handled {statistics.median(c['first_key'] for c in colds):.2f} s "
        f"(target <= {TARGETS['cold_key_s']:.0f} s), background compile done "
        f"{statistics.median(c['compiled'] for c in colds):.1f} s",
        "per-run first key cold: " + ", ".join(f"{c['first_key']:.2f}" for c in colds),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1] == "--child-lessons":
        wanted = [int(n) for n in sys.argv[2].split(",")]
        print(json.dumps(asyncio.run(child_lessons(wanted))))
    elif sys.argv[1] == "--child-cold":
        print(json.dumps(asyncio.run(child_cold(0.0))))
