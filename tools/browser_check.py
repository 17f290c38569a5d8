"""A real browser against `cnn-tui serve`: headless Chromium opens the page, clicks Start, presses a
key and saves a screenshot. Driven through the DevTools protocol (no extra packages).

    python tools/browser_check.py [--out served.png] [--url http://127.0.0.1:8000]

Without --url it starts `cnn-tui serve` on a free localhost port and stops it at the end.
Needs Debian's `chromium` (apt-get install -y chromium). Exit code 0 when every step worked.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--window-size=1200,800"]  # fmt: skip


class Page:
    """One tab, spoken to over its DevTools websocket."""

    def __init__(self, ws) -> None:
        self.ws, self.ids = ws, itertools.count(1)

    async def call(self, method: str, **params):
        """Send a command and return its result (events in between are skipped)."""
        n = next(self.ids)
        await self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == n:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def js(self, expression: str):
        """Evaluate in the page, return the value."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_js(self, expression: str, what: str, timeout: float):
        """Poll until the expression is truthy."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.25)
        raise TimeoutError(f"{what}: not within {timeout:g} s")

    async def click(self, selector: str, corner: bool = False) -> None:
        """A real mouse click in the middle of the element (corner: near its top left)."""
        at = "[r.x + 4, r.y + 4" if corner else "[r.x + r.width / 2, r.y + r.height / 2"
        box = await self.js(f"(() => {{ const r = document.querySelector({selector!r})"
                            f".getBoundingClientRect(); return {at}, r.width]; }})()")  # fmt: skip
        if not box or box[2] == 0:
            raise RuntimeError(f"{selector} is not visible ({box})")
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                            button="left", clickCount=1)  # fmt: skip

    async def key(self, char: str, name: str | None = None) -> None:
        """Type one character as the keyboard would (name: the key's name, e.g. "Enter")."""
        await self.call("Input.dispatchKeyEvent", type="keyDown", text=char, key=name or char)
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=name or char)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "serve", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)  # fmt: skip
    for line in proc.stdout:
        if "Ctrl+C" in line:
            return proc, f"http://127.0.0.1:{port}"
    raise RuntimeError("cnn-tui serve did not start")


async def check(url: str, out: Path, chromium: str, settle: float, log) -> None:
    profile = tempfile.mkdtemp(prefix="cnn-tui-chromium-")
    browser = subprocess.Popen(
        [chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for line in browser.stderr:
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if found:
                break
        else:
            raise RuntimeError("chromium did not start its DevTools endpoint")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{found[1]}/json", timeout=10))
        page_ws = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with websockets.connect(page_ws, max_size=None) as ws:
            page = Page(ws)
            await page.call("Page.enable")
            t0 = time.monotonic()
            await page.call("Page.navigate", url=f"{url}/?delay=1")  # the page waits for Start
            title = await page.wait_js("document.title", "page title", 20)
            log(f"page loaded: title {title!r}")
            state = "[document.readyState, document.querySelector('#start').className]"
            try:
                await page.wait_js("!!document.querySelector('#start.-delay')", "Start button", 20)
            except TimeoutError:
                raise TimeoutError(f"no Start button (page state {await page.js(state)})") from None
            await page.click("#start")
            log("clicked Start")
            await page.wait_js("document.body.classList.contains('-first-byte')", "first frame", 60)
            log(f"first frame after {time.monotonic() - t0:.1f} s")
            await asyncio.sleep(settle)  # xterm.js draws on a canvas: no text to wait for
            # the terminal takes the keyboard, as for a person; clicked on the home screen's
            # title (its middle is the list, and a click there opens what it lands on)
            await page.click(".xterm-screen", corner=True)
            await asyncio.sleep(1)
            before = await page.call("Page.captureScreenshot", format="png")
            await page.key("\r", "Enter")  # home: lesson 1, the article's 5x5 example by hand
            await asyncio.sleep(4)
            shot = await page.call("Page.captureScreenshot", format="png")
            out.with_suffix(".before.png").write_bytes(base64.b64decode(before["data"]))
            out.write_bytes(base64.b64decode(shot["data"]))
            if shot["data"] == before["data"]:
                raise RuntimeError(f"enter did not change the screen (see {out})")
            log(f"enter changed the screen; screenshots: {out} (before: .before.png)")
    finally:
        browser.terminate()
        browser.wait(20)
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one on localhost)")
    parser.add_argument("--out", type=Path, default=Path("served.png"))
    parser.add_argument("--settle", type=float, default=8, help="seconds for the home screen")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("browser_check: no chromium; apt-get install -y chromium", file=sys.stderr)
        return 2
    server, url = (None, args.url.rstrip("/")) if args.url else start_server()
    try:
        asyncio.run(
            check(url, args.out, chromium, args.settle, lambda text: print(text, flush=True))
        )
    except (RuntimeError, TimeoutError) as exc:
        print(f"browser_check: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
