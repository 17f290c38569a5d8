"""A room of browsers against one local `cnn-tui serve`: first frame, key latency, RSS and PSS.

Starts `python -m tui.cli serve` on a free localhost port (never another host), connects N
websocket clients at once as textual-serve's page does (`/ws?width=100&height=30`), and measures:
  first frame = connect until the first screen bytes arrive (the browser's page stops waiting);
  text        = connect until the home screen's text is drawn ("Twelve short lessons");
  ready       = connect until its list of lessons is filled ("Your own digit"); with
                --explorer, every client then presses e and ready is until the explorer's
                session is built ("press f");
  key         = once every session is ready, every client presses keys (--pair help: ? then
                escape; arrows: down then up; --keys times each, 0.2-1.0 s apart at random,
                seeded): key sent until the next screen bytes arrive;
  RSS, PSS    = of every session process (/proc/PID/smaps_rollup), summed, and per session.
Bounded: at most 40 clients, every wait has a timeout, the server is stopped at the end.

    python benchmarks/bench_serve.py --sessions 1 10 30 [--keys 10] [--explorer] [--out r.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.serve_client import ServeClient  # noqa: E402

MAX_SESSIONS = 40
TEXT, READY = "Twelve short lessons", "Your own digit"  # the home screen, then its list
EXPLORER_READY = "press f"  # the explorer's session is built
TARGETS = {"first_frame_median_s": 2.0, "key_p95_s": 0.5, "rss_mb_per_session": 120.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(n: int, extra_env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), **extra_env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--max-sessions", str(n)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        cwd=ROOT, env=env, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 400  # the fork server loads (first time: compiles) the kernels
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "Ctrl+C" in line or not line:
            break
    return proc, f"http://127.0.0.1:{port}"


def descendants(pid: int) -> list[int]:
    """Every process below pid (sessions may sit under a fork server)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB from /proc/PID/smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        fields[key] = int(value.split()[0])
    return fields["Rss"] / 1024, fields["Pss"] / 1024


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace").replace("\0", " ")
    except OSError:
        return ""


def ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def p_fork(pid: int) -> bool:
    """A session forked by tui.serve_fork."""
    return "tui.serve_fork" in cmdline(ppid(pid))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


PAIRS = {  # two keys pressed in turn, each undoing the other
    "help": ("?", "\x1b"),  # the help screen over the current one, and back (a full repaint)
    "arrows": ("\x1b[B", "\x1b[A"),  # down, up: the home list's highlight (a partial repaint)
}


async def key_latency(client: ServeClient, keys: int, seed: int, pair: str) -> list[float]:
    """The pair's keys in turn: time from each key to the next screen bytes."""
    out, pace = [], random.Random(seed)
    for k in range(keys):
        await asyncio.sleep(pace.uniform(0.2, 1.0))  # people, not a synchronised flood
        frames = client.frames
        start = time.perf_counter()
        await client.send_keys(PAIRS[pair][k % 2])
        while client.frames == frames and time.perf_counter() - start < 20:
            await asyncio.sleep(0.002)
        out.append(time.perf_counter() - start)
    return out


async def since_connect(client: ServeClient, needle: str, timeout: float) -> float:
    await client.wait_for(needle, timeout)
    return time.perf_counter() - client.started


async def room(url: str, n: int, keys: int, timeout: float, explorer: bool, pair: str) -> dict:
    clients = [ServeClient(url, 100, 30) for _ in range(n)]
    await asyncio.gather(*(c.connect() for c in clients))
    text = await asyncio.gather(*(since_connect(c, TEXT, timeout) for c in clients))
    ready = await asyncio.gather(*(since_connect(c, READY, timeout) for c in clients))
    if explorer:
        marks = [c.mark() for c in clients]
        await asyncio.gather(*(c.send_keys("e") for c in clients))
        ready = await asyncio.gather(*(c.wait_for(EXPLORER_READY, timeout, after=m)
                                       for c, m in zip(clients, marks, strict=True)))  # fmt: skip
    await asyncio.sleep(1.0)  # let the last redraws settle
    lat = await asyncio.gather(*(key_latency(c, keys, i, pair) for i, c in enumerate(clients)))
    return {
        "clients": clients,
        "first_frame": [c.first_frame_s for c in clients],
        "text_wait": text,
        "ready_wait": ready,
        "keys": [x for per in lat for x in per],
    }


