"""`cnn-tui serve --present`: the server in a thread, the presenter's session in this terminal."""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from aiohttp import web

from tui import presence

STOP_TIMEOUT_S = 10


def serve_and_present(server) -> int:
    """Serve in a background thread; run the presenter's app here; stop the server when it quits."""
    from tui.serve import ServeError

    # The terminal belongs to the presenter's app: the server's log goes to a file.
    logging.basicConfig(filename=server.runtime / "server.log", level=logging.WARNING, force=True)
    server.presenting = True
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failed: list[OSError] = []
    runner_box: list[web.AppRunner] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(loop.run_until_complete(server._make_app()), handle_signals=False)
        loop.run_until_complete(runner.setup())
        runner_box.append(runner)
        try:
            loop.run_until_complete(web.TCPSite(runner, server.host, server.port).start())
            server.announce()
        except OSError as exc:
            failed.append(exc)
        started.set()
        if not failed:
            loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, name="cnn-tui-serve", daemon=True)
    thread.start()
    started.wait()
    if failed:
        thread.join(STOP_TIMEOUT_S)
        raise ServeError(f"cannot listen on {server.host}:{server.port} ({failed[0].strerror})")
    print(f"cnn-tui serve: a browser could lead instead (keep private): {server.presenter_url()}")
    os.environ[presence.PRESENT_ENV] = str(server.channel_path)
    try:
        from tui.app import CnnTuiApp

        app = CnnTuiApp()  # the home screen, as every participant's session
        app.sub_title = "presenting · participants open " + server.urls[0]
        app.run()
    finally:
        os.environ.pop(presence.PRESENT_ENV, None)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
    print("cnn-tui serve: the presenter quit; the server stopped.")
    return 0
