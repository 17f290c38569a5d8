"""`cnn-tui serve`: the app to a room of browsers (textual-serve), one process per participant."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from tui import presence
from tui.sandbox import SESSION_DIR_ENV

TEMPLATES = Path(__file__).resolve().parent / "serve_templates"
CODE_ROOT = Path(__file__).resolve().parent.parent  # sessions import the same tui as the server
FULL_TEXT = "cnn-tui: the room is full ({n} of {n} sessions); please try again in a moment."
log = logging.getLogger("cnn-tui.serve")


class ServeError(Exception):
    """A problem the presenter can fix (port in use, bad host); printed as one line."""


def runtime_root() -> Path:
    """A private (0700) directory for this server: sessions and the presenter channel live here."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not (base and os.path.isdir(base) and os.access(base, os.W_OK)):
        base = tempfile.gettempdir()
    return Path(tempfile.mkdtemp(prefix="cnn-tui-serve-", dir=base))  # mkdtemp makes it 0700


def check_bind(host: str, port: int) -> None:
    """Fail early, in words, when the host does not resolve or the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ServeError(f"--host {host}: not an address of this machine ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)  # Linux reports a port in use at listen() when both reuse addresses
        except PermissionError:
            raise ServeError(f"port {port}: needs privileges; try --port 8000") from None
        except OSError as exc:
            if exc.errno == 98:  # EADDRINUSE
                raise ServeError(f"port {port} is in use; try --port {port + 1}") from None
            raise ServeError(f"--host {host}: cannot listen there ({exc.strerror})") from None


def participant_urls(host: str, port: int) -> list[str]:
    """The URLs a participant can open (every address of this machine for 0.0.0.0)."""
    if host not in ("0.0.0.0", "::", ""):
        shown = f"[{host}]" if ":" in host else host
        return [f"http://{shown}:{port}/"]
    addresses = set()
    try:  # the address of the default route: no packet is sent by a UDP connect
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            addresses.add(s.getsockname()[0])
    except OSError:
        pass
    try:
        addresses.update(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    usable = sorted(a for a in addresses if not ipaddress.ip_address(a).is_loopback)
    urls = [f"http://{a}:{port}/" for a in usable]
    return urls + [f"http://127.0.0.1:{port}/ (this machine)"]


class ForkedProcess:
    """A session forked by tui.serve_fork: the parts of asyncio's Process that AppService uses."""

    def __init__(self, pid: int, stdin, stdout, stderr) -> None:
        self.pid, self.stdin, self.stdout, self.stderr = pid, stdin, stdout, stderr
        self.returncode: int | None = None

    async def wait(self) -> int:
        """Until the session's pid is gone (it is the fork server's child, not ours)."""
        while self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0
            else:
                await asyncio.sleep(0.05)
        return self.returncode

    def kill(self) -> None:
        """End the session's process group."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class ForkServer:
    """Starts tui.serve_fork and asks it for sessions; None from fork() means: spawn instead."""

    def __init__(self, runtime: Path, env: dict[str, str]) -> None:
        self.path = str(runtime / "fork.sock")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui.serve_fork", self.path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=runtime,
        )  # fmt: skip
        self.ready = self.process.stdout.readline() == b"ready\n"

    async def fork(self, env: dict[str, str]) -> ForkedProcess | None:
        """A new session on fresh pipes, or None when the fork server is not there."""
        if not self.ready or self.process.poll() is not None:
            return None
        pipes = [os.pipe() for _ in range(3)]  # (read, write) each
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1]]
        try:
            pid = await asyncio.to_thread(self._ask, json.dumps(env).encode(), theirs)
        except (OSError, ValueError) as exc:
            log.warning("fork server did not answer (%s); spawning instead", exc)
            for fd in [fd for pair in pipes for fd in pair]:
                os.close(fd)
            return None
        finally:
            for fd in theirs:
                _close(fd)
        loop = asyncio.get_running_loop()
        stdout, stderr = asyncio.StreamReader(), asyncio.StreamReader()
        for stream, fd in ((stdout, pipes[1][0]), (stderr, pipes[2][0])):
            protocol = asyncio.StreamReaderProtocol(stream)
            await loop.connect_read_pipe(lambda p=protocol: p, os.fdopen(fd, "rb", 0))
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(pipes[0][1], "wb", 0)
        )
        stdin = asyncio.StreamWriter(transport, protocol, None, loop)
        return ForkedProcess(pid, stdin, stdout, stderr)

    def _ask(self, payload: bytes, fds: list[int]) -> int:
        """Send the environment and the pipes; the reply is the new session's pid."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(self.path)
            socket.send_fds(sock, [payload], fds)
            return int(sock.recv(32).decode())

    def close(self) -> None:
        """Stop the fork server (running sessions are ended by their own quit)."""
        self.process.stdin.close()  # its signal to stop (it also sees this if we die)
        if self.process.poll() is None:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def common_env(env: dict[str, str]) -> dict[str, str]:
    """What every session's environment shares: the server's code, no role, no devtools."""
    env.pop(presence.PRESENT_ENV, None)  # a participant never gets the presenter's pen
    env.pop(presence.FOLLOW_ENV, None)
    env.pop("TEXTUAL", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CODE_ROOT), env.get("PYTHONPATH")]))
    return env


