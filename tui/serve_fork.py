"""A warm process that forks participants' sessions: imports once, first frames without waiting.

`python -m tui.serve_fork SOCKET` imports Textual, the app, NumPy, Numba and the engine, loads the
MNIST digits, then listens on a Unix socket. For each session the server sends the session's
environment (JSON) and its stdin/stdout/stderr pipes (SCM_RIGHTS); this process forks, answers
with the child's pid, and the child runs the app on those pipes. The imported code and data stay
shared (copy-on-write) between the sessions. With GNU OpenMP no Numba kernel may run here:
`fork()` after a parallel Numba region kills the child (PERFORMANCE.md pitfall 8), so each session
would load its own kernels (seconds of CPU and ~85 MB each). When Intel TBB is installed the server
starts this process on Numba's TBB threading layer, which is fork-safe: every kernel is then
loaded here once, before the first fork, and shared by every session.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

MAX_MESSAGE = 1 << 20
PR_SET_PDEATHSIG = 1  # prctl(2)
KERNELS = {"loaded": False}  # every kernel loaded here: sessions need no warm-up of their own


def preload() -> None:
    """Import what every session needs before its first frame (nothing that starts threads)."""
    import numba  # noqa: F401  (its LLVM is the largest piece; shared by every fork)
    import textual.drivers.web_driver  # noqa: F401

    import engine.train  # noqa: F401
    import tui.app
    import tui.screens.home
    import tui.screens.lesson
    import tui.screens.predict
    import tui.screens.training
    import tui.screens.transfer  # noqa: F401
    from engine.data import mnist_split
    from tui import lessons

    for e in lessons.ENTRIES:  # the home screen reads every lesson's questions at once
        lessons.load(e.number)
    mnist_split()  # the digits as float32, read-only: shared pages in every session
    print(f"kernels: {warm_kernels()}", file=sys.stderr, flush=True)


def warm_kernels() -> str:
    """Load every kernel here when the threading layer is fork-safe (TBB); say what was done."""
    import numba

    if numba.config.THREADING_LAYER != "tbb":
        return "each session loads its own (no fork-safe threading layer)"
    from engine.warmup import warmup

    compile_in_child(warmup)
    try:
        warmup()
    except (ValueError, ImportError, OSError) as exc:  # TBB would not load: nothing launched
        numba.config.THREADING_LAYER = "default"  # the sessions use the usual layer
        return f"each session loads its own (TBB: {exc})"
    KERNELS["loaded"] = True
    return f"loaded once for every session ({numba.threading_layer()} threading layer)"


def compile_in_child(warmup) -> None:
    """Compile the kernels into Numba's disk cache in a forked child; this process then loads
    them from the cache.

    Why: compiling leaves LLVM's working memory (about 85 MB) in the process that compiled,
    and every page of the fork server counts in each session's RSS: after a first
    `cnn-tui serve` on a machine (or a changed kernel) sessions weighed 165-200 MB, not 90.
    Loading from the cache costs under a second; no kernel has run here yet, so forking is safe.
    """
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            warmup()
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)  # whatever the child managed is cached; the rest compiles here


def end_with_parent(parent: int) -> None:
    """Linux: SIGTERM this session when the fork server ends (it ends with the web server).

    Textual's web driver only stops reading when its stdin closes; the app itself runs on.
    So a server that died without ending its sessions (killed, crashed) left every session
    running its timers with nobody connected: one such orphan used 37% of a core for an hour.
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the server's own shutdown still ends them
        return
    if os.getppid() != parent:  # the fork server was gone before the line above
        os._exit(0)


def run_session(env: dict, fds: list[int], parent: int) -> None:
    """In the child: take the pipes as 0, 1, 2, the session's environment and directory; run."""
    end_with_parent(parent)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.setsid()  # its own process group: the server can end it without touching the others
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(env.get("CNN_TUI_SESSION_DIR", "/"))
    from tui.app import CnnTuiApp

    # the home screen: the lessons, then the explorer and the labs; no background warm-up (a
    # second of CPU in each of 30 sessions at once) when the kernels came with the fork
    CnnTuiApp(warm_up=not KERNELS["loaded"]).run()


def serve_forks(path: str) -> None:
    """Accept a request, fork, reply with the pid; until the server closes our stdin."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished sessions
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready:  # the server closed our stdin or died: no sessions to fork
            return
        conn, _ = listener.accept()
        with conn:
            message, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 3)
            if not message:
                return  # the server said goodbye
            if len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                continue
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    listener.close()
                    conn.close()
                    run_session(json.loads(message), fds, parent)
                except BaseException:
                    code = 1
                    import traceback

                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            for fd in fds:
                os.close(fd)
            conn.sendall(str(pid).encode())


def compact() -> None:
    """Before the first fork: every resident page of this process counts in each session's RSS
    (a fork maps them all), so drop what loading left behind. The garbage goes, the objects
    left are frozen (the collector then never writes to them, so they stay shared), and
    malloc gives its free pages back to the system."""
    import ctypes
    import gc

    gc.collect()
    gc.freeze()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the pages stay, nothing breaks
        pass


def main() -> None:
    """Entry point: preload, then fork sessions on request."""
    preload()
    compact()
    serve_forks(sys.argv[1])


if __name__ == "__main__":
    main()
