"""`cnn-tui serve` end to end: the page, a session over the websocket, following, a full room."""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tools.serve_client import ServeClient
from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
HOME = "Twelve short lessons"  # the home screen, every session's first screen
READY = "press f"  # the explorer's tensor pane once its session is built
SESSION_S = 90  # bound on a session's start on a loaded 2-core machine
START_S = 400  # the server's: with TBB, the fork server loads (first time: compiles) every kernel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runtime: Path, *flags: str) -> tuple[subprocess.Popen, int, list[str]]:
    """`cnn-tui serve` on a free port without a terminal; returns once it listens."""
    port = free_port()
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--port", str(port), *flags],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=env, cwd=ROOT, text=True,
    )  # fmt: skip
    lines = []
    deadline = time.monotonic() + START_S  # the fork server imports and loads everything first
    while not any("Ctrl+C" in line for line in lines) and time.monotonic() < deadline:
        lines.append(proc.stdout.readline())
    return proc, port, lines


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`cnn-tui serve --present --max-sessions 3` without a terminal: a browser link leads."""
    runtime = tmp_path_factory.mktemp("xdg")
    proc, port, lines = start_server(runtime, "--present", "--max-sessions", "3")
    token = re.search(r"\?presenter=([\w-]+)", "".join(lines))
    assert token, "".join(lines)
    (home,) = runtime.glob("cnn-tui-serve-*")
    assert home.stat().st_mode & 0o777 == 0o700
    yield {"url": f"http://127.0.0.1:{port}", "token": token.group(1), "home": home,
           "output": lines}  # fmt: skip
    proc.terminate()
    proc.wait(30)
    assert not home.exists(), "the runtime directory outlives the server"


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sessions(server) -> list[Path]:
    d = server["home"] / "sessions"
    return sorted(d.iterdir()) if d.is_dir() else []


def wait_until(predicate, timeout: float = 15) -> bool:
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        time.sleep(0.1)
    return predicate()


def test_the_start_page_names_the_app_not_the_command(server):
    status, page = fetch(server["url"] + "/")
    assert status == 200
    assert "<title>cnn-tui" in page
    assert re.search(r'data-session-websocket-url="ws://127\.0\.0\.1:\d+/ws"', page)
    for secret in (sys.executable, str(ROOT), "tui.cli", "python", server["token"]):
        assert secret not in page
    status, page = fetch(server["url"] + f"/?presenter={server['token']}")
    assert status == 200 and f"/ws/presenter/{server['token']}" in page
    assert fetch(server["url"] + "/?presenter=guess")[0] == 403


def test_kernels_are_loaded_once_for_every_session_when_tbb_is_there(server):
    said = [line for line in server["output"] if line.startswith("kernels: ")]
    if (Path(sys.prefix) / "lib" / "libtbb.so.12").exists():  # the tbb wheel (pyproject)
        assert said == ["kernels: loaded once for every session (tbb threading layer)\n"]
    else:
        assert said and "each session loads its own" in said[0]


def test_kernels_compile_in_a_child_that_finished_before_the_server_loads_them(tmp_path):
    # The fork server's own pages count in every session's RSS: LLVM's memory from a compile
    # must stay in a child that is gone; the server then loads the kernels from the cache.
    from tui.serve_fork import compile_in_child

    ran = tmp_path / "ran"
    compile_in_child(lambda: ran.write_text(str(os.getpid())))
    assert ran.exists() and int(ran.read_text()) != os.getpid()  # another process, finished
    compile_in_child(lambda: 1 / 0)  # a child that fails: the server goes on (and compiles)


async def test_a_session_arrives_over_the_websocket_and_a_key_changes_it(server):
    client = await ServeClient(server["url"], 80, 24).connect()
    try:
        await client.wait_for(HOME, SESSION_S)  # the home screen: the lessons first
        await client.wait_for("Convolution", SESSION_S)
        assert "Layers" not in client.text  # not the explorer
        (private,) = sessions(server)
        assert private.stat().st_mode & 0o777 == 0o700
        assert (private / "digit_7.png").is_file()  # samples to open in predict
        await client.resize(100, 30)
        mark = client.mark()
        await client.send_keys("\r")  # enter: the highlighted first lesson
        await client.wait_for("Lesson 1 of 12", 30, after=mark)
        # A right answer is saved in this participant's own directory, nowhere shared.
        await client.send_keys("a")
        await asyncio.sleep(1)
        await client.send_keys("6\r")
        await client.wait_for("6: right", 30, after=mark)
        saved = private / "cnn-tui" / "progress.json"
        assert await asyncio.to_thread(wait_until, saved.is_file)
        assert json.loads(saved.read_text())
    finally:
        await client.close()
    assert await asyncio.to_thread(wait_until, lambda: not sessions(server))


async def test_a_following_session_moves_with_the_presenter_and_never_drives_it(server):
    presenter = ServeClient(server["url"], 100, 30, path=f"/ws/presenter/{server['token']}")
    participant = ServeClient(server["url"], 100, 30)
    await presenter.connect()
    await participant.connect()
    channel = server["home"] / "presenter.json"
    try:
        for c in (presenter, participant):
            await c.wait_for(HOME, SESSION_S)
        # Home -> lesson 2 -> its second page -> lesson 3: the participant moves along.
        mark = participant.mark()
        await presenter.send_keys("\x1b[B\r")  # down, enter
        await participant.wait_for("Lesson 2 of 12", 30, after=mark)
        await participant.wait_for("page 1/", 30, after=mark)
        p_mark, pages = presenter.mark(), 0
        while "page 2/" not in presenter.text[p_mark:] and pages < 10:
            await presenter.send_keys("\x1b[6~")  # PgDn: the text scrolls, then the page turns
            await asyncio.sleep(1)  # one key at a time: the presenter must not overshoot page 2
            pages += 1
        await participant.wait_for("page 2/", 30, after=mark)
        mark = participant.mark()
        await presenter.send_keys("n")
        await participant.wait_for("Lesson 3 of 12", 30, after=mark)
        # Back home and into the explorer: the participant is there too, then follows its steps.
        mark = participant.mark()
        await presenter.send_keys("\x1b")  # escape (alone: ESC then e would read as alt+e)
        await participant.wait_for(HOME, 30, after=mark)
        await asyncio.sleep(0.5)
        await presenter.send_keys("e")
        await participant.wait_for(READY, SESSION_S, after=mark)
        await presenter.wait_for(READY, SESSION_S)
        mark = participant.mark()
        await presenter.send_keys("1")  # the article's 5x5 example
        await participant.wait_for("10 params", 30, after=mark)
        await presenter.send_keys("f")  # one forward op: the article's convolution
        await participant.wait_for("[0,0] = 6", 30, after=mark)

        # A participant's keys change their own screen only: the presenter stays where it is.
        published, p_mark = channel.read_text(), presenter.mark()
        await participant.send_keys("2")
        await participant.wait_for("9,098 params", 30, after=mark)
        await asyncio.sleep(1.5)
        assert channel.read_text() == published
        assert "9,098 params" not in presenter.text[p_mark:]

        # O: on their own (the presenter's next step does not move them); F: back in step.
        await participant.send_keys("O")
        mark = participant.mark()
        await presenter.send_keys("f")  # the loss
        await presenter.wait_for("op 2/5", 30)
        await asyncio.sleep(1.5)
        assert "op 2/5" not in participant.text[mark:]
        await participant.send_keys("F")
        await participant.wait_for("op 2/5", 30, after=mark)
    finally:
        await presenter.close()
        await participant.close()
    assert await asyncio.to_thread(wait_until, lambda: not sessions(server))


async def test_a_full_room_is_told_so(server):
    clients = [await ServeClient(server["url"]).connect() for _ in range(3)]
    try:
        for c in clients:
            await c.wait_for(HOME, SESSION_S)
        late = await ServeClient(server["url"]).connect()
        await late.wait_for("the room is full (3 of 3 sessions)", 10)
        await late.close()
        status, text = fetch(server["url"] + "/")
        assert status == 503 and "room is full" in text
    finally:
        for c in clients:
            await c.close()
    assert await asyncio.to_thread(wait_until, lambda: not sessions(server))
    assert fetch(server["url"] + "/")[0] == 200


def one_error(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1, err
    return err


def test_a_port_in_use_a_bad_host_and_a_bad_port_are_one_line_each(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert f"port {port} is in use" in one_error(capsys, "serve", "--port", str(port))
    assert "not an address" in one_error(capsys, "serve", "--host", "no-such-host.invalid")
    assert "cannot listen there" in one_error(capsys, "serve", "--host", "192.0.2.1")
    assert "not a port" in one_error(capsys, "serve", "--port", "70000")


def processes_of(home: Path) -> list[int]:
    """Pids of the fork server and its sessions (a fork keeps the fork server's command line)."""
    needle = str(home / "fork.sock").encode()
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and needle in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:  # gone meanwhile
            pass
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG)")
async def test_a_killed_server_leaves_no_session_running(tmp_path):
    # Textual's web driver stops reading at EOF but the app runs on: before, every session of a
    # killed server kept running its timers, with nobody connected.
    proc, port, lines = start_server(tmp_path)
    (home,) = tmp_path.glob("cnn-tui-serve-*")
    client = await ServeClient(f"http://127.0.0.1:{port}", 80, 24).connect()
    try:
        await client.wait_for(HOME, SESSION_S)
        assert len(processes_of(home)) == 2  # the fork server and this session
        proc.kill()
        proc.wait(30)
        assert await asyncio.to_thread(wait_until, lambda: not processes_of(home), 30), (
            processes_of(home)
        )
    finally:
        await client.close()
        for pid in processes_of(home):  # the old behaviour: do not leave them to the machine
            os.kill(pid, 9)