def fork_safe_threads(env: dict[str, str]) -> dict[str, str]:
    """Numba's TBB threading layer for the fork server when Intel TBB is installed (the `tbb`
    wheel puts libtbb in <prefix>/lib, off the loader's path): kernels can then be loaded
    before forking. An explicit NUMBA_THREADING_LAYER is left alone."""
    lib = Path(sys.prefix) / "lib"
    if "NUMBA_THREADING_LAYER" not in env and (lib / "libtbb.so.12").exists():
        env["NUMBA_THREADING_LAYER"] = "tbb"
        paths = [str(lib), env.get("LD_LIBRARY_PATH")]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, paths))
    return env


class SessionService(AppService):
    """One participant's app process, started in its own private directory, removed at the end."""

    def __init__(self, *args, workshop: WorkshopServer, presenter: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.workshop, self.presenter = workshop, presenter
        self.session_dir = workshop.runtime / "sessions" / self.app_service_id

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = common_env(super()._build_environment(width, height))
        env[SESSION_DIR_ENV] = str(self.session_dir)
        # a participant's lesson progress is theirs, kept with the session (not the server
        # account's file, which every session would otherwise read and overwrite)
        env["XDG_STATE_HOME"] = str(self.session_dir)
        which = presence.PRESENT_ENV if self.presenter else presence.FOLLOW_ENV
        env[which] = str(self.workshop.channel_path)
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24):
        self.session_dir.parent.mkdir(mode=0o700, exist_ok=True)
        self.session_dir.mkdir(mode=0o700)
        for sample in self.workshop.samples:  # something to open in predict at once
            shutil.copyfile(sample, self.session_dir / sample.name)
        environment = self._build_environment(width=width, height=height)
        forks = self.workshop.forks
        process = await forks.fork(environment) if forks is not None else None
        if process is not None:
            self._process, self._stdin = process, process.stdin
            return process
        self._process = process = await asyncio.create_subprocess_exec(
            *self.workshop.session_command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            cwd=self.session_dir,
        )
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            if self._process is not None and self._process.returncode is None:
                try:
                    await asyncio.wait_for(self._process.wait(), 5)
                except asyncio.TimeoutError:
                    self._process.kill()
                    await self._process.wait()
            shutil.rmtree(self.session_dir, ignore_errors=True)


