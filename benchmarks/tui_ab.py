"""Explorer step latency of two source trees, interleaved: on a shared machine only a ratio
measured this way means something (the load hits both alike).

    python benchmarks/tui_ab.py --before /tmp/old-tree --after . [--rounds 3] [--steps 100]

Each round runs bench_tui.py's child (the app headless at 120x40, LeNet, f/b/u/i steps) once
from each tree, alternating; the load average is printed before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from bench_tui import percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a checkout of the older tree")
    parser.add_argument("--after", default=".", help="the newer tree (default: here)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    trees = {"before": args.before, "after": args.after}
    lat: dict[str, list[float]] = {name: [] for name in trees}
    for r in range(args.rounds):
        for name, tree in trees.items():
            load = os.getloadavg()[0]
            cmd = [sys.executable, "benchmarks/bench_tui.py", "--child", "--steps", str(args.steps)]
            # Each tree imports its own tui/ and engine/, not the installed (editable) package:
            # without this the old tree's child ran today's app, which opens on the home screen,
            # and waited forever for an explorer session.
            env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
            out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{name} failed:\n{out.stderr[-2000:]}")
            res = json.loads(out.stdout.strip().splitlines()[-1])
            ms = res["latencies_ms"]
            lat[name] += ms
            rss = res["marks"]["rss_mb"]
            print(f"round {r} {name}: load {load:.1f}, median {statistics.median(ms):.1f} ms, "
                  f"p95 {percentile(ms, 95):.1f} ms, RSS {rss:.0f} MB", flush=True)  # fmt: skip
    for name, ms in lat.items():
        print(f"{name}: {len(ms)} steps, median {statistics.median(ms):.1f} ms, "
              f"p95 {percentile(ms, 95):.1f} ms")  # fmt: skip
    ratio = statistics.median(lat["after"]) / statistics.median(lat["before"])
    print(f"after/before median: {ratio:.2f}")


if __name__ == "__main__":
    main()
