"""Explorer app: first frame and ready time (warm and cold Numba cache), step latency, peak RSS.

Each measurement runs the real CnnTuiApp headless (Textual's run_test) in a fresh subprocess:
  first frame = process launch (parent's clock just before Popen) until the explorer screen has
      been mounted and painted once (its call_after_refresh hook, which starts the warm-up);
  ready       = process launch until the warm-up worker delivered the session (kernels compiled
      or loaded from the cache, first pass through the model done);
  step        = Pilot press of f / b / u / i (whichever the stepper accepts next) plus
      pilot.pause(), which returns once the key was handled and the screen repainted;
  peak RSS    = VmHWM of the app process (/proc/self/status) after the steps;
  bytes/key   = what the app writes to a real pseudo-terminal for a cursor move, a forward
      step and a backward step at 80x24 and 120x40 (benchmarks/bytes_per_key.py; over SSH
      every byte is sent).
The cold runs point NUMBA_CACHE_DIR at a fresh empty directory.

    /work/venv/bin/python benchmarks/bench_tui.py [--runs 3] [--steps 100] [--out FILE]
    /work/venv/bin/python benchmarks/bench_tui.py --lessons [--runs 3]   (bench_lessons.py)
"""

from __future__ import annotations

import argparse
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
TARGETS = {"first_frame_warm": 1.0, "step_p95_ms": 100.0, "rss_mb": 250.0}


