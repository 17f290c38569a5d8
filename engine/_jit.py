"""Numba settings in one place: decorator defaults, a cache directory that always works, threads."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-probe"
        probe.write_text("")
        probe.unlink()
        return True
    except OSError:
        return False


def _choose_cache_dir() -> str:
    """The first writable of: $NUMBA_CACHE_DIR, ~/.cache/cnn-tui/numba, a temp directory."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates = [Path(os.environ["NUMBA_CACHE_DIR"])]
    else:
        candidates = []
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    candidates += [home / "cnn-tui" / "numba", Path(tempfile.gettempdir()) / "cnn-tui-numba"]
    for path in candidates:
        if _writable(path):
            return str(path)
    # Last resort: a fresh private temp dir (always writable unless the disk is full).
    return tempfile.mkdtemp(prefix="cnn-tui-numba-")


# Must be set before numba is imported, or numba picks its own location (and may fail
# on a read-only install).
os.environ["NUMBA_CACHE_DIR"] = _choose_cache_dir()
CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]

import numba  # noqa: E402

# fastmath without "nnan" and "ninf": kernels must keep NaN and inf meaningful (a max-pool over a
# NaN returns it, as divergence should show); reassociation and contraction still vectorise.
FASTMATH = {"reassoc", "contract", "nsz", "arcp", "afn"}
JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=FASTMATH)


def njit(*args, **kwargs):
    """numba.njit with the project's defaults (cache, nogil, FASTMATH)."""
    options = {**JIT_OPTIONS, **kwargs}
    return numba.njit(*args, **options)


def pjit(*args, **kwargs):
    """A parallel njit: each prange iteration must own its slice of the output."""
    options = {**JIT_OPTIONS, "parallel": True, **kwargs}
    return numba.njit(*args, **options)


prange = numba.prange


@contextlib.contextmanager
def num_threads(n: int | None):
    """Run parallel kernels on n threads (None: all) inside the block; tests use it to check
    that results do not depend on the thread count (each kernel's partition does not)."""
    saved = numba.get_num_threads()
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS if n is None else n)
    try:
        yield
    finally:
        numba.set_num_threads(saved)
