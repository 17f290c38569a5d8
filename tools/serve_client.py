"""A participant's browser without the browser: textual-serve's websocket protocol, for tests and
benchmarks (connect with a size, send keys and resizes, wait for text to appear on the screen)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import websockets

# CSI/OSC/other escape sequences: what is left is the text the terminal shows (in drawing order).
ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


class ServeClient:
    """One websocket session: the bytes received, as text without escape sequences."""

    def __init__(self, url: str, width: int = 80, height: int = 24, path: str = "/ws") -> None:
        base = url.rstrip("/").replace("http", "ws", 1)
        self.url = f"{base}{path}?width={width}&height={height}"
        self.size = (width, height)
        self.text = ""  # everything drawn so far, escape sequences removed
        self.frames = 0
        self.closed = False
        self.started = time.perf_counter()
        self.first_frame_s: float | None = None
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Event()

    async def connect(self, timeout: float = 10) -> ServeClient:
        """Open the websocket as the browser does, then send the size."""
        self.started = time.perf_counter()
        self._ws = await asyncio.wait_for(websockets.connect(self.url, max_size=None), timeout)
        self._reader = asyncio.create_task(self._read())
        await self.resize(*self.size)
        return self

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if isinstance(message, bytes):
                    if self.first_frame_s is None:
                        self.first_frame_s = time.perf_counter() - self.started
                    self.frames += 1
                    self.text += ANSI.sub(b"", message).decode("utf-8", "replace")
                    self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            self._changed.set()

    async def _send(self, envelope: list) -> None:
        try:
            await self._ws.send(json.dumps(envelope))
        except websockets.ConnectionClosed:
            self.closed = True  # the server ended the session; what it said is in self.text

    async def send_keys(self, keys: str) -> None:
        """Keys as xterm.js sends what was typed."""
        await self._send(["stdin", keys])

    async def resize(self, width: int, height: int) -> None:
        """The browser window changed size."""
        await self._send(["resize", {"width": width, "height": height}])

    def mark(self) -> int:
        """A point in the output: wait_for(..., after=mark) only looks at what came later."""
        return len(self.text)

    async def wait_for(self, needle: str, timeout: float, after: int = 0) -> float:
        """Seconds until `needle` is drawn (after the mark); TimeoutError names what was seen."""
        start = time.perf_counter()
        while needle not in self.text[after:]:
            left = timeout - (time.perf_counter() - start)
            if left <= 0 or (self.closed and self._reader.done()):
                seen = " ".join(self.text[after:].split())[-300:]
                state = "closed" if self.closed else f"no {needle!r} within {timeout:g} s"
                raise TimeoutError(f"{state}; last text: {seen!r}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass
        return time.perf_counter() - start

    async def close(self) -> None:
        """Leave: the server ends this participant's session."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)