# ---- child: runs inside the measured process ------------------------------------------------
def vm_hwm_mb() -> float:
    """Peak resident set of this process in MB (VmHWM), not ru_maxrss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def timed_key(app, pilot, key: str) -> float:
    """ms from the key event entering the app until it was handled and the screen repainted.

    Pilot.press + pause would add at least three 20 ms idle-detection sleeps
    (textual._wait.wait_for_idle), so the key goes straight to the driver's queue; then every
    widget's pending messages are drained (Pilot._wait_for_screen) and the screen's update
    (layout + compositor render, what its 60 Hz timer would do next) runs right away.
    """
    from textual import events

    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    t = time.perf_counter()
    app.post_message(event)  # into the app's queue now (the driver would hop via the loop)
    await pilot._wait_for_screen()
    await pilot._wait_for_screen()  # messages the first round posted (e.g. Selected)
    app.screen._on_timer_update()
    return (time.perf_counter() - t) * 1000


async def child_main(steps: int, preset: str | None) -> dict:
    """Start the app headless; record first frame, ready, step latencies and VmHWM."""
    from tui.app import CnnTuiApp
    from tui.screens.explorer import ExplorerScreen

    marks: dict[str, float] = {"imported": time.perf_counter()}
    start_session = ExplorerScreen.start_session

    def first_frame_hook(self):
        marks.setdefault("first_frame", time.perf_counter())
        start_session(self)

    ExplorerScreen.start_session = first_frame_hook
    app = CnnTuiApp(preset=preset, start="explore")
    latencies: list[float] = []
    pilot_ms: list[float] = []
    keys_used: dict[str, int] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        while getattr(app.screen, "session", None) is None:
            await asyncio.sleep(0.005)
        marks["ready"] = time.perf_counter()
        await pilot.pause()
        screen = app.screen
        marks["rss_ready_mb"] = vm_hwm_mb()
        for k in range(steps):
            kind = screen.session.next_kind
            if k % 25 == 24:
                key = "i"  # a whole iteration now and then, as a user would
            elif kind in ("forward", "loss"):
                key = "f"
            elif kind in ("loss_backward", "backward"):
                key = "b"
            else:
                key = "u"
            keys_used[key] = keys_used.get(key, 0) + 1
            if k == 40:
                marks["rss_40_mb"] = vm_hwm_mb()
            if k % 2:  # Pilot's own press + pause, for comparison (includes its idle sleeps)
                t = time.perf_counter()
                await pilot.press(key)
                await pilot.pause()
                pilot_ms.append((time.perf_counter() - t) * 1000)
                continue
            before = (screen.session.stepper.position, screen.session.stepper.iteration)
            latencies.append(await timed_key(app, pilot, key))
            after = (screen.session.stepper.position, screen.session.stepper.iteration)
            if before == after:
                raise RuntimeError(f"key {key!r} did not step (still at {after})")
        marks["rss_mb"] = vm_hwm_mb()
        await pilot.press("q")
    return {"marks": marks, "latencies_ms": latencies, "pilot_ms": pilot_ms, "keys": keys_used,
            "preset": screen.session.name}  # fmt: skip


# ---- parent ---------------------------------------------------------------------------------
def run_child(steps: int, cache_dir: str | None, preset: str | None = None) -> dict:
    """One measured process; times are relative to just before Popen."""
    env = dict(os.environ)
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    cmd = [sys.executable, __file__, "--child", "--steps", str(steps)]
    if preset:
        cmd += ["--preset", preset]
    t0 = time.perf_counter()  # CLOCK_MONOTONIC: the same clock in the child
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    marks = result["marks"]
    for key in ("imported", "first_frame", "ready"):
        marks[key] -= t0
    result["wall_s"] = wall
    return result


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3, help="warm and cold startup runs each")
    parser.add_argument("--steps", type=int, default=100, help="steps in the latency run")
    parser.add_argument("--preset", default=None, help="preset (default: the app's default)")
    parser.add_argument("--out", default="/work/notes/bench_tui.txt")
    parser.add_argument("--lessons", action="store_true", help="only the lessons section")
    parser.add_argument("--no-bytes", action="store_true", help="skip the bytes-per-key runs")
    args = parser.parse_args()
    if args.lessons:  # the lessons section: benchmarks/bench_lessons.py
        from bench_lessons import lessons_report

        text = "command: benchmarks/bench_tui.py " + " ".join(sys.argv[1:]) + "\n"
        text += lessons_report(args.runs)
        print(text)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        return
    if args.child:
        print(json.dumps(asyncio.run(child_main(args.steps, args.preset))))
        return

    command = "/work/venv/bin/python benchmarks/bench_tui.py " + " ".join(sys.argv[1:])
    run_child(0, None)  # make sure the default cache is warm
    warm, cold = [], []
    for _ in range(args.runs):  # interleaved: the machine is shared and noisy
        warm.append(run_child(0, None))
        with tempfile.TemporaryDirectory(prefix="bench-tui-numba-") as fresh:
            cold.append(run_child(0, fresh))
    steps = run_child(args.steps, None, args.preset)

    def med(runs, key):
        return statistics.median(r["marks"][key] for r in runs)

    lat = steps["latencies_ms"]
    rows = [
        ("import (warm cache)", f"{med(warm, 'imported'):.2f} s", ""),
        ("first frame, warm cache", f"{med(warm, 'first_frame'):.2f} s",
         f"<= {TARGETS['first_frame_warm']} s"),
        ("first frame, cold cache", f"{med(cold, 'first_frame'):.2f} s", ""),
        ("ready (warm-up done), warm cache", f"{med(warm, 'ready'):.2f} s", ""),
        ("ready (warm-up done), cold cache", f"{med(cold, 'ready'):.2f} s", ""),
        (f"step latency median ({len(lat)} timed of {args.steps} steps, {steps['preset']})",
         f"{statistics.median(lat):.1f} ms", ""),
        ("step latency p95", f"{percentile(lat, 95):.1f} ms",
         f"<= {TARGETS['step_p95_ms']:.0f} ms"),
        ("step latency max", f"{max(lat):.1f} ms", ""),
        ("(Pilot press+pause median, incl. its idle sleeps)",
         f"{statistics.median(steps['pilot_ms']):.1f} ms", ""),
        ("peak RSS (VmHWM) when ready", f"{steps['marks']['rss_ready_mb']:.0f} MB", ""),
        ("peak RSS (VmHWM) after 40 steps", f"{steps['marks']['rss_40_mb']:.0f} MB",
         f"<= {TARGETS['rss_mb']:.0f} MB"),
        (f"peak RSS (VmHWM) after {args.steps} steps", f"{steps['marks']['rss_mb']:.0f} MB",
         f"<= {TARGETS['rss_mb']:.0f} MB"),
    ]  # fmt: skip
    if not args.no_bytes:
        from bytes_per_key import measure  # benchmarks/ is the script's directory

        for size, targets in (((80, 24), {}), ((120, 40), {"cursor move": 4096, "step": 16384})):
            sent = measure(*size)
            for what, value in sent.items():
                target = targets.get("step" if "step" in what else what)
                rows.append((f"bytes written, {what} at {size[0]}x{size[1]}", f"{value:.0f} B",
                             f"<= {target} B" if target else ""))  # fmt: skip
    width = max(len(r[0]) for r in rows)
    lines = [
        f"bench_tui ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, medians of "
        f"{args.runs} warm / {args.runs} cold startups, interleaved; headless run_test 120x40)",
        f"command: {command}",
        "",
        f"{'measure'.ljust(width)}  {'value':>9}  target",
    ]
    lines += [f"{name.ljust(width)}  {value:>9}  {target}" for name, value, target in rows]
    lines += [
        "",
        "per-run first frame warm: " + ", ".join(f"{r['marks']['first_frame']:.2f}" for r in warm),
        "per-run first frame cold: " + ", ".join(f"{r['marks']['first_frame']:.2f}" for r in cold),
        "per-run ready warm: " + ", ".join(f"{r['marks']['ready']:.2f}" for r in warm),
        "per-run ready cold: " + ", ".join(f"{r['marks']['ready']:.2f}" for r in cold),
        f"keys pressed: {steps['keys']}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
