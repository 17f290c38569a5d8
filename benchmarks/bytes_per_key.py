"""Bytes the explorer writes to the terminal per key, measured on a real pseudo-terminal.

The app runs as `python -m tui.cli` under a pty of the given size (the real Linux driver, as
over SSH); after it is ready, each key is sent and the output counted until it has been quiet
for QUIET_S. Keys: a cursor move (right) on the tensor pane, a forward step (f) and a backward
step (b), each measured `repeat` times (median). Before each key the output of the one
before is drained (1.5 s of quiet), so a slow repaint is not counted twice.

    python benchmarks/bytes_per_key.py [--sizes 80x24 120x40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import statistics
import struct
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET_S = 0.4  # no output for this long: the key's repaint is done
KEYS = {"right": b"\x1b[C", "f": b"f", "b": b"b", "i": b"i", "u": b"u"}


def _read_until_quiet(fd: int, quiet: float = QUIET_S, limit: float = 30.0) -> bytes:
    out, start, last = bytearray(), time.monotonic(), time.monotonic()
    while time.monotonic() - last < quiet and time.monotonic() - start < limit:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            last = time.monotonic()
    return bytes(out)


def _wait_for(fd: int, needle: bytes, limit: float = 240.0) -> None:
    seen, start = b"", time.monotonic()
    while needle not in seen:
        if time.monotonic() - start > limit:
            raise TimeoutError(f"{needle!r} never appeared")
        seen = (seen + _read_until_quiet(fd, 0.2, 5.0))[-200_000:]


def measure(width: int, height: int, repeat: int = 3) -> dict[str, float]:
    """Median bytes written for a cursor move, a forward step and a backward step."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app on the pty
        os.chdir(ROOT)
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(width), LINES=str(height))
        os.execvpe(sys.executable, [sys.executable, "-m", "tui.cli", "explore"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    sent: dict[str, list[int]] = {"cursor move": [], "forward step": [], "backward step": []}
    try:
        _wait_for(fd, b"next: forward 0")
        _read_until_quiet(fd, 1.0)

        def key(name: str) -> int:
            _read_until_quiet(fd, 1.5)  # anything still coming from the key before
            os.write(fd, KEYS[name])
            return len(_read_until_quiet(fd))

        for _ in range(repeat):
            key("i")  # a whole iteration: every number exists
            key("f")  # forward 0 starts the next iteration (a new trace: a bigger repaint)
            sent["forward step"].append(key("f"))  # forward 1, mid-pass, as most steps are
            sent["cursor move"].append(key("right"))
            for _ in range(7):  # LeNet: the other 6 forward ops and the loss
                key("f")
            sent["backward step"].append(key("b"))
            for _ in range(9):
                key("b")
            key("u")
    finally:
        os.write(fd, b"q")
        time.sleep(0.5)
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return {name: statistics.median(v) for name, v in sent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["80x24", "120x40"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'size':>8}  {'cursor move':>12}  {'forward step':>12}  {'backward step':>13}")
    for size in args.sizes:
        w, h = map(int, size.split("x"))
        r = measure(w, h, args.repeat)
        print(f"{size:>8}  {r['cursor move']:>10.0f} B  {r['forward step']:>10.0f} B"
              f"  {r['backward step']:>11.0f} B")  # fmt: skip


if __name__ == "__main__":
    main()