def measure(n: int, keys: int, timeout: float, extra_env: dict, explorer: bool, pair: str) -> dict:
    load_before = os.getloadavg()[0]  # the machine is shared: say how busy it was
    proc, url = start_server(n, extra_env)
    try:
        t0 = time.perf_counter()
        result = asyncio.run(asyncio.wait_for(_measure(url, n, keys, timeout, proc, explorer, pair),
                                            timeout * 3))  # fmt: skip
        result["wall_s"] = time.perf_counter() - t0
        result["load_before"] = load_before
        result["load_after"] = os.getloadavg()[0]
        return result
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _measure(url, n, keys, timeout, proc, explorer, pair) -> dict:
    r = await room(url, n, keys, timeout, explorer, pair)
    below = descendants(proc.pid)
    forks = [p for p in below if ppid(p) == proc.pid and "tui.serve_fork" in cmdline(p)]
    pids = [p for p in below if p not in forks and (p_fork(p) or "tui.cli" in cmdline(p))]
    mem = [memory_mb(p) for p in pids]
    fork_mem = [memory_mb(p) for p in forks]
    for c in r.pop("clients"):
        await c.close()
    rss, pss = [m[0] for m in mem], [m[1] for m in mem]
    ff = r["first_frame"]
    return {
        "sessions": n,
        "processes": len(pids),
        "first_frame_median_s": statistics.median(ff),
        "first_frame_max_s": max(ff),
        "text_median_s": statistics.median(r["text_wait"]),
        "ready_median_s": statistics.median(r["ready_wait"]),
        "ready_max_s": max(r["ready_wait"]),
        "key_median_s": statistics.median(r["keys"]),
        "key_p95_s": pct(r["keys"], 0.95),
        "rss_mb_total": sum(rss),
        "pss_mb_total": sum(pss),
        "rss_mb_per_session": sum(rss) / max(1, len(rss)),
        "pss_mb_per_session": sum(pss) / max(1, len(pss)),
        "server_rss_mb": memory_mb(proc.pid)[0],
        "fork_server_rss_pss_mb": fork_mem[0] if fork_mem else None,
    }


def row(r: dict) -> str:
    return (
        f"| {r['sessions']} | {r['first_frame_median_s']:.2f} ({r['first_frame_max_s']:.2f}) "
        f"| {r['text_median_s']:.2f} | {r['ready_median_s']:.2f} ({r['ready_max_s']:.2f}) "
        f"| {1000 * r['key_median_s']:.0f} / {1000 * r['key_p95_s']:.0f} "
        f"| {r['rss_mb_per_session']:.0f} | {r['pss_mb_per_session']:.0f} "
        f"| {r['rss_mb_total']:.0f} / {r['pss_mb_total']:.0f} "
        f"| {r['load_before']:.1f} / {r['load_after']:.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--keys", type=int, default=10, help="keys per client (default 10)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per wait")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    parser.add_argument("--explorer", action="store_true",
                        help="every client opens the explorer (e) before the keys")  # fmt: skip
    parser.add_argument("--pair", choices=sorted(PAIRS), default="help",
                        help="the keys pressed: help (? escape) or arrows (down up)")  # fmt: skip
    args = parser.parse_args()
    if any(not 1 <= n <= MAX_SESSIONS for n in args.sessions):
        parser.error(f"--sessions between 1 and {MAX_SESSIONS}")
    extra = dict(kv.split("=", 1) for kv in args.env)
    print(
        "| sessions | first frame median (max) s | text drawn s | ready median (max) s "
        "| key median / p95 ms | RSS MB/session | PSS MB/session | RSS / PSS MB total "
        "| load before / after |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    results = []
    for n in args.sessions:
        r = measure(n, args.keys, args.timeout, extra, args.explorer, args.pair)
        results.append(r)
        print(row(r), flush=True)
    where = "explorer" if args.explorer else "home screen"
    print(f"targets at 30: {TARGETS}; load average {os.getloadavg()[0]:.1f}; "
          f"{where}; keys {args.pair}; env {extra}")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