class WorkshopServer(Server):
    """textual-serve's Server, naming the app (not its command line), bounded in sessions."""

    def __init__(self, host: str, port: int, max_sessions: int, runtime: Path) -> None:
        super().__init__("cnn-tui", host=host, port=port, title="cnn-tui",
                         templates_path=TEMPLATES)  # fmt: skip
        self.max_sessions, self.runtime = max_sessions, runtime
        self.sessions: set[SessionService] = set()
        self.channel_path = runtime / "presenter.json"
        self.session_command = [sys.executable, "-m", "tui.cli"]
        from engine.paths import samples

        self.samples = samples()
        self.urls = participant_urls(host, port)
        self.token = secrets.token_urlsafe(18)  # the presenter's browser session, if wanted
        self.forks: ForkServer | None = None
        self.presenting = False  # the presenter's session runs in this terminal

    def start_forks(self) -> None:
        """The warm process sessions fork from (CNN_TUI_SERVE_FORK=0 spawns each one instead)."""
        if os.environ.get("CNN_TUI_SERVE_FORK", "1") != "0":
            env = common_env(AppService._build_environment(SimpleNamespace(debug=False)))
            self.forks = ForkServer(self.runtime, fork_safe_threads(env))

    def presenter_url(self) -> str:
        """The URL of a browser session that leads (print it only in the server's terminal)."""
        return f"{self.urls[0].split(' ')[0]}?presenter={self.token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.router.add_get("/ws/presenter/{token}", self.handle_websocket)
        return app

    def _is_presenter(self, token: str | None) -> bool:
        return token is not None and secrets.compare_digest(token, self.token)

    def initialize_logging(self) -> None:
        logging.basicConfig(level=logging.WARNING, format="cnn-tui serve: %(message)s")

    async def on_startup(self, app: web.Application) -> None:
        """Nothing to say yet: the URLs are printed once the port listens (announce)."""

    def announce(self, *_ignored) -> None:
        """Tell the presenter what participants open (called once the server listens)."""
        print(f"cnn-tui serve: up to {self.max_sessions} participants; they open:", flush=True)
        for url in self.urls:
            print(f"  {url}", flush=True)
        print("Ctrl+C stops the server." if not self.presenting else
              "Quitting the presenter's session (q) stops the server.", flush=True)  # fmt: skip

    def serve(self, debug: bool = False) -> None:
        """textual-serve's serve(), announcing the URLs only once the port is listening."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.add_signal_handler(signal.SIGINT, self.request_exit)
        loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False,
                    loop=loop, print=self.announce)  # fmt: skip

    @property
    def full(self) -> bool:
        """True when every seat is taken."""
        return len(self.sessions) >= self.max_sessions

    async def handle_index(self, request: web.Request) -> web.Response:
        """The start page; its websocket URL is built from the address the browser used."""
        if self.full:
            text = FULL_TEXT.format(n=self.max_sessions)
            return web.Response(status=503, text=text, content_type="text/plain")
        token = request.query.get("presenter")
        if token is not None and not self._is_presenter(token):
            raise web.HTTPForbidden(text="cnn-tui: that presenter link is not this server's")
        scheme = "wss" if request.secure else "ws"
        path = f"/ws/presenter/{token}" if token else "/ws"
        context = {
            "font_size": _int(request.query.get("fontsize"), 16, 6, 64),
            "app_websocket_url": f"{scheme}://{request.host}{path}",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": "cnn-tui: the math of CNNs"},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One participant's session, or a clear refusal in their terminal when the room is full."""
        token = request.match_info.get("token")
        if token is not None and not self._is_presenter(token):
            raise web.HTTPForbidden(text="cnn-tui: that presenter link is not this server's")
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if self.full:
            await websocket.send_bytes(("\r\n  " + FULL_TEXT.format(n=self.max_sessions)).encode())
            await websocket.close()
            return websocket
        width = _int(request.query.get("width"), 80, 10, 500)
        height = _int(request.query.get("height"), 24, 5, 300)
        service = SessionService(
            None,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            workshop=self,
            presenter=token is not None,
        )
        self.sessions.add(service)
        try:
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # one participant's failure never stops the room
            log.warning("a session ended with an error: %s", error)
        finally:
            await service.stop()
            self.sessions.discard(service)
        return websocket

    async def on_shutdown(self, app: web.Application) -> None:
        for service in list(self.sessions):
            await service.stop()
        if self.forks is not None:
            self.forks.close()


def _int(text: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(text), lo), hi)
    except (TypeError, ValueError):
        return default


def serve(host: str, port: int, max_sessions: int, present: bool) -> int:
    """Run the server until Ctrl+C (or until the presenter quits their session)."""
    check_bind(host, port)
    runtime = runtime_root()
    try:
        server = WorkshopServer(host, port, max_sessions, runtime)
        server.start_forks()
        if present and sys.stdin.isatty() and sys.stdout.isatty():
            from tui.serve_present import serve_and_present

            return serve_and_present(server)
        if present:  # no terminal to present in (a service, a test): a browser leads
            print(f"cnn-tui serve: the presenter's session (keep it private): "
                  f"{server.presenter_url()}", flush=True)  # fmt: skip
        server.serve()
        return 0
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
